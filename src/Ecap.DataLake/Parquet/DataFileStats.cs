using System.Globalization;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Expressions;

namespace Ecap.DataLake.Parquet;

/// <summary>
/// Delta per-file statistics (PROTOCOL.md, "Per-file Statistics"): <c>numRecords</c> and, per leaf
/// column (nested struct leaves as nested objects; list and map columns skipped), <c>minValues</c>,
/// <c>maxValues</c> and <c>nullCount</c>. Bounds are held in the canonical domain of
/// <see cref="ValueDomain"/>; <see cref="ToJson"/> writes the protocol's JSON and <see cref="Parse"/>
/// reads it back (from any writer) into bounds that are safe for pruning:
/// <list type="bullet">
/// <item>timestamps have millisecond precision in JSON: a min is floored, a max is rounded up when
/// written; when parsed, a max with at most millisecond digits is widened by 999 µs (Spark truncates it).</item>
/// <item>strings: min is a prefix of 32 characters; max is cut to 32 characters with its last character
/// bumped (omitted when no bump is possible).</item>
/// <item>binary columns have no min/max; a float column that held NaN or infinities has no min/max.</item>
/// </list>
/// </summary>
public sealed class DataFileStats
{
    /// <summary>Characters kept of a string bound.</summary>
    public const int StringPrefixLength = 32;

    private readonly Dictionary<string, ColumnBounds> _columns;
    private readonly List<(string[] Path, ColumnBounds Bounds)> _ordered;

    internal DataFileStats(long numRecords, List<(string[] Path, ColumnBounds Bounds)> columns)
    {
        NumRecords = numRecords;
        _ordered = columns;
        _columns = new Dictionary<string, ColumnBounds>(StringComparer.Ordinal);
        foreach (var (path, b) in columns) _columns[string.Join('.', path)] = b with { RowCount = numRecords };
    }

    public long NumRecords { get; }

    /// <summary>Bounds per leaf column, keyed by dotted path (<c>a.b.c</c> for nested struct leaves).</summary>
    public IReadOnlyDictionary<string, ColumnBounds> Columns => _columns;

    /// <summary>The bounds of a column (for <see cref="StatsEvaluator.CanMatch"/>), or null when the stats do not cover it.</summary>
    public ColumnBounds? GetBounds(string column) => _columns.GetValueOrDefault(column);

    /// <summary>The Delta stats JSON string of these stats (what goes in <c>add.stats</c>).</summary>
    public string ToJson()
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("numRecords", NumRecords);
            WriteSection(w, "minValues", (t, b) => FormatBound(t, b.Min, isMax: false));
            WriteSection(w, "maxValues", (t, b) => FormatBound(t, b.Max, isMax: true));
            WriteSection(w, "nullCount", (_, b) => b.NullCount is { } n ? new JsonNumber(n.ToString(CultureInfo.InvariantCulture)) : null);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);
    }

    private abstract record JsonBound;

    private sealed record JsonNumber(string Raw) : JsonBound;

    private sealed record JsonString(string Value) : JsonBound;

    private sealed record JsonBool(bool Value) : JsonBound;

    private void WriteSection(Utf8JsonWriter w, string name, Func<IArrowType, ColumnBounds, JsonBound?> value)
    {
        // Build a tree of path -> value so nested struct leaves become nested objects.
        var root = new SortedTree();
        foreach (var (path, b) in _ordered)
        {
            var v = value(b.Type, b);
            if (v is not null) root.Add(path, 0, v);
        }
        if (root.IsEmpty) return;
        w.WritePropertyName(name);
        root.Write(w);
    }

    /// <summary>Keeps insertion (schema) order.</summary>
    private sealed class SortedTree
    {
        private readonly List<(string Name, object Node)> _items = [];

        public bool IsEmpty => _items.Count == 0;

        public void Add(string[] path, int i, JsonBound value)
        {
            if (i == path.Length - 1)
            {
                _items.Add((path[i], value));
                return;
            }
            var idx = _items.FindIndex(x => x.Name == path[i] && x.Node is SortedTree);
            SortedTree child;
            if (idx < 0)
            {
                child = new SortedTree();
                _items.Add((path[i], child));
            }
            else child = (SortedTree)_items[idx].Node;
            child.Add(path, i + 1, value);
        }

        public void Write(Utf8JsonWriter w)
        {
            w.WriteStartObject();
            foreach (var (name, node) in _items)
            {
                w.WritePropertyName(name);
                switch (node)
                {
                    case SortedTree t: t.Write(w); break;
                    case JsonNumber n: w.WriteRawValue(n.Raw, skipInputValidation: true); break;
                    case JsonString s: w.WriteStringValue(s.Value); break;
                    case JsonBool b: w.WriteBooleanValue(b.Value); break;
                }
            }
            w.WriteEndObject();
        }
    }

    private static JsonBound? FormatBound(IArrowType type, object? value, bool isMax)
    {
        if (value is null) return null;
        switch (type.TypeId)
        {
            case ArrowTypeId.Boolean:
                return new JsonBool((bool)value);
            case ArrowTypeId.Date32:
                return new JsonString(DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + (int)(long)value)
                    .ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            case ArrowTypeId.Timestamp:
                {
                    var micros = (long)value;
                    var millis = Math.DivRem(micros, 1000, out var rem);
                    if (rem < 0) { millis--; rem += 1000; }
                    if (isMax && rem != 0) millis++;
                    var dt = DateTime.UnixEpoch.AddTicks(millis * TimeSpan.TicksPerMillisecond);
                    var withZone = !string.IsNullOrEmpty(((TimestampType)type).Timezone);
                    return new JsonString(dt.ToString(withZone ? "yyyy-MM-dd'T'HH:mm:ss.fff'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fff", CultureInfo.InvariantCulture));
                }
            case ArrowTypeId.Float or ArrowTypeId.Double:
                {
                    var d = (double)value;
                    return double.IsFinite(d) ? new JsonNumber(d.ToString("R", CultureInfo.InvariantCulture) is var s && (s.Contains('.') || s.Contains('E')) ? s : s + ".0") : null;
                }
            case ArrowTypeId.Decimal128 or ArrowTypeId.UInt64:
                return new JsonNumber(((decimal)value).ToString(CultureInfo.InvariantCulture));
            case ArrowTypeId.String or ArrowTypeId.LargeString:
                {
                    var s = (string)value;
                    return isMax ? (TruncateMax(s) is { } m ? new JsonString(m) : null) : new JsonString(TruncateMin(s));
                }
            default:
                return value is long l ? new JsonNumber(l.ToString(CultureInfo.InvariantCulture)) : null;
        }
    }

    /// <summary>A prefix of at most <see cref="StringPrefixLength"/> characters (never splitting a surrogate pair): a lower bound.</summary>
    public static string TruncateMin(string s)
    {
        if (s.Length <= StringPrefixLength) return s;
        var cut = StringPrefixLength;
        if (char.IsHighSurrogate(s[cut - 1])) cut--;
        return s[..cut];
    }

    /// <summary>
    /// An upper bound of <paramref name="s"/> of at most <see cref="StringPrefixLength"/> characters: the
    /// string itself when short, else its prefix with the last code point incremented; null when every
    /// code point of the prefix is already the largest.
    /// </summary>
    public static string? TruncateMax(string s)
    {
        if (s.Length <= StringPrefixLength) return s;
        var runes = new List<Rune>();
        var chars = 0;
        foreach (var r in s.EnumerateRunes())
        {
            if (chars + r.Utf16SequenceLength > StringPrefixLength) break;
            runes.Add(r);
            chars += r.Utf16SequenceLength;
        }
        for (var i = runes.Count - 1; i >= 0; i--)
        {
            var v = runes[i].Value + 1;
            if (v is >= 0xD800 and <= 0xDFFF) v = 0xE000;
            if (v > 0x10FFFF) continue;
            var sb = new StringBuilder();
            for (var j = 0; j < i; j++) sb.Append(runes[j].ToString());
            sb.Append(new Rune(v).ToString());
            return sb.ToString();
        }
        return null;
    }

    /// <summary>
    /// Parses a Delta stats JSON string for the leaves of <paramref name="schema"/> (top-level primitives and
    /// struct leaves). Values that are missing, null, or do not fit the column type are left unknown.
    /// </summary>
    public static DataFileStats Parse(string json, Schema schema)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        // A count that is not a non-negative integer (1.5, 1e30, -3) is unknown, like a missing one.
        var numRecords = root.TryGetProperty("numRecords", out var nr) && nr.ValueKind == JsonValueKind.Number && nr.TryGetInt64(out var count) && count >= 0 ? count : -1;
        root.TryGetProperty("minValues", out var mins);
        root.TryGetProperty("maxValues", out var maxs);
        root.TryGetProperty("nullCount", out var nulls);
        var columns = new List<(string[], ColumnBounds)>();
        foreach (var leaf in ParquetFooterStats.Leaves(schema))
        {
            var min = ParseBound(Find(mins, leaf.Path), leaf.Type, isMax: false);
            var max = ParseBound(Find(maxs, leaf.Path), leaf.Type, isMax: true);
            var nc = Find(nulls, leaf.Path) is { ValueKind: JsonValueKind.Number } n && n.TryGetInt64(out var x) ? x : (long?)null;
            if (min is null && max is null && nc is null) continue;
            columns.Add((leaf.Path, new ColumnBounds(leaf.Type, min, max, nc, numRecords >= 0 ? numRecords : null)));
        }
        var stats = new DataFileStats(numRecords, columns);
        if (numRecords < 0)
        {
            // Without numRecords, row counts stay unknown (all-null can never be proven).
            foreach (var key in stats._columns.Keys.ToList()) stats._columns[key] = stats._columns[key] with { RowCount = null };
        }
        return stats;
    }

    /// <summary>Like <see cref="Parse"/>, but false (no stats) for a missing or malformed stats string.</summary>
    public static bool TryParse(string? json, Schema schema, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out DataFileStats? stats)
    {
        stats = null;
        if (string.IsNullOrWhiteSpace(json)) return false;
        try
        {
            stats = Parse(json, schema);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static JsonElement? Find(JsonElement section, string[] path)
    {
        if (section.ValueKind != JsonValueKind.Object) return null;
        var cur = section;
        foreach (var p in path)
        {
            if (cur.ValueKind != JsonValueKind.Object || !cur.TryGetProperty(p, out var next)) return null;
            cur = next;
        }
        return cur;
    }

    private static object? ParseBound(JsonElement? element, IArrowType type, bool isMax)
    {
        if (element is not { } e || e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return null;
        try
        {
            switch (type.TypeId)
            {
                case ArrowTypeId.Boolean:
                    return e.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => null };
                case ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64
                    or ArrowTypeId.UInt8 or ArrowTypeId.UInt16 or ArrowTypeId.UInt32:
                    return e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var l) ? l : null;
                case ArrowTypeId.UInt64 or ArrowTypeId.Decimal128:
                    return e.ValueKind == JsonValueKind.Number && decimal.TryParse(e.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture, out var m) ? m : null;
                case ArrowTypeId.Float or ArrowTypeId.Double:
                    return e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var d) && double.IsFinite(d) ? d : null;
                case ArrowTypeId.String or ArrowTypeId.LargeString:
                    return e.ValueKind == JsonValueKind.String ? e.GetString() : null;
                case ArrowTypeId.Date32:
                    {
                        if (e.ValueKind != JsonValueKind.String) return null;
                        var s = e.GetString()!;
                        if (DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                            return (long)(date.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber);
                        return null;
                    }
                case ArrowTypeId.Timestamp:
                    {
                        if (e.ValueKind != JsonValueKind.String) return null;
                        var s = e.GetString()!;
                        if (!ValueDomain.TryParseTimestamp(s, out var micros)) return null;
                        // A max written with millisecond precision may have been truncated: widen it.
                        if (isMax && FractionDigits(s) <= 3) micros += 999;
                        return micros;
                    }
                default:
                    return null;
            }
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static int FractionDigits(string s)
    {
        var t = s.IndexOf('T');
        if (t < 0) t = s.IndexOf(' ');
        if (t < 0) return 0;
        var dot = s.IndexOf('.', t);
        if (dot < 0) return 0;
        var n = 0;
        for (var i = dot + 1; i < s.Length && char.IsDigit(s[i]); i++) n++;
        return n;
    }

    /// <summary>Stats of a closed Parquet file from its footer: merged row-group statistics of every leaf.</summary>
    internal static DataFileStats FromFooter(ParquetSharp.ParquetFileReader reader, Schema schema, ISet<string>? noMinMax = null)
    {
        var md = reader.FileMetaData;
        var leaves = ParquetFooterStats.Leaves(schema);
        var merged = new ColumnBounds?[leaves.Count];
        for (var g = 0; g < md.NumRowGroups; g++)
        {
            using var rg = reader.RowGroup(g);
            var meta = rg.MetaData;
            var bounds = ParquetFooterStats.RowGroupBounds(meta, leaves);
            for (var i = 0; i < leaves.Count; i++)
            {
                var b = bounds[leaves[i].DottedPath];
                merged[i] = merged[i] is null ? b : ParquetFooterStats.Merge(merged[i]!, b);
            }
        }
        var columns = new List<(string[], ColumnBounds)>();
        for (var i = 0; i < leaves.Count; i++)
        {
            var b = merged[i] ?? new ColumnBounds(leaves[i].Type, null, null, 0, 0);
            if (noMinMax is not null && noMinMax.Contains(leaves[i].DottedPath)) b = b with { Min = null, Max = null };
            columns.Add((leaves[i].Path, b));
        }
        return new DataFileStats(md.NumRows, columns);
    }
}
