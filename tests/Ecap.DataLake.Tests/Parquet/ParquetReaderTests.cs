using Apache.Arrow;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;
using Ecap.TestSupport;
using Xunit;

namespace Ecap.DataLake.Tests.Parquet;

public class ParquetReaderTests
{
    private static async Task<(LocalObjectStore Store, WrittenFile File)> SortedFileAsync(TempDir dir)
    {
        var store = new LocalObjectStore(dir.Path);
        var files = await ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, TestBatches.Stream(10_000, 2_500), i => $"sorted-{i}.parquet",
            new ParquetWriteOptions { RowGroupMaxRows = 1_000 });
        return (store, Assert.Single(files));
    }

    private static async Task<List<RecordBatch>> ReadAllAsync(IObjectStore store, string key, ParquetReadOptions options, ParquetReadCounters counters)
    {
        var list = new List<RecordBatch>();
        await foreach (var b in ParquetDataReader.ReadAsync(store, key, options, counters)) list.Add(b);
        return list;
    }

    [Fact]
    public async Task Row_groups_that_cannot_match_are_skipped_and_rows_are_exact()
    {
        using var dir = new TempDir();
        var (store, file) = await SortedFileAsync(dir);
        var all = new ParquetReadCounters();
        await ReadAllAsync(store, file.Key, new ParquetReadOptions(), all);
        Assert.Equal(10, all.RowGroupsTotal);
        Assert.Equal(10, all.RowGroupsRead);

        var counters = new ParquetReadCounters();
        var batches = await ReadAllAsync(store, file.Key, new ParquetReadOptions { Filter = Predicate.Parse("id > 7500") }, counters);
        Assert.Equal(10, counters.RowGroupsTotal);
        Assert.Equal(7, counters.RowGroupsPruned);
        Assert.Equal(3, counters.RowGroupsRead);
        Assert.Equal(3_000, counters.RowsRead);
        Assert.True(counters.BytesScanned > 0 && counters.BytesScanned < all.BytesScanned / 2);
        var ids = batches.SelectMany(b => ((Int64Array)b.Column("id")).Values.ToArray()).ToList();
        Assert.Equal(Enumerable.Range(7501, 2499).Select(i => (long)i), ids);
        Assert.Equal(2_499, counters.RowsReturned);
    }

    [Fact]
    public async Task Projection_reads_filter_columns_but_returns_only_the_asked_ones()
    {
        using var dir = new TempDir();
        var (store, file) = await SortedFileAsync(dir);
        var counters = new ParquetReadCounters();
        var batches = await ReadAllAsync(store, file.Key,
            new ParquetReadOptions { Columns = ["name", "status"], Filter = Predicate.Parse("id < 1500 AND status = 'paid'"), BatchSize = 100 }, counters);
        Assert.All(batches, b => Assert.Equal(["name", "status"], b.Schema.FieldsList.Select(f => f.Name)));
        Assert.All(batches, b => Assert.True(b.Length <= 100));
        Assert.Equal(2, counters.RowGroupsRead);
        Assert.Equal(Enumerable.Range(0, 1500).Count(i => i % 4 == 0), batches.Sum(b => b.Length));
        Assert.All(batches, b => Assert.All(Enumerable.Range(0, b.Length), i => Assert.Equal("paid", ((StringArray)b.Column(1)).GetString(i))));
    }

    [Fact]
    public async Task Timestamp_filter_with_string_literal_prunes_row_groups()
    {
        using var dir = new TempDir();
        var (store, file) = await SortedFileAsync(dir);
        var cut = DateTimeOffset.UnixEpoch.AddTicks(TestBatches.TsOf(9_000) * 10);
        var counters = new ParquetReadCounters();
        var batches = await ReadAllAsync(store, file.Key,
            new ParquetReadOptions { Columns = ["id"], Filter = Predicate.Parse($"ts >= '{cut:yyyy-MM-ddTHH:mm:ss.ffffffZ}'") }, counters);
        Assert.Equal(1, counters.RowGroupsRead);
        Assert.Equal(Enumerable.Range(9_000, 1_000).Count(i => !TestBatches.TsNull(i)), batches.Sum(b => b.Length));
    }

    [Fact]
    public async Task Missing_column_is_a_clear_error_and_cancellation_stops_the_read()
    {
        using var dir = new TempDir();
        var (store, file) = await SortedFileAsync(dir);
        var ex = await Assert.ThrowsAsync<SchemaMismatchException>(async () =>
            await ReadAllAsync(store, file.Key, new ParquetReadOptions { Columns = ["nope"] }, new ParquetReadCounters()));
        Assert.Contains("nope", ex.Message);

        using var cts = new CancellationTokenSource();
        var read = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var b in ParquetDataReader.ReadAsync(store, file.Key, null, null, cts.Token))
            {
                read++;
                cts.Cancel();
            }
        });
        Assert.Equal(1, read);
    }
}

public class ParquetNestedAndForeignFileTests
{
    [Fact]
    public async Task Nested_struct_leaf_filters_prune_and_filter_rows()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var file = Assert.Single(await ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, TestBatches.Stream(10_000, 2_500), i => $"n-{i}.parquet",
            new ParquetWriteOptions { RowGroupMaxRows = 1_000 }));
        var counters = new ParquetReadCounters();
        long rows = 0;
        await foreach (var b in ParquetDataReader.ReadAsync(store, file.Key, new ParquetReadOptions { Columns = ["id"], Filter = Predicate.Parse("point.x >= 19000") }, counters))
            rows += b.Length;
        Assert.Equal(1, counters.RowGroupsRead);
        // point.x = 2 * id, null when the struct is null (id % 9 == 1).
        Assert.Equal(Enumerable.Range(9_500, 500).Count(i => i % 9 != 1), rows);
    }

    [Fact]
    public async Task Stats_of_an_existing_file_match_the_writer_except_float_bounds()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var file = Assert.Single(await ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, TestBatches.Stream(3_000, 1_000), i => $"e-{i}.parquet"));
        var stats = await ParquetDataReader.ReadStatsAsync(store, file.Key);
        Assert.Equal(file.Stats.NumRecords, stats.NumRecords);
        Assert.Equal(file.Stats.GetBounds("id"), stats.GetBounds("id"));
        Assert.Equal(file.Stats.GetBounds("ts")!.Max, stats.GetBounds("ts")!.Max);
        Assert.Null(stats.GetBounds("amount")!.Max);
        Assert.Equal(file.Stats.GetBounds("amount")!.NullCount, stats.GetBounds("amount")!.NullCount);
    }
}
