using System.Globalization;
using System.Text;

namespace Ecap.Cli.Tests;

/// <summary><c>ecap data-lake ingestion files</c> end to end, as processes; rows checked by DuckDB over an export of the table.</summary>
public sealed class IngestionCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public IngestionCommandTests() => Directory.CreateDirectory(_dir.Sub("in"));

    public void Dispose() => _dir.Dispose();

    private string Lake => _dir.Sub("lake");

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", Lake, .. args]);

    private void WriteCsv(string name, long from, int count, string extra = "")
    {
        var sb = new StringBuilder("transaction_id,timestamp,amount,status\n");
        for (var i = from; i < from + count; i++)
            sb.Append(CultureInfo.InvariantCulture, $"{i},2026-08-{1 + i % 5:00}T12:00:00Z,{i}.5,paid\n");
        File.WriteAllText(Path.Combine(_dir.Sub("in"), name), sb + extra);
    }

    /// <summary>(rows, distinct ids) of the table as committed, by DuckDB over an export of it.</summary>
    private (long Rows, long Distinct) Committed(string table)
    {
        var export = _dir.Sub(Guid.NewGuid().ToString("N") + ".parquet");
        var r = Ecap("data-lake", "storage", "read", table, "--out", export);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var duck = new DuckDbReader();
        var row = duck.Rows($"SELECT count(*), count(DISTINCT transaction_id) FROM read_parquet('{export}')")[0];
        return (Convert.ToInt64(row[0]), Convert.ToInt64(row[1]));
    }

    [Fact]
    public void Files_ingest_reports_as_json_dead_letters_bad_lines_and_a_rerun_skips_done_files()
    {
        WriteCsv("a.csv", 0, 300);
        WriteCsv("b.csv", 300, 200, extra: "999,2026-08-01T12:00:00Z\n");
        var schema = _dir.Sub("schema.txt");
        File.WriteAllText(schema, "transaction_id:long\ntimestamp:timestamp\namount:double\nstatus:string\n");
        var r = Ecap("--output", "json", "data-lake", "ingestion", "files", "tx", "--data-type", "transactions",
            "--path", _dir.Sub("in") + "/*.csv", "--schema", schema);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var report = r.Json();
        Assert.Equal("completed_with_dead_letters", report.GetProperty("status").GetString());
        Assert.Equal("tx__dead_letters", report.GetProperty("dead_letter_table").GetString());
        Assert.Equal(501, report.GetProperty("records_read").GetInt64());
        Assert.Equal(500, report.GetProperty("records_written").GetInt64());
        Assert.Equal(1, report.GetProperty("records_dead_lettered").GetInt64());
        Assert.Equal(2, report.GetProperty("files_read").GetInt64());
        foreach (var key in new[] { "batches", "retries", "duration_ms", "records_per_second", "txn_version", "app_id" })
            Assert.True(report.TryGetProperty(key, out _), key);
        Assert.Equal((500L, 500L), Committed("tx"));

        var dead = _dir.Sub("dead.parquet");
        Assert.Equal(0, Ecap("data-lake", "storage", "read", "tx__dead_letters", "--out", dead).ExitCode);
        using (var duck = new DuckDbReader())
        {
            var row = duck.Rows($"SELECT source, position, raw, error FROM read_parquet('{dead}')").Single();
            Assert.Equal("b.csv", row[0]);
            Assert.Equal("record 200 (line 202)", row[1]);
            Assert.Equal("999,2026-08-01T12:00:00Z", row[2]);
            Assert.Contains("2 fields", (string)row[3]!, StringComparison.Ordinal);
        }

        var again = Ecap("--output", "json", "data-lake", "ingestion", "files", "tx", "--data-type", "transactions", "--path", _dir.Sub("in") + "/*.csv");
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(0, again.Json().GetProperty("records_read").GetInt64());
        Assert.Equal(2, again.Json().GetProperty("files_skipped").GetInt64());
        Assert.Equal((500L, 500L), Committed("tx"));
    }

    /// <summary>The table's rows as DuckDB reads an export of it: (transaction_id, amount as text), by id; and the column types.</summary>
    private (List<(long Id, string Amount)> Rows, string[] Types) Landed(string table)
    {
        var export = _dir.Sub(Guid.NewGuid().ToString("N") + ".parquet");
        var r = Ecap("data-lake", "storage", "read", table, "--out", export);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var duck = new DuckDbReader();
        var rows = duck.Rows($"SELECT transaction_id, amount::VARCHAR FROM read_parquet('{export}') ORDER BY 1")
            .Select(x => (Convert.ToInt64(x[0]), (string)x[1]!)).ToList();
        var types = duck.Rows($"SELECT typeof(transaction_id), typeof(timestamp), typeof(amount), typeof(status) FROM read_parquet('{export}') LIMIT 1")[0];
        return (rows, types.Select(t => (string)t!).ToArray());
    }

    /// <summary>The dead letters of a table: (source, position, raw, error), by source and position.</summary>
    private List<(string Source, string Position, string? Raw, string Error)> DeadLetters(string table)
    {
        var export = _dir.Sub(Guid.NewGuid().ToString("N") + ".parquet");
        var r = Ecap("data-lake", "storage", "read", table + "__dead_letters", "--out", export);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var duck = new DuckDbReader();
        return duck.Rows($"SELECT source, position, raw, error FROM read_parquet('{export}') ORDER BY source, length(position), position")
            .Select(x => ((string)x[0]!, (string)x[1]!, (string?)x[2], (string)x[3]!)).ToList();
    }

    [Fact]
    public void A_run_with_dead_letters_says_how_many_and_where_and_fail_on_dead_letters_exits_3()
    {
        // 1,500 rows, every fifth with a timestamp that is not one: 300 dead letters.
        var sb = new StringBuilder("transaction_id,timestamp,amount,status\n");
        for (var i = 0; i < 1500; i++)
            sb.Append(CultureInfo.InvariantCulture, $"{i},{(i % 5 == 0 ? "not-a-time" : "2026-08-01T12:00:00Z")},{i}.5,paid\n");
        File.WriteAllText(Path.Combine(_dir.Sub("in"), "a.csv"), sb.ToString());
        var good = Enumerable.Range(0, 1500).Where(i => i % 5 != 0).Select(i => ((long)i, $"{i}.50")).ToList();

        // Allowed by the ratio and no flag: exit 0, but the report says what was dead-lettered and where.
        var r = Ecap("--output", "json", "data-lake", "ingestion", "files", "tx", "--data-type", "transactions", "--path", _dir.Sub("in"), "--max-bad-ratio", "0.25");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var report = r.Json();
        Assert.Equal("completed_with_dead_letters", report.GetProperty("status").GetString());
        Assert.Equal(300, report.GetProperty("records_dead_lettered").GetInt64());
        Assert.Equal(1200, report.GetProperty("records_written").GetInt64());
        Assert.Equal("tx__dead_letters", report.GetProperty("dead_letter_table").GetString());
        Assert.Equal(good, Landed("tx").Rows);
        var dead = DeadLetters("tx");
        Assert.Equal(Enumerable.Range(0, 300).Select(k => $"record {k * 5} (line {k * 5 + 2})"), dead.Select(d => d.Position));
        Assert.Equal(Enumerable.Range(0, 300).Select(k => $"{k * 5},not-a-time,{k * 5}.5,paid"), dead.Select(d => d.Raw));
        Assert.All(dead, d => Assert.Contains("column 'timestamp': 'not-a-time' is not a valid", d.Error, StringComparison.Ordinal));

        // For scripts: the same run under --fail-on-dead-letters commits the same rows and exits 3; the summary line names the table.
        var strict = Ecap("data-lake", "ingestion", "files", "tx2", "--data-type", "transactions", "--path", _dir.Sub("in"),
            "--max-bad-ratio", "0.25", "--fail-on-dead-letters");
        Assert.True(strict.ExitCode == 3, strict.Stderr);
        var line = string.Join(' ', strict.Stdout.Split((char[])['\n', '\r', ' '], StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("ingested with 300 dead-lettered record(s) tx2: 1,500 records read, 1,200 written, 300 dead-lettered (in tx2__dead_letters)", line, StringComparison.Ordinal);
        Assert.Equal(good, Landed("tx2").Rows);
        Assert.Equal(300, DeadLetters("tx2").Count);

        // Without dead letters the flag changes nothing.
        WriteCsv("clean.csv", 0, 10);
        var clean = Ecap("--output", "json", "data-lake", "ingestion", "files", "tx3", "--data-type", "transactions",
            "--path", Path.Combine(_dir.Sub("in"), "clean.csv"), "--fail-on-dead-letters");
        Assert.True(clean.ExitCode == 0, clean.Stderr);
        Assert.Equal("ok", clean.Json().GetProperty("status").GetString());
        Assert.False(clean.Json().TryGetProperty("dead_letter_table", out _));

        var help = Ecap("data-lake", "ingestion", "files", "--help");
        Assert.Contains("--fail-on-dead-letters", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("3 completed with dead letters", string.Join(' ', help.Stdout.Split((char[])['\n', '\r', ' '], StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bad.csv", "transaction_id,timestamp,amount,status\n1,2,3,4,5\n6,7\n\"never closed,1\n")]
    [InlineData("bad.jsonl", "not json\n{\"transaction_id\": \n[1, 2]\n")]
    [InlineData("bad.json", "[1, \"two\", [3]]")]
    public void Every_record_dead_lettered_exits_2_for_csv_and_json_alike_naming_the_dead_letter_table(string name, string content)
    {
        WriteCsv("good.csv", 0, 10);
        Assert.Equal(0, Ecap("data-lake", "ingestion", "files", "tx", "--data-type", "transactions", "--path", Path.Combine(_dir.Sub("in"), "good.csv")).ExitCode);
        var bad = Path.Combine(_dir.Sub("in"), name);
        File.WriteAllText(bad, content);

        // Into the existing table: the dead letters and the position are committed, nothing else; exit 2 with the table named.
        var r = Ecap("--output", "json", "data-lake", "ingestion", "files", "tx", "--data-type", "transactions", "--path", bad);
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.Stderr}");
        var report = r.Json();
        Assert.Equal("failed", report.GetProperty("status").GetString());
        Assert.Equal(report.GetProperty("records_read").GetInt64(), report.GetProperty("records_dead_lettered").GetInt64());
        Assert.True(report.GetProperty("records_read").GetInt64() > 0);
        Assert.Contains("tx__dead_letters", report.GetProperty("error").GetString());
        Assert.Contains("tx__dead_letters", r.Stderr);
        Assert.DoesNotContain("Time column", r.Stderr); // not the misleading layout error
        Assert.Equal(10, Committed("tx").Rows);
        Assert.Equal(report.GetProperty("records_read").GetInt64(), DeadLetters("tx").Count);
        // A rerun skips the file its commit recorded as done.
        Assert.Equal(0, Ecap("data-lake", "ingestion", "files", "tx", "--data-type", "transactions", "--path", bad).ExitCode);

        // Into a new generic table: the same exit code and message; no table of no columns is created.
        var fresh = Ecap("data-lake", "ingestion", "files", "fresh", "--path", bad);
        Assert.True(fresh.ExitCode == 2, $"exit {fresh.ExitCode}: {fresh.Stderr}");
        Assert.Contains("fresh__dead_letters", fresh.Stderr);
        Assert.True(DeadLetters("fresh").Count > 0);
    }

    [Fact]
    public void Malformed_files_land_every_good_row_with_the_data_types_canonical_columns()
    {
        var header = "transaction_id,timestamp,amount,status\n";
        static string Rows(int from, int count) =>
            string.Concat(Enumerable.Range(from, count).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i},2026-08-01T12:00:00Z,{i}.5,\"paid, ok\"\n")));
        // a.csv: an unclosed quote after 50 rows; b.csv: a row that is not UTF-8 and one with a bad timestamp; c.jsonl: a line that is not UTF-8.
        File.WriteAllText(Path.Combine(_dir.Sub("in"), "a.csv"), header + Rows(0, 50) + "9999,2026-08-01T12:00:00Z,1.5,\"never closed\n" + Rows(50, 50));
        var latin1 = Encoding.ASCII.GetBytes("102,2026-08-01T12:00:00Z,102.5,caf").Concat(new byte[] { 0xE9 }).ToArray();
        File.WriteAllBytes(Path.Combine(_dir.Sub("in"), "b.csv"), [.. Encoding.UTF8.GetBytes(header + Rows(100, 2)), .. latin1, (byte)'\n',
            .. Encoding.UTF8.GetBytes("103,yesterday,103.5,paid\n" + Rows(104, 2))]);
        var badJson = Encoding.ASCII.GetBytes("{\"transaction_id\": 201, \"timestamp\": \"2026-08-01T12:00:00Z\", \"amount\": 201.5, \"status\": \"caf")
            .Concat(new byte[] { 0xE9, (byte)'"', (byte)'}' }).ToArray();
        File.WriteAllBytes(Path.Combine(_dir.Sub("in"), "c.jsonl"), [.. "{\"transaction_id\": 200, \"timestamp\": \"2026-08-01T12:00:00Z\", \"amount\": 200.5, \"status\": \"paid\"}\n"u8,
            .. badJson, (byte)'\n', .. "{\"transaction_id\": 202, \"timestamp\": \"2026-08-01T12:00:00Z\", \"amount\": 202.5, \"status\": \"paid\"}\n"u8]);

        var r = Ecap("--output", "json", "data-lake", "ingestion", "files", "tx", "--data-type", "transactions", "--path", _dir.Sub("in"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(110, r.Json().GetProperty("records_read").GetInt64());
        Assert.Equal(106, r.Json().GetProperty("records_written").GetInt64());
        Assert.Equal(4, r.Json().GetProperty("records_dead_lettered").GetInt64());

        var (rows, types) = Landed("tx");
        Assert.Equal(["BIGINT", "TIMESTAMP WITH TIME ZONE", "DECIMAL(18,2)", "VARCHAR"], types);
        var expected = Enumerable.Range(0, 100).Concat([100, 101, 104, 105, 200, 202]).Select(i => ((long)i, $"{i}.50")).ToList();
        Assert.Equal(expected, rows);

        var dead = DeadLetters("tx");
        Assert.Equal([("a.csv", "record 50 (line 52)"), ("b.csv", "record 2 (line 4)"), ("b.csv", "record 3 (line 5)"), ("c.jsonl", "record 1 (line 2)")],
            dead.Select(d => (d.Source, d.Position)));
        Assert.Equal("9999,2026-08-01T12:00:00Z,1.5,\"never closed", dead[0].Raw);
        Assert.Contains("taken to be unclosed", dead[0].Error, StringComparison.Ordinal);
        Assert.Equal(latin1, Convert.FromBase64String(dead[1].Raw!));
        Assert.Contains("not valid UTF-8", dead[1].Error, StringComparison.Ordinal);
        Assert.Equal("103,yesterday,103.5,paid", dead[2].Raw);
        Assert.Contains("'yesterday' is not a valid", dead[2].Error, StringComparison.Ordinal);
        Assert.Equal(badJson, Convert.FromBase64String(dead[3].Raw!));
        Assert.Contains("not valid UTF-8", dead[3].Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Over_the_bad_ratio_the_command_fails_with_exit_1_and_a_report()
    {
        File.WriteAllText(Path.Combine(_dir.Sub("in"), "bad.jsonl"), "[1]\n[2]\n{\"transaction_id\": 1, \"timestamp\": \"2026-08-01T00:00:00Z\"}\n");
        var r = Ecap("--output", "json", "data-lake", "ingestion", "files", "tx", "--data-type", "transactions",
            "--path", _dir.Sub("in"), "--format", "json", "--max-bad-ratio", "0.5");
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("failed", r.Json().GetProperty("status").GetString());
        Assert.Contains("over the threshold", r.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Lake, "tx", "_delta_log")));
    }

    [Fact]
    public void Bad_input_exits_2_and_help_has_an_example()
    {
        var missing = Ecap("data-lake", "ingestion", "files", "tx", "--data-type", "transactions", "--path", _dir.Sub("nothing/*.csv"));
        Assert.Equal(2, missing.ExitCode);
        var badType = Ecap("data-lake", "ingestion", "files", "tx", "--data-type", "nope", "--path", _dir.Sub("in"));
        Assert.Equal(2, badType.ExitCode);
        var help = Ecap("data-lake", "ingestion", "files", "--help");
        Assert.Contains("Example:", help.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Database_ingestion_never_prints_the_password()
    {
        // No server listens on port 1: the connection fails and the error names the server, not the password.
        Environment.SetEnvironmentVariable("ECAP_TEST_PG_PASSWORD", "hunter2-secret");
        var r = Ecap("data-lake", "ingestion", "database", "products", "--data-type", "product_updates",
            "--url", "jdbc:postgresql://127.0.0.1:1/shop", "--user", "etl", "--password-env", "ECAP_TEST_PG_PASSWORD", "--query", "SELECT 1");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("postgresql://etl@127.0.0.1:1/shop", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", r.Stderr + r.Stdout, StringComparison.Ordinal);
        var unset = Ecap("data-lake", "ingestion", "database", "products", "--data-type", "product_updates",
            "--url", "jdbc:postgresql://127.0.0.1:1/shop", "--password-env", "ECAP_TEST_UNSET_VARIABLE", "--query", "SELECT 1");
        Assert.Equal(2, unset.ExitCode);
        Assert.Contains("Example:", Ecap("data-lake", "ingestion", "database", "--help").Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void A_killed_ingestion_resumes_on_rerun_with_exactly_the_source_rows()
    {
        for (var f = 0; f < 40; f++) WriteCsv($"part-{f:00}.csv", f * 500, 500);
        var log = Path.Combine(Lake, "tx", "_delta_log");
        // Small commits so the process is killed between (or inside) commits, mid-folder.
        using (var process = EcapProcess.Start("--lake", Lake, "data-lake", "ingestion", "files", "tx", "--data-type", "transactions",
                   "--path", _dir.Sub("in"), "--batch-size", "100"))
        {
            while (!process.HasExited && (!Directory.Exists(log) || Directory.GetFiles(log, "*.json").Length < 6)) Thread.Sleep(20);
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        var partial = Committed("tx");
        Assert.True(partial.Rows < 20_000, $"the run finished before it was killed ({partial.Rows} rows)");
        Assert.Equal(partial.Rows, partial.Distinct);

        var r = Ecap("--output", "json", "data-lake", "ingestion", "files", "tx", "--data-type", "transactions", "--path", _dir.Sub("in"), "--batch-size", "100");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(20_000 - partial.Rows, r.Json().GetProperty("records_read").GetInt64());
        Assert.Equal((20_000L, 20_000L), Committed("tx"));
    }
}
