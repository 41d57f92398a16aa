using System.Text.Json;
using Ecap.DataLake.Ingestion.Streams;
using Ecap.DataLake.Monitoring;
using Ecap.DataLake.Kafka.Dev;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Kafka.Tests;

/// <summary>Streams under faults (leader moves, brokers down, fetch errors, rebalances): every record lands exactly once.</summary>
public sealed class KafkaStreamTests
{
    private static readonly TimeSpan Trigger = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan CatchUp = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Stream_PartitionLeaderDownAndUpMidStream_EveryRecordOnce()
    {
        using var k = new KafkaLake();
        var stream = k.Ingester.IngestFromKafkaStreaming(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, Trigger, k.Options() with { BatchSize = 200 });
        k.Produce(0, 1000);
        // Partition 0's leader goes down and comes back; partition 1's leadership moves to another broker.
        k.Cluster.SetPartitionLeader(KafkaLake.Topic, 0, 1);
        k.Cluster.SetBrokerDown(1);
        Thread.Sleep(1500);
        k.Cluster.SetBrokerUp(1);
        k.Cluster.SetPartitionLeader(KafkaLake.Topic, 1, 3);
        k.Produce(1000, 1000);
        k.WaitUntilCaughtUp(CatchUp);
        stream.Stop();
        var report = await stream.Completion;
        Assert.Equal("stopped", report.State);
        k.AssertExactlyOnce();
    }

    [Fact]
    public async Task Stream_InjectedFetchErrors_EveryRecordOnce()
    {
        using var k = new KafkaLake();
        k.Produce(0, 500);
        var stream = k.Ingester.IngestFromKafkaStreaming(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, Trigger, k.Options() with { BatchSize = 100 });
        k.Cluster.PushRequestErrors(MockKafkaCluster.ApiKeys.Fetch,
            MockKafkaCluster.Errors.NotLeaderForPartition, MockKafkaCluster.Errors.RequestTimedOut, MockKafkaCluster.Errors.UnknownServerError,
            MockKafkaCluster.Errors.NotLeaderForPartition, MockKafkaCluster.Errors.RequestTimedOut);
        k.Produce(500, 1000);
        k.Cluster.PushRequestErrors(MockKafkaCluster.ApiKeys.Fetch, MockKafkaCluster.Errors.RequestTimedOut, MockKafkaCluster.Errors.NotLeaderForPartition);
        k.Produce(1500, 500);
        k.WaitUntilCaughtUp(CatchUp);
        stream.Stop();
        await stream.Completion;
        k.AssertExactlyOnce();
    }

    [Theory]
    [InlineData("range")]              // eager: a rebalance revokes every partition, then assigns anew
    [InlineData("cooperative-sticky")] // incremental: a member keeps its other partitions through a rebalance
    public async Task TwoIngestersInOneGroup_SplitThePartitionsThroughRebalances_EveryRecordOnce(string strategy)
    {
        using var k = new KafkaLake(partitions: 4);
        KafkaIngestionOptions Member(string id)
        {
            var o = k.Options() with { BatchSize = 5000, StreamId = id };
            return o with { ConsumerProperties = new Dictionary<string, string>(o.ConsumerProperties!) { ["partition.assignment.strategy"] = strategy } };
        }
        // The first member commits every 8 s: when the rebalance comes it has records pending, of partitions it loses
        // and (cooperative) of partitions it keeps.
        var a = k.Ingester.IngestFromKafkaStreaming(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, TimeSpan.FromSeconds(8), Member("a"));
        k.Produce(0, 800);
        k.WaitUntilCaughtUp(CatchUp, partitions: 4); // the first member holds every partition now
        // A second member joins: the group rebalances and the partitions are split between the two.
        // Records keep coming while it joins, so the first member has records pending when its partitions are revoked.
        var producing = Task.Run(() =>
        {
            for (var i = 0; i < 12; i++)
            {
                k.Produce(800 + i * 100, 100);
                Thread.Sleep(100);
            }
        });
        var b = k.Ingester.IngestFromKafkaStreaming(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, Trigger, Member("b"));
        await producing;
        k.WaitUntilCaughtUp(CatchUp, partitions: 4);
        // The first leaves: the other takes all partitions over from the table's positions.
        a.Stop();
        var ra = await a.Completion;
        k.Produce(2000, 800);
        k.WaitUntilCaughtUp(CatchUp, partitions: 4);
        b.Stop();
        var rb = await b.Completion;
        Assert.True(ra.RecordsWritten > 0, "the first member wrote nothing");
        Assert.True(rb.RecordsWritten > 0, "the second member wrote nothing");
        k.AssertExactlyOnce();
    }

    [Fact]
    public async Task Stream_WritesHeartbeats_AndStopsOnAStopRequest_AfterALastCommit()
    {
        using var k = new KafkaLake();
        k.Produce(0, 300);
        var stream = k.Ingester.IngestFromKafkaStreaming(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, Trigger,
            k.Options() with { StreamId = "tx-stream-1" });
        var statuses = new StreamStatusStore(k.Storage.Store);
        k.WaitUntilCaughtUp(CatchUp);
        // A trigger or so after the last commit the heartbeat shows it.
        StreamHeartbeat? running = null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            running = await statuses.ReadAsync("tx-stream-1");
            if (running is { RecordsTotal: 300, TotalLag: 0, Lag.Count: 3 }) break;
            await Task.Delay(200);
        }
        Assert.NotNull(running);
        Assert.Equal("running", running.State);
        Assert.Equal(300, running.RecordsTotal);
        Assert.Equal(0, running.TotalLag);
        Assert.Equal(k.TablePositions().Keys.Select(p => p.ToString()).Order(), running.Lag.Keys.Order());
        Assert.False(running.IsStale(DateTimeOffset.UtcNow));

        // The raw file follows the shared contract (snake_case keys, UTC instants).
        var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(k.LakePath, "_ecap", "streams", "tx-stream-1.json"))).RootElement;
        foreach (var key in new[] { "stream_id", "source", "topic", "table", "consumer_group", "state", "trigger_interval_seconds", "started_at",
                     "last_heartbeat", "records_total", "records_per_second", "dead_letters_total", "lag", "total_lag", "last_version", "last_error", "stop_requested" })
            Assert.True(json.TryGetProperty(key, out _), "missing key " + key);
        var beat = DateTimeOffset.Parse(json.GetProperty("last_heartbeat").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.Zero, beat.Offset);

        k.Produce(300, 200);
        await statuses.RequestStopAsync("tx-stream-1");
        var report = await stream.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("stopped", report.State);
        var stopped = await statuses.ReadAsync("tx-stream-1");
        Assert.Equal("stopped", stopped!.State);
        Assert.True(stopped.StopRequested);
        Assert.False(await statuses.IsStopRequestedAsync("tx-stream-1"));
        Assert.Equal(report.LastVersion, stopped.LastVersion);

        // What it had read before stopping is committed; a batch run picks up the rest, nothing twice.
        await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 1000, 10, k.Options());
        k.AssertExactlyOnce();
    }

    [Fact]
    public void Heartbeat_IsStale_WhenRunningAndSilentForThreeIntervals_AtLeast30Seconds()
    {
        var now = DateTimeOffset.UtcNow;
        StreamHeartbeat S(string state, double interval, double ageSeconds) => new()
        {
            StreamId = "s", Source = "kafka", Topic = "t", Table = "t", ConsumerGroup = "g", State = state,
            TriggerIntervalSeconds = interval, LastHeartbeat = now.AddSeconds(-ageSeconds),
        };
        Assert.True(S("running", 30, 91).IsStale(now));
        Assert.False(S("running", 30, 89).IsStale(now));
        Assert.False(S("running", 1, 29).IsStale(now));
        Assert.True(S("running", 1, 31).IsStale(now));
        Assert.False(S("stopped", 1, 3600).IsStale(now));
    }
}
