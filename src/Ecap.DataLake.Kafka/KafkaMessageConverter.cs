using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Confluent.Kafka;
using Ecap.DataLake.Files;
using Ecap.DataLake.Ingestion;

namespace Ecap.DataLake.Kafka;

/// <summary>
/// Collects the messages of one pending commit: JSON values become rows of the target schema (plus the Kafka
/// metadata columns on request), messages that do not convert become dead letters with their partition and offset.
/// </summary>
internal sealed class KafkaMessageConverter(Schema schema, string topic, bool metadataColumns)
{
    public const string KeyColumn = "_kafka_key";
    public const string PartitionColumn = "_kafka_partition";
    public const string OffsetColumn = "_kafka_offset";
    public const string TimestampColumn = "_kafka_timestamp";

    private static readonly Apache.Arrow.Types.TimestampType Micros = new(TimeUnit.Microsecond, "UTC");

    private readonly JsonRecordBatchBuilder _json = new(schema);
    private readonly string _source = "kafka://" + topic;
    private StringArray.Builder _key = new();
    private Int32Array.Builder _partition = new();
    private Int64Array.Builder _offset = new();
    private TimestampArray.Builder _timestamp = new(Micros);
    private List<KafkaDeadLetter> _dead = [];

    /// <summary>Messages added since the last take, good and bad.</summary>
    public int Count { get; private set; }

    public void Add(ConsumeResult<byte[]?, byte[]?> r)
    {
        Count++;
        var value = r.Message.Value;
        var error = value == null ? "a message without a value (tombstone)" : _json.TryAppend(value);
        var partition = r.Partition.Value;
        var offset = r.Offset.Value;
        if (error != null)
        {
            _dead.Add(new KafkaDeadLetter(partition, offset,
                new DeadLetter(_source, $"partition {partition} offset {offset}", RawText(value), error)));
            return;
        }
        if (!metadataColumns) return;
        if (r.Message.Key is { } key) _key.Append(RawText(key)); else _key.AppendNull();
        _partition.Append(partition);
        _offset.Append(offset);
        if (r.Message.Timestamp.Type == Confluent.Kafka.TimestampType.NotAvailable) _timestamp.AppendNull();
        else _timestamp.Append(DateTimeOffset.FromUnixTimeMilliseconds(r.Message.Timestamp.UnixTimestampMs));
    }

    /// <summary>The pending rows and dead letters; the converter starts over empty.</summary>
    public (RecordBatch Rows, IReadOnlyList<KafkaDeadLetter> Dead) Take()
    {
        var rows = _json.Build();
        if (metadataColumns)
        {
            var fields = rows.Schema.FieldsList.Concat([
                new Field(KeyColumn, StringType.Default, true), new Field(PartitionColumn, Int32Type.Default, false),
                new Field(OffsetColumn, Int64Type.Default, false), new Field(TimestampColumn, Micros, true)]);
            var builder = new Schema.Builder();
            foreach (var f in fields) builder.Field(f);
            rows = new RecordBatch(builder.Build(),
                rows.Arrays.Concat([_key.Build(), _partition.Build(), _offset.Build(), _timestamp.Build()]), rows.Length);
            _key = new StringArray.Builder();
            _partition = new Int32Array.Builder();
            _offset = new Int64Array.Builder();
            _timestamp = new TimestampArray.Builder(Micros);
        }
        var dead = _dead;
        _dead = [];
        Count = 0;
        return (rows, dead);
    }

    /// <summary>Drops what is pending (a rebalance: the partitions will be re-read from the table's positions).</summary>
    public void Discard() => Take();

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
            return "base64:" + Convert.ToBase64String(bytes);
        }
    }
}

/// <summary>A dead letter with the Kafka position it came from (used to never write it twice).</summary>
internal sealed record KafkaDeadLetter(int Partition, long Offset, DeadLetter Letter);
