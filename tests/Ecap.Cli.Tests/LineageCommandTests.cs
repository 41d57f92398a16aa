using System.Text.Json.Nodes;

namespace Ecap.Cli.Tests;

/// <summary>
/// `ecap` as a process with OPENLINEAGE_URL set: a real backend on loopback receives the runs, each valid against the
/// official OpenLineage schemas; a broken backend is a warning, never a failed command.
/// </summary>
public sealed class LineageCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly OpenLineageReceiver _receiver = new();

    public void Dispose()
    {
        _receiver.Dispose();
        _dir.Dispose();
    }

    private string Lake => _dir.Sub("lake");

    private string Generate(int rows)
    {
        var source = _dir.Sub("tx.parquet");
        var gen = EcapProcess.Run("data-lake", "generate", "transactions", "--rows", rows.ToString(System.Globalization.CultureInfo.InvariantCulture), "--days", "3", "--out", source, "--seed", "5");
        Assert.True(gen.ExitCode == 0, gen.Stderr);
        return source;
    }

    private static void AssertValid(IEnumerable<JsonObject> events)
    {
        foreach (var e in events)
        {
            var problems = OpenLineageSchema.Problems(e);
            Assert.True(problems.Count == 0, string.Join("\n", problems) + "\n" + e.ToJsonString());
        }
    }

    private static string Str(JsonNode? node) => node!.GetValue<string>();

    [Fact]
    public void Storage_write_sends_its_run_to_OPENLINEAGE_URL()
    {
        var source = Generate(700);
        Assert.Empty(_receiver.Requests); // generate writes no table

        var write = EcapProcess.RunWithEnvironment(new Dictionary<string, string> { ["OPENLINEAGE_URL"] = _receiver.Url, ["OPENLINEAGE_API_KEY"] = "k1", ["OPENLINEAGE_NAMESPACE"] = "shop" },
            "--lake", Lake, "--output", "json", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.True(write.ExitCode == 0, write.Stderr);
        Assert.DoesNotContain("warning", write.Stderr);

        var events = _receiver.Events;
        AssertValid(events);
        Assert.Equal(["START", "COMPLETE"], events.Select(e => Str(e["eventType"])));
        Assert.All(_receiver.Requests, r => Assert.Equal(("/api/v1/lineage", "Bearer k1"), (r.Path, r.Authorization)));
        var complete = events[1];
        Assert.Equal(("shop", "write.tx"), (Str(complete["job"]!["namespace"]), Str(complete["job"]!["name"])));
        var input = Assert.Single(complete["inputs"]!.AsArray())!;
        Assert.Equal(("file", source), (Str(input["namespace"]), Str(input["name"])));
        var output = Assert.Single(complete["outputs"]!.AsArray())!;
        Assert.Equal((new Uri(Lake).AbsoluteUri, "tx"), (Str(output["namespace"]), Str(output["name"])));
        Assert.Equal(700, output["outputFacets"]!["outputStatistics"]!["rowCount"]!.GetValue<long>());
        Assert.Equal(write.Json().GetProperty("rows_written").GetInt64(), output["outputFacets"]!["outputStatistics"]!["rowCount"]!.GetValue<long>());
    }

    [Fact]
    public void Query_out_reports_the_tables_it_read_and_the_file_it_wrote_to_the_file_transport()
    {
        var source = Generate(300);
        var events = _dir.Sub("events.jsonl");
        var env = new Dictionary<string, string> { ["OPENLINEAGE_URL"] = new Uri(events).AbsoluteUri };
        var write = EcapProcess.RunWithEnvironment(env, "--lake", Lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.True(write.ExitCode == 0, write.Stderr);
        var export = _dir.Sub("out/completed.parquet");
        var query = EcapProcess.RunWithEnvironment(env, "--lake", Lake, "data-lake", "query", "SELECT transaction_id, amount FROM tx WHERE amount > 0", "--out", export);
        Assert.True(query.ExitCode == 0, query.Stderr);

        var all = File.ReadAllLines(events).Select(l => (JsonObject)JsonNode.Parse(l)!).ToList();
        AssertValid(all);
        Assert.Equal(["write.tx", "write.tx", "query-export.completed.parquet", "query-export.completed.parquet"], all.Select(e => Str(e["job"]!["name"])));
        var complete = all[3];
        Assert.Equal("COMPLETE", Str(complete["eventType"]));
        var read = Assert.Single(complete["inputs"]!.AsArray())!;
        Assert.Equal((new Uri(Lake).AbsoluteUri, "tx"), (Str(read["namespace"]), Str(read["name"])));
        var file = Assert.Single(complete["outputs"]!.AsArray())!;
        Assert.Equal(("file", export), (Str(file["namespace"]), Str(file["name"])));
        using var duck = new DuckDbReader();
        Assert.Equal(Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{export}')")), file["outputFacets"]!["outputStatistics"]!["rowCount"]!.GetValue<long>());
        Assert.Equal(new FileInfo(export).Length, file["outputFacets"]!["outputStatistics"]!["size"]!.GetValue<long>());
    }

    [Fact]
    public void A_backend_answering_500_is_a_warning_and_the_write_succeeds()
    {
        var source = Generate(100);
        _receiver.Status = System.Net.HttpStatusCode.InternalServerError;
        var write = EcapProcess.RunWithEnvironment(new Dictionary<string, string> { ["OPENLINEAGE_URL"] = _receiver.Url },
            "--lake", Lake, "--output", "json", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.True(write.ExitCode == 0, write.Stderr);
        Assert.Equal(100, write.Json().GetProperty("rows_written").GetInt64());
        Assert.Contains("warning:", write.Stderr);
        Assert.Contains("OpenLineage", write.Stderr);
        Assert.Contains("500", write.Stderr);
        Assert.Equal(2, _receiver.Requests.Count);
    }

    [Fact]
    public void A_lineage_url_that_is_no_url_is_a_warning_and_the_write_succeeds()
    {
        var source = Generate(50);
        var write = EcapProcess.RunWithEnvironment(new Dictionary<string, string> { ["OPENLINEAGE_URL"] = "marquez:5000" },
            "--lake", Lake, "--output", "json", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.True(write.ExitCode == 0, write.Stderr);
        Assert.Equal(50, write.Json().GetProperty("rows_written").GetInt64());
        Assert.Contains("warning: OPENLINEAGE_URL 'marquez:5000'", write.Stderr);
        Assert.Empty(_receiver.Requests);
    }
}
