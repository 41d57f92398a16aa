using System.Collections;
using System.Globalization;
using System.Numerics;
using System.Text.Json;

namespace Ecap.DataLake.Query;

/// <summary>Values DuckDB returns (as .NET objects), formatted for a terminal or written as JSON.</summary>
public static class SqlValues
{
    /// <summary>Invariant text of a value; timestamps in ISO 8601, null as null.</summary>
    public static string? Format(object? value) => value switch
    {
        null or DBNull => null,
        string s => s,
        DateTime dt => dt.ToString(dt.Kind == DateTimeKind.Utc ? "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'" : "yyyy-MM-dd'T'HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture),
        DateTimeOffset dto => dto.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        byte[] bytes => Convert.ToHexString(bytes),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Format)) + "]",
        _ => value.ToString(),
    };

    /// <summary>Writes a result row as one JSON object, column name to value (<see cref="WriteJson"/>): the shape of query rows.</summary>
    public static void WriteJsonRow(Utf8JsonWriter writer, IReadOnlyList<string> columns, object?[] row)
    {
        writer.WriteStartObject();
        for (var i = 0; i < row.Length; i++)
        {
            writer.WritePropertyName(columns[i]);
            WriteJson(writer, row[i]);
        }
        writer.WriteEndObject();
    }

    /// <summary>Writes a value as JSON: numbers as numbers (128-bit integers too), lists as arrays, the rest as strings.</summary>
    public static void WriteJson(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null or DBNull: writer.WriteNullValue(); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case sbyte or byte or short or ushort or int or uint or long:
                writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
            case ulong u: writer.WriteNumberValue(u); break;
            case float f when float.IsFinite(f): writer.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): writer.WriteNumberValue(d); break;
            case decimal m: writer.WriteNumberValue(m); break;
            case BigInteger big: writer.WriteRawValue(big.ToString(CultureInfo.InvariantCulture)); break;
            case string s: writer.WriteStringValue(s); break;
            case IDictionary dict:
                writer.WriteStartObject();
                foreach (DictionaryEntry entry in dict)
                {
                    writer.WritePropertyName(Format(entry.Key) ?? "null");
                    WriteJson(writer, entry.Value);
                }
                writer.WriteEndObject();
                break;
            case IEnumerable e when value is not byte[]:
                writer.WriteStartArray();
                foreach (var item in e) WriteJson(writer, item);
                writer.WriteEndArray();
                break;
            default: writer.WriteStringValue(Format(value)); break;
        }
    }
}
