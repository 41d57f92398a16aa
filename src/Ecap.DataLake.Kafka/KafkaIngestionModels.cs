using Apache.Arrow;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Kafka;

/// <summary>How a Kafka topic is read into a table.</summary>
public sealed record KafkaIngestionOptions
{
    public string BootstrapServers { get; init; } = "localhost:9092";

    /// <summary>The consumer group (default <c>ecap-&lt;table&gt;</c>). Part of the txn appIds: another group is another reader with its own positions.</summary>
    public string? GroupId { get; init; }

    /// <summary>Records per commit: a commit is made when this many are pending (and, for streams, at every trigger).</summary>
    public int BatchSize { get; init; } = 100_000;

    /// <summary>Column types (default: the table's schema when it exists, else the data type's canonical schema). JSON fields not in it are ignored.</summary>
    public Schema? Schema { get; init; }

    /// <summary>
    /// For a new table without <see cref="Schema"/>: infer the column types from the first 1000 messages (long, double,
    /// boolean, timestamp, else string; all nullable) instead of using the data type's canonical schema.
    /// </summary>
    public bool InferSchema { get; init; }

    /// <summary>Add <c>_kafka_key</c>, <c>_kafka_partition</c>, <c>_kafka_offset</c> and <c>_kafka_timestamp</c> columns.</summary>
    public bool IncludeMetadataColumns { get; init; }

    /// <summary>The table's strategy when the ingestion creates it (default: the data type's).</summary>
    public PartitionStrategy? Strategy { get; init; }

    public string? TimeColumn { get; init; }

    /// <summary>Extra librdkafka consumer properties (e.g. <c>session.timeout.ms</c>, <c>security.protocol</c>); they win over the defaults.</summary>
    public IReadOnlyDictionary<string, string>? ConsumerProperties { get; init; }

    /// <summary>
    /// The consumer's <c>fetch.queue.backoff.ms</c> unless <see cref="ConsumerProperties"/> say otherwise (librdkafka's
    /// default is 1000): how long fetching pauses once the local queue is over its thresholds. At 1000 ms a catch-up
    /// run empties the queue and then waits for the next fetch; memory stays bounded by the same thresholds.
    /// </summary>
    public const int DefaultFetchQueueBackoffMs = 10;

    /// <summary>Batch mode: give up when the topic's partitions are not known within this time (5 s when the cluster says it does not exist).</summary>
    public TimeSpan AssignmentTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Streams: the id of the heartbeat file (default: <c>&lt;table&gt;-&lt;random&gt;</c>).</summary>
    public string? StreamId { get; init; }

    /// <summary>Reported after every commit and about once a second while consuming.</summary>
    public IProgress<KafkaIngestionReport>? Progress { get; init; }

    /// <summary>What a message is: a JSON object (a row), or a Debezium change event (needs <see cref="MergeOn"/>).</summary>
    public KafkaMessageFormat Format { get; init; } = KafkaMessageFormat.Json;

    /// <summary>
    /// Change data: each commit upserts its rows into the table by these key columns instead of appending them (a MERGE,
    /// atomically with the partitions' positions); within a commit the later offset of a key wins (a key's messages are
    /// in one partition). Debezium deletes and tombstones delete their key. Messages without a key value are dead letters.
    /// </summary>
    public IReadOnlyList<string>? MergeOn { get; init; }

    /// <summary>Rejects options that do not go together (before anything is read).</summary>
    internal void Validate()
    {
        if (MergeOn is { } keys && (keys.Count == 0 || keys.Any(string.IsNullOrWhiteSpace)))
            throw new InvalidInputException("--merge-on needs key column names (KEY[,KEY]).");
        if (Format == KafkaMessageFormat.Debezium && MergeOn is null)
            throw new InvalidInputException("--format debezium needs --merge-on KEY[,KEY]: change events are applied to the table by key.");
    }
}

/// <summary>How Kafka messages are read.</summary>
public enum KafkaMessageFormat
{
    /// <summary>Each message is a JSON object: one row.</summary>
    Json,

    /// <summary>
    /// Debezium JSON change events, with or without the schema envelope: ops c, u and r upsert the <c>after</c> row, d deletes
    /// the key of the <c>before</c> row, and a tombstone (null value) deletes the key in its message key.
    /// </summary>
    Debezium,
}

/// <summary>What a Kafka ingestion did (counts of this run) and where the table now stands for the topic.</summary>
public sealed record KafkaIngestionReport
{
    public required string StreamId { get; init; }
    public required string Topic { get; init; }
    public required string Table { get; init; }
    public required string ConsumerGroup { get; init; }

    /// <summary>running, stopping, stopped or failed (streams); stopped when a batch run ends.</summary>
    public string State { get; init; } = "running";
    public long RecordsRead { get; init; }
    public long RecordsWritten { get; init; }
    public long RecordsDeadLettered { get; init; }

    /// <summary>Table commits made (each with the positions of its partitions).</summary>
    public int Commits { get; init; }

    /// <summary>Pending work thrown away because another writer moved a partition on (a rebalance): re-read from the table's positions.</summary>
    public int Conflicts { get; init; }
    public TimeSpan Duration { get; init; }
    public double RecordsPerSecond => Duration.TotalSeconds > 0 ? RecordsRead / Duration.TotalSeconds : 0;
    public long? LastVersion { get; init; }

    /// <summary>The table's position per partition this run knows of: the next offset to read (the txn version).</summary>
    public IReadOnlyDictionary<int, long> Positions { get; init; } = new Dictionary<int, long>();

    /// <summary>Messages between the table's position and the high watermark, per assigned partition.</summary>
    public IReadOnlyDictionary<int, long> Lag { get; init; } = new Dictionary<int, long>();
    public long TotalLag => Lag.Values.Sum();
    public string? LastError { get; init; }
}
