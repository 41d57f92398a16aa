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
    private readonly ColumnRows _rows;
    private readonly string[] _names;
    private readonly bool[] _required;
    private readonly byte[][] _utf8Names;
    private readonly bool[] _seen;
    private readonly string _record;

    /// <param name="schema">The columns; fields the schema lacks are ignored.</param>
    /// <param name="recordNoun">What a record is called in rejection reasons ("message", "line").</param>
    public JsonRecordBatchBuilder(Schema schema, string recordNoun = "message")
    {
        _record = recordNoun;
        _rows = new ColumnRows(schema);
        _names = schema.FieldsList.Select(f => f.Name).ToArray();
        _required = schema.FieldsList.Select(f => !f.IsNullable).ToArray();
        _utf8Names = _names.Select(n => System.Text.Encoding.UTF8.GetBytes(n)).ToArray();
        _seen = new bool[_names.Length];
    }

    public Schema Schema => _rows.Schema;

    /// <summary>
    /// Column types inferred from sample records as JSON lines files infer them (long, double, boolean, timestamp, else
    /// string; every column nullable; names in order of first appearance); records that are not JSON objects are skipped.
    /// Null when no sample record is an object.
    /// </summary>
    public static Schema? InferSchema(IEnumerable<ReadOnlyMemory<byte>> samples)
    {
        var names = new List<string>();
        var values = new Dictionary<string, ColumnTypeSniffer>(StringComparer.Ordinal);
        foreach (var sample in samples)
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(sample); }
            catch (JsonException) { continue; }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object) continue;
                foreach (var p in doc.RootElement.EnumerateObject())
                {
                    if (!values.TryGetValue(p.Name, out var sniffer)) { names.Add(p.Name); values[p.Name] = sniffer = new ColumnTypeSniffer(); }
                    sniffer.Add(p.Value.ValueKind switch
                    {
                        JsonValueKind.Null => null,
                        JsonValueKind.String => p.Value.GetString(),
                        _ => p.Value.GetRawText(),
                    });
                }
            }
        }
        if (names.Count == 0) return null;
        var builder = new Schema.Builder();
        foreach (var n in names) builder.Field(new Field(n, values[n].Type, nullable: true));
        return builder.Build();
    }

    /// <summary>Records accepted since the last <see cref="Build"/>.</summary>
    public int Count => _rows.Count;

    /// <summary>Appends one record; returns null when accepted, else why it was rejected (and it is not in the batch).</summary>
    public string? TryAppend(ReadOnlyMemory<byte> utf8Json) =>
        _rows.TryAppend((Builder: this, Json: utf8Json), static (columns, s) =>
        {
            try
            {
                return s.Builder.Append(columns, s.Json.Span);
            }
            catch (JsonException e)
            {
                return $"not valid JSON ({e.Message})";
            }
        });

    /// <summary>Reads the object's properties straight into the columns (first occurrence of a name wins; unknown names are skipped).</summary>
    private string? Append(ColumnBuilder[] columns, ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        if (!reader.Read()) return $"an empty {_record} is not a JSON object";
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip(); // a malformed value still reports invalid JSON first
            while (reader.Read()) { }
            return $"a {_record} must be a JSON object, not {Kind(reader.TokenType)}";
        }
        System.Array.Clear(_seen);
        var hint = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var column = Find(ref reader, hint);
            reader.Read();
            if (column < 0 || _seen[column])
            {
                reader.Skip();
                continue;
            }
            _seen[column] = true;
            hint = column + 1;
            if (reader.TokenType == JsonTokenType.Null && _required[column])
                throw new FormatException($"column '{_names[column]}' is required but missing or null");
            columns[column].AppendJson(ref reader);
        }
        while (reader.Read()) { } // anything after the object is invalid JSON (the reader throws)
        for (var i = 0; i < columns.Length; i++)
        {
            if (_seen[i]) continue;
            if (_required[i]) throw new FormatException($"column '{_names[i]}' is required but missing or null");
            columns[i].AppendNull();
        }
        return null;
    }

    /// <summary>The column of the property the reader is on; fields usually come in schema order, so the next column is tried first.</summary>
    private int Find(ref Utf8JsonReader reader, int hint)
    {
        if (hint < _utf8Names.Length && reader.ValueTextEquals(_utf8Names[hint])) return hint;
        for (var i = 0; i < _utf8Names.Length; i++)
            if (i != hint && reader.ValueTextEquals(_utf8Names[i])) return i;
        return -1;
    }

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray or JsonTokenType.EndArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        _ => "null",
    };

    /// <summary>The accepted records as a batch (in append order); the builder starts over empty.</summary>
    public RecordBatch Build() => _rows.Build();
}
