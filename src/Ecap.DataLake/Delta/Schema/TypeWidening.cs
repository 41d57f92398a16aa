using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Type widening (PROTOCOL.md "Type Widening", feature <c>typeWidening</c>): a column's type was widened after files were
/// written, and <c>delta.typeChanges</c> in its field metadata records each change. Readers convert old values to the
/// current type (<see cref="Arrow.ArrowConform"/>) and must fail on a recorded change they do not support: this checks them.
/// </summary>
internal static partial class TypeWidening
{
    public const string TypeChangesKey = "delta.typeChanges";

    [GeneratedRegex(@"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")]
    private static partial Regex DecimalPattern();

    /// <summary>Throws <see cref="UnsupportedProtocolException"/> naming the column when a recorded type change is not one Delta allows.</summary>
    public static void EnsureSupported(Metadata metadata, string location)
    {
        if (!metadata.SchemaString.Contains(TypeChangesKey, StringComparison.Ordinal)) return;
        using var doc = JsonDocument.Parse(metadata.SchemaString);
        Walk(doc.RootElement, "", location);
    }

    private static void Walk(JsonElement type, string path, string location)
    {
        if (type.ValueKind != JsonValueKind.Object) return;
        if (type.TryGetProperty("fields", out var fields) && fields.ValueKind == JsonValueKind.Array)
        {
            foreach (var f in fields.EnumerateArray())
            {
                var name = path + (f.TryGetProperty("name", out var n) ? n.GetString() : "?");
                if (f.TryGetProperty("metadata", out var md) && md.ValueKind == JsonValueKind.Object &&
                    md.TryGetProperty(TypeChangesKey, out var changes) && changes.ValueKind == JsonValueKind.Array)
                {
                    foreach (var c in changes.EnumerateArray())
                    {
                        var from = c.TryGetProperty("fromType", out var ft) ? ft.GetString() : null;
                        var to = c.TryGetProperty("toType", out var tt) ? tt.GetString() : null;
                        if (from is null || to is null || !IsSupported(from, to))
                            throw new UnsupportedProtocolException(
                                $"Table '{location}' records a type change of column '{name}' from {from ?? "?"} to {to ?? "?"} (delta.typeChanges) " +
                                "that this library cannot read old files of.");
                    }
                }
                if (f.TryGetProperty("type", out var t)) Walk(t, name + ".", location);
            }
        }
        if (type.TryGetProperty("elementType", out var element)) Walk(element, path, location);
        if (type.TryGetProperty("keyType", out var key)) Walk(key, path, location);
        if (type.TryGetProperty("valueType", out var value)) Walk(value, path, location);
    }

    private static int IntegerRank(string type) => type switch
    {
        "byte" => 1,
        "short" => 2,
        "integer" => 3,
        "long" => 4,
        _ => 0,
    };

    /// <summary>The widenings PROTOCOL.md lists (and <see cref="Arrow.ArrowConform"/> converts).</summary>
    public static bool IsSupported(string from, string to)
    {
        int f = IntegerRank(from), t = IntegerRank(to);
        if (f > 0 && t > 0) return f < t;
        if (to == "double") return from == "float" || f is > 0 and <= 3;
        if (from == "date") return to == "timestamp_ntz";
        var toDecimal = DecimalPattern().Match(to);
        if (!toDecimal.Success) return false;
        int p2 = int.Parse(toDecimal.Groups[1].Value, CultureInfo.InvariantCulture), s2 = int.Parse(toDecimal.Groups[2].Value, CultureInfo.InvariantCulture);
        if (f > 0) return p2 - s2 >= (f == 4 ? 20 : 10);
        var fromDecimal = DecimalPattern().Match(from);
        if (!fromDecimal.Success) return false;
        int p = int.Parse(fromDecimal.Groups[1].Value, CultureInfo.InvariantCulture), s = int.Parse(fromDecimal.Groups[2].Value, CultureInfo.InvariantCulture);
        return p2 - p >= s2 - s && s2 - s >= 0;
    }
}
