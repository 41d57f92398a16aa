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
        Assert.Equal("ok", report.GetProperty("status").GetString());
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
