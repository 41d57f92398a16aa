using Ecap.DataLake.Compaction;
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
        // Same keys, same bytes: the table reads every row as before.
        var scan = await lake.ReadPartitionedDataAsync("tx");
        Assert.Equal(3000, Rows(await ReadAllAsync(scan)));
    }
}
