using System.Text;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Hive/Spark partition directories: <c>year=2024/month=10/day=5/</c>. Names and values are escaped
/// with Spark's <c>escapePathName</c> rules: the characters <c>" # % ' * / : = ? \ { [ ] ^</c>, DEL (0x7F)
/// and the control characters 0x01-0x1F become <c>%XX</c> (uppercase hex); everything else, including
/// spaces and non-ASCII, is kept as is. A null (or empty) value is <see cref="NullPartition"/>, as in Spark.
/// </summary>
internal static class PartitionPath
{
    /// <summary>The directory value of a null partition value.</summary>
    public const string NullPartition = "__HIVE_DEFAULT_PARTITION__";

    private static readonly bool[] Escaped = BuildEscapeSet();

    private static bool[] BuildEscapeSet()
    {
        var set = new bool[128];
        for (int c = 0x01; c <= 0x1F; c++) set[c] = true;
        foreach (var c in "\"#%'*/:=?\\\u007F{[]^") set[c] = true;
        return set;
    }

    /// <summary>True when Spark escapes this character in a path segment.</summary>
    public static bool NeedsEscape(char c) => c < 128 && Escaped[c];

    /// <summary>Escapes one name or value (Spark <c>escapePathName</c>).</summary>
    public static string Escape(string value)
    {
        int i = 0;
        while (i < value.Length && !NeedsEscape(value[i])) i++;
        if (i == value.Length) return value;
        var sb = new StringBuilder(value.Length + 8);
        sb.Append(value, 0, i);
        for (; i < value.Length; i++)
        {
            char c = value[i];
            if (NeedsEscape(c))
            {
                sb.Append('%');
                sb.Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>Reverses <see cref="Escape"/>: <c>%XX</c> with two hex digits becomes the character; any other <c>%</c> stays.</summary>
    public static string Unescape(string path)
    {
        int first = path.IndexOf('%');
        if (first < 0) return path;
        var sb = new StringBuilder(path.Length);
        sb.Append(path, 0, first);
        for (int i = first; i < path.Length; i++)
        {
            char c = path[i];
            if (c == '%' && i + 2 < path.Length
                && IsHex(path[i + 1]) && IsHex(path[i + 2]))
            {
                sb.Append((char)((HexValue(path[i + 1]) << 4) | HexValue(path[i + 2])));
                i += 2;
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>The directory text of a partition value: escaped, or <see cref="NullPartition"/> for null or empty.</summary>
    public static string EscapeValue(string? value) =>
        string.IsNullOrEmpty(value) ? NullPartition : Escape(value);

    /// <summary>The partition value of a directory value: unescaped, or null for <see cref="NullPartition"/>.</summary>
    public static string? UnescapeValue(string segmentValue) =>
        segmentValue == NullPartition ? null : Unescape(segmentValue);

    /// <summary>
    /// The relative directory of a partition, with a trailing slash: <c>year=2024/month=10/day=5/</c>;
    /// empty for no partition columns.
    /// </summary>
    public static string Build(IReadOnlyList<string> columns, IReadOnlyDictionary<string, string?> values)
    {
        if (columns.Count == 0) return "";
        var sb = new StringBuilder(columns.Count * 16);
        foreach (var column in columns)
        {
            if (!values.TryGetValue(column, out var value))
                throw new DataLakeException($"No value for partition column '{column}'.");
            sb.Append(Escape(column)).Append('=').Append(EscapeValue(value)).Append('/');
        }
        return sb.ToString();
    }

    /// <summary>Builds a directory from (column, value) pairs in order.</summary>
    public static string Build(IEnumerable<KeyValuePair<string, string?>> values)
    {
        var sb = new StringBuilder();
        foreach (var (column, value) in values)
            sb.Append(Escape(column)).Append('=').Append(EscapeValue(value)).Append('/');
        return sb.ToString();
    }

    /// <summary>
    /// Parses the <c>name=value</c> directory segments of a relative path (a file name at the end, without
    /// <c>=</c>, is ignored) into (column, value) pairs, unescaped.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string?>> Parse(string relativePath)
    {
        var result = new List<KeyValuePair<string, string?>>();
        foreach (var segment in relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = segment.IndexOf('=');
            if (eq <= 0) continue;
            result.Add(new(Unescape(segment[..eq]), UnescapeValue(segment[(eq + 1)..])));
        }
        return result;
    }

    private static bool IsHex(char c) => c is >= '0' and <= '9' or >= 'a' and <= 'f' or >= 'A' and <= 'F';

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
