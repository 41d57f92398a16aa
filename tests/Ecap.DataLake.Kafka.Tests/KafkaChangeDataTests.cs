using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Kafka.Tests;

/// <summary>
/// Change data from Kafka (--merge-on, --format debezium): events produced by kcat into the mock cluster; after every run
/// the table (read by DuckDB from the raw files minus the deletion vectors' positions) equals the state computed from the
/// events, with crashes between commits, and each change applied once.
/// </summary>
public sealed class KafkaChangeDataTests
{
    private const string Table = "customers";

    private static KafkaIngestionOptions Debezium(KafkaLake k) => k.Options() with
    {
        IncludeMetadataColumns = false, Format = KafkaMessageFormat.Debezium, MergeOn = ["customer_id"], Schema = DebeziumChangeLog.Schema,
    };

    [Fact]
    public async Task Debezium_CreatesUpdatesDeletesAndTombstones_TheTableEqualsTheSourceStateAfterEachRun()
    {
        using var k = new KafkaLake();
        var log = new DebeziumChangeLog(seed: 11);
        var produced = log.Snapshot(k.Cluster.BootstrapServers, KafkaLake.Topic, 40);
        produced += log.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, 150, keys: 50);

        // Small batches: many commits, several changes of one key in one commit and across commits.
        var first = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, Table, DataType.CustomerProfiles, 37, 1000, Debezium(k));
        Assert.Equal(produced, first.RecordsRead);
        Assert.True(first.RecordsDeadLettered == 0, string.Join("\n", DeadLetterErrors(k).Take(5)));
        Assert.True(first.Commits > 3, $"{first.Commits} commits");
        Assert.Equal(log.Expected(), DebeziumChangeLog.LiveRows(k, Table));

        for (var round = 0; round < 2; round++)
        {
            var more = log.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, 120, keys: 50);
            var next = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, Table, DataType.CustomerProfiles, round == 0 ? 25 : 10_000, 1000, Debezium(k));
            Assert.Equal(more, next.RecordsRead);
            Assert.Equal(log.Expected(), DebeziumChangeLog.LiveRows(k, Table));
        }

        // Every data commit after the (empty) creation is a MERGE carrying the partitions' positions; the op column is not in the table.
        var snapshot = await k.Storage.OpenTable(Table).GetSnapshotAsync();
        Assert.DoesNotContain(snapshot.Schema.FieldsList, f => f.Name == "__ecap_op");
        var history = await k.Storage.GetHistoryAsync(Table, 1);
        Assert.Equal("MERGE", history.Single().Operation);
        Assert.Equal(k.TopicContents().Count, k.TablePositions(table: Table).Values.Sum());

        // Nothing new: nothing read, nothing committed.
        var idle = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, Table, DataType.CustomerProfiles, 25, 1000, Debezium(k));
        Assert.Equal(0, idle.RecordsRead);
        Assert.Equal(0, idle.Commits);
    }

    [Fact]
    public async Task Debezium_BadEvents_GoToDeadLetters_AndTheGoodOnesStillApply()
    {
        using var k = new KafkaLake();
        var log = new DebeziumChangeLog(seed: 3);
        var good = log.Snapshot(k.Cluster.BootstrapServers, KafkaLake.Topic, 30);
        string[] bad =
        [
            "{\"customer_id\":900}\tnot json",
            "{\"customer_id\":901}\t{\"before\":null,\"after\":null,\"op\":\"u\"}",
            "{\"customer_id\":902}\t{\"before\":null,\"after\":null,\"op\":\"d\"}",
            "{\"customer_id\":903}\t{\"after\":{\"email\":\"no-key@shop.example\",\"customer_segment\":\"gold\",\"region\":\"eu\"},\"op\":\"c\"}",
            "{\"customer_id\":904}\t{\"after\":{\"customer_id\":904,\"customer_segment\":\"gold\",\"region\":\"eu\"},\"op\":\"c\"}",
            "{\"customer_id\":905}\t{\"op\":\"t\"}",
            "{\"customer_id\":906}\t{\"id\":906,\"name\":\"plain json\"}",
            "not a json key\t",
            "13\t",
            "\t",
        ];
        Kcat.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, bad, keyed: true, emptyIsNull: true);
        good += log.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, 80, keys: 30);

        var report = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, Table, DataType.CustomerProfiles, 40, 1000, Debezium(k));
        Assert.Equal(good + bad.Length, report.RecordsRead);
        Assert.Equal(bad.Length, report.RecordsDeadLettered);
        Assert.Equal(log.Expected(), DebeziumChangeLog.LiveRows(k, Table));

        var errors = KafkaLake.Query($"SELECT error FROM read_parquet({k.TableFiles(TableNames.DeadLetterTable(Table))})").Select(r => (string)r[0]!).ToList();
        Assert.Equal(bad.Length, errors.Count);
        Assert.Contains(errors, e => e.Contains("not valid JSON"));
        Assert.Contains(errors, e => e.Contains("'u' event without an 'after' row"));
        Assert.Contains(errors, e => e.Contains("'d' event without a 'before' row"));
        Assert.Contains(errors, e => e.Contains("'customer_id' is required"));
        Assert.Contains(errors, e => e.Contains("'email' is required"));
        Assert.Contains(errors, e => e.Contains("op 't' is not applied"));
        Assert.Contains(errors, e => e.Contains("not a Debezium change event"));
        Assert.Contains(errors, e => e.Contains("tombstone") && e.Contains("key is not valid JSON"));
        Assert.Contains(errors, e => e.Contains("tombstone") && e.Contains("not a JSON object of the key columns"));
        Assert.Contains(errors, e => e.Contains("tombstone") && e.Contains("without a message key"));

        // A rerun reads nothing and adds no dead letter twice.
        var again = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, Table, DataType.CustomerProfiles, 40, 1000, Debezium(k));
        Assert.Equal(0, again.RecordsRead);
        Assert.Equal(bad.Length, (await k.Storage.GetTableInfoAsync(TableNames.DeadLetterTable(Table))).RecordCount);
    }

    [Theory]
    [InlineData(CrashPoint.BeforeLogEntry)]  // the 4th commit's files (and vectors) written, its log entry not
    [InlineData(CrashPoint.AfterLogEntry)]   // the 4th commit landed, nothing after it ran
    public async Task Debezium_CrashBetweenCommits_ThenRerun_NoChangeLostOrDoubled(CrashPoint point)
    {
        using var k = new KafkaLake();
        var log = new DebeziumChangeLog(seed: 7);
        var produced = log.Snapshot(k.Cluster.BootstrapServers, KafkaLake.Topic, 30);
        produced += log.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, 200, keys: 40);

        var crashing = new DataLakeStorage(new CrashingObjectStore(new LocalObjectStore(k.LakePath), Table, crashAtCommit: 4, point));
        var crash = await Assert.ThrowsAnyAsync<Exception>(() => new DataLakeIngester(crashing)
            .IngestFromKafkaBatchAsync(KafkaLake.Topic, Table, DataType.CustomerProfiles, 30, 1000, Debezium(k)));
        Assert.True(crash is SimulatedCrashException || crash.InnerException is SimulatedCrashException, crash.ToString());
        // Commit 1 created the table; merges 2, 3 (and 4 after the log entry) landed, each 30 messages.
        var landed = point == CrashPoint.AfterLogEntry ? 3 : 2;
        Assert.Equal(landed * 30, k.TablePositions(table: Table).Values.Sum());

        var rerun = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, Table, DataType.CustomerProfiles, 30, 1000, Debezium(k));
        Assert.Equal(produced - landed * 30, rerun.RecordsRead);
        Assert.Equal(log.Expected(), DebeziumChangeLog.LiveRows(k, Table));
        Assert.Equal(produced, k.TablePositions(table: Table).Values.Sum());
    }

    [Fact]
    public async Task Debezium_Stream_AppliesChangesAsTheyArrive_AndStopsAfterALastCommit()
    {
        using var k = new KafkaLake();
        var log = new DebeziumChangeLog(seed: 5);
        log.Snapshot(k.Cluster.BootstrapServers, KafkaLake.Topic, 20);
        await using var stream = k.Ingester.IngestFromKafkaStreaming(KafkaLake.Topic, Table, DataType.CustomerProfiles, TimeSpan.FromMilliseconds(200),
            Debezium(k) with { BatchSize = 40 });
        k.WaitUntilCaughtUp(TimeSpan.FromSeconds(60), table: Table);
        Assert.Equal(log.Expected(), DebeziumChangeLog.LiveRows(k, Table));

        log.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, 100, keys: 25);
        k.WaitUntilCaughtUp(TimeSpan.FromSeconds(60), table: Table);
        stream.Stop();
        var report = await stream.Completion;
        Assert.Equal(0, report.RecordsDeadLettered);
        Assert.Equal(log.Expected(), DebeziumChangeLog.LiveRows(k, Table));
    }

    [Fact]
    public async Task PlainJson_MergeOn_UpsertsByKey_LaterOffsetsWin_AcrossCommits()
    {
        using var k = new KafkaLake();
        // Three versions of each of 100 transactions (status and amount change), keyed by id: one partition per key.
        var expected = new Dictionary<long, string>();
        for (var version = 0; version < 3; version++)
        {
            var lines = new List<string>();
            for (long id = 0; id < 100; id++)
            {
                if (version == 2 && id % 3 != 0) continue; // the last round changes a third of them
                var status = version switch { 0 => "pending", 1 => "paid", _ => "refunded" };
                var json = Dev.SampleMessages.Transaction(id);
                json = System.Text.RegularExpressions.Regex.Replace(json, "\"status\":\"[a-z_]+\"", $"\"status\":\"{status}\"");
                expected[id] = status;
                lines.Add($"{id}\t{json}");
            }
            Kcat.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, lines);
            if (version == 1) continue; // versions 1 and 2 are read in one run: both versions of a key in one commit
            var report = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, version == 0 ? 30 : 1000, 100,
                k.Options() with { MergeOn = ["transaction_id"] });
            Assert.True(report.RecordsDeadLettered == 0, string.Join("\n", DeadLetterErrors(k, KafkaLake.Table).Take(5)));
            var actual = KafkaLake.Query(
                    $"SELECT transaction_id, status FROM ({LiveTransactions(k)}) ORDER BY 1")
                .Select(r => (Convert.ToInt64(r[0]), (string)r[1]!)).ToList();
            Assert.Equal(expected.OrderBy(e => e.Key).Select(e => (e.Key, e.Value)).ToList(), actual);
        }
        // The metadata columns follow the winning message: its offset is the key's last one.
        var last = k.TopicContents().GroupBy(m => System.Text.Json.JsonDocument.Parse(m.Value).RootElement.GetProperty("transaction_id").GetInt64())
            .ToDictionary(g => g.Key, g => g.Max(m => m.Offset));
        var offsets = KafkaLake.Query($"SELECT transaction_id, _kafka_offset FROM ({LiveTransactions(k)})")
            .ToDictionary(r => Convert.ToInt64(r[0]), r => Convert.ToInt64(r[1]));
        Assert.Equal(last.OrderBy(e => e.Key), offsets.OrderBy(e => e.Key));
    }

    [Fact]
    public async Task PlainJson_ATombstoneIsADeadLetterSaidToBeOne_AndAKeylessMessageHasANullKey()
    {
        using var k = new KafkaLake();
        Kcat.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, ["7\t"], keyed: true, emptyIsNull: true, partition: 0);
        Kcat.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, [Dev.SampleMessages.Transaction(8)], keyed: false, partition: 0);
        var report = await k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 10, 10, k.Options());
        Assert.Equal(1, report.RecordsDeadLettered);
        var letter = KafkaLake.Query($"SELECT raw, error FROM read_parquet({k.TableFiles(TableNames.DeadLetterTable(KafkaLake.Table))})").Single();
        Assert.Null(letter[0]);
        Assert.Contains("tombstone", (string)letter[1]!);
        var key = KafkaLake.Query($"SELECT _kafka_key FROM read_parquet({k.TableFiles()})").Single();
        Assert.Null(key[0]);
    }

    [Fact]
    public void Cli_KafkaBatch_FormatDebezium_MergeOn_TheTableEqualsTheSourceStateAfterEachRun()
    {
        using var k = new KafkaLake();
        // Keys in the schema envelope, ISO timestamps (Debezium's ZonedTimestamp), an inferred schema, the customer_profiles layout.
        var log = new DebeziumChangeLog(seed: 21, envelopedKeys: true, isoTimestamps: true);
        var produced = log.Snapshot(k.Cluster.BootstrapServers, KafkaLake.Topic, 30) + log.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, 100, keys: 40);
        string[] Args(params string[] extra) =>
        [
            "data-lake", "ingestion", "kafka-batch", KafkaLake.Topic, Table, "--data-type", "customer_profiles", "--lake", k.LakePath,
            "--bootstrap-servers", k.Cluster.BootstrapServers, "--group", "ecap-test", "--batch-size", "50", "--max-batches", "1000", "--output", "json", .. extra,
        ];

        var usage = EcapProcess.Run(Args("--format", "debezium"));
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("--merge-on", usage.Stderr);

        var first = EcapProcess.Run(Args("--format", "debezium", "--merge-on", "customer_id", "--infer-schema"));
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.Equal(produced, first.Json().GetProperty("records_read").GetInt64());
        Assert.Equal(0, first.Json().GetProperty("records_dead_lettered").GetInt64());
        Assert.Equal(log.Expected(), DebeziumChangeLog.LiveRows(k, Table));

        var more = log.Produce(k.Cluster.BootstrapServers, KafkaLake.Topic, 80, keys: 40);
        var second = EcapProcess.Run(Args("--format", "debezium", "--merge-on", "customer_id"));
        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Equal(more, second.Json().GetProperty("records_read").GetInt64());
        Assert.Equal(log.Expected(), DebeziumChangeLog.LiveRows(k, Table));
    }

    [Fact]
    public void Options_DebeziumWithoutMergeOn_IsAnInputError_BeforeAnythingIsRead()
    {
        using var k = new KafkaLake();
        var e = Assert.Throws<InvalidInputException>(() =>
            k.Ingester.IngestFromKafkaBatch(KafkaLake.Topic, Table, DataType.CustomerProfiles, 10, 1, k.Options() with { Format = KafkaMessageFormat.Debezium }));
        Assert.Contains("--merge-on", e.Message);
        Assert.False(Directory.Exists(Path.Combine(k.LakePath, Table)));
    }

    [Fact]
    public async Task MergeOn_AKeyNotInTheSchema_IsAnInputError()
    {
        using var k = new KafkaLake();
        k.Produce(0, 10);
        var e = await Assert.ThrowsAsync<InvalidInputException>(() =>
            k.Ingester.IngestFromKafkaBatchAsync(KafkaLake.Topic, KafkaLake.Table, DataType.Transactions, 10, 1, k.Options() with { MergeOn = ["order_no"] }));
        Assert.Contains("order_no", e.Message);
    }

    private static List<string> DeadLetterErrors(KafkaLake k, string table = Table) =>
        !Directory.Exists(Path.Combine(k.LakePath, TableNames.DeadLetterTable(table))) ? []
            : KafkaLake.Query($"SELECT position || ': ' || error FROM read_parquet({k.TableFiles(TableNames.DeadLetterTable(table))})").Select(r => (string)r[0]!).ToList();

    /// <summary>A DuckDB subquery of the transactions table's live rows: each file's rows minus its deletion vector's positions.</summary>
    private static string LiveTransactions(KafkaLake k)
    {
        var t = k.Storage.OpenTable(KafkaLake.Table);
        var parts = t.GetSnapshotAsync().GetAwaiter().GetResult().Files.Select(f =>
        {
            var deleted = f.DeletionVector is { } dv ? Delta.DeletionVectors.LoadAsync(t.Store, dv).GetAwaiter().GetResult() : [];
            var path = Path.Combine(k.LakePath, KafkaLake.Table, f.ObjectKey).Replace("'", "''");
            return $"SELECT transaction_id, status, _kafka_offset FROM read_parquet('{path}', file_row_number = true, hive_partitioning = false) WHERE " +
                   (deleted.Length == 0 ? "true" : $"file_row_number NOT IN ({string.Join(",", deleted)})");
        });
        return string.Join(" UNION ALL ", parts);
    }
}
