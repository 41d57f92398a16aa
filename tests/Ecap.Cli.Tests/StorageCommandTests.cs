using System.Text.Json;

namespace Ecap.Cli.Tests;

/// <summary>The CLI end to end: generate, write, read, info, list-tables, history, restore, run as processes.</summary>
public class StorageCommandTests : IClassFixture<StorageCommandTests.Lake>
{
    /// <summary>One lake for the class: a generated file written as a table (slow parts done once).</summary>
    public sealed class Lake : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Path => Dir.Sub("lake");
        public string Source => Dir.Sub("tx.parquet");

        public Lake()
        {
            var gen = EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "20000", "--days", "30", "--out", Source, "--seed", "3");
            Assert.True(gen.ExitCode == 0, gen.Stderr);
            var write = EcapProcess.Run("--lake", Path, "--output", "json", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", Source);
            Assert.True(write.ExitCode == 0, write.Stderr);
        }

        public void Dispose() => Dir.Dispose();
    }

    private readonly Lake _lake;

    public StorageCommandTests(Lake lake) => _lake = lake;

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", _lake.Path, .. args]);

    [Fact]
    public void Info_as_json_reports_the_documented_keys_and_matches_duckdb()
    {
        var r = Ecap("--output", "json", "data-lake", "storage", "info", "tx");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var info = r.Json();
        Assert.Equal(20_000, info.GetProperty("record_count").GetInt64());
        Assert.Equal(30, info.GetProperty("partitions").GetArrayLength());
        Assert.Equal(0, info.GetProperty("version").GetInt64());
        var files = Directory.GetFiles(System.IO.Path.Combine(_lake.Path, "tx"), "*.parquet", SearchOption.AllDirectories);
        Assert.Equal(files.Length, info.GetProperty("file_count").GetInt32());
        Assert.Equal(files.Sum(f => new FileInfo(f).Length), info.GetProperty("total_size_bytes").GetInt64());
        using var duck = new DuckDbReader();
        var oneDay = info.GetProperty("partitions")[0];
        var day = int.Parse(oneDay.GetProperty("values").GetProperty("day").GetString()!);
        var month = int.Parse(oneDay.GetProperty("values").GetProperty("month").GetString()!);
        Assert.Equal((long)duck.Scalar($"SELECT count(*) FROM read_parquet('{_lake.Source}') WHERE month(timestamp AT TIME ZONE 'UTC') = {month} AND day(timestamp AT TIME ZONE 'UTC') = {day}")!,
            oneDay.GetProperty("record_count").GetInt64());
        Assert.Contains(info.GetProperty("schema").EnumerateArray(), c => c.GetProperty("name").GetString() == "transaction_id");
    }

    [Fact]
    public void Read_as_json_applies_partition_filters_columns_where_and_limit()
    {
        var r = Ecap("--output", "json", "data-lake", "storage", "read", "tx", "--partition-filter", "month=8", "--partition-filter", "day=3..4",
            "--columns", "transaction_id,amount,day", "--where", "amount > 100");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var rows = r.Json().EnumerateArray().ToList();
        using var duck = new DuckDbReader();
        var expected = (long)duck.Scalar($"SELECT count(*) FROM read_parquet('{_lake.Source}') WHERE day(timestamp AT TIME ZONE 'UTC') BETWEEN 3 AND 4 AND amount > 100")!;
        Assert.Equal(expected, rows.Count);
        Assert.All(rows, row =>
        {
            Assert.Equal(new[] { "transaction_id", "amount", "day" }, row.EnumerateObject().Select(p => p.Name));
            Assert.True(row.GetProperty("amount").GetDecimal() > 100);
            Assert.InRange(row.GetProperty("day").GetInt32(), 3, 4);
        });

        var limited = Ecap("--output", "json", "data-lake", "storage", "read", "tx", "--limit", "7");
        Assert.Equal(7, limited.Json().GetArrayLength());
    }

    [Fact]
    public void Read_exports_to_csv_and_parquet_by_extension()
    {
        var csv = _lake.Dir.Sub("out.csv");
        var parquet = _lake.Dir.Sub("out.parquet");
        Assert.Equal(0, Ecap("data-lake", "storage", "read", "tx", "--partition-filter", "day=1", "--out", csv).ExitCode);
        Assert.Equal(0, Ecap("data-lake", "storage", "read", "tx", "--partition-filter", "day=1", "--out", parquet).ExitCode);
        using var duck = new DuckDbReader();
        var expected = (long)duck.Scalar($"SELECT count(*) FROM read_parquet('{_lake.Source}') WHERE day(timestamp AT TIME ZONE 'UTC') = 1")!;
        Assert.Equal(expected, (long)duck.Scalar($"SELECT count(*) FROM read_csv_auto('{csv}')")!);
        Assert.Equal(expected, (long)duck.Scalar($"SELECT count(*) FROM read_parquet('{parquet}')")!);
        Assert.Equal(duck.Scalar($"SELECT sum(amount) FROM read_parquet('{_lake.Source}') WHERE day(timestamp AT TIME ZONE 'UTC') = 1"),
            duck.Scalar($"SELECT sum(amount) FROM read_parquet('{parquet}')"));
    }

    [Fact]
    public void List_tables_as_json_names_the_table()
    {
        var r = Ecap("--output", "json", "data-lake", "storage", "list-tables");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var t = Assert.Single(r.Json().EnumerateArray());
        Assert.Equal("tx", t.GetProperty("name").GetString());
        Assert.Equal(20_000, t.GetProperty("record_count").GetInt64());
    }

    [Fact]
    public void Errors_go_to_stderr_with_a_hint_and_a_non_zero_exit_code()
    {
        var missing = Ecap("data-lake", "storage", "info", "nope");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("error:", missing.Stderr);
        Assert.Contains("hint:", missing.Stderr);
        Assert.Equal("", missing.Stdout.Trim());

        var badType = Ecap("data-lake", "storage", "write", "x", "--data-type", "bogus", "--source-path", _lake.Source);
        Assert.Equal(2, badType.ExitCode);
        Assert.Contains("transactions", badType.Stderr);

        var badWhere = Ecap("data-lake", "storage", "read", "tx", "--where", "amount >");
        Assert.Equal(2, badWhere.ExitCode);
    }

    [Theory]
    [InlineData("--where", "amount >")]
    [InlineData("--where", "amount = 'x' AND (")]
    [InlineData("--timestamp", "yesterday-ish")]
    [InlineData("--partition-filter", "month")]
    public void Bad_option_values_exit_2_with_an_error_and_no_stack_trace(string option, string value)
    {
        var r = Ecap("data-lake", "storage", "read", "tx", option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("error:", r.Stderr.TrimStart());
        Assert.Contains("hint:", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("Exception", r.Stderr);
        Assert.Equal("", r.Stdout.Trim());
    }

    [Theory]
    [InlineData(false, "storage", "list-tables")]
    [InlineData(true, "storage", "list-tables")]
    [InlineData(false, "storage", "info", "tx")]
    [InlineData(false, "access", "whoami")]
    [InlineData(false, "query", "SELECT 1")]
    public void A_read_on_a_lake_that_does_not_exist_exits_2_and_creates_nothing(bool fileUri, params string[] command)
    {
        using var tmp = new TempDir();
        var missing = System.IO.Path.Combine(tmp.Path, "no", "lake");
        var r = EcapProcess.Run(["--lake", fileUri ? new Uri(missing).AbsoluteUri : missing, "data-lake", .. command]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("does not exist", r.Stderr);
        Assert.False(Directory.Exists(System.IO.Path.Combine(tmp.Path, "no")), "a read created the lake folder");
    }

    [Fact]
    public void A_read_of_a_folder_that_is_no_lake_lists_nothing_and_writes_nothing_there()
    {
        using var tmp = new TempDir();
        var folder = tmp.Sub("etc-like");
        Directory.CreateDirectory(Path.Combine(folder, "some-config"));
        File.WriteAllText(Path.Combine(folder, "hosts"), "127.0.0.1 localhost\n");
        var r = EcapProcess.Run("--lake", new Uri(folder).AbsoluteUri, "--output", "json", "data-lake", "storage", "list-tables");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Empty(r.Json().EnumerateArray());
        Assert.Equal(["hosts", "some-config"], Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).Order());
    }

    [Theory]
    [InlineData("--limit", "abc", "'--limit'", "an integer")]
    [InlineData("--version", "latest", "'--version'", "an integer")]
    [InlineData("--partition-filter", "month=abc", "'month'", "int32")]
    public void Unreadable_option_values_exit_2_naming_the_option_and_the_type(string option, string value, string names, string type)
    {
        var r = Ecap("data-lake", "storage", "read", "tx", option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("error:", r.Stderr.TrimStart());
        Assert.Contains(names, r.Stderr);
        Assert.Contains(type, r.Stderr);
        Assert.DoesNotContain("'?'", r.Stderr);
        Assert.DoesNotContain("System.", r.Stderr);
        Assert.DoesNotContain("Usage:", r.Stderr + r.Stdout); // no help dump
        Assert.Equal("", r.Stdout.Trim());
    }

    [Fact]
    public void A_where_type_error_leaves_no_half_written_json_and_no_partial_out_file()
    {
        var json = Ecap("--output", "json", "data-lake", "storage", "read", "tx", "--where", "amount > 'x'");
        Assert.Equal(2, json.ExitCode);
        Assert.Contains("'amount'", json.Stderr);
        Assert.Equal("", json.Stdout.Trim());

        using var tmp = new TempDir();
        var outFile = System.IO.Path.Combine(tmp.Path, "rows.jsonl");
        var export = Ecap("data-lake", "storage", "read", "tx", "--where", "amount > 'x'", "--out", outFile);
        Assert.Equal(2, export.ExitCode);
        Assert.False(File.Exists(outFile));
    }

    [Fact]
    public void A_where_nested_30000_deep_exits_2_not_a_stack_overflow()
    {
        var deep = new string('(', 30_000) + "amount > 1" + new string(')', 30_000);
        var r = Ecap("data-lake", "storage", "read", "tx", "--where", deep);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("256 levels", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public void Values_the_library_would_trip_over_are_bad_input_too()
    {
        // A key given twice is not a duplicate-key crash, a duration too long not an overflow.
        var twice = Ecap("data-lake", "storage", "write", "enc", "--data-type", "transactions", "--source-path", _lake.Source,
            "--encrypt-footer-key", "k1", "--encrypt-column", "amount:k1", "--encrypt-column", "amount:k2");
        Assert.Equal(2, twice.ExitCode);
        Assert.Contains("error: --encrypt-column gives 'amount' more than once.", twice.Stderr);
        var forever = Ecap("data-lake", "compaction", "vacuum", "tx", "--retention-hours", "100000000000");
        Assert.Equal(2, forever.ExitCode);
        Assert.Contains("error: --retention-hours", forever.Stderr);
        Assert.DoesNotContain("   at ", twice.Stderr + forever.Stderr);
    }

    [Fact]
    public void Help_explains_each_command_with_an_example()
    {
        var r = EcapProcess.Run("data-lake", "storage", "read", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("--partition-filter", r.Stdout);
        Assert.Contains("Example:", r.Stdout);
    }
}

/// <summary>Commands that change a table: each test gets its own lake.</summary>
public class StorageWriteCommandTests
{
    [Fact]
    public void Csv_and_json_lines_sources_append_history_shows_the_commits_and_restore_returns_to_a_version()
    {
        using var dir = new TempDir();
        var lake = dir.Sub("lake");
        var csv = dir.Sub("tx.csv");
        var jsonl = dir.Sub("tx.jsonl");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "500", "--out", csv, "--seed", "1").ExitCode);
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "300", "--out", jsonl, "--seed", "2").ExitCode);

        var w1 = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", csv);
        Assert.True(w1.ExitCode == 0, w1.Stderr);
        Assert.Equal(500, w1.Json().GetProperty("rows_written").GetInt64());
        var w2 = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", jsonl);
        Assert.True(w2.ExitCode == 0, w2.Stderr);
        Assert.Equal(1, w2.Json().GetProperty("version").GetInt64());

        var history = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "history", "tx").Json();
        Assert.Equal(new long[] { 1, 0 }, history.EnumerateArray().Select(h => h.GetProperty("version").GetInt64()));

        var restore = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "restore", "tx", "--version", "0");
        Assert.True(restore.ExitCode == 0, restore.Stderr);
        Assert.Equal(2, restore.Json().GetProperty("version").GetInt64());
        var info = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "info", "tx").Json();
        Assert.Equal(500, info.GetProperty("record_count").GetInt64());

        var atV1 = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "read", "tx", "--version", "1", "--columns", "transaction_id");
        Assert.Equal(800, atV1.Json().GetArrayLength());
    }

    [Fact]
    public void Demo_runs_on_a_fresh_lake_and_leaves_five_tables()
    {
        using var dir = new TempDir();
        var lake = dir.Sub("lake");
        var demo = EcapProcess.Run("--lake", lake, "data-lake", "demo", "--scale", "0.05");
        Assert.True(demo.ExitCode == 0, demo.Stderr + demo.Stdout);
        var tables = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "list-tables").Json();
        Assert.Equal(new[] { "analytics_results", "customer_profiles", "product_updates", "transactions", "user_events" },
            tables.EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToArray());
    }
}
