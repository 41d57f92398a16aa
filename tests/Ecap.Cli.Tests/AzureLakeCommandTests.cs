namespace Ecap.Cli.Tests;

/// <summary>
/// The CLI with <c>--lake az://container/prefix</c> on Azurite (credentials from AZURE_STORAGE_CONNECTION_STRING, as a user
/// exports them): writes commit by conditional put with no coordinator; reads, info, SQL and the catalog work as on a
/// folder; writers killed mid-write leave whole commits only; the key never shows.
/// </summary>
public sealed class AzureLakeCommandTests : IClassFixture<AzureLakeCommandTests.Server>
{
    private const string DevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public sealed class Server : IDisposable
    {
        public AzuriteTestServer Azurite { get; } = new();
        public TempDir Dir { get; } = new();
        public string Source => Dir.Sub("tx.parquet");

        public Server()
        {
            var gen = EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "5000", "--days", "10", "--out", Source, "--seed", "4");
            if (gen.ExitCode != 0)
            {
                Dispose();
                throw new InvalidOperationException(gen.Stderr);
            }
        }

        public void Dispose()
        {
            Dir.Dispose();
            Azurite.Dispose();
        }
    }

    private readonly Server _server;

    public AzureLakeCommandTests(Server server) => _server = server;

    private EcapProcess.Result Ecap(string lake, params string[] args) =>
        EcapProcess.RunWithEnvironment(_server.Azurite.Environment, ["--lake", lake, .. args]);

    [Fact]
    public void Write_read_info_sql_and_catalog_work_on_an_az_lake_and_the_data_matches_the_source()
    {
        var lake = _server.Azurite.NewLocation();
        var write = Ecap(lake, "--output", "json", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _server.Source);
        Assert.True(write.ExitCode == 0, write.Stderr);
        Assert.Equal(5000, write.Json().GetProperty("rows_written").GetInt64());
        var append = Ecap(lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _server.Source, "--mode", "append");
        Assert.True(append.ExitCode == 0, append.Stderr);

        var info = Ecap(lake, "--output", "json", "data-lake", "storage", "info", "tx");
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Equal(10_000, info.Json().GetProperty("record_count").GetInt64());
        Assert.Equal(1, info.Json().GetProperty("version").GetInt64());
        Assert.StartsWith(lake, info.Json().GetProperty("location").GetString());

        // Export from Azure and compare with the source in DuckDB: every row twice.
        var exported = _server.Dir.Sub($"export-{Guid.NewGuid():N}.parquet");
        var read = Ecap(lake, "data-lake", "storage", "read", "tx", "--out", exported);
        Assert.True(read.ExitCode == 0, read.Stderr);
        using var duck = new DuckDbReader();
        Assert.Equal(10_000L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{exported}')")));
        Assert.Equal(0L, Convert.ToInt64(duck.Scalar(
            $"SELECT count(*) FROM (SELECT transaction_id, amount, count(*) AS n FROM read_parquet('{exported}') GROUP BY ALL) e " +
            $"FULL JOIN (SELECT transaction_id, amount FROM read_parquet('{_server.Source}')) s USING (transaction_id, amount) WHERE e.n IS DISTINCT FROM 2")));

        // SQL on the Azure lake: the same figures DuckDB computes from the source file (doubled by the append).
        var sql = Ecap(lake, "--output", "json", "data-lake", "query",
            "SELECT count(*) AS n, count(DISTINCT transaction_id) AS ids, round(sum(amount), 2) AS total FROM tx");
        Assert.True(sql.ExitCode == 0, sql.Stderr);
        var row = sql.Json()[0];
        Assert.Equal(10_000, row.GetProperty("n").GetInt64());
        Assert.Equal(5000, row.GetProperty("ids").GetInt64());
        Assert.Equal(Convert.ToDouble(duck.Scalar($"SELECT round(2 * sum(amount), 2) FROM read_parquet('{_server.Source}')")), row.GetProperty("total").GetDouble(), 6);

        var tables = Ecap(lake, "--output", "json", "data-lake", "storage", "list-tables");
        Assert.True(tables.ExitCode == 0, tables.Stderr);
        Assert.Equal("tx", tables.Json()[0].GetProperty("name").GetString());
        var show = Ecap(lake, "--output", "json", "data-lake", "catalog", "show", "tx");
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Contains(lake, show.Stdout);
    }

    [Fact]
    public void Writers_killed_at_random_points_leave_the_azure_table_at_its_last_committed_version()
    {
        var lake = _server.Azurite.NewLocation();
        string[] write = ["--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _server.Source, "--mode", "append"];
        Assert.Equal(0, EcapProcess.RunWithEnvironment(_server.Azurite.Environment, write).ExitCode);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(0, EcapProcess.RunWithEnvironment(_server.Azurite.Environment, write).ExitCode);
        var fullWriteMs = (int)clock.ElapsedMilliseconds;

        var random = new Random(11);
        var killedMidWay = 0;
        for (var round = 0; round < 5; round++)
        {
            using (var process = EcapProcess.StartWithEnvironment(_server.Azurite.Environment, write))
            {
                Thread.Sleep(random.Next(fullWriteMs / 3, fullWriteMs + 1));
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    killedMidWay++;
                }
                process.WaitForExit();
            }
            // Another process sees whole commits only: every version holds all 5000 rows of each write.
            var info = Ecap(lake, "--output", "json", "data-lake", "storage", "info", "tx");
            Assert.True(info.ExitCode == 0, info.Stderr);
            Assert.Equal(5000 * (info.Json().GetProperty("version").GetInt64() + 1), info.Json().GetProperty("record_count").GetInt64());
        }
        Assert.True(killedMidWay > 0, "no writer was still running when killed: the test did not test a crash");

        var before = Ecap(lake, "--output", "json", "data-lake", "storage", "info", "tx").Json().GetProperty("version").GetInt64();
        Assert.Equal(0, EcapProcess.RunWithEnvironment(_server.Azurite.Environment, write).ExitCode);
        var after = Ecap(lake, "--output", "json", "data-lake", "storage", "info", "tx").Json();
        Assert.Equal(before + 1, after.GetProperty("version").GetInt64());
        Assert.Equal(5000 * (before + 2), after.GetProperty("record_count").GetInt64());
    }

    [Fact]
    public void Verbose_names_the_credential_kind_and_a_wrong_key_fails_in_one_line_without_any_secret()
    {
        var lake = _server.Azurite.NewLocation();
        var ok = Ecap(lake, "--verbose", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _server.Source);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        // The console wraps long status lines: compare with whitespace collapsed.
        Assert.Contains("credential connection string", string.Join(' ', ok.Stderr.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));
        Assert.DoesNotContain(DevelopmentKey, ok.Stderr + ok.Stdout);

        // A key that is valid base64 but not the account's: the service refuses (403), the message names no secret.
        var wrongKey = Convert.ToBase64String(new byte[64]);
        var environment = new Dictionary<string, string>
        {
            ["AZURE_STORAGE_CONNECTION_STRING"] = _server.Azurite.ConnectionString.Replace(DevelopmentKey, wrongKey, StringComparison.Ordinal),
        };
        var r = EcapProcess.RunWithEnvironment(environment, "--lake", lake, "data-lake", "storage", "info", "tx");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("403", r.Stderr);
        Assert.Contains("Check the credentials", r.Stderr);
        Assert.DoesNotContain(wrongKey, r.Stderr + r.Stdout);
        Assert.DoesNotContain(DevelopmentKey, r.Stderr + r.Stdout);
        Assert.DoesNotContain("   at ", r.Stderr); // no stack trace without --verbose
    }
}
