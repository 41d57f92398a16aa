using System.Globalization;
using Ecap.DataLake;
using Ecap.DataLake.Query;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.DataLake.Query.Tests;

/// <summary>SQL over lake views checked against DuckDB reading the same files directly and against the library's own reads.</summary>
public class LakeQueryTests : IClassFixture<LakeQueryTests.Lake>
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>transactions over 90 days (two commits: v0 9000 rows, v1 1000 rows) and customer_profiles.</summary>
    public sealed class Lake : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Path => Dir.Sub("lake");
        public DataLakeStorage Storage { get; }

        public Lake()
        {
            Storage = new DataLakeStorage(Path);
            Storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 9000, 1, 3000, Start, 90),
                "transactions", DataType.Transactions, WriteMode.Append, new WriteOptions()).GetAwaiter().GetResult();
            Storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 1000, 2, 1000, Start, 90),
                "transactions", DataType.Transactions, WriteMode.Append, new WriteOptions()).GetAwaiter().GetResult();
            Storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.CustomerProfiles, 50_000, 3, 25_000, Start, 90),
                "customer_profiles", DataType.CustomerProfiles, WriteMode.Append, new WriteOptions()).GetAwaiter().GetResult();
        }

        /// <summary>The table's Parquet files as a DuckDB list literal (every file is live: only appends).</summary>
        public string Files(string table) =>
            DuckDbReader.FileList(Directory.GetFiles(System.IO.Path.Combine(Path, table), "*.parquet", SearchOption.AllDirectories));

        public void Dispose() => Dir.Dispose();
    }

    private readonly Lake _lake;

    public LakeQueryTests(Lake lake) => _lake = lake;

    private static async Task<List<object?[]>> Rows(LakeQuery q, string sql)
    {
        await using var result = await q.QueryAsync(sql);
        var rows = new List<object?[]>();
        await foreach (var row in result.ReadRowsAsync()) rows.Add(row);
        return rows;
    }

    private static string Show(IEnumerable<object?[]> rows) =>
        string.Join("\n", rows.Select(r => string.Join("|", r.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)))));

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Aggregate_by_day_matches_duckdb_over_the_files_and_partition_columns_come_from_the_log(bool hivePaths)
    {
        using var q = new LakeQuery(_lake.Storage) { PreferHivePaths = hivePaths };
        var lake = await Rows(q, "SELECT make_date(year, month, day) AS d, count(*), sum(amount) FROM transactions GROUP BY 1 ORDER BY 1");
        using var duck = new DuckDbReader();
        var direct = duck.Rows($"SELECT CAST(timestamp AT TIME ZONE 'UTC' AS DATE) AS d, count(*), sum(amount) FROM read_parquet({_lake.Files("transactions")}) GROUP BY 1 ORDER BY 1");
        Assert.Equal(90, lake.Count);
        Assert.Equal(Show(direct), Show(lake));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Join_of_transactions_with_customer_profiles_by_day_matches_duckdb_over_the_files(bool hivePaths)
    {
        const string lakeSql = """
            SELECT make_date(t.year, t.month, t.day) AS d, c.customer_segment, count(*) AS n, sum(t.amount) AS total
            FROM transactions t JOIN customer_profiles c ON t.customer_id = c.customer_id
            GROUP BY ALL ORDER BY 1, 2
            """;
        using var q = new LakeQuery(_lake.Storage) { PreferHivePaths = hivePaths };
        var lake = await Rows(q, lakeSql);
        using var duck = new DuckDbReader();
        // Directly over the files, the partition column customer_segment is not in them: take it from the file path.
        var direct = duck.Rows($"""
            SELECT CAST(t.timestamp AT TIME ZONE 'UTC' AS DATE) AS d, c.customer_segment, count(*) AS n, sum(t.amount) AS total
            FROM read_parquet({_lake.Files("transactions")}) t
            JOIN read_parquet({_lake.Files("customer_profiles")}, hive_partitioning = true) c ON t.customer_id = c.customer_id
            GROUP BY ALL ORDER BY 1, 2
            """);
        Assert.NotEmpty(lake);
        Assert.Equal(Show(direct), Show(lake));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_filter_on_one_day_of_90_reads_only_that_partitions_files(bool hivePaths)
    {
        var day = Start.AddDays(40);
        var scan = await _lake.Storage.ReadPartitionedDataAsync("transactions", new ReadOptions
        {
            PartitionFilters = [PartitionFilter.Equal("year", day.Year), PartitionFilter.Equal("month", day.Month), PartitionFilter.Equal("day", day.Day)],
        });
        var expectedRows = 0L;
        await foreach (var b in scan.ReadBatchesAsync()) expectedRows += b.Length;

        using var q = new LakeQuery(_lake.Storage) { PreferHivePaths = hivePaths };
        await using var result = await q.QueryAsync($"SELECT count(*) FROM transactions WHERE year = {day.Year} AND month = {day.Month} AND day = {day.Day}");
        var rows = new List<object?[]>();
        await foreach (var r in result.ReadRowsAsync()) rows.Add(r);

        Assert.Equal(expectedRows, Convert.ToInt64(rows[0][0], CultureInfo.InvariantCulture));
        var snapshot = await _lake.Storage.OpenTable("transactions").GetSnapshotAsync();
        Assert.Equal(snapshot.Files.Count, result.Stats.FilesConsidered);
        Assert.Equal(90, LakeViews.Group(snapshot).Count);
        Assert.Equal(scan.Files.Count, result.Stats.FilesRead);
        Assert.True(result.Stats.FilesRead < snapshot.Files.Count / 10, $"read {result.Stats.FilesRead} of {snapshot.Files.Count}");
        Assert.Equal(scan.Files.Sum(f => f.Size), result.Stats.BytesScanned);

        // The plan shows it too: one Parquet scan (of the union's 90 branches, or the single hive scan).
        var plan = await q.ExplainAsync($"SELECT count(*) FROM transactions WHERE year = {day.Year} AND month = {day.Month} AND day = {day.Day}");
        Assert.Equal(1, CountOf(plan, "READ_PARQUET") / 2); // "Function: READ_PARQUET" under a READ_PARQUET node
        // A filter on a data column the files' stats exclude: DuckDB skips the row groups, the result is right.
        var none = await Rows(q, "SELECT count(*) FROM transactions WHERE transaction_id < 0");
        Assert.Equal(0L, Convert.ToInt64(none[0][0], CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_query_reports_its_time_files_and_bytes_on_the_meter()
    {
        var scanned = 0L; var pruned = 0L; var bytes = 0L; var timings = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == Ecap.DataLake.Metrics.LakeMetrics.MeterName) l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
        {
            // Only this test's query: the table tag names "customer_profiles" alone.
            foreach (var t in tags) if (t.Key == Ecap.DataLake.Metrics.LakeMetrics.TableTag && (string?)t.Value != "customer_profiles") return;
            if (i.Name == "ecap.datalake.files.scanned") Interlocked.Add(ref scanned, v);
            if (i.Name == "ecap.datalake.files.pruned") Interlocked.Add(ref pruned, v);
            if (i.Name == "ecap.datalake.query.bytes.scanned") Interlocked.Add(ref bytes, v);
        });
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) =>
        {
            foreach (var t in tags) if (t.Key == Ecap.DataLake.Metrics.LakeMetrics.TableTag && (string?)t.Value != "customer_profiles") return;
            if (i.Name == "ecap.datalake.query.duration") Interlocked.Increment(ref timings);
        });
        listener.Start();
        using var q = new LakeQuery(_lake.Storage);
        QueryStats stats;
        await using (var result = await q.QueryAsync("SELECT count(*) FROM customer_profiles WHERE region = 'EU'"))
        {
            await foreach (var _ in result.ReadRowsAsync()) { }
            stats = result.Stats;
        }
        Assert.True(stats.FilesPruned > 0);
        Assert.Equal(stats.FilesRead, scanned);
        Assert.Equal(stats.FilesPruned, pruned);
        Assert.Equal(stats.BytesScanned, bytes);
        Assert.Equal(1, timings);
    }

    [Fact]
    public async Task Dates_and_timestamps_keep_their_types_and_format_in_iso_8601()
    {
        using var q = new LakeQuery(_lake.Storage);
        var row = (await Rows(q, "SELECT min(timestamp), TIMESTAMP '2026-01-01 00:00:00', DATE '2026-01-02', 7::HUGEINT FROM transactions"))[0];
        var min = Assert.IsType<DateTimeOffset>(row[0]);
        Assert.Equal(Start, min.AddTicks(-(min.Ticks % TimeSpan.TicksPerDay)));
        Assert.EndsWith("Z", SqlValues.Format(row[0]));
        Assert.Equal("2026-01-01T00:00:00", SqlValues.Format(row[1]));
        Assert.Equal("2026-01-02", SqlValues.Format(row[2]));
        using var buffer = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(buffer)) SqlValues.WriteJson(w, row[3]);
        Assert.Equal("7", System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private static int CountOf(string text, string word)
    {
        var n = 0;
        for (var i = text.IndexOf(word, StringComparison.Ordinal); i >= 0; i = text.IndexOf(word, i + word.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    [Fact]
    public async Task Time_travel_names_read_the_table_at_a_version_or_a_time()
    {
        using var q = new LakeQuery(_lake.Storage);
        var history = await _lake.Storage.GetHistoryAsync("transactions");
        var v0Time = history.Single(h => h.Version == 0).Timestamp;
        Assert.Equal(9000L, Convert.ToInt64((await Rows(q, "SELECT count(*) FROM \"transactions@v0\""))[0][0], CultureInfo.InvariantCulture));
        Assert.Equal(10_000L, Convert.ToInt64((await Rows(q, "SELECT count(*) FROM \"transactions@v1\""))[0][0], CultureInfo.InvariantCulture));
        Assert.Equal(10_000L, Convert.ToInt64((await Rows(q, "SELECT count(*) FROM transactions"))[0][0], CultureInfo.InvariantCulture));
        var at = v0Time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        Assert.Equal(9000L, Convert.ToInt64((await Rows(q, $"SELECT count(*) FROM \"transactions@{at}\""))[0][0], CultureInfo.InvariantCulture));
        // Both versions in one query: the rows the second commit added.
        var added = await Rows(q, "SELECT count(*) FROM (SELECT transaction_id FROM \"transactions@v1\" EXCEPT ALL SELECT transaction_id FROM \"transactions@v0\")");
        Assert.Equal(1000L, Convert.ToInt64(added[0][0], CultureInfo.InvariantCulture));
        await Assert.ThrowsAsync<InvalidInputException>(() => q.QueryAsync("SELECT * FROM \"transactions@yesterday\""));
    }

    [Fact]
    public async Task A_hostile_table_name_cannot_inject_sql()
    {
        using var q = new LakeQuery(_lake.Storage);
        // A folder that looks like a table but whose name is SQL: never registered, never spliced into a statement.
        var hostile = "x\"; DROP VIEW transactions; --";
        Assert.Equal("\"x\"\"; DROP VIEW transactions; --\"", LakeViews.QuoteIdentifier(hostile));
        Assert.Equal("'it''s'", LakeViews.QuoteLiteral("it's"));
        await Assert.ThrowsAsync<InvalidInputException>(() => q.QueryAsync("SELECT * FROM \"x\"\"; DROP VIEW transactions; --\""));
        await Assert.ThrowsAsync<InvalidInputException>(() => q.QueryAsync("SELECT * FROM \"transactions'); DROP VIEW customer_profiles; --\""));
        Assert.Equal(10_000L, Convert.ToInt64((await Rows(q, "SELECT count(*) FROM transactions"))[0][0], CultureInfo.InvariantCulture));
        Assert.DoesNotContain(q.Views.Keys, k => k.Contains('\'') || k.Contains('"'));
    }

    [Theory]
    [InlineData("out.parquet")]
    [InlineData("out.csv")]
    [InlineData("out.json")]
    public async Task Copy_to_a_file_writes_what_the_query_returns(string name)
    {
        using var dir = new TempDir();
        var path = dir.Sub(name);
        using var q = new LakeQuery(_lake.Storage);
        var n = await q.CopyToAsync("SELECT transaction_id, amount, day FROM transactions WHERE month = 2 ORDER BY transaction_id", path);
        using var duck = new DuckDbReader();
        var direct = duck.Rows($"SELECT count(*) FROM read_parquet({_lake.Files("transactions")}) WHERE month(timestamp AT TIME ZONE 'UTC') = 2");
        Assert.Equal(Convert.ToInt64(direct[0][0], CultureInfo.InvariantCulture), n);
        Assert.Equal(n, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM '{path}'"), CultureInfo.InvariantCulture));
    }
}
