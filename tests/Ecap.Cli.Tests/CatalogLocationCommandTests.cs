namespace Ecap.Cli.Tests;

/// <summary>`--catalog URL|DIR` / ECAP_CATALOG: catalog commands and the upkeep of writes on a real PostgreSQL server and on a folder, raced by processes.</summary>
public sealed class CatalogLocationCommandTests(PostgresTestServer server) : IClassFixture<PostgresTestServer>
{
    [Fact]
    public async Task Writes_and_concurrent_processes_keep_a_postgres_or_folder_catalog_without_losing_an_edit()
    {
        using var dir = new TempDir();
        var lake = dir.Sub("lake");
        var url = $"postgresql://ecap:ecap@127.0.0.1:{server.Port}/ecap";
        var env = new Dictionary<string, string> { ["ECAP_CATALOG"] = url };
        var source = dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "400", "--days", "2", "--out", source, "--seed", "3").ExitCode);

        // A write with ECAP_CATALOG set registers the table in PostgreSQL, not in the lake folder.
        var write = EcapProcess.RunWithEnvironment(env, "--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.True(write.ExitCode == 0, write.Stderr);
        Assert.False(Directory.Exists(Path.Combine(lake, "_catalog")));

        // Four processes tag the same entry at once (JDBC URL form, user and password as parameters).
        var jdbc = server.Url + "?user=ecap&password=ecap";
        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() =>
            EcapProcess.Run("--lake", lake, "--catalog", jdbc, "data-lake", "catalog", "register", "tx", Path.Combine(lake, "tx"), "--tag", $"p{i}"))));
        Assert.All(runs, r => Assert.True(r.ExitCode == 0, r.Stderr));

        var show = EcapProcess.RunWithEnvironment(env, "--lake", lake, "--output", "json", "data-lake", "catalog", "show", "tx");
        Assert.True(show.ExitCode == 0, show.Stderr);
        var entry = show.Json().GetProperty("table");
        Assert.Equal(["p0", "p1", "p2", "p3"], entry.GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Order());
        Assert.Equal(400, entry.GetProperty("row_count").GetInt64());
        Assert.DoesNotContain("ecap:ecap", show.Stdout + show.Stderr, StringComparison.Ordinal);

        // The same race on a folder catalog (--catalog DIR): no lost tag either.
        var folder = dir.Sub("shared-catalog");
        Assert.Equal(0, EcapProcess.Run("--lake", lake, "--catalog", folder, "data-lake", "catalog", "register", "tx", Path.Combine(lake, "tx")).ExitCode);
        var folderRuns = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(() =>
            EcapProcess.Run("--lake", lake, "--catalog", folder, "data-lake", "catalog", "register", "tx", Path.Combine(lake, "tx"), "--tag", $"f{i}"))));
        Assert.All(folderRuns, r => Assert.True(r.ExitCode == 0, r.Stderr));
        var folderShow = EcapProcess.Run("--lake", lake, "--catalog", folder, "--output", "json", "data-lake", "catalog", "show", "tx");
        Assert.Equal(["f0", "f1", "f2", "f3"], folderShow.Json().GetProperty("table").GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Order());

        // An unreachable catalog server is an error with the server named, password hidden.
        var down = EcapProcess.Run("--lake", lake, "--catalog", "postgresql://ecap:secret@127.0.0.1:1/ecap", "data-lake", "catalog", "list-tables");
        Assert.Equal(1, down.ExitCode);
        Assert.Contains("127.0.0.1:1", down.Stderr);
        Assert.DoesNotContain("secret", down.Stderr, StringComparison.Ordinal);
    }
}
