using System.Text.Json;

namespace Ecap.DataLake.Server.Tests;

/// <summary>`ecap data-lake serve` as a user runs it: a process that prints its URL and answers until stopped.</summary>
public sealed class ServeCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Serve_prints_its_url_and_answers_health_and_the_table_list()
    {
        var lake = _dir.Sub("lake");
        var source = _dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "2000", "--out", source).ExitCode);
        var write = EcapProcess.Run("--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.True(write.ExitCode == 0, write.Stderr);

        using var serve = EcapProcess.StartReadingOutput("--lake", lake, "data-lake", "serve", "--port", "0");
        try
        {
            var url = await serve.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
            Assert.StartsWith("http://127.0.0.1:", url);
            using var http = new HttpClient { BaseAddress = new Uri(url!) };
            var health = JsonDocument.Parse(await http.GetStringAsync("/healthz")).RootElement;
            Assert.Equal("ok", health.GetProperty("status").GetString());
            var tables = JsonDocument.Parse(await http.GetStringAsync("/api/tables")).RootElement;
            var tx = Assert.Single(tables.EnumerateArray());
            Assert.Equal("tx", tx.GetProperty("name").GetString());
            Assert.Equal(2000, tx.GetProperty("record_count").GetInt64());
        }
        finally
        {
            serve.Kill(entireProcessTree: true);
            await serve.WaitForExitAsync();
        }
    }

    [Fact]
    public void Serve_refuses_a_bind_address_that_is_no_ip()
    {
        var lake = _dir.Sub("lake");
        Directory.CreateDirectory(Path.Combine(lake, "_ecap"));
        var r = EcapProcess.Run("--lake", lake, "data-lake", "serve", "--bind", "not-an-address", "--port", "0");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("Cannot bind 'not-an-address'", r.Stderr);
    }

    [Fact]
    public void The_server_reads_through_the_core_and_the_query_library_only()
    {
        var ours = typeof(DataLakeServer).Assembly.GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Ecap.", StringComparison.Ordinal)).Order();
        Assert.Equal(["Ecap.DataLake", "Ecap.DataLake.Query"], ours);
    }

    [Fact]
    public void Serve_has_help_with_an_example()
    {
        var r = EcapProcess.Run("data-lake", "serve", "--help");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("ecap data-lake serve --lake ./data-lake --port 8080", r.Stdout);
        Assert.Contains("--bind", r.Stdout);
    }
}
