using System.Diagnostics;
using System.Text.Json;

namespace Ecap.DataLake.Kafka.Tests;

/// <summary>The `ecap` program as a separate process against the mock cluster: crash/restart exactly once, and the commands' outputs.</summary>
public sealed class KafkaCommandTests
{
    private static string[] StreamArgs(KafkaLake k, string streamId) =>
    [
        "data-lake", "ingestion", "kafka-stream", KafkaLake.Topic, KafkaLake.Table, "--data-type", "transactions", "--lake", k.LakePath,
        "--bootstrap-servers", k.Cluster.BootstrapServers, "--group", "ecap-test", "--metadata-columns", "--trigger-interval", "200 ms",
        "--batch-size", "250", "--stream-id", streamId,
        "--consumer-property", "session.timeout.ms=6000", "--consumer-property", "heartbeat.interval.ms=500",
    ];

    private static string[] BatchArgs(KafkaLake k) =>
    [
        "data-lake", "ingestion", "kafka-batch", KafkaLake.Topic, KafkaLake.Table, "--data-type", "transactions", "--lake", k.LakePath,
        "--bootstrap-servers", k.Cluster.BootstrapServers, "--group", "ecap-test", "--metadata-columns", "--batch-size", "400", "--max-batches", "1000",
        "--output", "json",
    ];

    [Fact]
    public async Task KilledIngestingProcess_AtRandomPoints_ThenRestarted_EveryRecordOnce()
    {
        using var k = new KafkaLake();
        var random = new Random(5);
        long produced = 0;
        for (var round = 0; round < 4; round++)
        {
            // Records keep arriving while the stream runs, so the kill lands among file writes, commits and offset commits.
            using var child = EcapProcess.Start(StreamArgs(k, "crashy"));
            var from = produced;
            var producing = Task.Run(() =>
            {
                for (var i = 0; i < 4; i++) { k.Produce(from + i * 300, 300); Thread.Sleep(150); }
            });
            produced += 1200;
            Thread.Sleep(random.Next(1500, 4000));
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
            await producing;
        }
        // The heartbeat of a killed stream says running: stale once it is old enough (3 intervals, at least 30 s).
        var last = Ecap.DataLake.Ingestion.Streams.StreamStatusStore.Parse(File.ReadAllBytes(Path.Combine(k.LakePath, "_ecap", "streams", "crashy.json")))!;
        Assert.True(last.State is "running");
        Assert.True(last.IsStale(DateTimeOffset.UtcNow.AddSeconds(31)));

        var final = EcapProcess.Run(TimeSpan.FromMinutes(2), BatchArgs(k));
        Assert.True(final.ExitCode == 0, final.Stderr);
        k.AssertExactlyOnce();
        Assert.Equal(produced, k.TableRows().Count);
    }

    [Fact]
    public void KafkaBatch_PrintsTheReportAsJson_AndStreamStatusAndStopWorkOnARunningStream()
    {
        using var k = new KafkaLake();
        k.Produce(0, 500);
        var batch = EcapProcess.Run(BatchArgs(k));
        Assert.True(batch.ExitCode == 0, batch.Stderr);
        var report = batch.Json();
        Assert.Equal(500, report.GetProperty("records_read").GetInt64());
        Assert.Equal(500, report.GetProperty("records_written").GetInt64());
        Assert.Equal("ecap-test", report.GetProperty("consumer_group").GetString());
        Assert.Equal(k.TablePositions().Values.Sum(), report.GetProperty("positions").EnumerateObject().Sum(p => p.Value.GetInt64()));
        Assert.Equal(0, report.GetProperty("total_lag").GetInt64());

        k.Produce(500, 300);
        using var stream = EcapProcess.Start(StreamArgs(k, "cli-stream"));
        k.WaitUntilCaughtUp(TimeSpan.FromSeconds(60));
        var status = EcapProcess.Run("data-lake", "ingestion", "stream-status", "--lake", k.LakePath, "--output", "json");
        Assert.True(status.ExitCode == 0, status.Stderr);
        var s = Assert.Single(status.Json().GetProperty("streams").EnumerateArray());
        Assert.Equal("cli-stream", s.GetProperty("stream_id").GetString());
        Assert.Equal("running", s.GetProperty("state").GetString());
        Assert.False(s.GetProperty("stale").GetBoolean());

        var stop = EcapProcess.Run("data-lake", "ingestion", "stream-stop", "cli-stream", "--lake", k.LakePath, "--output", "json");
        Assert.True(stop.ExitCode == 0, stop.Stderr);
        Assert.True(stream.WaitForExit(TimeSpan.FromSeconds(30)), "the stream did not stop on a stop request");
        Assert.Equal(0, stream.ExitCode);
        var after = EcapProcess.Run("data-lake", "ingestion", "stream-status", "--lake", k.LakePath, "--output", "json");
        Assert.Equal("stopped", after.Json().GetProperty("streams")[0].GetProperty("state").GetString());
        k.AssertExactlyOnce();

        var unknown = EcapProcess.Run("data-lake", "ingestion", "stream-stop", "nope", "--lake", k.LakePath);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("No stream 'nope'", unknown.Stderr);
    }

    [Fact]
    public void KafkaStream_StopsAfterALastCommit_OnSigterm()
    {
        using var k = new KafkaLake();
        k.Produce(0, 400);
        using var stream = EcapProcess.Start(StreamArgs(k, "term"));
        k.WaitUntilCaughtUp(TimeSpan.FromSeconds(60));
        Process.Start("kill", ["-TERM", stream.Id.ToString()]).WaitForExit();
        Assert.True(stream.WaitForExit(TimeSpan.FromSeconds(30)), "the stream did not stop on SIGTERM");
        Assert.Equal(0, stream.ExitCode);
        var heartbeat = JsonDocument.Parse(File.ReadAllText(Path.Combine(k.LakePath, "_ecap", "streams", "term.json"))).RootElement;
        Assert.Equal("stopped", heartbeat.GetProperty("state").GetString());
        k.AssertExactlyOnce();
    }

    [Fact]
    public void DevKafka_PrintsABootstrapAddressThatKcatCanUse()
    {
        using var dev = EcapProcess.StartReadingOutput("data-lake", "dev", "kafka", "--topic", "events:2", "--sample", "50", "--output", "json");
        try
        {
            var lines = new List<string>();
            while (dev.StandardOutput.ReadLine() is { } line)
            {
                lines.Add(line);
                if (line == "}") break;
            }
            var info = JsonDocument.Parse(string.Join("\n", lines)).RootElement;
            var bootstrap = info.GetProperty("bootstrap_servers").GetString()!;
            Assert.Equal(3, bootstrap.Split(',').Length);
            var messages = Kcat.Consume(bootstrap, "events");
            Assert.Equal(50, messages.Count);
            Assert.Equal(2, messages.Select(m => m.Partition).Distinct().Count());
        }
        finally
        {
            dev.Kill(entireProcessTree: true);
            dev.WaitForExit();
        }
    }
}
