namespace Ecap.Cli.Tests;

/// <summary>
/// The CLI with <c>--lake s3://bucket/prefix</c> on the real Swift/s3api server: writes commit through the PostgreSQL
/// coordinator, reads, info, catalog and file ingestion work as on a folder; without a coordinator writes are refused;
/// secrets never show; SQL runs on it (the data files are fetched through the store).
/// </summary>
public sealed class S3LakeCommandTests : IClassFixture<S3LakeCommandTests.Servers>
{
    public sealed class Servers : IDisposable
    {
        public S3TestServer S3 { get; }
        public PostgresTestServer Postgres { get; }
        public TempDir Dir { get; } = new();
        public string Source => Dir.Sub("tx.parquet");

        public Servers()
        {
            S3 = new S3TestServer();
            try { Postgres = new PostgresTestServer(); }
            catch { S3.Dispose(); Dir.Dispose(); throw; } // a fixture whose constructor fails is not disposed
            var gen = EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "5000", "--days", "10", "--out", Source, "--seed", "4");
            Assert.True(gen.ExitCode == 0, gen.Stderr);
        }

        public void Dispose()
        {
            Dir.Dispose();
            S3.Dispose();
            Postgres.Dispose();
        }
    }

    private readonly Servers _servers;

    public S3LakeCommandTests(Servers servers) => _servers = servers;

    /// <summary>ecap with the S3 settings in the environment (as a user exports them), the coordinator as a flag.</summary>
    private EcapProcess.Result Ecap(string lake, bool coordinator, params string[] args) =>
        EcapProcess.RunWithEnvironment(_servers.S3.Environment,
            [.. coordinator ? new[] { "--commit-coordinator", _servers.Postgres.Url + "?user=ecap&password=ecap" } : [], "--lake", lake, .. args]);

    [Fact]
    public void Write_read_info_and_catalog_work_on_an_s3_lake_and_the_data_matches_the_source()
    {
        var lake = _servers.S3.NewLocation();
        var write = Ecap(lake, true, "--output", "json", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _servers.Source);
        Assert.True(write.ExitCode == 0, write.Stderr);
        Assert.Equal(5000, write.Json().GetProperty("rows_written").GetInt64());
        var append = Ecap(lake, true, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _servers.Source, "--mode", "append");
        Assert.True(append.ExitCode == 0, append.Stderr);

        var info = Ecap(lake, true, "--output", "json", "data-lake", "storage", "info", "tx");
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Equal(10_000, info.Json().GetProperty("record_count").GetInt64());
        Assert.Equal(1, info.Json().GetProperty("version").GetInt64());
        Assert.StartsWith(lake, info.Json().GetProperty("location").GetString());

        // Export the table from S3 and check it with DuckDB against the source file: every row twice.
        var exported = _servers.Dir.Sub($"export-{Guid.NewGuid():N}.parquet");
        // Every command appends to the lake's audit table (_ecap/audit), so reads need the coordinator too.
        var read = Ecap(lake, true, "data-lake", "storage", "read", "tx", "--out", exported);
        Assert.True(read.ExitCode == 0, read.Stderr);
        using (var duck = new DuckDbReader())
        {
            Assert.Equal(10_000L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{exported}')")));
            Assert.Equal(0L, Convert.ToInt64(duck.Scalar(
                $"SELECT count(*) FROM (SELECT transaction_id, amount, count(*) AS n FROM read_parquet('{exported}') GROUP BY ALL) e " +
                $"FULL JOIN (SELECT transaction_id, amount FROM read_parquet('{_servers.Source}')) s USING (transaction_id, amount) WHERE e.n IS DISTINCT FROM 2")));
        }

        var tables = Ecap(lake, true, "--output", "json", "data-lake", "storage", "list-tables");
        Assert.True(tables.ExitCode == 0, tables.Stderr);
        Assert.Equal("tx", tables.Json()[0].GetProperty("name").GetString());

        // The write registered the table in the lake's own catalog (_catalog/ in the bucket).
        var show = Ecap(lake, true, "--output", "json", "data-lake", "catalog", "show", "tx");
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Contains(lake, show.Stdout);
        var stats = Ecap(lake, true, "--output", "json", "data-lake", "catalog", "update-stats", "tx", "--compute-column-stats", "--sample-size", "1000");
        Assert.True(stats.ExitCode == 0, stats.Stderr);
        Assert.Equal(10_000, stats.Json().GetProperty("row_count").GetInt64());
    }

    [Fact]
    public void Writers_killed_at_random_points_leave_the_s3_table_at_its_last_committed_version_with_no_claim_left_open()
    {
        var lake = _servers.S3.NewLocation();
        string[] write = ["--commit-coordinator", _servers.Postgres.Url + "?user=ecap&password=ecap", "--lake", lake,
            "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _servers.Source, "--mode", "append"];
        Assert.Equal(0, EcapProcess.RunWithEnvironment(_servers.S3.Environment, write).ExitCode);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(0, EcapProcess.RunWithEnvironment(_servers.S3.Environment, write).ExitCode);
        var fullWriteMs = (int)clock.ElapsedMilliseconds;

        // Killed at random points of a whole write: reading the source, writing files, claiming, copying, completing.
        var random = new Random(7);
        var killedMidWay = 0;
        for (var round = 0; round < 6; round++)
        {
            using (var process = EcapProcess.StartWithEnvironment(_servers.S3.Environment, write))
            {
                Thread.Sleep(random.Next(fullWriteMs / 3, fullWriteMs + 1));
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    killedMidWay++;
                }
                process.WaitForExit();
            }
            // A reader (another process) sees whole commits only, and finishes any the killed writer claimed.
            var info = Ecap(lake, true, "--output", "json", "data-lake", "storage", "info", "tx");
            Assert.True(info.ExitCode == 0, info.Stderr);
            var version = info.Json().GetProperty("version").GetInt64();
            Assert.Equal(5000 * (version + 1), info.Json().GetProperty("record_count").GetInt64());
            using var conn = _servers.Postgres.Open();
            Assert.Equal(0L, PostgresTestServer.Exec(conn,
                $"SELECT count(*) FROM ecap_commit_claims WHERE completed_at IS NULL AND table_uri = '{lake}/tx'"));
        }
        Assert.True(killedMidWay > 0, "no writer was still running when killed: the test did not test a crash");

        var before = Ecap(lake, true, "--output", "json", "data-lake", "storage", "info", "tx").Json().GetProperty("version").GetInt64();
        Assert.Equal(0, EcapProcess.RunWithEnvironment(_servers.S3.Environment, write).ExitCode);
        var after = Ecap(lake, true, "--output", "json", "data-lake", "storage", "info", "tx").Json();
        Assert.Equal(before + 1, after.GetProperty("version").GetInt64());
        Assert.Equal(5000 * (before + 2), after.GetProperty("record_count").GetInt64());
    }

    [Fact]
    public void File_ingestion_lands_in_an_s3_lake()
    {
        var lake = _servers.S3.NewLocation();
        var r = Ecap(lake, true, "--output", "json", "data-lake", "ingestion", "files", "tx", "--data-type", "transactions", "--path", _servers.Source);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(5000, r.Json().GetProperty("records_written").GetInt64());
        var again = Ecap(lake, true, "--output", "json", "data-lake", "ingestion", "files", "tx", "--data-type", "transactions", "--path", _servers.Source);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Equal(0, again.Json().GetProperty("records_written").GetInt64()); // the file is recorded in the table's log: skipped
    }

    [Fact]
    public void Without_a_coordinator_writes_are_refused_with_a_hint_and_no_secret_is_printed()
    {
        var lake = _servers.S3.NewLocation();
        var r = Ecap(lake, false, "--verbose", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _servers.Source);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("does not enforce conditional writes", r.Stderr);
        // Nothing was committed: the table does not exist.
        var tables = Ecap(lake, true, "--output", "json", "data-lake", "storage", "list-tables");
        Assert.True(tables.ExitCode == 0, tables.Stderr);
        Assert.DoesNotContain("\"tx\"", tables.Stdout);
        Assert.Contains("--commit-coordinator", r.Stderr);
        Assert.DoesNotContain(S3TestServer.SecretKey, r.Stderr + r.Stdout);
    }

    [Fact]
    public void Verbose_shows_the_store_settings_but_never_the_secret_or_the_coordinator_password()
    {
        var lake = _servers.S3.NewLocation();
        var r = Ecap(lake, true, "--verbose", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _servers.Source);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains(_servers.S3.Endpoint, r.Stderr);
        Assert.Contains("postgresql://ecap@127.0.0.1", r.Stderr);
        Assert.DoesNotContain(S3TestServer.SecretKey, r.Stderr + r.Stdout);
        Assert.DoesNotContain("password=ecap", r.Stderr + r.Stdout);
    }

    [Fact]
    public void Sql_on_an_s3_lake_returns_what_duckdb_reads_from_the_source_file()
    {
        var lake = _servers.S3.NewLocation();
        Assert.Equal(0, Ecap(lake, true, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _servers.Source).ExitCode);
        var r = Ecap(lake, true, "--output", "json", "data-lake", "query", "SELECT count(*) AS n, round(sum(amount), 2) AS total FROM tx");
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var duck = new DuckDbReader();
        var expected = Convert.ToDouble(duck.Scalar($"SELECT round(sum(amount), 2) FROM read_parquet('{_servers.Source}')"));
        Assert.Equal(5000, r.Json()[0].GetProperty("n").GetInt64());
        Assert.Equal(expected, r.Json()[0].GetProperty("total").GetDouble(), 6);
    }
}
