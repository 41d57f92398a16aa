using Npgsql;

namespace Ecap.Cli.Tests;

/// <summary>
/// <c>ecap data-lake ingestion database</c> end to end against a real PostgreSQL server, as processes: the JSON
/// report, an incremental rerun, and a killed run that resumes with exactly the source's rows.
/// </summary>
public sealed class DatabaseIngestionCommandTests : IClassFixture<PostgresTestServer>, IDisposable
{
    private const string PasswordVariable = "ECAP_TEST_CLI_PG_PASSWORD";
    private readonly PostgresTestServer _server;
    private readonly TempDir _dir = new();

    public DatabaseIngestionCommandTests(PostgresTestServer server)
    {
        _server = server;
        Environment.SetEnvironmentVariable(PasswordVariable, "ecap"); // inherited by the ecap processes
    }

    public void Dispose() => _dir.Dispose();

    private string Lake => _dir.Sub("lake");

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", Lake, .. args]);

    private string[] Ingest(string table, string sourceTable, long batchSize) =>
    [
        "--lake", Lake, "--output", "json", "data-lake", "ingestion", "database", table, "--data-type", "transactions",
        "--url", _server.Url, "--user", "ecap", "--password-env", PasswordVariable,
        "--query", $"SELECT transaction_id, \"timestamp\", amount, status FROM {sourceTable}",
        "--incremental-column", "transaction_id", "--batch-size", batchSize.ToString(),
    ];

    private void Seed(string table, long from, long count)
    {
        using var conn = _server.Open();
        PostgresTestServer.Exec(conn, $"""
            CREATE TABLE IF NOT EXISTS {table} (transaction_id bigint PRIMARY KEY, "timestamp" timestamptz NOT NULL, amount numeric(12,2), status text);
            INSERT INTO {table} SELECT i, TIMESTAMPTZ '2026-08-01 00:00:00+00' + make_interval(mins => (i % 7200)::int), (i % 1000) / 10.0, 'paid'
            FROM generate_series({from}, {from + count - 1}) AS i;
            """);
    }

    /// <summary>(rows, distinct ids, sum of amount) of the lake table, by DuckDB over an export of it.</summary>
    private (long Rows, long Distinct, decimal Sum) Committed(string table)
    {
        var export = _dir.Sub(Guid.NewGuid().ToString("N") + ".parquet");
        var r = Ecap("data-lake", "storage", "read", table, "--out", export);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var duck = new DuckDbReader();
        var row = duck.Rows($"SELECT count(*), count(DISTINCT transaction_id), sum(amount) FROM read_parquet('{export}')")[0];
        return (Convert.ToInt64(row[0]), Convert.ToInt64(row[1]), Convert.ToDecimal(row[2]));
    }

    private decimal SourceSum(string table)
    {
        using var conn = _server.Open();
        using var cmd = new NpgsqlCommand($"SELECT sum(amount) FROM {table}", conn);
        return Convert.ToDecimal(cmd.ExecuteScalar());
    }

    [Fact]
    public void Database_ingest_reports_as_json_and_an_incremental_rerun_reads_only_new_rows()
    {
        Seed("orders_a", 1, 20_000);
        var r = EcapProcess.Run(Ingest("tx", "orders_a", 8_000));
        Assert.True(r.ExitCode == 0, r.Stderr);
        var report = r.Json();
        Assert.Equal("ok", report.GetProperty("status").GetString());
        Assert.Equal(20_000, report.GetProperty("records_read").GetInt64());
        Assert.Equal(20_000, report.GetProperty("records_written").GetInt64());
        Assert.Equal(3, report.GetProperty("batches").GetInt64());
        Assert.Equal((20_000L, 20_000L, SourceSum("orders_a")), Committed("tx"));

        Seed("orders_a", 20_001, 1_500);
        var again = EcapProcess.Run(Ingest("tx", "orders_a", 8_000));
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(1_500, again.Json().GetProperty("records_read").GetInt64());
        Assert.Equal((21_500L, 21_500L, SourceSum("orders_a")), Committed("tx"));
        Assert.DoesNotContain("ecap:ecap", r.Stdout + r.Stderr + again.Stdout + again.Stderr, StringComparison.Ordinal);

        // The ingestion kept the catalog entry current, with the database as the table's source lineage (no password).
        var show = Ecap("--output", "json", "data-lake", "catalog", "show", "tx");
        Assert.True(show.ExitCode == 0, show.Stderr);
        var entry = show.Json().GetProperty("table");
        Assert.Equal(21_500, entry.GetProperty("row_count").GetInt64());
        var upstream = entry.GetProperty("upstream").EnumerateArray().Select(u => u.GetString()!).ToList();
        Assert.Contains(upstream, u => u.StartsWith("source:postgresql://ecap@127.0.0.1:", StringComparison.Ordinal));
        Assert.DoesNotContain(upstream, u => u.Contains("Password", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void A_killed_database_ingest_resumes_on_rerun_with_exactly_the_source_rows()
    {
        Seed("orders_b", 1, 200_000);
        var log = Path.Combine(Lake, "tx_b", "_delta_log");
        var killedMidWay = false;
        using (var process = EcapProcess.Start(Ingest("tx_b", "orders_b", 10_000)))
        {
            // Killed after a few commits, in the middle of the run.
            while (!process.HasExited && (!Directory.Exists(log) || Directory.GetFiles(log, "*.json").Length < 4)) Thread.Sleep(20);
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                killedMidWay = true;
            }
            process.WaitForExit();
        }
        Assert.True(killedMidWay, "the ingest finished before it could be killed: nothing was tested");
        var partial = Committed("tx_b");
        Assert.True(partial.Rows < 200_000 && partial.Rows == partial.Distinct, $"partial commit state: {partial}");

        var rerun = EcapProcess.Run(Ingest("tx_b", "orders_b", 10_000));
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        Assert.Equal(200_000 - partial.Rows, rerun.Json().GetProperty("records_read").GetInt64());
        Assert.Equal((200_000L, 200_000L, SourceSum("orders_b")), Committed("tx_b"));
    }

    [Fact]
    public void Merge_on_key_applies_updates_inserts_and_soft_deletes_so_the_table_equals_the_source_after_each_run()
    {
        using (var conn = _server.Open())
            PostgresTestServer.Exec(conn, """
                CREATE TABLE cdc_orders (transaction_id bigint PRIMARY KEY, "timestamp" timestamptz NOT NULL, amount numeric(12,2), status text,
                                         updated_at bigint NOT NULL, is_deleted boolean NOT NULL DEFAULT false);
                INSERT INTO cdc_orders SELECT i, TIMESTAMPTZ '2026-08-01 00:00:00+00' + make_interval(hours => (i % 72)::int), i / 10.0, 'paid', i, false
                FROM generate_series(1, 3000) AS i;
                """);
        string[] Run() =>
        [
            "--lake", Lake, "--output", "json", "data-lake", "ingestion", "database", "cdc", "--data-type", "transactions",
            "--url", _server.Url, "--user", "ecap", "--password-env", PasswordVariable,
            "--query", "SELECT transaction_id, \"timestamp\", amount, status, updated_at, is_deleted FROM cdc_orders",
            "--incremental-column", "updated_at", "--merge-on", "transaction_id", "--delete-when", "is_deleted", "--batch-size", "1000",
        ];
        (long, long, decimal) Source()
        {
            using var conn = _server.Open();
            using var cmd = new NpgsqlCommand("SELECT count(*), count(DISTINCT transaction_id), sum(amount) FROM cdc_orders WHERE NOT is_deleted", conn);
            using var reader = cmd.ExecuteReader();
            reader.Read();
            return (reader.GetInt64(0), reader.GetInt64(1), reader.GetDecimal(2));
        }

        var first = EcapProcess.Run(Run());
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal(Source(), Committed("cdc"));

        // Between runs: 50 rows change (amount and status), 10 are soft-deleted, 20 are new; one row changes and is then deleted.
        using (var conn = _server.Open())
            PostgresTestServer.Exec(conn, """
                UPDATE cdc_orders SET amount = amount + 1, status = 'refunded', updated_at = 10000 + transaction_id WHERE transaction_id BETWEEN 100 AND 149;
                UPDATE cdc_orders SET is_deleted = true, updated_at = 20000 + transaction_id WHERE transaction_id BETWEEN 2000 AND 2009;
                INSERT INTO cdc_orders SELECT i, TIMESTAMPTZ '2026-08-05 00:00:00+00', 1.50, 'paid', 30000 + i, false FROM generate_series(3001, 3020) AS i;
                UPDATE cdc_orders SET is_deleted = true, updated_at = 40000 WHERE transaction_id = 120;
                """);
        var second = EcapProcess.Run(Run());
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Equal(80, second.Json().GetProperty("records_read").GetInt64());
        Assert.Equal(Source(), Committed("cdc"));

        var history = Ecap("--output", "json", "data-lake", "storage", "history", "cdc", "--limit", "1");
        Assert.Equal("MERGE", history.Json().EnumerateArray().Single().GetProperty("operation").GetString());
        // A third run with nothing new changes nothing.
        var third = EcapProcess.Run(Run());
        Assert.True(third.ExitCode == 0, third.Stderr);
        Assert.Equal(0, third.Json().GetProperty("records_read").GetInt64());
        Assert.Equal(Source(), Committed("cdc"));
    }
}
