using System.Globalization;

namespace Ecap.Cli.Tests;

/// <summary><c>ecap data-lake query</c> end to end as a process, checked against DuckDB over the table's files.</summary>
public class QueryCommandTests : IClassFixture<QueryCommandTests.Lake>
{
    public sealed class Lake : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Path => Dir.Sub("lake");
        public string Source => Dir.Sub("tx.parquet");

        public Lake()
        {
            var gen = EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "6000", "--days", "30", "--out", Source, "--seed", "5");
            Assert.True(gen.ExitCode == 0, gen.Stderr);
            var write = EcapProcess.Run("--lake", Path, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", Source);
            Assert.True(write.ExitCode == 0, write.Stderr);
        }

        public void Dispose() => Dir.Dispose();
    }

    private readonly Lake _lake;

    public QueryCommandTests(Lake lake) => _lake = lake;

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", _lake.Path, .. args]);

    [Fact]
    public void A_query_that_fails_while_its_rows_stream_prints_one_line_no_json_and_is_audited_as_failed()
    {
        // The cast fails on the rows themselves (DuckDB's streaming mode raises it when the first rows are fetched).
        var r = Ecap("--output", "json", "data-lake", "query", "SELECT CAST(status AS INTEGER) AS s FROM tx");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("Query failed", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Equal("", r.Stdout.Trim()); // no half-written JSON array
        var audit = Ecap("--output", "json", "data-lake", "audit", "--limit", "0").Json().EnumerateArray()
            .Where(x => x.GetProperty("operation").GetString() == "query" && x.GetProperty("parameters").GetProperty("sql").GetString()!.Contains("CAST(status"))
            .ToList();
        Assert.Equal("failed", Assert.Single(audit).GetProperty("outcome").GetString());

        // A successful query's record counts its rows.
        Assert.Equal(0, Ecap("--output", "json", "data-lake", "query", "SELECT transaction_id FROM tx LIMIT 7").ExitCode);
        var ok = Ecap("--output", "json", "data-lake", "audit", "--limit", "0").Json().EnumerateArray()
            .Last(x => x.GetProperty("operation").GetString() == "query" && x.GetProperty("parameters").GetProperty("sql").GetString()!.Contains("LIMIT 7"));
        Assert.Equal(("succeeded", 7L), (ok.GetProperty("outcome").GetString(), ok.GetProperty("rows").GetInt64()));
    }

    [Fact]
    public void Json_output_is_an_array_of_row_objects_matching_duckdb()
    {
        var r = Ecap("--output", "json", "data-lake", "query", "SELECT day, count(*) AS n, sum(amount) AS total FROM tx GROUP BY day ORDER BY day");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rows = r.Json().EnumerateArray().ToList();
        using var duck = new DuckDbReader();
        var direct = duck.Rows($"SELECT day(timestamp AT TIME ZONE 'UTC') AS d, count(*), sum(amount) FROM read_parquet('{_lake.Source}') GROUP BY d ORDER BY d");
        Assert.Equal(direct.Count, rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(Convert.ToInt64(direct[i][0], CultureInfo.InvariantCulture), rows[i].GetProperty("day").GetInt64());
            Assert.Equal(Convert.ToInt64(direct[i][1], CultureInfo.InvariantCulture), rows[i].GetProperty("n").GetInt64());
            Assert.Equal(Convert.ToDecimal(direct[i][2], CultureInfo.InvariantCulture), rows[i].GetProperty("total").GetDecimal());
        }
    }

    [Fact]
    public void Time_travel_name_reads_an_earlier_version()
    {
        var r = Ecap("--output", "json", "data-lake", "query", "SELECT count(*) AS n FROM \"tx@v0\"");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(6000, r.Json()[0].GetProperty("n").GetInt64());
        var bad = Ecap("data-lake", "query", "SELECT count(*) FROM \"tx@v99\"");
        Assert.NotEqual(0, bad.ExitCode);
    }

    [Fact]
    public void Table_view_is_limited_and_reports_pruning()
    {
        var r = Ecap("data-lake", "query", "SELECT transaction_id FROM tx");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("20 row(s) shown", r.Stdout);
        var pruned = Ecap("data-lake", "query", "SELECT count(*) FROM tx WHERE day = 7");
        Assert.True(pruned.ExitCode == 0, pruned.Stderr);
        var files = Directory.GetFiles(System.IO.Path.Combine(_lake.Path, "tx"), "*.parquet", SearchOption.AllDirectories);
        var dayFiles = files.Count(f => f.Contains($"{System.IO.Path.DirectorySeparatorChar}day=7{System.IO.Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        Assert.Contains($"scanned {dayFiles}/{files.Length} files", pruned.Stderr);
    }

    [Fact]
    public void Out_writes_a_parquet_file_duckdb_reads()
    {
        var path = _lake.Dir.Sub("out-" + Guid.NewGuid().ToString("N")[..6] + ".parquet");
        var r = Ecap("data-lake", "query", "SELECT transaction_id, amount FROM tx WHERE amount > 100", "--out", path);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var duck = new DuckDbReader();
        Assert.Equal(duck.Scalar($"SELECT count(*) FROM read_parquet('{_lake.Source}') WHERE amount > 100"), duck.Scalar($"SELECT count(*) FROM '{path}'"));
    }

    [Fact]
    public void Bad_sql_and_a_hostile_name_exit_2_with_a_message()
    {
        var r = Ecap("data-lake", "query", "SELECT * FROM \"tx\"\"; DROP VIEW tx; --\"");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("does not exist", r.Stderr);
        var bad = Ecap("data-lake", "query", "SELEC 1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("syntax error", bad.Stderr);
    }

    [Fact]
    public void Sql_that_writes_or_reads_files_directly_is_refused_with_exit_2_and_the_lake_is_unchanged()
    {
        var log = System.IO.Path.Combine(_lake.Path, "tx", "_delta_log");
        var before = Directory.GetFiles(log).Order().ToList();
        var copy = Ecap("data-lake", "query", $"COPY (SELECT 1 AS x) TO '{log}/00000000000000000099.json' (FORMAT json)");
        Assert.Equal(2, copy.ExitCode);
        Assert.Contains("Query refused: only SELECT", copy.Stderr);
        var read = Ecap("data-lake", "query", $"SELECT count(*) FROM read_parquet('{_lake.Path}/tx/**/*.parquet')");
        Assert.Equal(2, read.ExitCode);
        Assert.Contains("read_parquet", read.Stderr);
        Assert.DoesNotContain("   at ", copy.Stderr + read.Stderr);
        Assert.Equal(before, Directory.GetFiles(log).Order().ToList());
    }
}
