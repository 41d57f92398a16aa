using Ecap.DataLake.Compaction;
using Ecap.DataLake.Parquet.Encryption;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Compaction.CompactionTestData;
using static Ecap.DataLake.Tests.Tables.LakeTestData;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Security;

/// <summary>Maintenance under governance: grants checked and audited at every DataCompactor entry point; encrypted tables stay encrypted.</summary>
public sealed class GovernedCompactionTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Compaction_vacuum_retention_and_zorder_check_grants_and_are_audited()
    {
        var lake = new GovernedLake(_dir.Sub("lake"));
        await WriteSmallTransactionAppendsAsync(lake.As("owner"), "tx", appends: 4, rows: 200, days: 2);
        await WriteSmallTransactionAppendsAsync(lake.As("owner"), "other", appends: 2, rows: 100, days: 1);
        await lake.AccessAs("owner").GrantAsync("reader", Privilege.Read, "tx");
        await lake.AccessAs("owner").GrantAsync("writer", Privilege.Write, "tx");
        var version = (await lake.As("owner").OpenTable("tx").GetSnapshotAsync()).Version;

        var reader = new DataCompactor(lake.As("reader"));
        await reader.AnalyzeTableFilesAsync("tx");
        await Assert.ThrowsAsync<AccessDeniedException>(() => reader.CompactTableAsync("tx"));
        await Assert.ThrowsAsync<AccessDeniedException>(() => reader.VacuumAsync("tx", new VacuumOptions { DryRun = true }));
        await Assert.ThrowsAsync<AccessDeniedException>(() => reader.ZOrderAsync("tx", ["customer_id"]));
        await Assert.ThrowsAsync<AccessDeniedException>(() => reader.ApplyRetentionAsync("tx"));
        Assert.Equal(version, (await lake.As("owner").OpenTable("tx").GetSnapshotAsync()).Version);

        var writer = new DataCompactor(lake.As("writer"));
        await Assert.ThrowsAsync<AccessDeniedException>(() => writer.SetRetentionPolicyAsync("tx", 30)); // admin only
        var compacted = await writer.CompactTableAsync("tx");
        Assert.True(compacted.FilesRemoved > 0);
        // optimize-all: the table the writer may not write is reported as denied, not touched.
        var all = await writer.OptimizeAllTablesAsync(new OptimizeAllOptions { MinFileCount = 1 });
        Assert.Equal("denied", all.Single(r => r.TableName == "other").Action);
        Assert.Contains("access denied: writer lacks write on table other", all.Single(r => r.TableName == "other").Error);
        // A caller who may write no table at all: the run is audited as denied, not succeeded.
        var none = await new DataCompactor(lake.As("reader")).OptimizeAllTablesAsync(new OptimizeAllOptions { MinFileCount = 1 });
        Assert.All(none, r => Assert.Equal("denied", r.Action));

        var records = await lake.AuditRecordsAsync(new AuditFilter(Table: "tx"));
        Assert.Equal(
            [("analyze", AuditOutcome.Succeeded), ("compact", AuditOutcome.Denied), ("vacuum", AuditOutcome.Denied), ("zorder", AuditOutcome.Denied),
             ("retention-apply", AuditOutcome.Denied), ("retention-set", AuditOutcome.Denied), ("compact", AuditOutcome.Succeeded)],
            records.Where(r => r.Principal is "reader" or "writer").Select(r => (r.Operation, r.Outcome)));
        Assert.Equal(compacted.CommitVersions[^1], records.Last(r => r.Operation == "compact").TableVersion);
        Assert.Equal(AuditOutcome.Succeeded, Assert.Single(await lake.AuditRecordsAsync(new AuditFilter(Principal: "writer")), r => r.Operation == "optimize-all").Outcome);
        var denied = Assert.Single(await lake.AuditRecordsAsync(new AuditFilter(Principal: "reader")), r => r.Operation == "optimize-all");
        Assert.Equal(AuditOutcome.Denied, denied.Outcome);
        Assert.Contains("every one of 2 item(s) was denied", denied.Error);
    }

    [Fact]
    public async Task Compacting_an_encrypted_table_keeps_it_encrypted_and_its_rows()
    {
        var keyFile = _dir.Sub("keys.json");
        LocalKeyFileProvider.Create(keyFile, "f", "c");
        var lake = new DataLakeStorage(_dir.Sub("lake"), new DataLakeStorageOptions { KeyProvider = new LocalKeyFileProvider(keyFile) });
        var encryption = new TableEncryption("f", new Dictionary<string, string> { ["amount"] = "c" }, EncryptedColumnStats: false);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 300, seed: 1, days: 2), "tx", DataType.Transactions,
            options: new WriteOptions { Encryption = encryption });
        for (var i = 2; i <= 4; i++)
            await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 300, seed: i, days: 2), "tx", DataType.Transactions);
        var before = Column(await ReadAllAsync(await lake.ReadPartitionedDataAsync("tx")), "amount").Select(Convert.ToDecimal).Sum();

        var result = await new DataCompactor(lake).CompactTableAsync("tx");
        Assert.True(result.FilesAdded > 0);
        var rows = await ReadAllAsync(await lake.ReadPartitionedDataAsync("tx"));
        Assert.Equal(1_200, Rows(rows));
        Assert.Equal(before, Column(rows, "amount").Select(Convert.ToDecimal).Sum());

        // The new files are encrypted (DuckDB cannot open them) and their log stats leave the encrypted column out.
        var snapshot = await lake.OpenTable("tx").GetSnapshotAsync();
        var added = snapshot.Files.Where(f => !f.DataChange).ToList();
        Assert.NotEmpty(added);
        using var duck = new DuckDbReader();
        foreach (var f in added)
        {
            Assert.ThrowsAny<Exception>(() => duck.Scalar($"SELECT count(*) FROM read_parquet({DuckDbReader.FileList([Path.Combine(_dir.Sub("lake"), "tx", f.ObjectKey)])})"));
            Assert.DoesNotContain("\"amount\"", System.Text.Json.JsonDocument.Parse(f.Stats!).RootElement.GetProperty("maxValues").GetRawText());
        }
        // Without the keys, compaction refuses up front instead of failing half-way.
        var noKeys = new DataLakeStorage(_dir.Sub("lake"), new DataLakeStorageOptions { KeyProvider = new EnvironmentKeyProvider(_ => null) });
        await Assert.ThrowsAsync<EncryptionKeyMissingException>(() => new DataCompactor(noKeys).CompactTableAsync("tx", new CompactOptions { MinFileSizeBytes = long.MaxValue }));
    }

    [Fact]
    public async Task Merge_runs_of_an_encrypted_table_are_encrypted_on_local_disk_and_the_rows_are_kept()
    {
        var keyFile = _dir.Sub("keys.json");
        LocalKeyFileProvider.Create(keyFile, "f", "c");
        var lake = new DataLakeStorage(_dir.Sub("lake"), new DataLakeStorageOptions { KeyProvider = new LocalKeyFileProvider(keyFile) });
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 300, seed: 1, days: 1), "tx", DataType.Transactions,
            options: new WriteOptions { Encryption = new TableEncryption("f", new Dictionary<string, string>(), EncryptedColumnStats: true) });
        for (var i = 2; i <= 6; i++)
            await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 300, seed: i, days: 1), "tx", DataType.Transactions);
        var snapshot = await lake.OpenTable("tx").GetSnapshotAsync();
        var spill = _dir.Sub("spill");
        Directory.CreateDirectory(spill);

        // Six overlapping files with a fan-in of 2: three runs, then two, then the final merge.
        var fileSchema = TableCompaction.DataFileSchema(snapshot);
        var keys = new List<Ecap.DataLake.Arrow.SortKey> { new("transaction_id", NullsFirst: true) };
        long rows = 0;
        var runsSeen = 0;
        var plaintext = Column(await ReadAllAsync(await lake.ReadPartitionedDataAsync("tx")), "payment_method")
            .Select(v => System.Text.Encoding.UTF8.GetBytes((string)v!)).DistinctBy(Convert.ToBase64String).ToList();
        using var duck = new DuckDbReader();
        await foreach (var batch in SpilledMerge.MergeAsync(lake.OpenTable("tx").Store, snapshot.Files.ToList(), fileSchema, keys, 128, 2, snapshot.Schema,
                           TableFiles.For(lake, snapshot, "tx"), default, spill))
        {
            rows += batch.Length;
            foreach (var run in Directory.GetFiles(spill, "*", SearchOption.AllDirectories))
            {
                runsSeen++;
                Assert.ThrowsAny<Exception>(() => duck.Scalar($"SELECT count(*) FROM read_parquet({DuckDbReader.FileList([run])})"));
                // No value of the table in plaintext, whatever the run's format.
                var bytes = await File.ReadAllBytesAsync(run);
                Assert.All(plaintext, v => Assert.True(bytes.AsSpan().IndexOf(v) < 0, "a run holds table values in plaintext"));
            }
        }
        Assert.Equal(1_800, rows);
        Assert.True(runsSeen > 0);
        Assert.Empty(Directory.GetFileSystemEntries(spill));

        // And through the compactor: one file per day partition, every row kept.
        var result = await new DataCompactor(lake).CompactTableAsync("tx", new CompactOptions { MaxMergeFanIn = 2, TempDirectory = spill });
        Assert.Equal(1, result.FilesAdded);
        Assert.Equal(1_800, Rows(await ReadAllAsync(await lake.ReadPartitionedDataAsync("tx"))));
    }
}
