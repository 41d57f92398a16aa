using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Kafka.Tests;

public class KafkaAutoCompactionTests
{
    [Fact]
    public async Task A_stream_of_30_triggers_keeps_its_live_files_bounded_and_every_record_once()
    {
        using var k = new KafkaLake(built: true);
        k.Produce(0, 50);
        var stream = k.Ingester.IngestFromKafkaStreaming(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, TimeSpan.FromMilliseconds(200),
            k.Options() with { StreamId = "auto-compact" });
        k.WaitUntilCaughtUp(TimeSpan.FromSeconds(60));
        await k.Storage.SetTablePropertiesAsync(KafkaLake.Table, new Dictionary<string, string?> { [TablePropertyKeys.AutoCompactMinNumFiles] = "5" });
        var table = k.Storage.OpenTable(KafkaLake.Table);
        var most = 0;
        for (var trigger = 1; trigger < 30; trigger++)
        {
            // One produce per trigger: waiting until the table has it makes each its own commit (one file: the ids span one day).
            k.Produce(trigger * 50, 50);
            k.WaitUntilCaughtUp(TimeSpan.FromSeconds(60));
            most = Math.Max(most, (await table.GetSnapshotAsync()).Files.Count);
        }
        await new Ecap.DataLake.Ingestion.Streams.StreamStatusStore(k.Storage.Store).RequestStopAsync("auto-compact");
        await stream.Completion.WaitAsync(TimeSpan.FromSeconds(60));

        var history = await k.Storage.GetHistoryAsync(KafkaLake.Table);
        Assert.True(history.Count(h => h.Operation != "OPTIMIZE") >= 30, "fewer than 30 stream commits");
        Assert.Contains(history, h => h.Operation == "OPTIMIZE" && h.Parameters.GetValueOrDefault("auto") == "true");
        // Between triggers the stream compacts the partition once it holds 5 small files: never more than that after a
        // commit returns, where 30 triggers would otherwise leave 30 files.
        Assert.True(most <= 5, $"{most} live files after some trigger");
        k.AssertExactlyOnce();
    }
}
