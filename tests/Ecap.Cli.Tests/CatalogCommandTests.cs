using System.Text.Json;

namespace Ecap.Cli.Tests;

/// <summary>`ecap data-lake catalog ...` end to end, as processes over one generated lake.</summary>
public class CatalogCommandTests : IClassFixture<CatalogCommandTests.Lake>
{
    /// <summary>One lake: transactions and user_events written with `storage write` (which registers them).</summary>
    public sealed class Lake : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Path => Dir.Sub("lake");

        public Lake()
        {
            foreach (var (table, type) in new[] { ("tx", "transactions"), ("events", "user_events") })
            {
                var source = Dir.Sub(table + ".parquet");
                var gen = EcapProcess.Run("data-lake", "generate", type, "--rows", "3000", "--days", "5", "--out", source, "--seed", "4");
                Assert.True(gen.ExitCode == 0, gen.Stderr);
                var write = EcapProcess.Run("--lake", Path, "data-lake", "storage", "write", table, "--data-type", type, "--source-path", source);
                Assert.True(write.ExitCode == 0, write.Stderr);
            }
        }

        public void Dispose() => Dir.Dispose();
    }

    private readonly Lake _lake;

    public CatalogCommandTests(Lake lake) => _lake = lake;

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", _lake.Path, .. args]);

    private JsonElement Json(params string[] args)
    {
        var r = Ecap(["--output", "json", "data-lake", "catalog", .. args]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return r.Json();
    }

    [Fact]
    public void Storage_write_registers_the_table_and_show_reports_entry_schema_history_and_lineage()
    {
        // list-tables only reads the catalog: the entries are there because `storage write` registered them.
        var listed = Json("list-tables", "--database", "data_lake").EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!);
        Assert.Equal(3000, listed["tx"].GetProperty("row_count").GetInt64());
        Assert.Equal(3000, listed["events"].GetProperty("row_count").GetInt64());

        var show = Json("show", "tx");
        var table = show.GetProperty("table");
        Assert.Equal("tx", table.GetProperty("name").GetString());
        Assert.Equal("data_lake", table.GetProperty("database").GetString());
        Assert.Equal(0, table.GetProperty("table_version").GetInt64());
        Assert.Equal(3000, table.GetProperty("row_count").GetInt64());
        Assert.Equal("active", table.GetProperty("status").GetString());
        var changes = show.GetProperty("schema_changes");
        Assert.Equal(1, changes.GetArrayLength());
        Assert.Contains(changes[0].GetProperty("added").EnumerateArray(), c => c.GetString() == "transaction_id");
        Assert.Equal("data_lake.tx", show.GetProperty("lineage").GetProperty("table").GetString());

        var text = Ecap("data-lake", "catalog", "show", "tx");
        Assert.True(text.ExitCode == 0, text.Stderr);
        Assert.Contains("schema history", text.Stdout);
        Assert.Contains("upstream", text.Stdout);
    }

    [Fact]
    public void Register_search_status_and_list_tables_round_trip_as_json()
    {
        var reg = Json("register", "orders_copy", System.IO.Path.Combine(_lake.Path, "tx"), "--description", "Copy of ORDERS", "--owner", "sales",
            "--tag", "pii", "--tag", "finance", "--database", "reporting");
        Assert.Equal("reporting", reg.GetProperty("database").GetString());
        Assert.Equal(["pii", "finance"], reg.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        var hits = Json("search", "orders").EnumerateArray().ToList();
        Assert.Equal("orders_copy", hits[0].GetProperty("name").GetString());
        Assert.Equal(1, hits[0].GetProperty("rank").GetInt32());
        Assert.Equal(["owner"], Json("search", "SALES", "--field", "owner").EnumerateArray().SelectMany(h => h.GetProperty("matched_fields").EnumerateArray()).Select(f => f.GetString()));

        Json("set-status", "reporting.orders_copy", "deprecated");
        Assert.Equal(["orders_copy"], Json("list-tables", "--status", "deprecated").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        Assert.Equal(["orders_copy"], Json("list-tables", "--database", "reporting").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
        Assert.Contains("events", Json("list-tables", "--status", "active").EnumerateArray().Select(e => e.GetProperty("name").GetString()));
    }

    [Fact]
    public void Lineage_is_added_with_flags_and_drawn_as_a_tree_without_them()
    {
        Json("register", "summary", System.IO.Path.Combine(_lake.Path, "events"));
        var graph = Json("lineage", "summary", "--upstream", "tx", "--upstream", "events");
        var upstream = graph.GetProperty("direct_upstream").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(["data_lake.events", "data_lake.tx"], upstream.Where(u => !u.StartsWith("source:", StringComparison.Ordinal)));
        // summary is registered on the events table's folder: the file its rows were written from is its source.
        Assert.Single(upstream, u => u.StartsWith("source:", StringComparison.Ordinal) && u.EndsWith(".parquet", StringComparison.Ordinal));
        Assert.Equal(["data_lake.summary"], Json("lineage", "tx").GetProperty("all_downstream").EnumerateArray().Select(e => e.GetString()));

        var tree = Ecap("data-lake", "catalog", "lineage", "summary");
        Assert.True(tree.ExitCode == 0, tree.Stderr);
        Assert.Contains("data_lake.summary", tree.Stdout);
        Assert.Contains("data_lake.tx", tree.Stdout);
        Assert.Contains("data_lake.events", tree.Stdout);
    }

    [Fact]
    public void Update_stats_matches_duckdb_over_the_table_files()
    {
        var stats = Json("update-stats", "events", "--compute-column-stats", "--sample-size", "100000");
        Assert.Equal(3000, stats.GetProperty("row_count").GetInt64());
        Assert.Equal(3000, stats.GetProperty("sampled_rows").GetInt64());
        var files = Directory.GetFiles(System.IO.Path.Combine(_lake.Path, "events"), "*.parquet", SearchOption.AllDirectories);
        using var duck = new DuckDbReader();
        var from = $"read_parquet({DuckDbReader.FileList(files)}, hive_partitioning = false)";
        var customer = stats.GetProperty("columns").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "customer_id");
        Assert.Equal(Convert.ToInt64(duck.Scalar($"SELECT count(*) - count(customer_id) FROM {from}")), customer.GetProperty("null_count").GetInt64());
        Assert.Equal(Convert.ToInt64(duck.Scalar($"SELECT min(customer_id) FROM {from}")).ToString(), customer.GetProperty("min").GetString());
        Assert.Equal(Convert.ToInt64(duck.Scalar($"SELECT max(customer_id) FROM {from}")).ToString(), customer.GetProperty("max").GetString());
        var exact = Convert.ToDouble(duck.Scalar($"SELECT count(DISTINCT customer_id) FROM {from}"));
        Assert.InRange(customer.GetProperty("distinct_count").GetInt64(), exact * 0.97, exact * 1.03);
    }

    [Fact]
    public async Task Concurrent_register_processes_lose_no_tag()
    {
        var path = System.IO.Path.Combine(_lake.Path, "tx");
        var runs = await Task.WhenAll(Enumerable.Range(0, 4)
            .Select(i => Task.Run(() => Ecap("data-lake", "catalog", "register", "contended", path, "--tag", $"t{i}"))));
        foreach (var r in runs) Assert.True(r.ExitCode == 0, r.Stderr);
        var tags = Json("show", "contended").GetProperty("table").GetProperty("tags").EnumerateArray().Select(t => t.GetString()).Order();
        Assert.Equal(["t0", "t1", "t2", "t3"], tags);
    }

    [Fact]
    public void Unknown_tables_and_bad_paths_fail_with_clear_messages_and_exit_codes()
    {
        var unknown = Ecap("data-lake", "catalog", "show", "ghost");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("'ghost' is not registered", unknown.Stderr);
        var bad = Ecap("data-lake", "catalog", "register", "t", _lake.Dir.Sub("nowhere"));
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("not a Delta table", bad.Stderr);
        var status = Ecap("data-lake", "catalog", "list-tables", "--status", "gone");
        Assert.Equal(2, status.ExitCode);
        Assert.Contains("active, deprecated, archived", status.Stderr);
    }

    [Fact]
    public void A_separate_catalog_folder_is_used_when_given()
    {
        using var other = new TempDir();
        var reg = Ecap("--output", "json", "data-lake", "catalog", "--catalog", other.Path, "register", "elsewhere", System.IO.Path.Combine(_lake.Path, "tx"));
        Assert.True(reg.ExitCode == 0, reg.Stderr);
        Assert.True(Directory.Exists(System.IO.Path.Combine(other.Path, "tables", "data_lake", "elsewhere")));
        Assert.Equal(1, Ecap("data-lake", "catalog", "show", "elsewhere").ExitCode);
    }
}

public class CatalogDemoTests
{
    [Fact]
    public void Demo_registers_its_tables_computes_statistics_and_records_analytics_lineage()
    {
        using var dir = new TempDir();
        var lake = dir.Sub("lake");
        var demo = EcapProcess.Run("--lake", lake, "data-lake", "demo", "--scale", "0.01");
        Assert.True(demo.ExitCode == 0, demo.Stderr + demo.Stdout);
        Assert.Contains("data_lake.transactions", demo.Stdout);

        var list = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "catalog", "list-tables");
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Equal(["analytics_results", "customer_profiles", "product_updates", "transactions", "user_events"],
            list.Json().EnumerateArray().Select(e => e.GetProperty("name").GetString()));

        var show = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "catalog", "show", "analytics_results");
        Assert.True(show.ExitCode == 0, show.Stderr);
        var json = show.Json();
        Assert.Equal(["data_lake.transactions", "data_lake.user_events"],
            json.GetProperty("lineage").GetProperty("direct_upstream").EnumerateArray().Select(e => e.GetString()));
        var stats = json.GetProperty("table").GetProperty("statistics");
        Assert.Equal(json.GetProperty("table").GetProperty("row_count").GetInt64(), stats.GetProperty("row_count").GetInt64());
        Assert.True(stats.GetProperty("sampled_rows").GetInt64() > 0);
        // transactions got a second (appended) commit in the demo: the entry followed the log.
        var tx = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "catalog", "show", "transactions").Json();
        Assert.Equal(1, tx.GetProperty("table").GetProperty("table_version").GetInt64());
    }
}
