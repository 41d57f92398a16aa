using System.Diagnostics;
using System.Text.Json;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Kafka.Dev;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Kafka.Tests;

/// <summary>
/// A test's world: a 3-broker mock cluster (real Kafka protocol on loopback) with one topic, a temp lake, and
/// checks that compare the table with what kcat reads from the topic.
/// </summary>
internal sealed class KafkaLake : IDisposable
{
    public const string Topic = "transactions";
    public const string Table = "transactions";

    private readonly TempDir _dir = new();

    /// <param name="partitions">Partitions of the topic.</param>
    /// <param name="built">Open the lake through <see cref="DataLakeBuilder"/> (its post-commit hooks, auto-compaction among them) instead of the seed constructor.</param>
    public KafkaLake(int partitions = 3, bool built = false)
    {
        Cluster = new MockKafkaCluster(3);
        Cluster.CreateTopic(Topic, partitions);
        Storage = built ? new DataLakeBuilder(LakePath).KeepCatalogCurrent(false).Build().Storage : new DataLakeStorage(LakePath);
        Ingester = new DataLakeIngester(Storage);
    }

    public MockKafkaCluster Cluster { get; }

    public string LakePath => _dir.Sub("lake");

    public DataLakeStorage Storage { get; }

    public DataLakeIngester Ingester { get; }

    /// <summary>Options for a fast group on the mock (short session timeout) with the metadata columns the checks use.</summary>
    public KafkaIngestionOptions Options(string group = "ecap-test") => new()
    {
        BootstrapServers = Cluster.BootstrapServers,
        GroupId = group,
        IncludeMetadataColumns = true,
        AssignmentTimeout = TimeSpan.FromSeconds(30),
        ConsumerProperties = new Dictionary<string, string> { ["session.timeout.ms"] = "6000", ["heartbeat.interval.ms"] = "500" },
    };

    /// <summary>Produces transactions with ids [from, from + count) through kcat (keyed by id, so spread over partitions).</summary>
    public void Produce(long from, int count) =>
        Kcat.Produce(Cluster.BootstrapServers, Topic, Enumerable.Range(0, count).Select(i => $"{from + i}\t{SampleMessages.Transaction(from + i)}"));

    /// <summary>What the topic holds, read by kcat: (partition, offset, value).</summary>
    public List<(int Partition, long Offset, string Value)> TopicContents() => Kcat.Consume(Cluster.BootstrapServers, Topic);

    /// <summary>(partition, offset, transaction_id) of every table row, read by DuckDB from the snapshot's files.</summary>
    public List<(int Partition, long Offset, long Id)> TableRows(string table = Table)
    {
        var t = Storage.OpenTable(table);
        if (!t.ExistsAsync().GetAwaiter().GetResult()) return [];
        if (t.GetSnapshotAsync().GetAwaiter().GetResult().Files.Count == 0) return [];
        return Query($"SELECT _kafka_partition, _kafka_offset, transaction_id FROM read_parquet({TableFiles(table)})")
            .Select(r => (Convert.ToInt32(r[0]), Convert.ToInt64(r[1]), Convert.ToInt64(r[2]))).ToList();
    }

    /// <summary>The live data files of a table as a DuckDB file list (for <c>read_parquet(...)</c>).</summary>
    public string TableFiles(string table = Table) =>
        DuckDbReader.FileList(Storage.OpenTable(table).GetSnapshotAsync().GetAwaiter().GetResult().Files.Select(f => Path.Combine(LakePath, table, f.ObjectKey)));

    /// <summary>Rows of a DuckDB query (an independent reader of the table's files).</summary>
    public static List<object?[]> Query(string sql)
    {
        using var duck = new DuckDbReader();
        return duck.Rows(sql);
    }

    /// <summary>The table holds each message of the topic exactly once, at its partition and offset (valid messages only).</summary>
    public void AssertExactlyOnce(IReadOnlySet<(int, long)>? invalid = null)
    {
        var expected = TopicContents().Where(m => invalid == null || !invalid.Contains((m.Partition, m.Offset)))
            .Select(m => (m.Partition, m.Offset, JsonDocument.Parse(m.Value).RootElement.GetProperty("transaction_id").GetInt64()))
            .OrderBy(x => x).ToList();
        var actual = TableRows().OrderBy(x => x).ToList();
        var duplicates = actual.GroupBy(x => x).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToList();
        Assert.True(duplicates.Count == 0, "duplicates: " + string.Join(", ", duplicates));
        var missing = expected.Except(actual).Take(5).ToList();
        Assert.True(missing.Count == 0, $"missing {expected.Except(actual).Count()} of {expected.Count}: " + string.Join(", ", missing));
        Assert.Equal(expected, actual);
    }

    /// <summary>The table's txn versions for the topic's partitions (next offset per partition).</summary>
    public Dictionary<int, long> TablePositions(string group = "ecap-test", int partitions = 3, string table = Table)
    {
        var t = Storage.OpenTable(table);
        if (!t.ExistsAsync().GetAwaiter().GetResult()) return [];
        var snapshot = t.GetSnapshotAsync().GetAwaiter().GetResult();
        return Enumerable.Range(0, partitions).ToDictionary(p => p, p => snapshot.GetTxnVersion(KafkaIngestion.AppId(group, Topic, p)) ?? 0);
    }

    /// <summary>Waits until the table's positions reach the end of every partition (as kcat sees it).</summary>
    public void WaitUntilCaughtUp(TimeSpan timeout, string group = "ecap-test", int partitions = 3, string table = Table)
    {
        var ends = TopicContents().GroupBy(m => m.Partition).ToDictionary(g => g.Key, g => g.Max(m => m.Offset) + 1);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            var positions = TablePositions(group, partitions, table);
            if (ends.All(e => positions.GetValueOrDefault(e.Key) >= e.Value)) return;
            Thread.Sleep(200);
        }
        throw new TimeoutException($"the table did not catch up with the topic in {timeout.TotalSeconds}s: " +
            string.Join(", ", TablePositions(group, partitions, table).Select(kv => $"p{kv.Key}={kv.Value}/{ends.GetValueOrDefault(kv.Key)}")));
    }

    public void Dispose()
    {
        Cluster.Dispose();
        _dir.Dispose();
    }
}
