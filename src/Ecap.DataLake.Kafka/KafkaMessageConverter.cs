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
internal sealed class KafkaMessageConverter(Schema? schema, Schema fallback, string topic, bool metadataColumns, ArenaDeserializers bytes)
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
    private Chunk _chunk = new(bytes.Arena);
    private List<Task<(RecordBatch Rows, List<KafkaDeadLetter> Dead)>> _converting = [];

    /// <summary>Messages added since the last take, good and bad.</summary>
    public int Count { get; private set; }

    /// <summary>Collects a message; every full chunk is converted at once on the thread pool, while consuming goes on.</summary>
    public void Add(ConsumeResult<MessageSlice, MessageSlice> r)
    {
        _chunk.Messages.Add(new RawMessage(r.Partition.Value, r.Offset.Value, r.Message.Value, r.Message.Key,
            r.Message.Timestamp.Type == Confluent.Kafka.TimestampType.NotAvailable ? null : r.Message.Timestamp.UnixTimestampMs));
        Count++;
        if (_chunk.Messages.Count < ChunkSize) return;
        EnsureSchema();
        var full = _chunk;
        _converting.Add(Task.Run(() => ConvertChunk(full)));
        _chunk = NewChunk();
    }

    /// <summary>A chunk starts with a fresh arena: the one before it belongs to its conversion now.</summary>
    private Chunk NewChunk() => new(bytes.Arena = new MessageArena());

    /// <summary>The pending messages (chunks being converted and the last partial one); the converter starts over empty.</summary>
    public PendingMessages Take()
    {
        EnsureSchema();
        var taken = new PendingMessages(_converting, _chunk, this);
        _converting = [];
        _chunk = NewChunk();
        Count = 0;
        return taken;
    }

    /// <summary>Drops what is pending (a rebalance: the partitions will be re-read from the table's positions).</summary>
    public void Discard()
    {
        _converting = [];
        _chunk.Arena.Release(); // nothing reads its slices: the chunk is dropped unconverted
        _chunk = NewChunk();
        Count = 0;
    }

    /// <summary>Messages of one commit; <see cref="ConvertAsync"/> gives rows (one batch per chunk, in message order, at least one) and dead letters.</summary>
    internal sealed class PendingMessages(List<Task<(RecordBatch Rows, List<KafkaDeadLetter> Dead)>> converting, Chunk last, KafkaMessageConverter owner)
    {
        public async Task<(IReadOnlyList<RecordBatch> Rows, IReadOnlyList<KafkaDeadLetter> Dead)> ConvertAsync()
        {
            var results = new List<(RecordBatch Rows, List<KafkaDeadLetter> Dead)>(converting.Count + 1);
            foreach (var t in converting) results.Add(await t);
            if (last.Messages.Count > 0 || results.Count == 0) results.Add(owner.ConvertChunk(last));
            else last.Arena.Release();
            return (results.Select(r => r.Rows).ToList(), results.SelectMany(r => r.Dead).ToList());
        }
    }

    /// <summary>Without a given schema, the column types come from the first messages (before any is converted).</summary>
    private void EnsureSchema() => schema ??=
        JsonRecordBatchBuilder.InferSchema(_chunk.Messages.Take(InferenceSample).Where(m => !m.Value.IsNull).Select(m => _chunk.Arena.Get(m.Value)!.Value)) ?? fallback;

    /// <summary>Converts a chunk and releases its arena (every value is copied out by then).</summary>
    private (RecordBatch Rows, List<KafkaDeadLetter> Dead) ConvertChunk(Chunk chunk)
    {
        try
        {
            return ConvertChunk(chunk.Messages, chunk.Arena);
        }
        finally
        {
            chunk.Arena.Release();
        }
    }

    private (RecordBatch Rows, List<KafkaDeadLetter> Dead) ConvertChunk(List<RawMessage> messages, MessageArena arena)
    {
        var json = new JsonRecordBatchBuilder(schema!);
        var key = new StringArray.Builder();
        var partition = new Int32Array.Builder();
        var offset = new Int64Array.Builder();
        var timestamp = new TimestampArray.Builder(Micros);
        var dead = new List<KafkaDeadLetter>();
        foreach (var m in messages)
        {
            var value = arena.Get(m.Value);
            var error = value is { } v ? json.TryAppend(v) : "a message without a value (tombstone)";
            if (error != null)
            {
                dead.Add(new KafkaDeadLetter(m.Partition, m.Offset,
                    new DeadLetter(_source, $"partition {m.Partition} offset {m.Offset}", RawText(value), error)));
                continue;
            }
            if (!metadataColumns) continue;
            if (arena.Get(m.Key) is { } k) key.Append(RawText(k)); else key.AppendNull();
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
    private static string? RawText(ReadOnlyMemory<byte>? bytes)
    {
        if (bytes is not { } b) return null;
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(b.Span);
        }
        catch (DecoderFallbackException)
        {
            return "base64:" + System.Convert.ToBase64String(b.Span);
        }
    }

    /// <summary>Messages collected for one conversion, with the arena holding their bytes.</summary>
    internal sealed class Chunk(MessageArena arena)
    {
        public List<RawMessage> Messages { get; } = new(ChunkSize);

        public MessageArena Arena { get; } = arena;
    }
}

/// <summary>A consumed message as collected for a commit; its key and value lie in its chunk's arena.</summary>
internal readonly record struct RawMessage(int Partition, long Offset, MessageSlice Value, MessageSlice Key, long? TimestampMs);

/// <summary>A dead letter with the Kafka position it came from (used to never write it twice).</summary>
internal sealed record KafkaDeadLetter(int Partition, long Offset, DeadLetter Letter);
