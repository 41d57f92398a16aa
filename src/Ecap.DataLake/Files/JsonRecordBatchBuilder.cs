using System.Text.Json;
using Apache.Arrow;

namespace Ecap.DataLake.Files;

/// <summary>
/// Turns JSON objects (one per message or line, as UTF-8 bytes) into an Arrow batch of a fixed schema, one
/// record at a time: what a message source (Kafka) needs, with the same value conversions as JSON lines files.
/// A record that is not a JSON object, has a value not of its column's type, or lacks a required column is
/// rejected with the reason and leaves nothing in the batch; fields the schema lacks are ignored.
/// </summary>
public sealed class JsonRecordBatchBuilder
{
    private readonly Schema _schema;
    private ColumnBuilder[] _builders;
    private readonly string[] _names;
    private readonly bool[] _required;
    private List<int> _badRows = [];
    private int _rows;

    public JsonRecordBatchBuilder(Schema schema)
    {
        _schema = schema;
        _names = schema.FieldsList.Select(f => f.Name).ToArray();
        _required = schema.FieldsList.Select(f => !f.IsNullable).ToArray();
        _builders = NewBuilders();
    }

    public Schema Schema => _schema;

    /// <summary>Records accepted since the last <see cref="Build"/>.</summary>
    public int Count => _rows - _badRows.Count;

    /// <summary>Appends one record; returns null when accepted, else why it was rejected (and it is not in the batch).</summary>
    public string? TryAppend(ReadOnlyMemory<byte> utf8Json)
    {
        string? error = null;
        try
        {
            using var doc = JsonDocument.Parse(utf8Json);
            var row = doc.RootElement;
            if (row.ValueKind != JsonValueKind.Object)
            {
                error = $"a message must be a JSON object, not {row.ValueKind.ToString().ToLowerInvariant()}";
            }
            else
            {
                for (var i = 0; i < _builders.Length; i++)
                {
                    if (row.TryGetProperty(_names[i], out var v) && v.ValueKind is not JsonValueKind.Null and not JsonValueKind.Undefined)
                        _builders[i].AppendJson(v);
                    else if (_required[i])
                        throw new FormatException($"column '{_names[i]}' is required but missing or null");
                    else
                        _builders[i].AppendNull();
                }
            }
        }
        catch (JsonException e)
        {
            error = $"not valid JSON ({e.Message})";
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or OverflowException)
        {
            error = e.Message;
        }
        if (error != null)
        {
            // The partial row is padded to full width and dropped when the batch is built.
            _badRows.Add(_rows);
            foreach (var b in _builders)
                while (b.Length <= _rows) b.AppendNull();
        }
        _rows++;
        return error;
    }

    /// <summary>The accepted records as a batch (in append order); the builder starts over empty.</summary>
    public RecordBatch Build()
    {
        var batch = new RecordBatch(_schema, _builders.Select(b => b.Build()), _rows);
        if (_badRows.Count > 0)
        {
            var bad = _badRows.ToHashSet();
            var keep = Enumerable.Range(0, _rows).Where(r => !bad.Contains(r)).ToArray();
            batch = Parquet.ArrowGather.Take(batch, keep);
        }
        _builders = NewBuilders();
        _badRows = [];
        _rows = 0;
        return batch;
    }

    private ColumnBuilder[] NewBuilders() => _schema.FieldsList.Select(f => new ColumnBuilder(f)).ToArray();
}
