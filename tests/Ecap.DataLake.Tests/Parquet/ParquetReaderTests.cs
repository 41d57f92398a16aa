using Apache.Arrow;
using Apache.Arrow.Types;
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

public class ParquetSchemaEvolutionTests
{
    [Fact]
    public async Task Columns_missing_from_an_older_file_read_as_nulls_and_filter_as_nulls()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var file = Assert.Single(await ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, TestBatches.Stream(3_000, 1_000), i => $"old-{i}.parquet",
            new ParquetWriteOptions { RowGroupMaxRows = 1_000 }));
        var table = new Schema([
            new Field("id", Int64Type.Default, false), new Field("extra", Int64Type.Default, true), new Field("tags", new ListType(StringType.Default), true),
            new Field("name", StringType.Default, true), new Field("meta", new StructType([new Field("k", StringType.Default, true)]), true),
        ], null);

        async Task<(List<RecordBatch> Batches, ParquetReadCounters Counters)> Read(string? where)
        {
            var counters = new ParquetReadCounters();
            var list = new List<RecordBatch>();
            await foreach (var b in ParquetDataReader.ReadAsync(store, file.Key,
                               new ParquetReadOptions { TableSchema = table, Filter = where is null ? null : Predicate.Parse(where) }, counters))
                list.Add(b);
            return (list, counters);
        }

        var (all, _) = await Read(null);
        Assert.Equal(3_000, all.Sum(b => b.Length));
        Assert.All(all, b =>
        {
            Assert.Equal(["id", "extra", "tags", "name", "meta"], b.Schema.FieldsList.Select(f => f.Name));
            Assert.Equal(b.Length, b.Column("extra").NullCount);
            Assert.Equal(b.Length, b.Column("tags").NullCount);
            Assert.Equal(b.Length, b.Column("meta").NullCount);
            Assert.IsType<Int64Array>(b.Column("extra"));
        });

        var (none, pruned) = await Read("extra = 5");
        Assert.Empty(none);
        Assert.Equal(3, pruned.RowGroupsPruned);

        var (nulls, _) = await Read("extra IS NULL AND id < 10");
        Assert.Equal(10, nulls.Sum(b => b.Length));

        var (notNot, _) = await Read("NOT extra = 5");
        Assert.Empty(notNot);

        await Assert.ThrowsAsync<SchemaMismatchException>(async () =>
        {
            await foreach (var b in ParquetDataReader.ReadAsync(store, file.Key, new ParquetReadOptions { Filter = Predicate.Parse("extra = 5") })) { }
        });
    }
}
