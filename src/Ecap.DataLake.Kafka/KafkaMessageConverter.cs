using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Confluent.Kafka;
using Ecap.DataLake.Files;
using Ecap.DataLake.Ingestion;

namespace Ecap.DataLake.Kafka;

/// <summary>
/// The messages of one pending commit. The consuming thread only collects them (so it reads about as fast as a bare
/// consumer); full chunks are converted on the thread pool meanwhile into rows of the target schema (plus the Kafka
/// metadata columns on request) and dead letters, with partition and offset, for messages that do not convert.
/// </summary>
internal sealed class KafkaMessageConverter(Schema? schema, Schema fallback, string topic, bool metadataColumns)
{
    /// <summary>Messages a schema is inferred from (when none is given): the first ones of the run.</summary>
    private const int InferenceSample = 1000;

    public const string KeyColumn = "_kafka_key";
    public const string PartitionColumn = "_kafka_partition";
    public const string OffsetColumn = "_kafka_offset";
    public const string TimestampColumn = "_kafka_timestamp";

    /// <summary>Messages converted by one task: large enough to amortize a batch, small enough to spread over the cores.</summary>
    private const int ChunkSize = 16 * 1024;

    private static readonly Apache.Arrow.Types.TimestampType Micros = new(TimeUnit.Microsecond, "UTC");

    private readonly string _source = "kafka://" + topic;
    private List<RawMessage> _chunk = new(ChunkSize);
    private List<Task<(RecordBatch Rows, List<KafkaDeadLetter> Dead)>> _converting = [];

    /// <summary>Messages added since the last take, good and bad.</summary>
    public int Count { get; private set; }

    /// <summary>Collects a message; every full chunk is converted at once on the thread pool, while consuming goes on.</summary>
    public void Add(ConsumeResult<byte[]?, byte[]?> r)
    {
        _chunk.Add(new RawMessage(r.Partition.Value, r.Offset.Value, r.Message.Value, r.Message.Key,
            r.Message.Timestamp.Type == Confluent.Kafka.TimestampType.NotAvailable ? null : r.Message.Timestamp.UnixTimestampMs));
        Count++;
        if (_chunk.Count < ChunkSize) return;
        EnsureSchema();
        var full = _chunk;
        _converting.Add(Task.Run(() => ConvertChunk(full)));
        _chunk = new List<RawMessage>(ChunkSize);
    }

    /// <summary>The pending messages (chunks being converted and the last partial one); the converter starts over empty.</summary>
    public PendingMessages Take()
    {
        EnsureSchema();
        var taken = new PendingMessages(_converting, _chunk, this);
        _converting = [];
        _chunk = new List<RawMessage>(ChunkSize);
        Count = 0;
        return taken;
    }

    /// <summary>Drops what is pending (a rebalance: the partitions will be re-read from the table's positions).</summary>
    public void Discard()
    {
        _converting = [];
        _chunk = new List<RawMessage>(ChunkSize);
        Count = 0;
    }

    /// <summary>Messages of one commit; <see cref="ConvertAsync"/> gives rows (one batch per chunk, in message order, at least one) and dead letters.</summary>
    internal sealed class PendingMessages(List<Task<(RecordBatch Rows, List<KafkaDeadLetter> Dead)>> converting, List<RawMessage> last, KafkaMessageConverter owner)
    {
        public async Task<(IReadOnlyList<RecordBatch> Rows, IReadOnlyList<KafkaDeadLetter> Dead)> ConvertAsync()
        {
            var results = new List<(RecordBatch Rows, List<KafkaDeadLetter> Dead)>(converting.Count + 1);
            foreach (var t in converting) results.Add(await t);
            if (last.Count > 0 || results.Count == 0) results.Add(owner.ConvertChunk(last));
            return (results.Select(r => r.Rows).ToList(), results.SelectMany(r => r.Dead).ToList());
        }
    }

    /// <summary>Without a given schema, the column types come from the first messages (before any is converted).</summary>
    private void EnsureSchema() => schema ??=
        JsonRecordBatchBuilder.InferSchema(_chunk.Take(InferenceSample).Where(m => m.Value != null).Select(m => new ReadOnlyMemory<byte>(m.Value))) ?? fallback;

    private (RecordBatch Rows, List<KafkaDeadLetter> Dead) ConvertChunk(List<RawMessage> messages)
    {
        var json = new JsonRecordBatchBuilder(schema!);
        var key = new StringArray.Builder();
        var partition = new Int32Array.Builder();
        var offset = new Int64Array.Builder();
        var timestamp = new TimestampArray.Builder(Micros);
        var dead = new List<KafkaDeadLetter>();
        foreach (var m in messages)
        {
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
