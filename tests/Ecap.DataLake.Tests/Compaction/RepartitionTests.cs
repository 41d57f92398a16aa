using System.Text.Json;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Compaction;

/// <summary>
/// Repartition (issue 19, <c>storage alter --partition-by</c>): a table rewritten into another layout in one commit, rows
/// unchanged (DuckDB reads the new files), old version still readable, the restore point made first brings it back,
/// deleted rows stay deleted, and a commit landing meanwhile fails the rewrite without losing anything.
/// </summary>
public class RepartitionTests
{
    private const string Table = "tx";

    private static async Task<(TempDir Dir, DataLakeStorage Lake)> DailyTableAsync(long rows = 20_000, int days = 90)
    {
        var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, rows, days: days).ToAsyncEnumerable(), Table,
            PartitionSpec.Parse("day(timestamp)", "transaction_id"));
        return (dir, lake);
    }

    private static (long Count, decimal Sum, long Ids) Summary(DuckDbReader duck, IEnumerable<string> files)
    {
        var row = duck.Rows($"SELECT count(*), sum(amount)::DECIMAL(38,4), count(DISTINCT transaction_id) FROM read_parquet({DuckDbReader.FileList(files)})")[0];
        return (Convert.ToInt64(row[0]), Convert.ToDecimal(row[1]), Convert.ToInt64(row[2]));
    }

    [Fact]
    public async Task A_daily_table_rewritten_monthly_keeps_its_rows_in_fewer_files_and_can_be_restored()
    {
        var (dir, lake) = await DailyTableAsync();
        using var cleanup = dir;
        using var duck = new DuckDbReader();
        var before = Summary(duck, await LiveFilesAsync(lake, dir.Path, Table));
        var v0 = (await lake.OpenTable(Table).GetSnapshotAsync()).Version;
        var compactor = new DataCompactor(lake);
        var monthly = PartitionSpec.Parse("month(timestamp)", "transaction_id");

        var plan = await compactor.RepartitionAsync(Table, monthly, new RepartitionOptions { DryRun = true });
        Assert.Equal((3, 3), (plan.EstimatedPartitionsAfter, plan.EstimatedFilesAfter)); // Aug, Sep, Oct 2026
        Assert.Equal(90, plan.PartitionsBefore);
        Assert.Equal(v0, (await lake.OpenTable(Table).GetSnapshotAsync()).Version); // a dry run commits nothing

        var result = await compactor.RepartitionAsync(Table, monthly);
        Assert.Equal(v0 + 1, result.Version);
        Assert.Equal((90, 3, 3), (result.FilesBefore, result.FilesAdded, result.PartitionsAfter));
        Assert.Equal(before.Count, result.RowsRewritten);

        // The new files hold the same rows, DuckDB says; the metadata has the new partition columns and layout.
        var snapshot = await lake.OpenTable(Table).GetSnapshotAsync();
        Assert.Equal(before, Summary(duck, await LiveFilesAsync(lake, dir.Path, Table)));
        Assert.Equal(["year", "month"], snapshot.PartitionColumns);
        Assert.Null(snapshot.Schema.FieldsList.FirstOrDefault(f => f.Name == "day")); // the old derived part is gone, not left stale
        var layout = TableLayout.FromMetadata(snapshot.Metadata);
        Assert.True(PartitionSpec.SameLayout(monthly, layout));
        // Each file's month is the month of its rows' timestamps.
        foreach (var file in snapshot.Files)
        {
            var utc = "make_timestamp(epoch_us(timestamp))";
            var months = duck.Rows($"SELECT DISTINCT year({utc}), month({utc}) FROM read_parquet('{Path.Combine(dir.Path, Table, file.ObjectKey)}')");
            Assert.Equal((int.Parse(file.PartitionValues["year"]!), int.Parse(file.PartitionValues["month"]!)),
                (Convert.ToInt32(Assert.Single(months)[0]), Convert.ToInt32(months[0][1])));
        }

        // One commit: every remove and add with dataChange false, and the metaData action.
        var commit = await File.ReadAllLinesAsync(Path.Combine(dir.Path, Table, "_delta_log", $"{result.Version:D20}.json"));
        var actions = commit.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(90, actions.Count(a => a.TryGetProperty("remove", out var r) && !r.GetProperty("dataChange").GetBoolean()));
        Assert.Equal(3, actions.Count(a => a.TryGetProperty("add", out var ad) && !ad.GetProperty("dataChange").GetBoolean()));
        Assert.Single(actions, a => a.TryGetProperty("metaData", out _));
        Assert.DoesNotContain(actions, a => a.TryGetProperty("add", out var ad) && ad.GetProperty("dataChange").GetBoolean());

        // Time travel still reads the daily version; the restore point brings it back.
        var old = await lake.ReadPartitionedDataAsync(Table, new ReadOptions { Version = v0 });
        Assert.Equal(before.Count, Rows(await ReadAllAsync(old)));
        Assert.Contains("day", old.Schema.FieldsList.Select(f => f.Name));
        Assert.Equal(v0, result.RestorePoint!.Version);
        await compactor.RestoreAsync(Table, result.RestorePoint.Name);
        var restored = await lake.OpenTable(Table).GetSnapshotAsync();
        Assert.Equal(["year", "month", "day"], restored.PartitionColumns);
        Assert.Equal(before, Summary(duck, await LiveFilesAsync(lake, dir.Path, Table)));
    }

    [Fact]
    public async Task Rows_deleted_by_deletion_vectors_stay_deleted()
    {
        var (dir, lake) = await DailyTableAsync(6_000, days: 10);
        using var cleanup = dir;
        await lake.DeleteAsync(Table, Predicate.Parse("status = 'refunded' OR amount > 500"));
        Assert.Contains((await lake.OpenTable(Table).GetSnapshotAsync()).Files, f => f.DeletionVector is not null);
        var live = Rows(await ReadAllAsync(await lake.ReadPartitionedDataAsync(Table)));
        Assert.True(live is > 0 and < 6_000);

        var result = await new DataCompactor(lake).RepartitionAsync(Table, PartitionSpec.Parse("month(timestamp)", "transaction_id"));
        Assert.Equal(live, result.RowsRewritten);
        using var duck = new DuckDbReader();
        var files = DuckDbReader.FileList(await LiveFilesAsync(lake, dir.Path, Table));
        // The new files have no vectors: DuckDB reading them sees exactly the table's rows, and none it deleted.
        Assert.DoesNotContain((await lake.OpenTable(Table).GetSnapshotAsync()).Files, f => f.DeletionVector is not null);
        Assert.Equal(live, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet({files})")));
        Assert.Equal(0L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet({files}) WHERE status = 'refunded' OR amount > 500")));
    }

    [Fact]
    public async Task A_commit_landing_during_the_rewrite_fails_it_and_nothing_is_lost()
    {
        var (dir, lake) = await DailyTableAsync(5_000, days: 10);
        using var cleanup = dir;
        var files = Directory.GetFiles(Path.Combine(dir.Path, Table), "*.parquet", SearchOption.AllDirectories).Length;
        var extra = Generate(DataType.Transactions, 500, seed: 7, days: 10);
        var options = new RepartitionOptions
        {
            BeforeCommit = async ct => await lake.WritePartitionedDataAsync(extra.ToAsyncEnumerable(), Table, (PartitionStrategy?)null, ct: ct),
        };
        var e = await Assert.ThrowsAsync<ConcurrentModificationException>(() =>
            new DataCompactor(lake).RepartitionAsync(Table, PartitionSpec.Parse("month(timestamp)", "transaction_id"), options));
        Assert.Contains("nothing was committed", e.Message);

        var snapshot = await lake.OpenTable(Table).GetSnapshotAsync();
        Assert.Equal(["year", "month", "day"], snapshot.PartitionColumns); // the append is kept, the layout unchanged
        Assert.Equal(5_500, Rows(await ReadAllAsync(await lake.ReadPartitionedDataAsync(Table))));
        // The rewrite's files and its restore point are gone: only the table's own files are on disk.
        Assert.Equal(snapshot.Files.Count, Directory.GetFiles(Path.Combine(dir.Path, Table), "*.parquet", SearchOption.AllDirectories).Length);
        Assert.True(snapshot.Files.Count > files);
        Assert.Empty(await new DataCompactor(lake).ListRestorePointsAsync(Table));
    }

    [Fact]
    public async Task The_same_layout_an_unknown_column_or_a_constraint_on_a_dropped_column_is_refused()
    {
        var (dir, lake) = await DailyTableAsync(1_000, days: 3);
        using var cleanup = dir;
        var compactor = new DataCompactor(lake);
        var same = await Assert.ThrowsAsync<InvalidInputException>(() => compactor.RepartitionAsync(Table, PartitionSpec.Parse("day(timestamp)", "transaction_id")));
        Assert.Contains("already laid out", same.Message);
        var unknown = await Assert.ThrowsAsync<SchemaMismatchException>(() => compactor.RepartitionAsync(Table, PartitionSpec.Parse("nope")));
        Assert.Contains("nope", unknown.Message);
        // A constraint on the day column, which month(timestamp) drops, is named rather than broken.
        await new Ecap.DataLake.Quality.DataQuality(lake).AddConstraintAsync(Table, "valid_day", "day >= 1");
        var constrained = await Assert.ThrowsAsync<SchemaMismatchException>(() => compactor.RepartitionAsync(Table, PartitionSpec.Parse("month(timestamp)", "transaction_id")));
        Assert.Contains("valid_day", constrained.Message);
        await new Ecap.DataLake.Quality.DataQuality(lake).DropConstraintAsync(Table, "valid_day");
        // Unpartitioned, sorted by another column: one file, the same rows.
        var flat = await compactor.RepartitionAsync(Table, PartitionSpec.Parse(null, "amount"));
        Assert.Equal((1, 0), (flat.FilesAdded, flat.PartitionsAfter));
        Assert.Empty((await lake.OpenTable(Table).GetSnapshotAsync()).PartitionColumns);
        Assert.Equal(1_000, Rows(await ReadAllAsync(await lake.ReadPartitionedDataAsync(Table))));
    }
}
