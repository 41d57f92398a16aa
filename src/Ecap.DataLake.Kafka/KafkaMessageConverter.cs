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
/// Change data (<paramref name="keys"/>): a message without a key value is a dead letter; Debezium events give their row
/// (see <see cref="DebeziumEvents"/>) and its op in <see cref="DebeziumEvents.OperationColumn"/>.
/// </summary>
internal sealed class KafkaMessageConverter(Schema? schema, Schema fallback, string topic, bool metadataColumns, ArenaDeserializers bytes,
    KafkaMessageFormat format = KafkaMessageFormat.Json, IReadOnlyList<string>? keys = null)
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
    private readonly bool _debezium = format == KafkaMessageFormat.Debezium;
    private Schema? _builderSchema; // what rows are parsed with: keys required; for Debezium nothing else (a delete's before may hold only its key)
    private byte[][] _required = [];   // Debezium: the other required columns, checked on c/u/r rows only
    private string[] _requiredNames = [];

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

    /// <summary>Without a given schema, the column types come from the first messages (before any is converted); change data checks its keys.</summary>
    private void EnsureSchema()
    {
        if (_builderSchema != null) return;
        schema ??= JsonRecordBatchBuilder.InferSchema(_chunk.Messages.Take(InferenceSample).Where(m => !m.Value.IsNull)
            .Select(m => _chunk.Arena.Get(m.Value)!.Value).Select(Sample).Where(v => v.Length > 0)) ?? fallback;
        var keySet = (keys ?? []).ToHashSet(StringComparer.Ordinal);
        foreach (var key in keySet)
            if (schema.GetFieldIndex(key) < 0)
                throw new InvalidInputException(
                    $"Merge key '{key}' (--merge-on) is not a column of the messages' schema; its columns are: {string.Join(", ", schema.FieldsList.Select(f => f.Name))}.");
        if (keySet.Count == 0)
        {
            _builderSchema = schema;
            return;
        }
        var builder = new Schema.Builder();
        foreach (var f in schema.FieldsList)
            builder.Field(new Field(f.Name, f.DataType, !keySet.Contains(f.Name) && (_debezium || f.IsNullable), f.Metadata));
        _builderSchema = builder.Build();
        if (_debezium)
        {
            var required = schema.FieldsList.Where(f => !f.IsNullable && !keySet.Contains(f.Name)).Select(f => f.Name).ToArray();
            _requiredNames = required;
            _required = required.Select(n => Encoding.UTF8.GetBytes(n)).ToArray();
        }
    }

    /// <summary>What a sample message contributes to an inferred schema: itself, or a Debezium event's row.</summary>
    private ReadOnlyMemory<byte> Sample(ReadOnlyMemory<byte> value) =>
        !_debezium ? value : DebeziumEvents.TryRead(value.Span, out _, out var row) == null ? value.Slice(row.Start, row.Length) : ReadOnlyMemory<byte>.Empty;

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
        var json = new JsonRecordBatchBuilder(_builderSchema!);
        var ops = _debezium ? new StringArray.Builder() : null;
        var seen = new bool[_required.Length];
        var key = new StringArray.Builder();
        var partition = new Int32Array.Builder();
        var offset = new Int64Array.Builder();
        var timestamp = new TimestampArray.Builder(Micros);
        var dead = new List<KafkaDeadLetter>();
        foreach (var m in messages)
        {
            var value = arena.Get(m.Value);
            string? error;
            if (!_debezium) error = value is { } v ? json.TryAppend(v) : "a message without a value (tombstone)";
            else
            {
                error = DebeziumRow(value, arena.Get(m.Key), seen, out var op, out var row);
                error ??= json.TryAppend(row);
                if (error == null) ops!.Append(op);
            }
            if (error != null)
            {
                dead.Add(new KafkaDeadLetter(m.Partition, m.Offset,
                    new DeadLetter(_source, $"partition {m.Partition} offset {m.Offset}", RawText(value ?? (_debezium ? arena.Get(m.Key) : null)), error)));
                continue;
            }
            if (!metadataColumns) continue;
            if (arena.Get(m.Key) is { } k) key.Append(RawText(k)); else key.AppendNull();
            partition.Append(m.Partition);
            offset.Append(m.Offset);
            if (m.TimestampMs is { } ms) timestamp.Append(DateTimeOffset.FromUnixTimeMilliseconds(ms)); else timestamp.AppendNull();
        }
        var rows = json.Build();
        if (!ReferenceEquals(_builderSchema, schema) || ops != null)
        {
            // Back to the table's nullability (a delete's unread columns are nulls of rows the merge never writes), plus the op.
            var fields = schema!.FieldsList.ToList();
            var arrays = rows.Arrays.ToList();
            if (ops != null)
            {
                fields.Add(new Field(DebeziumEvents.OperationColumn, StringType.Default, false));
                arrays.Add(ops.Build());
            }
            rows = new RecordBatch(new Schema(fields, null), arrays, rows.Length);
        }
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

    private static readonly string[] OpNames = ["c", "u", "r", "d"];

    /// <summary>The row of a Debezium message (a tombstone: its key) and its op; null when there is one, else why not.</summary>
    private string? DebeziumRow(ReadOnlyMemory<byte>? value, ReadOnlyMemory<byte>? messageKey, bool[] seen, out string op, out ReadOnlyMemory<byte> row)
    {
        op = "d";
        row = default;
        if (value is not { } v)
        {
            if (messageKey is not { } k) return "a tombstone (null value) without a message key: nothing to delete";
            var keyError = DebeziumEvents.TryReadKey(k.Span, out var keySlice);
            if (keyError != null) return "a tombstone (null value): " + keyError;
            row = k.Slice(keySlice.Start, keySlice.Length);
            return null;
        }
        var error = DebeziumEvents.TryRead(v.Span, out var c, out var slice);
        if (error != null) return error;
        op = OpNames["curd".IndexOf(c)];
        row = v.Slice(slice.Start, slice.Length);
        return c == 'd' ? null : DebeziumEvents.MissingRequired(row.Span, _required, _requiredNames, seen);
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
