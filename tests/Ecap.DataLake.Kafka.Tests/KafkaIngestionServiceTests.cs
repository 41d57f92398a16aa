using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Kafka.Tests;

public sealed class KafkaIngestionServiceTests
{
    [Fact]
    public async Task HostedService_StreamsWhileRunning_AndCommitsWhatItReadWhenTheHostStops()
    {
        using var k = new KafkaLake();
        k.Produce(0, 600);
        // A long trigger: only the size limit and the stop make commits.
        var service = new KafkaIngestionService(k.Storage, new KafkaStreamSettings(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions,
            TimeSpan.FromMinutes(10), k.Options() with { BatchSize = 500, StreamId = "hosted" }));
        await service.StartAsync(CancellationToken.None);
        k.Produce(600, 200);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (k.TablePositions().Values.Sum() < 500 && clock.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(200);
        Assert.True(k.TablePositions().Values.Sum() >= 500, "no size-triggered commit");
        await Task.Delay(1500); // the rest is read but not committed: the trigger is far away
        await service.StopAsync(CancellationToken.None);
        Assert.NotNull(service.LastReport);
        Assert.Equal("stopped", service.LastReport.State);
        Assert.Equal(800, service.LastReport.RecordsWritten);
        k.AssertExactlyOnce();
    }
}
