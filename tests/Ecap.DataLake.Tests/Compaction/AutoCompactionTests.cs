using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Compaction.CompactionTestData;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Compaction;

public class AutoCompactionTests
{
    private static DataLakeStorage Lake(string dir) => new DataLakeBuilder(dir).KeepCatalogCurrent(false).Build().Storage;

    private static Task AppendAsync(DataLakeStorage lake, int i, int rows = 100, WriteOptions? options = null) =>
        lake.WritePartitionedDataAsync(Generate(DataType.Transactions, rows, seed: i + 1, days: 1).Select(b => ShiftIds(b, "transaction_id", (long)i * rows)),
            "tx", DataType.Transactions, options: options);

    [Fact]
    public async Task Two_hundred_appends_keep_the_live_files_at_most_min_num_files_and_every_row_is_there()
    {
        using var dir = new TempDir();
        var lake = Lake(dir.Path);
        var table = lake.OpenTable("tx");
        var most = 0;
        for (var i = 0; i < 200; i++)
        {
            await AppendAsync(lake, i);
            most = Math.Max(most, (await table.GetSnapshotAsync()).Files.Count);
        }
        // One partition (one day): it never holds more than minNumFiles (default 50) files after a commit returns,
        // since the commit that makes the 50th small file compacts them. Without auto-compaction it would be 200.
        Assert.True(most <= TablePropertyKeys.DefaultAutoCompactMinNumFiles, $"{most} live files at some point");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal("true", snapshot.Metadata.Configuration[TablePropertyKeys.AutoCompact]);

        var history = await lake.GetHistoryAsync("tx");
        var auto = history.Where(h => h.Operation == "OPTIMIZE").ToList();
        Assert.Equal(4, auto.Count); // at appends 50, 99, 148, 197: each keeps the previous output plus 49 new files
        Assert.All(auto, h => Assert.Equal("true", h.Parameters["auto"]));

        using var duck = new DuckDbReader();
        var files = DuckDbReader.FileList(await LiveFilesAsync(lake, dir.Path, "tx"));
        var row = duck.Rows($"SELECT count(*), count(DISTINCT transaction_id), min(transaction_id), max(transaction_id) FROM read_parquet({files})")[0];
        Assert.Equal(20_000L, Convert.ToInt64(row[0]));
        Assert.Equal(20_000L, Convert.ToInt64(row[1]));

        var status = await AutoCompactionStatus.ReadAsync(table.Store);
        Assert.NotNull(status);
        Assert.Equal("compacted", status.Outcome);
        Assert.Equal(auto.Max(h => h.Version), status.LastCompactedVersion);
    }

    [Fact]
    public async Task A_table_created_without_auto_compaction_keeps_its_small_files_until_the_property_is_set()
    {
        using var dir = new TempDir();
        var lake = Lake(dir.Path);
        await AppendAsync(lake, 0, options: new WriteOptions { AutoCompact = false });
        await lake.SetTablePropertiesAsync("tx", new Dictionary<string, string?> { [TablePropertyKeys.AutoCompactMinNumFiles] = "5" });
        for (var i = 1; i < 8; i++) await AppendAsync(lake, i);
        var table = lake.OpenTable("tx");
        Assert.Equal(8, (await table.GetSnapshotAsync()).Files.Count);

        await lake.SetTablePropertiesAsync("tx", new Dictionary<string, string?> { [TablePropertyKeys.AutoCompact] = "true" });
        await AppendAsync(lake, 8);
        var snapshot = await table.GetSnapshotAsync();
        Assert.Single(snapshot.Files);
        Assert.Equal(900, TableInspector.RowCount(snapshot.Files));
    }

    [Fact]
    public async Task An_overwrite_that_replaces_the_schema_keeps_the_tables_auto_compaction_choice()
    {
        using var dir = new TempDir();
        var lake = Lake(dir.Path);
        await AppendAsync(lake, 0, options: new WriteOptions { AutoCompact = false });
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions, WriteMode.Overwrite,
            new WriteOptions { OverwriteSchema = true });
        Assert.Equal("false", (await lake.OpenTable("tx").GetSnapshotAsync()).Metadata.Configuration[TablePropertyKeys.AutoCompact]);
    }

    [Fact]
    public async Task Unknown_delta_properties_and_bad_values_are_refused_with_a_clear_message()
    {
        using var dir = new TempDir();
        var lake = Lake(dir.Path);
        await AppendAsync(lake, 0);
        var unknown = await Assert.ThrowsAsync<InvalidInputException>(() =>
            lake.SetTablePropertiesAsync("tx", new Dictionary<string, string?> { ["delta.autoOptimize.autoCompactt"] = "true" }));
        Assert.Contains("not one this library honours", unknown.Message);
        Assert.Contains(TablePropertyKeys.AutoCompact, unknown.Message);
        var bad = await Assert.ThrowsAsync<InvalidInputException>(() =>
            lake.SetTablePropertiesAsync("tx", new Dictionary<string, string?> { [TablePropertyKeys.AutoCompactMinNumFiles] = "many" }));
        Assert.Contains("whole number", bad.Message);
        // The user's own keys are free.
        await lake.SetTablePropertiesAsync("tx", new Dictionary<string, string?> { ["owner"] = "payments-team" });
        Assert.Equal("payments-team", (await lake.OpenTable("tx").GetSnapshotAsync()).Metadata.Configuration["owner"]);
    }

    [Fact]
    public async Task Appends_from_other_writers_during_auto_compactions_all_land()
    {
        using var dir = new TempDir();
        var first = Lake(dir.Path);
        await AppendAsync(first, 0);
        await first.SetTablePropertiesAsync("tx", new Dictionary<string, string?> { [TablePropertyKeys.AutoCompactMinNumFiles] = "4" });
        // Three lakes over one folder (own snapshot caches, as separate processes have) append at once; each one's
        // commits trigger auto-compactions that race the others' appends and compactions.
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            var lake = Lake(dir.Path);
            for (var i = 0; i < 12; i++) await AppendAsync(lake, 1 + w * 12 + i);
        })).ToList();
        await Task.WhenAll(writers);

        var snapshot = await first.OpenTable("tx").GetSnapshotAsync();
        var history = await first.GetHistoryAsync("tx");
        Assert.Contains(history, h => h.Operation == "OPTIMIZE" && h.Parameters.GetValueOrDefault("auto") == "true");
        Assert.True(snapshot.Files.Count < 37, $"{snapshot.Files.Count} files");
        using var duck = new DuckDbReader();
        var files = DuckDbReader.FileList(await LiveFilesAsync(first, dir.Path, "tx"));
        var row = duck.Rows($"SELECT count(*), count(DISTINCT transaction_id) FROM read_parquet({files})")[0];
        Assert.Equal(3_700L, Convert.ToInt64(row[0]));
        Assert.Equal(3_700L, Convert.ToInt64(row[1]));
    }

    [Fact]
    public async Task The_audit_trail_compacts_itself()
    {
        using var dir = new TempDir();
        var lake = new DataLakeBuilder(dir.Path).KeepCatalogCurrent(false).Build();
        await AppendAsync(lake.Storage, 0);
        for (var i = 0; i < 60; i++) await lake.Storage.GetTableInfoAsync("tx"); // one audit record (one small file) each
        var trail = await new AuditLog(lake.Store).Table.GetSnapshotAsync();
        Assert.True(trail.Files.Count < TablePropertyKeys.DefaultAutoCompactMinNumFiles, $"{trail.Files.Count} audit files");
        var records = 0;
        await foreach (var r in new AuditLog(lake.Store).ReadAsync()) records++;
        Assert.Equal(61, records); // the write and the 60 info calls: nothing lost to the compactions
    }
}
