using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Kafka.Tests;

/// <summary>A run that dies at a precise point of a commit, then a rerun: every record exactly once (dead letters too).</summary>
public sealed class KafkaCrashTests
{
    [Theory]
    [InlineData(CrashPoint.BeforeLogEntry, 2)]  // files of the 3rd commit written, not committed
    [InlineData(CrashPoint.AfterLogEntry, 3)]   // 3rd commit landed, Kafka offsets never committed
    public async Task CrashAtACommit_ThenRerun_EveryRecordOnce(CrashPoint point, int commitsThatLanded)
    {
        using var k = new KafkaLake();
        k.Produce(0, 1000);
        Kcat.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, ["not json", "[]"], keyed: false, partition: 2);
        k.Produce(1000, 1000);

        var crashing = new DataLakeStorage(new CrashingObjectStore(new LocalObjectStore(k.LakePath), KafkaLake.Table, crashAtCommit: 3, point));
        var crash = await Assert.ThrowsAnyAsync<Exception>(() => new DataLakeIngester(crashing)
            .IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 300, 100, k.Options()));
        // The run died of the crash (possibly reported as the audit record that a dead process cannot write either).
        Assert.True(crash is SimulatedCrashException || crash.InnerException is SimulatedCrashException, crash.ToString());
        var snapshot = await k.Storage.OpenTable(KafkaLake.Table).GetSnapshotAsync();
        Assert.Equal(commitsThatLanded - 1, snapshot.Version);
        Assert.Equal(commitsThatLanded * 300, k.TablePositions().Values.Sum());
        var onDisk = Directory.GetFiles(Path.Combine(k.LakePath, KafkaLake.Table), "*.parquet", SearchOption.AllDirectories).Length;
        if (point == CrashPoint.BeforeLogEntry) Assert.True(onDisk > snapshot.Files.Count, "the crashed commit's data files should be left behind");
        // Committed Kafka offsets may lag the table (AfterLogEntry): the rerun starts from the table's positions anyway.

        var rerun = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 300, 100, k.Options());
        Assert.Equal(2002 - commitsThatLanded * 300, rerun.RecordsRead);
        var bad = k.TopicContents().Where(m => m.Value is "not json" or "[]").Select(m => (m.Partition, m.Offset)).ToHashSet();
        k.AssertExactlyOnce(bad);
        var dead = await k.Storage.GetTableInfoAsync(TableNames.DeadLetterTable(KafkaLake.Table));
        Assert.Equal(2, dead.RecordCount);
    }
}
