using System.Net.Http.Json;
using System.Text.Json;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Server.Tests;

/// <summary>The REST API on a real Kestrel server over the demo's tables: each answer against what the library says.</summary>
public sealed class ApiTests(DemoLake demo) : IClassFixture<DemoLake>
{
    private static IEnumerable<string> Names(JsonElement array, string key) => array.EnumerateArray().Select(e => e.GetProperty(key).GetString()!);

    [Fact]
    public async Task Tables_are_the_librarys_list_of_tables()
    {
        var (status, json) = await demo.GetAsync("/api/tables");
        Assert.Equal(200, status);
        var expected = await demo.Lake.Storage.ListTablesAsync();
        Assert.Equal(expected.Select(t => t.Name), Names(json, "name"));
        foreach (var (t, e) in expected.Zip(json.EnumerateArray()))
        {
            Assert.Equal(t.Version, e.GetProperty("version").GetInt64());
            Assert.Equal(t.RecordCount, e.GetProperty("record_count").GetInt64());
            Assert.Equal(t.TotalSizeBytes, e.GetProperty("total_size_bytes").GetInt64());
        }
        var (_, catalog) = await demo.GetAsync("/api/catalog");
        var transactions = catalog.EnumerateArray().Single(e => e.GetProperty("name").GetString() == "transactions");
        Assert.Equal(["finance", "pii"], transactions.GetProperty("tags").EnumerateArray().Select(t => t.GetString()!));
        Assert.Equal("sales-data", transactions.GetProperty("owner").GetString());
    }

    [Fact]
    public async Task A_tables_page_has_its_storage_info_partitions_histogram_and_catalog_entry()
    {
        var info = await demo.Lake.Storage.GetTableInfoAsync("transactions");
        var (status, json) = await demo.GetAsync("/api/tables/transactions");
        Assert.Equal(200, status);
        var i = json.GetProperty("info");
        Assert.Equal(info.RecordCount, i.GetProperty("record_count").GetInt64());
        Assert.Equal(info.FileCount, i.GetProperty("file_count").GetInt64());
        Assert.Equal(info.Version, i.GetProperty("version").GetInt64());
        Assert.Equal(info.Schema.Select(c => c.Name), Names(i.GetProperty("schema"), "name"));
        Assert.True(i.GetProperty("storage_cost").GetProperty("by_class").GetArrayLength() >= 3);
        Assert.Equal("Orders and payments", json.GetProperty("catalog").GetProperty("description").GetString());

        var (_, partitions) = await demo.GetAsync("/api/tables/transactions/partitions");
        Assert.Equal(info.Partitions.Count, partitions.GetArrayLength());
        Assert.Equal(info.RecordCount, partitions.EnumerateArray().Sum(p => p.GetProperty("record_count").GetInt64()));
        Assert.Equal(info.Partitions.Select(p => p.SizeBytes), partitions.EnumerateArray().Select(p => p.GetProperty("size_bytes").GetInt64()));

        var (_, histogram) = await demo.GetAsync("/api/tables/transactions/files/histogram");
        Assert.Equal(info.FileSizeHistogram.Count, histogram.GetArrayLength());
        Assert.Equal(info.FileCount, histogram.EnumerateArray().Sum(b => b.GetProperty("file_count").GetInt64()));
    }

    [Fact]
    public async Task History_schema_history_statistics_and_lineage_are_the_catalogs()
    {
        var history = await demo.Lake.Storage.GetHistoryAsync("transactions");
        var (_, commits) = await demo.GetAsync("/api/tables/transactions/history");
        Assert.Equal(history.Select(h => h.Version), commits.EnumerateArray().Select(c => c.GetProperty("version").GetInt64()));
        Assert.Equal(history.Select(h => h.Operation), Names(commits, "operation"));
        var (_, newest) = await demo.GetAsync("/api/tables/transactions/history?limit=1");
        Assert.Equal(history[0].Version, Assert.Single(newest.EnumerateArray()).GetProperty("version").GetInt64());

        var schemas = await demo.Lake.Catalog.GetSchemaHistoryAsync("transactions");
        var (_, schemaJson) = await demo.GetAsync("/api/tables/transactions/schema-history");
        Assert.Equal(schemas.Select(s => s.Version), schemaJson.EnumerateArray().Select(s => s.GetProperty("version").GetInt64()));

        var stats = (await demo.Lake.Catalog.GetTableAsync("transactions")).Statistics!;
        var (status, statsJson) = await demo.GetAsync("/api/tables/transactions/statistics");
        Assert.Equal(200, status);
        Assert.Equal(stats.RowCount, statsJson.GetProperty("row_count").GetInt64());
        Assert.Equal(stats.Columns.Select(c => c.Name), Names(statsJson.GetProperty("columns"), "name"));

        var (_, lineage) = await demo.GetAsync("/api/tables/analytics_results/lineage");
        Assert.Equal(["data_lake.analytics_results", "data_lake.transactions", "data_lake.user_events"], Names(lineage.GetProperty("nodes"), "name").Order());
        Assert.Equal(["self", "upstream", "upstream"], Names(lineage.GetProperty("nodes"), "side"));
        Assert.Equal(["data_lake.transactions", "data_lake.user_events"], Names(lineage.GetProperty("edges"), "upstream").Order());
        Assert.All(Names(lineage.GetProperty("edges"), "downstream"), d => Assert.Equal("data_lake.analytics_results", d));
        var (_, upstream) = await demo.GetAsync("/api/tables/transactions/lineage");
        Assert.Equal(["data_lake.analytics_results"], upstream.GetProperty("all_downstream").EnumerateArray().Select(n => n.GetString()!));
    }

    [Fact]
    public async Task Search_ranks_as_the_catalog_does()
    {
        var hits = await demo.Lake.Catalog.SearchTablesAsync("events");
        var (status, json) = await demo.GetAsync("/api/search?q=events");
        Assert.Equal(200, status);
        Assert.NotEmpty(hits);
        Assert.Equal(hits.Select(h => h.Entry.Name), Names(json, "name"));
        Assert.Equal(hits.Select(h => h.Rank), json.EnumerateArray().Select(e => e.GetProperty("rank").GetInt32()));
        var (missing, problem) = await demo.GetAsync("/api/search");
        Assert.Equal(400, missing);
        Assert.Contains("search term", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_query_runs_in_the_sandbox_with_a_row_limit()
    {
        var info = await demo.Lake.Storage.GetTableInfoAsync("transactions");
        var count = await PostQueryAsync("SELECT count(*) AS n FROM transactions", null);
        Assert.Equal(info.RecordCount, count.GetProperty("rows")[0].GetProperty("n").GetInt64());
        Assert.Equal(["n"], count.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!));
        Assert.Equal(["transactions"], count.GetProperty("stats").GetProperty("tables").EnumerateArray().Select(c => c.GetString()!));

        var firstRows = await PostQueryAsync("SELECT transaction_id FROM transactions ORDER BY transaction_id", 5);
        Assert.Equal(5, firstRows.GetProperty("rows").GetArrayLength());
        Assert.True(firstRows.GetProperty("truncated").GetBoolean());

        // The sandbox: files and settings are out of reach, as for the query command.
        using var outside = await demo.Http.PostAsJsonAsync("/api/query", new { sql = "SELECT * FROM read_csv('/etc/passwd')" });
        Assert.Equal(400, (int)outside.StatusCode);
        using var bad = await demo.Http.PostAsJsonAsync("/api/query", new { sql = "SELEC 1" });
        Assert.Equal(400, (int)bad.StatusCode);
        var problem = await bad.Content.ReadAsStringAsync();
        Assert.Contains("syntax error", problem);
        Assert.DoesNotContain(" at Ecap.", problem); // never a stack trace
        using var tooMany = await demo.Http.PostAsJsonAsync("/api/query", new { sql = "SELECT 1", limit = 1_000_000 });
        Assert.Equal(400, (int)tooMany.StatusCode);
    }

    private async Task<JsonElement> PostQueryAsync(string sql, int? limit)
    {
        using var response = await demo.Http.PostAsJsonAsync("/api/query", new { sql, limit });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task An_unknown_table_is_a_404_problem_with_the_librarys_message()
    {
        var (status, json) = await demo.GetAsync("/api/tables/no_such_table");
        Assert.Equal(404, status);
        var e = await Assert.ThrowsAsync<TableNotFoundException>(() => demo.Lake.Storage.GetTableInfoAsync("no_such_table"));
        Assert.Equal(e.Message, json.GetProperty("detail").GetString());
        Assert.Equal(404, json.GetProperty("status").GetInt32());
        var (bad, _) = await demo.GetAsync("/api/tables/..%2Fetc/history");
        Assert.True(bad is 400 or 404, $"status {bad}");
    }

    [Fact]
    public async Task Every_request_is_audited_as_the_caller()
    {
        var since = DateTimeOffset.UtcNow.AddSeconds(-1);
        Assert.Equal(200, (await demo.GetAsync("/api/tables/user_events/history")).Status);
        var (status, audit) = await demo.GetAsync($"/api/audit?table=user_events&since={Uri.EscapeDataString(since.ToString("O"))}");
        Assert.Equal(200, status);
        var record = audit.EnumerateArray().Single(r => r.GetProperty("operation").GetString() == "history");
        Assert.Equal(Environment.UserName, record.GetProperty("principal").GetString());
        Assert.Equal(AuditOutcome.Succeeded, record.GetProperty("outcome").GetString());
        Assert.All(audit.EnumerateArray(), r => Assert.Equal("user_events", r.GetProperty("table").GetString()));
    }

    [Fact]
    public async Task Streams_come_from_their_heartbeats()
    {
        var streams = System.IO.Path.Combine(demo.Path, "_ecap", "streams");
        Directory.CreateDirectory(streams);
        var beat = DateTimeOffset.UtcNow.AddMinutes(-10);
        File.WriteAllText(System.IO.Path.Combine(streams, "orders-stream.json"), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["stream_id"] = "orders-stream", ["source"] = "kafka", ["topic"] = "orders", ["table"] = "transactions", ["consumer_group"] = "g",
            ["state"] = "running", ["trigger_interval_seconds"] = 30, ["started_at"] = beat.AddHours(-1).ToString("O"),
            ["last_heartbeat"] = beat.ToString("O"), ["records_total"] = 500, ["records_per_second"] = 12.5, ["dead_letters_total"] = 0,
            ["lag"] = new Dictionary<string, long> { ["0"] = 7 }, ["total_lag"] = 7, ["last_version"] = 1, ["last_error"] = null, ["stop_requested"] = false,
        }));
        var (status, json) = await demo.GetAsync("/api/streams");
        Assert.Equal(200, status);
        var stream = json.EnumerateArray().Single(s => s.GetProperty("stream_id").GetString() == "orders-stream");
        Assert.True(stream.GetProperty("stale").GetBoolean()); // silent for 10 minutes, trigger 30 s
        Assert.Equal(7, stream.GetProperty("heartbeat").GetProperty("total_lag").GetInt64());
    }

    [Fact]
    public async Task Health_and_the_openapi_document_name_every_route()
    {
        var (status, health) = await demo.GetAsync("/healthz");
        Assert.Equal(200, status);
        Assert.Equal("ok", health.GetProperty("status").GetString());
        var (_, openapi) = await demo.GetAsync("/openapi/v1.json");
        var paths = openapi.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var route in new[] { "/api/tables", "/api/tables/{name}", "/api/tables/{name}/schema-history", "/api/tables/{name}/history",
                     "/api/tables/{name}/partitions", "/api/tables/{name}/files/histogram", "/api/tables/{name}/lineage", "/api/tables/{name}/statistics",
                     "/api/streams", "/api/audit", "/api/search", "/api/query", "/healthz" })
            Assert.Contains(route, paths);
    }

    [Fact]
    public async Task The_page_and_its_assets_are_served_from_the_assembly()
    {
        using var page = await demo.Http.GetAsync("/");
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("assets/app.js", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org/2000/svg", "")); // no CDN: works offline
        using var script = await demo.Http.GetAsync("/assets/app.js");
        Assert.Equal(200, (int)script.StatusCode);
        using var missing = await demo.Http.GetAsync("/assets/nothing.js");
        Assert.Equal(404, (int)missing.StatusCode);
    }
}
