using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Confluent.Kafka;
using Ecap.DataLake.Files;
using Ecap.DataLake.Ingestion;

namespace Ecap.DataLake.Kafka;

/// <summary>
/// The messages of one pending commit. The consuming thread only collects them (so it reads as fast as a bare
/// consumer); the commit converts them, in parallel chunks, into rows of the target schema (plus the Kafka
/// metadata columns on request) and dead letters, with partition and offset, for messages that do not convert.
/// </summary>
internal sealed class KafkaMessageConverter(Schema schema, string topic, bool metadataColumns)
{
    public const string KeyColumn = "_kafka_key";
    public const string PartitionColumn = "_kafka_partition";
    public const string OffsetColumn = "_kafka_offset";
    public const string TimestampColumn = "_kafka_timestamp";

    /// <summary>Messages converted by one task: large enough to amortize a batch, small enough to spread over the cores.</summary>
    private const int ChunkSize = 16 * 1024;

    private static readonly Apache.Arrow.Types.TimestampType Micros = new(TimeUnit.Microsecond, "UTC");

    private readonly string _source = "kafka://" + topic;
    private List<RawMessage> _pending = [];

    /// <summary>Messages added since the last take, good and bad.</summary>
    public int Count => _pending.Count;

    public void Add(ConsumeResult<byte[]?, byte[]?> r) => _pending.Add(new RawMessage(r.Partition.Value, r.Offset.Value, r.Message.Value, r.Message.Key,
        r.Message.Timestamp.Type == Confluent.Kafka.TimestampType.NotAvailable ? null : r.Message.Timestamp.UnixTimestampMs));

    /// <summary>The pending messages; the converter starts over empty.</summary>
    public IReadOnlyList<RawMessage> Take()
    {
        var taken = _pending;
        _pending = new List<RawMessage>(taken.Count);
        return taken;
    }

    /// <summary>Drops what is pending (a rebalance: the partitions will be re-read from the table's positions).</summary>
    public void Discard() => _pending = [];

    /// <summary>Rows (one batch per chunk, in message order; at least one, possibly empty) and dead letters of the messages.</summary>
    public (IReadOnlyList<RecordBatch> Rows, IReadOnlyList<KafkaDeadLetter> Dead) Convert(IReadOnlyList<RawMessage> messages)
    {
        var chunks = Math.Max(1, (messages.Count + ChunkSize - 1) / ChunkSize);
        var results = new (RecordBatch Rows, List<KafkaDeadLetter> Dead)[chunks];
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => results[i] = ConvertChunk(messages, i * ChunkSize, Math.Min(messages.Count, (i + 1) * ChunkSize)));
        return (results.Select(r => r.Rows).ToList(), results.SelectMany(r => r.Dead).ToList());
    }

    private (RecordBatch Rows, List<KafkaDeadLetter> Dead) ConvertChunk(IReadOnlyList<RawMessage> messages, int from, int to)
    {
        var json = new JsonRecordBatchBuilder(schema);
        var key = new StringArray.Builder();
        var partition = new Int32Array.Builder();
        var offset = new Int64Array.Builder();
        var timestamp = new TimestampArray.Builder(Micros);
        var dead = new List<KafkaDeadLetter>();
        for (var i = from; i < to; i++)
        {
            var m = messages[i];
            var error = m.Value == null ? "a message without a value (tombstone)" : json.TryAppend(m.Value);
            if (error != null)
            {
                dead.Add(new KafkaDeadLetter(m.Partition, m.Offset,
                    new DeadLetter(_source, $"partition {m.Partition} offset {m.Offset}", RawText(m.Value), error)));
                continue;
            }
            if (!metadataColumns) continue;
            if (m.Key is { } k) key.Append(RawText(k)); else key.AppendNull();
            partition.Append(m.Partition);
            offset.Append(m.Offset);
            if (m.TimestampMs is { } ms) timestamp.Append(DateTimeOffset.FromUnixTimeMilliseconds(ms)); else timestamp.AppendNull();
        }
        var rows = json.Build();
        if (metadataColumns)
        {
            var builder = new Schema.Builder();
            foreach (var f in rows.Schema.FieldsList) builder.Field(f);
            builder.Field(new Field(KeyColumn, StringType.Default, true)).Field(new Field(PartitionColumn, Int32Type.Default, false))
                .Field(new Field(OffsetColumn, Int64Type.Default, false)).Field(new Field(TimestampColumn, Micros, true));
            rows = new RecordBatch(builder.Build(), rows.Arrays.Concat([key.Build(), partition.Build(), offset.Build(), timestamp.Build()]), rows.Length);
        }
        return (rows, dead);
    }

    /// <summary>The message bytes as text when they are UTF-8, else <c>base64:...</c>, so no byte is lost.</summary>
    private static string? RawText(byte[]? bytes)
    {
        if (bytes == null) return null;
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return "base64:" + System.Convert.ToBase64String(bytes);
        }
    }
}

/// <summary>A consumed message as collected for a commit.</summary>
internal readonly record struct RawMessage(int Partition, long Offset, byte[]? Value, byte[]? Key, long? TimestampMs);

/// <summary>A dead letter with the Kafka position it came from (used to never write it twice).</summary>
internal sealed record KafkaDeadLetter(int Partition, long Offset, DeadLetter Letter);
