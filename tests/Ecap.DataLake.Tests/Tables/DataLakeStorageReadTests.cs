using Ecap.DataLake.Expressions;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Tables;

/// <summary>Reads: every filter kind, with the pruning it does checked, and the rows checked against DuckDB.</summary>
public class DataLakeStorageReadTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private DataLakeStorage _lake = null!;
    private DuckDbReader _duck = null!;
    private string _files = "";

    public async Task InitializeAsync()
    {
        _lake = new DataLakeStorage(_dir.Path);
        // 90 days from 2026-08-01: August, September, October.
        await _lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 45_000, days: 90), "tx", DataType.Transactions);
        await _lake.WritePartitionedDataAsync(Generate(DataType.CustomerProfiles, 10_000), "customers", DataType.CustomerProfiles);
        _duck = new DuckDbReader();
        _files = DuckDbReader.FileList(await LiveFilesAsync(_lake, _dir.Path, "tx"));
    }

    public Task DisposeAsync()
    {
        _duck.Dispose();
        _dir.Dispose();
        return Task.CompletedTask;
    }

    private long Duck(string where) => (long)_duck.Scalar($"SELECT count(*) FROM read_parquet({_files}) WHERE {where}")!;

    private async Task<(List<Apache.Arrow.RecordBatch> Rows, ReadMetrics Metrics)> Read(ReadOptions options, string table = "tx")
    {
        var scan = await _lake.ReadPartitionedDataAsync(table, options);
        return (await ReadAllAsync(scan), scan.Metrics);
    }

    [Fact]
    public async Task Partition_equality_reads_only_that_partition()
    {
        var (rows, m) = await Read(new ReadOptions { PartitionFilters = [PartitionFilter.Equal("month", 10), PartitionFilter.Equal("day", 5)] });
        Assert.Equal(Duck("month(timestamp AT TIME ZONE 'UTC') = 10 AND day(timestamp AT TIME ZONE 'UTC') = 5"), Rows(rows));
        Assert.Equal(90, m.PartitionsTotal);
        Assert.Equal(89, m.PartitionsPruned);
        Assert.Equal(m.FilesTotal - m.FilesRead, m.FilesPrunedByPartition);
        Assert.All(Column(rows, "day"), d => Assert.Equal(5, d));
    }

    [Fact]
    public async Task Partition_list_is_an_in_filter_and_range_is_inclusive()
    {
        var (inRows, inMetrics) = await Read(new ReadOptions { PartitionFilters = [PartitionFilter.In("month", 9, 10)] });
        Assert.Equal(Duck("month(timestamp AT TIME ZONE 'UTC') IN (9, 10)"), Rows(inRows));
        Assert.Equal(31, inMetrics.PartitionsPruned); // August's 31 days

        var (rangeRows, rangeMetrics) = await Read(new ReadOptions { PartitionFilters = [PartitionFilter.Equal("month", 8), PartitionFilter.Between("day", 10, 12)] });
        Assert.Equal(Duck("month(timestamp AT TIME ZONE 'UTC') = 8 AND day(timestamp AT TIME ZONE 'UTC') BETWEEN 10 AND 12"), Rows(rangeRows));
        Assert.Equal(87, rangeMetrics.PartitionsPruned);
    }

    [Fact]
    public async Task A_predicate_on_a_data_column_prunes_files_by_their_stats_and_returns_exact_rows()
    {
        // Each daily file's timestamp stats span one day, so files before Oct 29 provably hold no match.
        var (rows, m) = await Read(new ReadOptions { Predicate = Predicate.Parse("timestamp >= '2026-10-29T06:00:00Z'") });
        Assert.Equal(Duck("timestamp >= TIMESTAMPTZ '2026-10-29 06:00:00+00'"), Rows(rows));
        Assert.Equal(m.FilesTotal - 1, m.FilesPrunedByStats + m.FilesPrunedByPartition);
        Assert.Equal(0, m.FilesPrunedByPartition);
        Assert.Equal(1, m.FilesRead);
    }

    [Fact]
    public async Task Every_comparison_and_boolean_operator_matches_duckdb()
    {
        var cases = new (string Ours, string DuckSql)[]
        {
            ("amount >= 100", "amount >= 100"),
            ("amount < 20.5", "amount < 20.5"),
            ("status = 'refunded'", "status = 'refunded'"),
            ("status != 'completed'", "status <> 'completed'"),
            ("currency IN ('EUR', 'GBP')", "currency IN ('EUR', 'GBP')"),
            ("discount_code IS NULL", "discount_code IS NULL"),
            ("discount_code IS NOT NULL AND quantity <= 2", "discount_code IS NOT NULL AND quantity <= 2"),
            ("country = 'DE' OR amount > 400", "country = 'DE' OR amount > 400"),
            ("NOT (status = 'completed')", "NOT (status = 'completed')"),
            ("timestamp >= '2026-10-15T00:00:00Z'", "timestamp >= TIMESTAMPTZ '2026-10-15 00:00:00+00'"),
        };
        foreach (var (ours, duck) in cases)
        {
            var (rows, _) = await Read(new ReadOptions { Predicate = Predicate.Parse(ours), Columns = ["transaction_id"] });
            Assert.True(Duck(duck) == Rows(rows), $"'{ours}': DuckDB {Duck(duck)}, ours {Rows(rows)}");
        }
    }

    [Fact]
    public async Task A_predicate_on_a_partition_column_prunes_partitions()
    {
        var (rows, m) = await Read(new ReadOptions { Predicate = Predicate.Parse("month = 9 AND day < 3") });
        Assert.Equal(Duck("month(timestamp AT TIME ZONE 'UTC') = 9 AND day(timestamp AT TIME ZONE 'UTC') < 3"), Rows(rows));
        Assert.Equal(88, m.PartitionsPruned);
    }

    [Fact]
    public async Task Projection_returns_the_requested_columns_in_order_and_limit_stops_early()
    {
        var (rows, m) = await Read(new ReadOptions { Columns = ["amount", "day", "transaction_id"], Limit = 123 });
        Assert.Equal(123, Rows(rows));
        Assert.Equal(new[] { "amount", "day", "transaction_id" }, rows[0].Schema.FieldsList.Select(f => f.Name));
        Assert.True(m.FilesRead < m.FilesTotal);
    }

    [Fact]
    public async Task Equality_and_in_on_customer_id_read_only_the_matching_buckets()
    {
        var files = DuckDbReader.FileList(await LiveFilesAsync(_lake, _dir.Path, "customers"));
        var ids = _duck.Rows($"SELECT customer_id FROM read_parquet({files}) ORDER BY customer_id LIMIT 3").Select(r => (long)r[0]!).ToList();

        var (one, m1) = await Read(new ReadOptions { Predicate = Predicate.Parse($"customer_id = {ids[0]}") }, "customers");
        Assert.Equal((long)_duck.Scalar($"SELECT count(*) FROM read_parquet({files}) WHERE customer_id = {ids[0]}")!, Rows(one));
        Assert.True(m1.FilesPrunedByBucket > 0);
        var buckets = (await _lake.ReadPartitionedDataAsync("customers", new ReadOptions { Predicate = Predicate.Parse($"customer_id = {ids[0]}") }))
            .Files.Select(f => f.Tags![TableLayout.BucketTag]).Distinct().ToList();
        Assert.Equal(new[] { IcebergBucket.Bucket(ids[0], 10).ToString() }, buckets);

        var (some, m2) = await Read(new ReadOptions { Predicate = Predicate.Parse($"customer_id IN ({string.Join(",", ids)})") }, "customers");
        Assert.Equal((long)_duck.Scalar($"SELECT count(*) FROM read_parquet({files}) WHERE customer_id IN ({string.Join(",", ids)})")!, Rows(some));
        Assert.True(m2.FilesPrunedByBucket > 0);
    }

    [Fact]
    public async Task Unknown_columns_and_filters_on_non_partition_columns_are_clear_errors()
    {
        var e1 = await Assert.ThrowsAsync<InvalidInputException>(() => _lake.ReadPartitionedDataAsync("tx", new ReadOptions { Columns = ["nope"] }));
        Assert.Contains("'nope'", e1.Message);
        var e2 = await Assert.ThrowsAsync<InvalidInputException>(() => _lake.ReadPartitionedDataAsync("tx", new ReadOptions { PartitionFilters = [PartitionFilter.Equal("status", "x")] }));
        Assert.Contains("not a partition column", e2.Message);
        await Assert.ThrowsAsync<TableNotFoundException>(() => _lake.ReadPartitionedDataAsync("missing"));
    }

    [Fact]
    public async Task Table_info_figures_match_an_independent_count()
    {
        var info = await _lake.GetTableInfoAsync("tx");
        Assert.Equal((long)_duck.Scalar($"SELECT count(*) FROM read_parquet({_files})")!, info.RecordCount);
        var liveFiles = await LiveFilesAsync(_lake, _dir.Path, "tx");
        Assert.Equal(liveFiles.Count, info.FileCount);
        Assert.Equal(liveFiles.Sum(f => new FileInfo(f).Length), info.TotalSizeBytes);
        Assert.Equal(90, info.PartitionCount);
        Assert.Equal(info.RecordCount, info.Partitions.Sum(p => p.RecordCount));
        var oct5 = info.Partitions.Single(p => p.Values["month"] == "10" && p.Values["day"] == "5");
        Assert.Equal(Duck("month(timestamp AT TIME ZONE 'UTC') = 10 AND day(timestamp AT TIME ZONE 'UTC') = 5"), oct5.RecordCount);
        Assert.True(info.CompressionRatio > 1);
        Assert.Equal(new[] { "year", "month", "day" }, info.PartitionColumns);
        Assert.Contains(info.Schema, c => c.Name == "amount" && c.Type == "decimal(18,2)");
        Assert.True(info.PartitionSkew >= 1);
    }

    [Fact]
    public async Task List_tables_names_every_table_with_its_version_and_rows()
    {
        var tables = await _lake.ListTablesAsync();
        Assert.Equal(new[] { "customers", "tx" }, tables.Select(t => t.Name));
        Assert.Equal(45_000, tables.Single(t => t.Name == "tx").RecordCount);
        Assert.Equal(10_000, tables.Single(t => t.Name == "customers").RecordCount);
    }
}
