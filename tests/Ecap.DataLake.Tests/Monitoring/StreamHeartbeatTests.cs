using System.Text.Json;
using Ecap.DataLake.Monitoring;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tests.Monitoring;

/// <summary>The heartbeat contract between stream writers and the monitor: keys, staleness, stop requests.</summary>
public class StreamHeartbeatTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 14, 5, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_written_heartbeat_has_exactly_the_contract_keys_and_the_monitor_reads_it_back()
    {
        using var dir = new TempDir();
        var lake = new LocalObjectStore(dir.Path);
        var beat = new StreamHeartbeat
        {
            StreamId = "tx-stream-1a2b", Source = "kafka", Topic = "transactions", Table = "transactions", ConsumerGroup = "ecap-transactions",
            State = "running", TriggerIntervalSeconds = 30, StartedAt = Now.AddMinutes(-5), LastHeartbeat = Now, RecordsTotal = 12345,
            RecordsPerSecond = 812.5, DeadLettersTotal = 3, Lag = new Dictionary<string, long> { ["0"] = 10, ["1"] = 0 }, TotalLag = 10, LastVersion = 42,
        };
        await beat.WriteAsync(lake);

        var path = Path.Combine(dir.Path, "_ecap", "streams", "tx-stream-1a2b.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        Assert.Equal(["stream_id", "source", "topic", "table", "consumer_group", "state", "trigger_interval_seconds", "started_at", "last_heartbeat",
            "records_total", "records_per_second", "dead_letters_total", "lag", "total_lag", "last_version", "last_error", "stop_requested"],
            doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("last_error").ValueKind);

        Assert.False(await StreamHeartbeat.IsStopRequestedAsync(lake, beat.StreamId));
        await lake.WriteAsync(StreamHeartbeat.StopKey(beat.StreamId), Array.Empty<byte>());
        Assert.True(await StreamHeartbeat.IsStopRequestedAsync(lake, beat.StreamId));

        var overview = await new LakeMonitor(lake).LookAsync(now: Now.AddSeconds(10));
        var status = Assert.Single(overview.Streams);
        Assert.Equal(beat, status.Heartbeat! with { Lag = beat.Lag });
        Assert.Equal(beat.Lag, status.Heartbeat!.Lag);
        Assert.True(status.StopPending);
        Assert.False(status.Stale);
        Assert.Equal(10, status.HeartbeatAgeSeconds);
        Assert.Empty(overview.Tables);
    }

    [Theory]
    [InlineData("running", 30, 90, false)]   // exactly 3 x trigger: not yet
    [InlineData("running", 30, 91, true)]
    [InlineData("running", 5, 29, false)]    // 3 x 5 s is under the 30 s minimum
    [InlineData("running", 5, 31, true)]
    [InlineData("stopped", 30, 3600, false)] // only a running stream can be stale
    [InlineData("failed", 30, 3600, false)]
    public void Staleness_is_three_trigger_intervals_with_a_30_second_minimum(string state, int trigger, int silentSeconds, bool stale)
    {
        var beat = new StreamHeartbeat { StreamId = "s", State = state, TriggerIntervalSeconds = trigger, LastHeartbeat = Now };
        Assert.Equal(stale, beat.IsStale(Now.AddSeconds(silentSeconds)));
    }
}
