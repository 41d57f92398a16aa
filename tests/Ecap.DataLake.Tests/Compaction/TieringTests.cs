using Ecap.DataLake.Compaction;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tests.Storage;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Compaction;

public class TieringTests
{
    // 90 days of transactions from 2026-08-01 (one partition a day); "now" 120 days after the start, cold after 60 days:
    // the days before 2026-09-29 (cutoff 2026-09-29T00:00Z; a day partition is cold when it ends by then) are cold.
    internal static readonly DateTimeOffset Now = Start.AddDays(120);

    internal static async Task<DataLakeStorage> WriteTableAsync(DataLakeStorage lake)
    {
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 3000, days: 90), "tx", DataType.Transactions);
        return lake;
    }

    internal static int ExpectedColdFiles(Ecap.DataLake.Delta.Snapshot snapshot) =>
        snapshot.Files.Count(f => new DateTimeOffset(int.Parse(f.PartitionValues["year"]!), int.Parse(f.PartitionValues["month"]!), int.Parse(f.PartitionValues["day"]!), 0, 0, 0, TimeSpan.Zero).AddDays(1) <= Now.AddDays(-60));

    [Fact]
    public async Task The_plan_takes_the_partitions_older_than_the_cutoff_and_a_local_folder_says_it_cannot_move_them()
    {
        using var dir = new TempDir();
        var lake = await WriteTableAsync(new DataLakeStorage(dir.Path));
        var snapshot = await lake.OpenTable("tx").GetSnapshotAsync();
        var expected = ExpectedColdFiles(snapshot);
        Assert.InRange(expected, 1, snapshot.Files.Count - 1);

        var compactor = new DataCompactor(lake);
        // No days given and no property: a clear refusal.
        Assert.Contains(TablePropertyKeys.TieringColdAfterDays, (await Assert.ThrowsAsync<InvalidInputException>(() =>
            compactor.TierAsync("tx", new TieringOptions { DryRun = true, Now = Now }))).Message);
        await lake.SetTablePropertiesAsync("tx", new Dictionary<string, string?> { [TablePropertyKeys.TieringColdAfterDays] = "60" });

        var dry = await compactor.TierAsync("tx", new TieringOptions { DryRun = true, Now = Now, StorageClass = "glacier_ir" });
        Assert.Equal(expected, dry.FilesCold);
        Assert.Equal("GLACIER_IR", dry.StorageClass);
        Assert.False(dry.Supported);
        Assert.Contains("no storage classes", dry.Note);
        var refused = await Assert.ThrowsAsync<InvalidInputException>(() => compactor.TierAsync("tx", new TieringOptions { Now = Now }));
        Assert.Contains("a local folder", refused.Message);
        // Classes a read would need a restore for are refused.
        Assert.Contains("GLACIER_IR", (await Assert.ThrowsAsync<InvalidInputException>(() =>
            compactor.TierAsync("tx", new TieringOptions { DryRun = true, Now = Now, StorageClass = "GLACIER" }))).Message);
    }

    [Fact]
    public async Task Info_prices_each_file_in_the_class_the_store_holds_it_in_after_tiering()
    {
        using var dir = new TempDir();
        var store = new ClassedStore(new DataLakeStorage(dir.Path).Store);
        var lake = await WriteTableAsync(new DataLakeStorage(store));
        var before = await lake.GetTableInfoAsync("tx");
        // Everything is STANDARD until tiering: priced as stored, that is the standard price of the whole table.
        var all = Assert.Single(before.StoredClasses!);
        Assert.Equal(("STANDARD", before.FileCount, before.TotalSizeBytes), (all.StorageClass, all.FileCount, all.Bytes));
        Assert.Equal(StoragePricing.Default.Estimate(before.TotalSizeBytes).MonthlyCost, StoragePricing.Default.Estimate(before).MonthlyCost);

        var tiered = await new DataCompactor(lake).TierAsync("tx", new TieringOptions { ColdAfterDays = 60, Now = Now });
        var snapshot = await lake.OpenTable("tx").GetSnapshotAsync();
        var cold = ExpectedColdFiles(snapshot);
        Assert.Equal(cold, tiered.FilesMoved);
        var info = await lake.GetTableInfoAsync("tx");
        var byClass = info.StoredClasses!.ToDictionary(c => c.StorageClass);
        Assert.Equal(cold, byClass["STANDARD_IA"].FileCount);
        Assert.Equal(snapshot.Files.Count - cold, byClass["STANDARD"].FileCount);
        Assert.Equal(info.TotalSizeBytes, byClass.Values.Sum(c => c.Bytes));
        // The bytes the store says each class holds, each at its price (S3 names map to the price table's).
        var expectedIaBytes = snapshot.Files.Where(f => store.ClassOf("tx/" + f.ObjectKey) == "STANDARD_IA").Sum(f => f.Size);
        Assert.Equal(expectedIaBytes, byClass["STANDARD_IA"].Bytes);
        var estimate = StoragePricing.Default.Estimate(info);
        var prices = StoragePricing.Default.PricePerGbMonth;
        var expected = (info.TotalSizeBytes - expectedIaBytes) / StoragePricing.BytesPerGb * prices["standard"] + expectedIaBytes / StoragePricing.BytesPerGb * prices["infrequent_access"];
        Assert.Equal(expected, estimate.MonthlyCost);
        Assert.Equal(["infrequent_access", "standard"], estimate.Stored!.Select(c => c.StorageClass).Order());
        Assert.True(estimate.MonthlyCost < StoragePricing.Default.Estimate(info.TotalSizeBytes).MonthlyCost);
        // A class given prices all of it there, as before; S3's names are accepted.
        var ia = StoragePricing.Default.Estimate(info, "STANDARD_IA");
        Assert.Null(ia.Stored);
        Assert.Equal(("infrequent_access", info.TotalSizeBytes / StoragePricing.BytesPerGb * prices["infrequent_access"]), (ia.StorageClass, ia.MonthlyCost));
        // A local folder has no classes: no stored figures, the standard price.
        Assert.Null((await new DataLakeStorage(dir.Path).GetTableInfoAsync("tx")).StoredClasses);
    }

    /// <summary>A local folder whose objects have S3-like storage classes (a copy onto the same key changes one), kept in memory.</summary>
    private sealed class ClassedStore(IObjectStore inner, Dictionary<string, string>? classes = null, string prefix = "") : IObjectStore, IStorageClassStore
    {
        private readonly Dictionary<string, string> _classes = classes ?? new(StringComparer.Ordinal);

        public string ClassOf(string fullKey) => _classes.GetValueOrDefault(fullKey, "STANDARD");
        public Task<string> GetStorageClassAsync(string key, CancellationToken ct = default) => Task.FromResult(ClassOf(prefix + key));
        public Task SetStorageClassAsync(string key, string storageClass, CancellationToken ct = default)
        {
            _classes[prefix + key] = storageClass;
            return Task.CompletedTask;
        }
        public async IAsyncEnumerable<StoredObjectClass> ListStorageClassesAsync(string listPrefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
        {
            await foreach (var o in inner.ListAsync(listPrefix, ct)) yield return new StoredObjectClass(o.Key, ClassOf(prefix + o.Key));
        }

        public string Location => inner.Location;
        public IObjectStore Child(string child) => new ClassedStore(inner.Child(child), _classes, prefix + child.Trim('/') + "/");
        public IAsyncEnumerable<ObjectInfo> ListAsync(string p, CancellationToken ct = default) => inner.ListAsync(p, ct);
        public IAsyncEnumerable<string> ListPrefixesAsync(string p, CancellationToken ct = default) => inner.ListPrefixesAsync(p, ct);
        public Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default) => inner.HeadAsync(key, ct);
        public Task<byte[]> ReadAllAsync(string key, CancellationToken ct = default) => inner.ReadAllAsync(key, ct);
        public Task<byte[]> ReadRangeAsync(string key, long offset, int length, CancellationToken ct = default) => inner.ReadRangeAsync(key, offset, length, ct);
        public Task<Stream> OpenReadAsync(string key, CancellationToken ct = default) => inner.OpenReadAsync(key, ct);
        public Task WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.WriteAsync(key, data, ct);
        public Task<Stream> OpenWriteAsync(string key, CancellationToken ct = default) => inner.OpenWriteAsync(key, ct);
        public Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.PutIfAbsentAsync(key, data, ct);
        public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
        public string? TryGetLocalPath(string key) => inner.TryGetLocalPath(key);
    }
}


/// <summary>Tiering on the S3-compatible test server (Swift with s3api): what it does with a copy that changes the storage class.</summary>
[Collection(S3Collection.Name)]
public class S3TieringTests(S3Lake s3)
{
    [Fact]
    public async Task Tiering_copies_cold_files_in_place_and_reports_what_the_server_did_with_the_class()
    {
        var lake = await TieringTests.WriteTableAsync(new DataLakeStorage(s3.NewStore()));
        var snapshot = await lake.OpenTable("tx").GetSnapshotAsync();
        var compactor = new DataCompactor(lake);
        // The plan works here as anywhere: a dry run asks the server each cold file's class (STANDARD) and moves nothing.
        var dry = await compactor.TierAsync("tx", new TieringOptions { ColdAfterDays = 60, Now = TieringTests.Now, DryRun = true });
        Assert.True(dry.Supported);
        Assert.Equal(TieringTests.ExpectedColdFiles(snapshot), dry.FilesCold);
        Assert.Equal(0, dry.FilesAlready);
        // Swift's s3api answers a copy with x-amz-storage-class STANDARD_IA by 400 InvalidStorageClass: the command says so.
        var refused = await Assert.ThrowsAsync<InvalidInputException>(() =>
            compactor.TierAsync("tx", new TieringOptions { ColdAfterDays = 60, Now = TieringTests.Now }));
        Assert.Contains("refuses storage class STANDARD_IA (InvalidStorageClass", refused.Message);
        Assert.Contains("does not support storage classes", refused.Message);
        // STANDARD is the class the files have: nothing to move.
        var standard = await compactor.TierAsync("tx", new TieringOptions { ColdAfterDays = 60, Now = TieringTests.Now, StorageClass = "STANDARD" });
        Assert.Equal(standard.FilesCold, standard.FilesAlready);
        Assert.Equal(0, standard.FilesMoved);
        // The listing names each file's class: all STANDARD here, so as stored is the standard price.
        var info = await lake.GetTableInfoAsync("tx");
        var stored = Assert.Single(info.StoredClasses!);
        Assert.Equal(("STANDARD", info.FileCount, info.TotalSizeBytes), (stored.StorageClass, stored.FileCount, stored.Bytes));
        // Same keys, same bytes: the table reads every row as before.
        var scan = await lake.ReadPartitionedDataAsync("tx");
        Assert.Equal(3000, Rows(await ReadAllAsync(scan)));
    }
}
