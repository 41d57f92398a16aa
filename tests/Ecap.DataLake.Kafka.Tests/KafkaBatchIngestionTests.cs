using Ecap.DataLake.Storage;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Kafka.Tests;

public sealed class KafkaBatchIngestionTests
{
    [Fact]
    public async Task Batch_TableHoldsExactlyTheProducedRecords_ByPartitionAndOffset_AndARerunAddsOnlyNewOnes()
    {
        using var k = new KafkaLake();
        k.Produce(0, 3000);

        var first = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 700, 100, k.Options());
        Assert.Equal(3000, first.RecordsRead);
        Assert.Equal(3000, first.RecordsWritten);
        k.AssertExactlyOnce();

        // Positions in the table are the next offsets, i.e. each partition's end as kcat sees it.
        var ends = k.TopicContents().GroupBy(m => m.Partition).ToDictionary(g => g.Key, g => g.Max(m => m.Offset) + 1);
        Assert.Equal(ends.OrderBy(e => e.Key), k.TablePositions().Where(p => p.Value > 0).OrderBy(p => p.Key));

        k.Produce(3000, 500);
        var second = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 700, 100, k.Options());
        Assert.Equal(500, second.RecordsRead);
        k.AssertExactlyOnce();

        // Nothing new: nothing read, nothing committed.
        var third = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 700, 100, k.Options());
        Assert.Equal(0, third.RecordsRead);
        Assert.Equal(0, third.Commits);
    }

    [Fact]
    public async Task Batch_ReadsAtMostMaxBatchesTimesBatchSize_OneCommitPerBatch_ThenResumes()
    {
        using var k = new KafkaLake();
        k.Produce(0, 1000);
        var report = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 150, 2, k.Options());
        Assert.Equal(300, report.RecordsRead);
        Assert.Equal(2, report.Commits);
        Assert.Equal(300, k.TableRows().Count);
        Assert.Equal(300, k.TablePositions().Values.Sum());

        await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 10_000, 1, k.Options());
        k.AssertExactlyOnce();
    }

    [Fact]
    public async Task Batch_ManyChunksPerCommit_EveryRecordOnce_WithItsKeyAndTimestamp()
    {
        // More messages than one conversion chunk (16k) and commits that end inside a chunk: every message's bytes
        // must come out of the chunk they were collected in, key included.
        using var k = new KafkaLake();
        k.Produce(0, 40_000);
        var report = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 25_000, 10, k.Options());
        Assert.Equal(40_000, report.RecordsWritten);
        Assert.Equal(2, report.Commits);
        k.AssertExactlyOnce();

        var mismatched = KafkaLake.Query($"SELECT count(*) FROM read_parquet({k.TableFiles()}) " +
                                         "WHERE _kafka_key IS DISTINCT FROM CAST(transaction_id AS VARCHAR) OR _kafka_timestamp IS NULL");
        Assert.Equal(0L, Convert.ToInt64(mismatched[0][0]));
    }

    [Fact]
    public async Task Batch_OtherConsumerGroup_HasItsOwnPositions()
    {
        using var k = new KafkaLake();
        k.Produce(0, 200);
        await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 1000, 1, k.Options("group-a"));
        // A second group reads the topic again from the beginning into the same table: its positions are its own.
        var other = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 1000, 1, k.Options("group-b"));
        Assert.Equal(200, other.RecordsRead);
        Assert.Equal(400, k.TableRows().Count);
        Assert.Equal(200, k.TablePositions("group-a").Values.Sum());
        Assert.Equal(200, k.TablePositions("group-b").Values.Sum());
    }

    [Fact]
    public async Task MalformedMessages_GoToDeadLetters_WithBytesPartitionAndOffset_OnceAcrossReruns()
    {
        using var k = new KafkaLake();
        k.Produce(0, 100);
        var bad = new[]
        {
            "not json at all",
            "[1,2,3]",
            System.Text.RegularExpressions.Regex.Replace(Dev.SampleMessages.Transaction(100), "\"quantity\":\\d+", "\"quantity\":\"many\""),
            SampleMessagesWith("\"transaction_id\":100,", ""),
        };
        Kcat.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, bad, keyed: false, partition: 1);
        k.Produce(100, 100);

        var report = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 50, 100, k.Options());
        Assert.Equal(204, report.RecordsRead);
        Assert.Equal(200, report.RecordsWritten);
        Assert.Equal(4, report.RecordsDeadLettered);

        var contents = k.TopicContents();
        var badPositions = contents.Where(m => bad.Contains(m.Value)).Select(m => (m.Partition, m.Offset)).ToHashSet();
        Assert.Equal(4, badPositions.Count);
        k.AssertExactlyOnce(badPositions);

        var dead = DeadLetters(k);
        Assert.Equal(4, dead.Count);
        foreach (var m in contents.Where(m => badPositions.Contains((m.Partition, m.Offset))))
        {
            var letter = Assert.Single(dead, d => d.Position == $"partition {m.Partition} offset {m.Offset}");
            Assert.Equal(m.Value, letter.Raw);
            Assert.Equal("kafka://" + KafkaLake.Topic, letter.Source);
        }
        Assert.Contains(dead, d => d.Error.Contains("not valid JSON"));
        Assert.Contains(dead, d => d.Error.Contains("JSON object"));
        Assert.Contains(dead, d => d.Error.Contains("quantity"));
        Assert.Contains(dead, d => d.Error.Contains("transaction_id") && d.Error.Contains("required"));

        // A rerun reads nothing again and adds no dead letter.
        var again = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 50, 100, k.Options());
        Assert.Equal(0, again.RecordsRead);
        Assert.Equal(4, DeadLetters(k).Count);
    }

    private static string SampleMessagesWith(string find, string replace) =>
        Dev.SampleMessages.Transaction(100).Replace(find, replace);

    private static List<(string Source, string Position, string? Raw, string Error)> DeadLetters(KafkaLake k)
    {
        return KafkaLake.Query($"SELECT source, position, raw, error FROM read_parquet({k.TableFiles(TableNames.DeadLetterTable(KafkaLake.Table))})")
            .Select(r => ((string)r[0]!, (string)r[1]!, (string?)r[2], (string)r[3]!)).ToList();
    }
}

public sealed class KafkaSchemaInferenceTests
{
    [Fact]
    public async Task InferSchema_TypesANewTableFromTheFirstMessages()
    {
        using var k = new KafkaLake();
        k.Produce(0, 500);
        var report = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 1000, 10,
            k.Options() with { InferSchema = true });
        Assert.Equal(500, report.RecordsWritten);
        k.AssertExactlyOnce();
        var schema = (await k.Storage.OpenTable(KafkaLake.Table).GetSnapshotAsync()).Schema;
        // Inferred, not canonical: money as double (canonical: decimal(18,2)), quantity as long (canonical: int), all nullable.
        Assert.IsType<Apache.Arrow.Types.DoubleType>(schema.GetFieldByName("amount").DataType);
        Assert.IsType<Apache.Arrow.Types.Int64Type>(schema.GetFieldByName("quantity").DataType);
        Assert.IsType<Apache.Arrow.Types.TimestampType>(schema.GetFieldByName("timestamp").DataType);
        Assert.IsType<Apache.Arrow.Types.BooleanType>(schema.GetFieldByName("is_first_purchase").DataType);
        Assert.True(schema.GetFieldByName("transaction_id").IsNullable);
    }
}
