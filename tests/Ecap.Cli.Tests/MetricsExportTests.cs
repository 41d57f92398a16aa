using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ecap.Cli.Tests;

/// <summary>OpenTelemetry export of the lake's meter: console with --metrics, OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set.</summary>
public sealed class MetricsExportTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Generate()
    {
        var source = _dir.Sub("tx.parquet");
        var gen = EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "1500", "--days", "3", "--out", source, "--seed", "5");
        Assert.True(gen.ExitCode == 0, gen.Stderr);
        return source;
    }

    [Fact]
    public void Metrics_flag_prints_the_commands_metrics_to_stderr_and_leaves_stdout_clean()
    {
        var source = Generate();
        var r = EcapProcess.Run("--lake", _dir.Sub("lake"), "--metrics", "--output", "json", "data-lake", "storage", "write", "tx",
            "--data-type", "transactions", "--source-path", source);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(1500, r.Json().GetProperty("rows_written").GetInt64());   // stdout is only the JSON result
        Assert.Contains("Metric Name: ecap.datalake.rows.written", r.Stderr);
        var rows = r.Stderr[r.Stderr.IndexOf("Metric Name: ecap.datalake.rows.written", StringComparison.Ordinal)..];
        Assert.Contains("Value: 1500", rows[..rows.IndexOf("Metric Name:", 10, StringComparison.Ordinal)]);
        Assert.Contains("ecap.datalake.commit.duration", r.Stderr);

        // Without the flag (and no OTLP endpoint) nothing is exported.
        var quiet = EcapProcess.Run("--lake", _dir.Sub("lake"), "data-lake", "storage", "list-tables");
        Assert.DoesNotContain("Metric Name", quiet.Stdout + quiet.Stderr);
    }

    [Fact]
    public async Task Otlp_endpoint_receives_the_metrics_over_http_protobuf()
    {
        var source = Generate();
        var port = LoopbackPorts.Free();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var received = new List<(string Path, string ContentType, byte[] Body)>();
        var serving = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = await listener.GetContextAsync(); }
                catch (Exception) { return; }
                using var body = new MemoryStream();
                await ctx.Request.InputStream.CopyToAsync(body);
                lock (received) received.Add((ctx.Request.Url!.AbsolutePath, ctx.Request.ContentType ?? "", body.ToArray()));
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/x-protobuf";
                ctx.Response.Close();
            }
        });

        var env = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{port}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        };
        var r = EcapProcess.RunWithEnvironment(env, "--lake", _dir.Sub("lake"), "data-lake", "storage", "write", "tx",
            "--data-type", "transactions", "--source-path", source);
        Assert.True(r.ExitCode == 0, r.Stderr);
        listener.Stop();
        await serving;

        // An OTLP/HTTP export request: protobuf whose strings (metric names, resource) are plain UTF-8 inside.
        var request = Assert.Single(received, x => x.Path == "/v1/metrics");
        Assert.Equal("application/x-protobuf", request.ContentType);
        var text = Encoding.UTF8.GetString(request.Body);
        Assert.Contains("ecap.datalake.rows.written", text);
        Assert.Contains("Ecap.DataLake", text);
        Assert.Contains("service.name", text);
        Assert.Contains("ecap", text);
    }

}
