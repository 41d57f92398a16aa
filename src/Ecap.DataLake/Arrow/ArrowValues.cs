using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Single values out of Arrow arrays, for the few places that work value by value on purpose:
/// printing rows, exporting CSV/JSON lines. Hot paths (writing, filtering) work on whole buffers instead.
/// </summary>
public static class ArrowValues
{
    /// <summary>The value at <paramref name="index"/> as a plain .NET object (null for nulls).</summary>
    public static object? Get(IArrowArray array, int index)
    {
        if (array.IsNull(index)) return null;
        return array switch
        {
            BooleanArray a => a.GetValue(index),
            Int8Array a => a.GetValue(index),
            Int16Array a => a.GetValue(index),
            Int32Array a => a.GetValue(index),
            Int64Array a => a.GetValue(index),
            UInt8Array a => a.GetValue(index),
            UInt16Array a => a.GetValue(index),
            UInt32Array a => a.GetValue(index),
            UInt64Array a => a.GetValue(index),
            FloatArray a => a.GetValue(index),
            DoubleArray a => a.GetValue(index),
            Decimal128Array a => a.GetValue(index),
            StringArray a => a.GetString(index),
            LargeStringArray a => a.GetString(index),
            BinaryArray a => a.GetBytes(index).ToArray(),
            Date32Array a => DateOnly.FromDateTime(a.GetDateTime(index)!.Value),
            Date64Array a => DateOnly.FromDateTime(a.GetDateTime(index)!.Value),
            TimestampArray a => TimestampValue(a, index),
            StructArray a => StructValue(a, index),
            ListArray a => ListValue(a.GetSlicedValues(index), a.GetValueLength(index)),
            _ => array.GetType().Name,
        };
    }

    private static object TimestampValue(TimestampArray a, int index)
    {
        var type = (TimestampType)a.Data.DataType;
        var ts = a.GetTimestamp(index)!.Value;
        return type.Timezone is null ? ts.UtcDateTime : ts;
    }

    private static Dictionary<string, object?> StructValue(StructArray a, int index)
    {
        var type = (StructType)a.Data.DataType;
        var result = new Dictionary<string, object?>(type.Fields.Count);
        for (var f = 0; f < type.Fields.Count; f++)
            result[type.Fields[f].Name] = Get(a.Fields[f], index);
        return result;
    }

    private static List<object?> ListValue(IArrowArray values, int length)
    {
        var list = new List<object?>(length);
        for (var i = 0; i < length; i++) list.Add(Get(values, i));
        return list;
    }

    /// <summary>Invariant text for a value: ISO dates and times, '.' decimals, base64 bytes.</summary>
    public static string? Format(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        byte[] bytes => Convert.ToBase64String(bytes),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        Dictionary<string, object?> or List<object?> => JsonSerializer.Serialize(value),
        _ => value.ToString(),
    };

    /// <summary>Writes a value as JSON: numbers stay numbers, times as ISO strings, nested values as objects/arrays.</summary>
    public static void WriteJson(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case sbyte or byte or short or ushort or int: writer.WriteNumberValue(Convert.ToInt32(value, CultureInfo.InvariantCulture)); break;
            case uint or long: writer.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
            case ulong u: writer.WriteNumberValue(u); break;
            case float f when float.IsFinite(f): writer.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): writer.WriteNumberValue(d); break;
            case decimal m: writer.WriteNumberValue(m); break;
            case Dictionary<string, object?> map:
                writer.WriteStartObject();
                foreach (var (k, v) in map) { writer.WritePropertyName(k); WriteJson(writer, v); }
                writer.WriteEndObject();
                break;
            case List<object?> list:
                writer.WriteStartArray();
                foreach (var v in list) WriteJson(writer, v);
                writer.WriteEndArray();
                break;
            default: writer.WriteStringValue(Format(value)); break;
        }
    }
}
