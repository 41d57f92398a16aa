using System.Text.Json;
using Ecap.DataLake.Tables;

namespace Ecap.Cli.Tests;

/// <summary>`ecap data-lake monitor --output json` against the lake's real state and heartbeat files written as the format says.</summary>
public sealed class MonitorCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Lake => _dir.Sub("lake");

    private void Write(string table, string source, params string[] extra)
    {
        var r = EcapProcess.Run(["--lake", Lake, "data-lake", "storage", "write", table, "--data-type", "transactions", "--source-path", source, .. extra]);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    private void Heartbeat(string id, string state, DateTimeOffset lastBeat, int trigger = 30, string? error = null)
    {
        var streams = Path.Combine(Lake, "_ecap", "streams");
        Directory.CreateDirectory(streams);
        // Exactly the documented keys (snake_case), as the Kafka stream writer produces them.
        var doc = new Dictionary<string, object?>
        {
            ["stream_id"] = id, ["source"] = "kafka", ["topic"] = "transactions", ["table"] = "tx", ["consumer_group"] = "ecap-transactions",
            ["state"] = state, ["trigger_interval_seconds"] = trigger, ["started_at"] = lastBeat.AddHours(-1).ToString("O"),
            ["last_heartbeat"] = lastBeat.ToString("O"), ["records_total"] = 12345, ["records_per_second"] = 812.5,
            ["dead_letters_total"] = 3, ["lag"] = new Dictionary<string, long> { ["0"] = 10, ["1"] = 0 }, ["total_lag"] = 10,
            ["last_version"] = 42, ["last_error"] = error, ["stop_requested"] = false,
        };
        File.WriteAllText(Path.Combine(streams, id + ".json"), JsonSerializer.Serialize(doc));
    }

    [Fact]
    public async Task Json_snapshot_matches_the_tables_history_and_heartbeats()
    {
        var source = _dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "3000", "--days", "4", "--out", source, "--seed", "8").ExitCode);
        Write("tx", source);
        Write("tx", source);
        Write("copy", source, "--mode", "overwrite");
        var now = DateTimeOffset.UtcNow;
        Heartbeat("live", "running", now.AddSeconds(-5));
        Heartbeat("dead", "running", now.AddMinutes(-10));
        File.WriteAllText(Path.Combine(Lake, "_ecap", "streams", "dead.stop"), "");
        Heartbeat("done", "stopped", now.AddDays(-1), error: "broker gone");
        File.WriteAllText(Path.Combine(Lake, "_ecap", "streams", "broken.json"), "{not json");

        var r = EcapProcess.Run("--lake", Lake, "--output", "json", "data-lake", "monitor", "--commits", "2");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();

        // Tables: against the library's own view of the lake (footers included for the small-file count).
        var storage = new DataLakeStorage(Lake);
        var tables = json.GetProperty("tables").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.Equal(["copy", "tx"], tables.Keys.Order());
        foreach (var name in tables.Keys)
        {
            var info = await storage.GetTableInfoAsync(name);
            var t = tables[name];
            Assert.Equal(info.Version, t.GetProperty("version").GetInt64());
            Assert.Equal(info.RecordCount, t.GetProperty("record_count").GetInt64());
            Assert.Equal(info.TotalSizeBytes, t.GetProperty("size_bytes").GetInt64());
            Assert.Equal(info.FileCount, t.GetProperty("file_count").GetInt32());
            Assert.Equal(info.SmallFileCount, t.GetProperty("small_file_count").GetInt32());
            Assert.Equal((double)info.SmallFileCount / info.FileCount, t.GetProperty("small_file_ratio").GetDouble(), 9);
            Assert.Equal((await storage.GetHistoryAsync(name, 1))[0].Timestamp, t.GetProperty("last_write").GetDateTimeOffset());
        }
        Assert.Equal(6000, tables["tx"].GetProperty("record_count").GetInt64());

        // Recent commits: the two newest across tables, newest first, with operation and metrics.
        var all = new List<(string Table, TableHistoryEntry Entry)>();
        foreach (var name in tables.Keys) all.AddRange((await storage.GetHistoryAsync(name)).Select(h => (name, h)));
        var expected = all.OrderByDescending(c => c.Entry.Timestamp).Take(2).ToList();
        var commits = json.GetProperty("recent_commits").EnumerateArray().ToList();
        Assert.Equal(expected.Select(e => $"{e.Table}@{e.Entry.Version}:{e.Entry.Operation}"),
            commits.Select(c => $"{c.GetProperty("table").GetString()}@{c.GetProperty("version").GetInt64()}:{c.GetProperty("operation").GetString()}"));
        Assert.Equal(expected[0].Entry.Metrics["numOutputRows"], commits[0].GetProperty("metrics").GetProperty("numOutputRows").GetString());

        // Streams: sorted by id; stale only when running and silent beyond 3 x trigger; the .stop file is seen.
        var streams = json.GetProperty("streams").EnumerateArray().ToDictionary(s => s.GetProperty("stream_id").GetString()!);
        Assert.Equal(["broken", "dead", "done", "live"], json.GetProperty("streams").EnumerateArray().Select(s => s.GetProperty("stream_id").GetString()));
        Assert.False(streams["live"].GetProperty("stale").GetBoolean());
        Assert.True(streams["dead"].GetProperty("stale").GetBoolean());
        Assert.True(streams["dead"].GetProperty("stop_pending").GetBoolean());
        Assert.False(streams["live"].GetProperty("stop_pending").GetBoolean());
        Assert.False(streams["done"].GetProperty("stale").GetBoolean());
        Assert.InRange(streams["dead"].GetProperty("heartbeat_age_seconds").GetDouble(), 600, 900);
        var live = streams["live"].GetProperty("heartbeat");
        Assert.Equal(10, live.GetProperty("total_lag").GetInt64());
        Assert.Equal(10, live.GetProperty("lag").GetProperty("0").GetInt64());
        Assert.Equal(812.5, live.GetProperty("records_per_second").GetDouble());
        Assert.Equal(42, live.GetProperty("last_version").GetInt64());
        Assert.Equal("broker gone", streams["done"].GetProperty("heartbeat").GetProperty("last_error").GetString());
        Assert.Equal(JsonValueKind.Null, streams["broken"].GetProperty("heartbeat").ValueKind);
        Assert.Contains("unreadable", streams["broken"].GetProperty("error").GetString());

        // The terminal view renders the same lake once when stdout is not a terminal.
        var screen = EcapProcess.Run("--lake", Lake, "data-lake", "monitor");
        Assert.True(screen.ExitCode == 0, screen.Stderr);
        Assert.Contains("stale", screen.Stdout);
        Assert.Contains("recent commits", screen.Stdout);
    }
}
