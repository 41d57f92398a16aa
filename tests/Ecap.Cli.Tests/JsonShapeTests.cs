using System.Text.Json;
using System.Text.RegularExpressions;

namespace Ecap.Cli.Tests;

/// <summary>
/// Pins the <c>--output json</c> shapes scripts read (README "JSON output"): every key, its nesting and its value kind.
/// A renamed, dropped or added key, or a number that became a string, fails here. Values are checked elsewhere.
/// </summary>
public sealed class JsonShapeTests : IClassFixture<JsonShapeTests.Lake>
{
    /// <summary>One small lake (a table written twice, so it has history and several files), copied by tests that change it.</summary>
    public sealed class Lake : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Path => Dir.Sub("lake");
        public string Source => Dir.Sub("tx.parquet");

        public Lake()
        {
            Must(EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "2000", "--days", "3", "--out", Source, "--seed", "5"));
            Must(EcapProcess.Run("--lake", Path, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", Source));
            Must(EcapProcess.Run("--lake", Path, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", Source));
        }

        public void Dispose() => Dir.Dispose();
    }

    private readonly Lake _lake;

    public JsonShapeTests(Lake lake) => _lake = lake;

    /// <summary>The shape a script reads today; SHAPES_LOG=FILE logs the actual shapes instead (to pin a new command).</summary>
    private static void Pin(string expected, string actual)
    {
        if (Environment.GetEnvironmentVariable("SHAPES_LOG") is { } log) { File.AppendAllText(log, new System.Diagnostics.StackTrace().GetFrame(1)!.GetMethod()!.Name + "\n" + actual + "\n\n"); return; }
        Assert.Equal(expected, actual);
    }

    private static EcapProcess.Result Must(EcapProcess.Result r)
    {
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        return r;
    }

    private JsonElement Json(params string[] args) => Must(EcapProcess.Run(["--lake", _lake.Path, "--output", "json", "data-lake", .. args])).Json();

    /// <summary>A private copy of the lake, for commands that commit or change table properties.</summary>
    private string CopyLake(TempDir dir)
    {
        var copy = dir.Sub("lake");
        TempDir.CopyDirectory(_lake.Path, copy);
        return copy;
    }

    private static JsonElement JsonIn(string lake, params string[] args) => Must(EcapProcess.Run(["--lake", lake, "--output", "json", "data-lake", .. args])).Json();

    // ---- storage

    [Fact]
    public void Storage_write()
    {
        using var dir = new TempDir();
        var json = JsonIn(dir.Sub("lake"), "storage", "write", "tx", "--data-type", "transactions", "--source-path", _lake.Source);
        Pin(
            "{bytes_written:number,duplicates_dropped:number,duration_ms:number,files_removed:number,files_written:number," +
            "rows_written:number,skipped:bool,table:string,version:number}",
            Shape.Of(json));
    }

    [Fact]
    public void Storage_read_rows_and_stats()
    {
        Pin(
            "[{amount:number,country:string,currency:string,customer_id:number,day:number,discount_code:null|string," +
            "is_first_purchase:bool,month:number,payment_method:string,product_id:number,quantity:number," +
            "shipping_cost:number,status:string,timestamp:time(Z),transaction_id:number,year:number}]",
            Shape.Of(Json("storage", "read", "tx", "--limit", "3")));
        Pin(
            "{rows:[{amount:number,country:string,currency:string,customer_id:number,day:number,discount_code:null|string," +
            "is_first_purchase:bool,month:number,payment_method:string,product_id:number,quantity:number," +
            "shipping_cost:number,status:string,timestamp:time(Z),transaction_id:number,year:number}]," +
            "stats:{bytes_scanned:number,elapsed_ms:number,files_pruned_by_bucket:number,files_pruned_by_partition:number," +
            "files_pruned_by_stats:number,files_read:number,files_total:number,partitions_pruned:number," +
            "partitions_total:number,row_groups_pruned:number,row_groups_total:number,rows_returned:number," +
            "rows_scanned:number}}",
            Shape.Of(Json("storage", "read", "tx", "--limit", "3", "--stats")));
    }

    [Fact]
    public void Storage_info()
    {
        Pin(
            "{auto_compaction:{enabled:bool,last_compacted_at:null,last_compacted_version:null,last_error:null,last_files_added:null," +
            "last_files_removed:null,last_outcome:null,last_run_at:null,last_triggered_by:null,max_file_size_bytes:number,min_num_files:number}," +
            "average_file_size_bytes:number,compression_ratio:number,data_type:string,file_count:number," +
            "file_size_histogram:[{file_count:number,max_bytes:null|number,min_bytes:number,size_bytes:number}]," +
            "last_modified:time(Z),location:string,name:string,partition_advice:null,partition_columns:[string],partition_count:number," +
            "partition_skew:number,partitions:[{file_count:number,record_count:number,size_bytes:number," +
            "values:{*:string}}],record_count:number,schema:[{name:string,nullable:bool,type:string}]," +
            "small_file_count:number,small_file_threshold_bytes:number,storage_cost:{by_class:[{monthly_cost:number," +
            "price_per_gb_month:number,storage_class:string}],currency:string,monthly_cost:number," +
            "price_per_gb_month:number,size_gb:number,storage_class:string,stored:null},total_size_bytes:number,version:number}",
            Shape.Of(Json("storage", "info", "tx"), "partitions[].values"));
    }

    [Fact]
    public void Storage_list_tables_and_history()
    {
        Pin("[{file_count:number,name:string,record_count:number,total_size_bytes:number,version:number}]", Shape.Of(Json("storage", "list-tables")));
        Pin("[{metrics:{*:string},operation:string,parameters:{*:string},timestamp:time(Z),version:number}]", Shape.Of(Json("storage", "history", "tx"), "[].parameters", "[].metrics"));
    }

    [Fact]
    public void Storage_restore()
    {
        using var dir = new TempDir();
        Pin("{files_added:number,files_removed:number,restored_version:number,version:number}", Shape.Of(JsonIn(CopyLake(dir), "storage", "restore", "tx", "--version", "0")));
    }

    // ---- generate (not in the README's list, but it prints JSON a script may read)

    [Fact]
    public void Generate()
    {
        using var dir = new TempDir();
        var r = Must(EcapProcess.Run("--output", "json", "data-lake", "generate", "transactions", "--rows", "10", "--out", dir.Sub("g.parquet")));
        Pin("{path:string,rows:number}", Shape.Of(r.Json()));
    }

    // ---- query

    [Fact]
    public void Query_rows_stats_and_out()
    {
        const string sql = "SELECT transaction_id, amount, timestamp FROM tx WHERE day = 1 LIMIT 2";
        Pin("[{amount:number,timestamp:time(Z),transaction_id:number}]", Shape.Of(Json("query", sql)));
        Pin(
            "{rows:[{amount:number,timestamp:time(Z),transaction_id:number}],stats:{bytes_scanned:number,elapsed_ms:number," +
            "files_considered:number,files_pruned:number,files_read:number,rows_returned:number,tables:[string]}}",
            Shape.Of(Json("query", sql, "--stats")));
        using var dir = new TempDir();
        Pin("{out:string,rows:number}", Shape.Of(Json("query", sql, "--out", dir.Sub("q.parquet"))));
    }

    // ---- catalog

    [Fact]
    public void Catalog_register_show_list_search_set_status()
    {
        using var dir = new TempDir();
        var lake = CopyLake(dir);
        var registered = JsonIn(lake, "catalog", "register", "tx", System.IO.Path.Combine(lake, "tx"), "--owner", "sales", "--tag", "pii", "--description", "orders");
        Pin(
            "{columns:[{name:string,nullable:bool,type:string}],created_at:time(+00:00),database:string,description:string," +
            "file_count:number,is_reserved:bool,name:string,owner:string,partition_columns:[string],path:string," +
            "qualified_name:string,row_count:number,schema_history:[{columns:[{name:string,nullable:bool,type:string}]," +
            "timestamp:time(+00:00),version:number}],size_bytes:number,status:string,table_version:number,tags:[string]," +
            "updated_at:time(+00:00),upstream:[string]}",
            Shape.Of(registered));
        Pin(
            "{lineage:{all_downstream:[],all_upstream:[string],direct_downstream:[],direct_upstream:[string]," +
            "edges:[{downstream:string,upstream:string}],table:string},schema_changes:[{added:[string],changed:[]," +
            "columns:[{name:string,nullable:bool,type:string}],removed:[],renamed:[],timestamp:time(+00:00),version:number}]," +
            "table:{columns:[{name:string,nullable:bool,type:string}],created_at:time(+00:00),database:string," +
            "description:string,file_count:number,is_reserved:bool,name:string,owner:string,partition_columns:[string]," +
            "path:string,qualified_name:string,row_count:number,schema_history:[{columns:[{name:string,nullable:bool," +
            "type:string}],timestamp:time(+00:00),version:number}],size_bytes:number,status:string,table_version:number," +
            "tags:[string],updated_at:time(+00:00),upstream:[string]}}",
            Shape.Of(JsonIn(lake, "catalog", "show", "tx")));
        Pin(
            "[{database:string,description:string,file_count:number,name:string,owner:string,path:string,row_count:number," +
            "size_bytes:number,status:string,table_version:number,tags:[string],updated_at:time(+00:00)}]",
            Shape.Of(JsonIn(lake, "catalog", "list-tables")));
        Pin(
            "[{database:string,description:string,matched_fields:[string],name:string,owner:string,rank:number," +
            "status:string,tags:[string]}]",
            Shape.Of(JsonIn(lake, "catalog", "search", "tx")));
        Pin(
            "{database:string,description:string,file_count:number,name:string,owner:string,path:string,row_count:number," +
            "size_bytes:number,status:string,table_version:number,tags:[string],updated_at:time(+00:00)}",
            Shape.Of(JsonIn(lake, "catalog", "set-status", "tx", "deprecated")));
    }

    [Fact]
    public void Catalog_update_stats_and_lineage()
    {
        using var dir = new TempDir();
        var lake = CopyLake(dir);
        Pin(
            "{columns:[{avg_length?:number,distinct_count:number,max:string|time(Z),max_length?:number,min:string|time(Z)," +
            "min_max_source:string,name:string,null_count:number,top_values?:[{count:number,value:string}],type:string}]," +
            "computed_at:time(+00:00),file_count:number,partition_count:number,row_count:number,sampled_rows:number," +
            "size_bytes:number,version:number}",
            Shape.Of(JsonIn(lake, "catalog", "update-stats", "tx", "--compute-column-stats", "--sample-size", "500")));
        Must(EcapProcess.Run("--lake", lake, "data-lake", "catalog", "register", "raw_tx", System.IO.Path.Combine(lake, "tx")));
        Pin(
            "{all_downstream:[],all_upstream:[string],direct_downstream:[],direct_upstream:[string]," +
            "edges:[{downstream:string,upstream:string}],table:string}",
            Shape.Of(JsonIn(lake, "catalog", "lineage", "tx", "--upstream", "raw_tx")));
    }

    // ---- compaction

    [Fact]
    public void Compaction_analyze_compact_restore_points_and_restore()
    {
        using var dir = new TempDir();
        var lake = CopyLake(dir);
        Pin(
            "{average_file_size_bytes:number,compaction_reason:string,estimated_files_after:number," +
            "estimated_files_before:number,file_count:number,files_without_stats:number,needs_compaction:bool," +
            "partition_advice:null,partition_count:number,partition_skew:number,partitions_over_small_file_limit:number," +
            "partitions_with_small_files:[{file_count:number,size_bytes:number,small_file_count:number,values:{*:string}}]," +
            "size_histogram:[{file_count:number,label:string,max_bytes:null|number,min_bytes:number}]," +
            "small_file_count:number,small_file_threshold_bytes:number,table:string,target_file_size_bytes:number," +
            "total_size_bytes:number,version:number}",
            Shape.Of(JsonIn(lake, "compaction", "analyze", "tx"), "partitions_with_small_files[].values"));
        Pin(
            "{bytes_added:number,bytes_after:number,bytes_before:number,bytes_removed:number,commit_versions:[number]," +
            "duration_ms:number,files_added:number,files_after:number,files_before:number,files_removed:number," +
            "partition_groups_compacted:number,partition_groups_skipped:number,read_version:number," +
            "restore_point:{created_at:time(Z),expires_at:time(Z),name:string,version:number},rows_rewritten:number," +
            "table:string}",
            Shape.Of(JsonIn(lake, "compaction", "compact", "tx", "--backup", "--restore-point", "before")));
        Pin("[{created_at:time(Z),expires_at:time(Z),name:string,version:number}]", Shape.Of(JsonIn(lake, "compaction", "restore-points", "tx")));
        Pin("{files_added:number,files_removed:number,restored_version:number,version:number}", Shape.Of(JsonIn(lake, "storage", "restore", "tx", "--restore-point", "before")));
    }

    [Fact]
    public void Compaction_optimize_all_vacuum_zorder_retention()
    {
        using var dir = new TempDir();
        var lake = CopyLake(dir);
        Pin(
            "[{action:string,error:null,reason:string,result:{bytes_added:number,bytes_after:number,bytes_before:number," +
            "bytes_removed:number,commit_versions:[number],duration_ms:number,files_added:number,files_after:number," +
            "files_before:number,files_removed:number,partition_groups_compacted:number,partition_groups_skipped:number," +
            "read_version:number,restore_point:null,rows_rewritten:number,table:string},table:string}]",
            Shape.Of(JsonIn(lake, "compaction", "optimize-all", "--min-file-count", "1")));
        // Retention 0 (--force) so the files the compaction replaced are listed.
        Pin(
            "{bytes_deleted:number,dry_run:bool,expired_restore_points_deleted:number,files:[{path:string,reason:string," +
            "size_bytes:number}],files_deleted:number,files_kept_for_restore_points:number,retention_hours:number," +
            "table:string}",
            Shape.Of(JsonIn(lake, "compaction", "vacuum", "tx", "--dry-run", "--retention-hours", "0", "--force")));
        Pin(
            "{columns:[string],duration_ms:number,files_added:number,files_removed:number,partition_groups:number," +
            "rows_rewritten:number,table:string,version:number}",
            Shape.Of(JsonIn(lake, "compaction", "zorder", "tx", "--columns", "customer_id,product_id")));
        // Data from 2020, so the policy removes partitions.
        var old = dir.Sub("old.parquet");
        Must(EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "100", "--days", "2", "--start", "2020-01-01", "--out", old));
        Must(EcapProcess.Run("--lake", lake, "data-lake", "storage", "write", "old", "--data-type", "transactions", "--source-path", old));
        Pin(
            "{cutoff:time(Z),dry_run:bool,files_removed:number,partitions_removed:[{*:string}],retention_days:number," +
            "rows_removed:number,table:string,version:number}",
            Shape.Of(JsonIn(lake, "compaction", "retention", "old", "--days", "30"), "partitions_removed[]"));
    }

    // ---- quality

    [Fact]
    public void Quality_constraints_and_check()
    {
        using var dir = new TempDir();
        var lake = CopyLake(dir);
        Pin("[{expression:string,name:string}]", Shape.Of(JsonIn(lake, "quality", "add-constraint", "tx", "--name", "amount_non_negative", "--check", "amount >= 0")));
        Pin("[{expression:string,name:string,rows_checked:number,rows_failed:number}]", Shape.Of(JsonIn(lake, "quality", "check", "tx")));
        Pin("[]", Shape.Of(JsonIn(lake, "quality", "drop-constraint", "tx", "--name", "amount_non_negative")));
    }

    // ---- access and audit

    [Fact]
    public void Access_grants_whoami_and_audit()
    {
        using var dir = new TempDir();
        var lake = CopyLake(dir);
        Pin("{audience:null,issuer:null,keys_pinned:bool,mode:string,set_at:time(+00:00),set_by:string}",
            Shape.Of(Must(EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "access", "identity", "set", "env")).Json()));
        JsonElement As(params string[] args) => Must(EcapProcess.RunWithEnvironment(
            new Dictionary<string, string> { ["ECAP_PRINCIPAL"] = "alice", ["ECAP_GROUPS"] = "admins" },
            ["--lake", lake, "--output", "json", "data-lake", .. args])).Json();
        Pin(
            "[{excluded_columns:[string],granted_at:time(+00:00),granted_by:string,grantee:string,privilege:string," +
            "table:null|string}]",
            Shape.Of(As("access", "grant", "read", "--principal", "analysts", "--table", "tx", "--exclude-columns", "customer_id")));
        Pin(
            "[{excluded_columns:[string],granted_at:time(+00:00),granted_by:string,grantee:string,privilege:string," +
            "table:null|string}]",
            Shape.Of(As("access", "show")));
        Pin("[{excluded_columns:[],granted_at:time(+00:00),granted_by:string,grantee:string,privilege:string,table:null}]", Shape.Of(As("access", "revoke", "read", "--principal", "analysts", "--table", "tx")));
        Pin("{groups:[string],principal:string,source:string}", Shape.Of(As("access", "whoami")));
        Pin(
            "[{audit_id:string,bytes:null|number,duration_ms:number,error:null,groups:[string],host:string,identity_source:string," +
            "operation:string,outcome:string,parameters:{*:null|string},principal:string,recovered:bool,rows:null|number," +
            "table:null|string,table_version:null|number,time:time(+00:00)}]",
            Shape.Of(As("audit"), "[].parameters"));
        Pin(
            "{commits_audited:number,commits_scanned:number,commits_too_recent:number,dry_run:bool,records_recovered:number,recovered:[],tables_scanned:number}",
            Shape.Of(As("audit", "reconcile", "--grace-minutes", "0")));
    }

    // ---- ingestion (files; database and Kafka need servers and share the files report's code)

    [Fact]
    public void Ingestion_files()
    {
        using var dir = new TempDir();
        var csv = dir.Sub("in.csv");
        File.WriteAllText(csv, "transaction_id,timestamp,amount,status\n1,2026-08-01T12:00:00Z,1.5,paid\n2,2026-08-02T12:00:00Z,2.5,paid\nbad,line\n");
        Pin(
            // A run that dead-lettered records names their table.
            "{app_id:string,batches:number,dead_letter_table:string,duration_ms:number,files_matched:number,files_read:number,files_skipped:number," +
            "last_version:number,records_dead_lettered:number,records_per_second:number,records_read:number," +
            "records_written:number,retries:number,source:string,status:string,table:string,txn_version:number}",
            Shape.Of(JsonIn(dir.Sub("lake"), "ingestion", "files", "tx", "--data-type", "transactions", "--path", csv)));
        // Over --max-bad-ratio: exit code 1, the same report with status failed and the error.
        File.WriteAllText(dir.Sub("more.csv"), "transaction_id,timestamp,amount,status\nbad,line\n");
        var failed = EcapProcess.Run("--lake", dir.Sub("lake"), "--output", "json", "data-lake", "ingestion", "files", "tx", "--data-type", "transactions",
            "--path", dir.Sub("more.csv"), "--max-bad-ratio", "0");
        Assert.True(failed.ExitCode == 1, failed.Stderr);
        Pin(
            "{app_id:string,batches:number,duration_ms:number,error:string,files_matched:number,files_read:number," +
            "files_skipped:number,last_version:null,records_dead_lettered:number,records_per_second:number," +
            "records_read:number,records_written:number,retries:number,source:string,status:string,table:string," +
            "txn_version:number}",
            Shape.Of(failed.Json()));
    }

    [Fact]
    public void Stream_status_stop_and_monitor()
    {
        using var dir = new TempDir();
        var lake = CopyLake(dir);
        var streams = System.IO.Path.Combine(lake, "_ecap", "streams");
        Directory.CreateDirectory(streams);
        // A heartbeat with every documented key, as a Kafka stream writes it, and one that does not parse.
        File.WriteAllText(System.IO.Path.Combine(streams, "s1.json"), """
            {"stream_id":"s1","source":"kafka","topic":"t","table":"tx","consumer_group":"g","state":"running","trigger_interval_seconds":30,
             "started_at":"2026-08-01T00:00:00+00:00","last_heartbeat":"2026-08-01T00:10:00+00:00","records_total":10,"records_per_second":1.5,
             "dead_letters_total":0,"lag":{"0":3},"total_lag":3,"last_version":1,"last_error":null,"stop_requested":false}
            """);
        File.WriteAllText(System.IO.Path.Combine(streams, "broken.json"), "{not json");
        Pin(
            "{streams:[{consumer_group:string,dead_letters_total:number,lag:{*:number},last_error:null," +
            "last_heartbeat:time(+00:00),last_version:number,records_per_second:number,records_total:number,source:string," +
            "stale:bool,started_at:time(+00:00),state:string,stop_requested:bool,stream_id:string,table:string," +
            "topic:string,total_lag:number,trigger_interval_seconds:number}]}",
            Shape.Of(JsonIn(lake, "ingestion", "stream-status"), "streams[].lag"));
        Pin("{state:string,stop_requested:bool,stream_id:string}", Shape.Of(JsonIn(lake, "ingestion", "stream-stop", "s1")));
        Pin(
            "{compaction_daemons:[],generated_at:time(+00:00),lake:string,recent_commits:[{metrics:{*:string},operation:string,table:string," +
            "timestamp:time(+00:00),version:number}],streams:[{error:null|string,heartbeat:null|{consumer_group:string," +
            "dead_letters_total:number,lag:{*:number},last_error:null,last_heartbeat:time(+00:00),last_version:number," +
            "records_per_second:number,records_total:number,source:string,started_at:time(+00:00),state:string," +
            "stop_requested:bool,stream_id:string,table:string,topic:string,total_lag:number," +
            "trigger_interval_seconds:number},heartbeat_age_seconds:null|number,stale:bool,stop_pending:bool," +
            "stream_id:string}],tables:[{auto_compact:bool,file_count:number,last_auto_compaction:null,last_write:time(+00:00),name:string,record_count:number," +
            "size_bytes:number,small_file_count:number,small_file_ratio:number,version:number}]}",
            Shape.Of(JsonIn(lake, "monitor", "--commits", "3"), "streams[].heartbeat.lag", "recent_commits[].metrics"));
    }

    /// <summary>
    /// A JSON document's shape as text: objects as <c>{key:shape,...}</c> (keys sorted; <c>key?</c> when only some
    /// elements of an array have it), arrays as <c>[the merged shape of the elements]</c>, alternatives as <c>a|b</c>,
    /// strings that are ISO-8601 times as <c>time(Z)</c> or <c>time(+hh:mm)</c> (the format is part of the contract).
    /// Objects at the given map paths (keys are data: partition values, metrics) are <c>{*:value shape}</c>.
    /// </summary>
    internal static class Shape
    {
        private static readonly Regex Time = new(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(?<zone>Z|[+-]\d\d:\d\d)$", RegexOptions.Compiled);

        public static string Of(JsonElement json, params string[] mapPaths)
        {
            var root = new Node();
            root.Add(json, "", mapPaths.ToHashSet(StringComparer.Ordinal));
            return root.Render();
        }

        private sealed class Node
        {
            private readonly SortedSet<string> _kinds = new(StringComparer.Ordinal);
            private readonly SortedDictionary<string, (Node Node, int Count)> _properties = new(StringComparer.Ordinal);
            private int _objects;
            private Node? _items;

            public void Add(JsonElement e, string path, HashSet<string> maps)
            {
                switch (e.ValueKind)
                {
                    case JsonValueKind.Object:
                        _kinds.Add("object");
                        _objects++;
                        var isMap = maps.Contains(path);
                        foreach (var p in e.EnumerateObject())
                        {
                            var key = isMap ? "*" : p.Name;
                            var (node, count) = _properties.TryGetValue(key, out var seen) ? seen : (new Node(), 0);
                            node.Add(p.Value, path.Length == 0 ? p.Name : path + "." + p.Name, maps);
                            _properties[key] = (node, isMap ? 0 : count + 1);
                        }
                        break;
                    case JsonValueKind.Array:
                        _kinds.Add("array");
                        foreach (var item in e.EnumerateArray()) (_items ??= new Node()).Add(item, path + "[]", maps);
                        break;
                    case JsonValueKind.String:
                        _kinds.Add(Time.Match(e.GetString()!) is { Success: true } m ? $"time({m.Groups["zone"].Value})" : "string");
                        break;
                    case JsonValueKind.Number: _kinds.Add("number"); break;
                    case JsonValueKind.True or JsonValueKind.False: _kinds.Add("bool"); break;
                    default: _kinds.Add("null"); break;
                }
            }

            public string Render() => string.Join("|", _kinds.Select(k => k switch
            {
                "object" => "{" + string.Join(",", _properties.Select(p =>
                    p.Key + (p.Key != "*" && p.Value.Count < _objects ? "?" : "") + ":" + p.Value.Node.Render())) + "}",
                "array" => "[" + (_items?.Render() ?? "") + "]",
                _ => k,
            }));
        }
    }
}
