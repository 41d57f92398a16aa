using System.Globalization;
using System.Text;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Partition values as the protocol serializes them in <c>add.partitionValues</c> ("Partition Value
/// Serialization"): strings, null for null (an empty string also reads as null), dates as yyyy-MM-dd,
/// timestamps written as ISO 8601 UTC (<c>1970-01-01T00:00:00.123456Z</c>, as the protocol recommends) and
/// read in both that form and Spark's <c>yyyy-MM-dd HH:mm:ss[.ffffff]</c> (taken as UTC). Also the
/// Hive/Spark escaping of values in partition directory names.
/// </summary>
public static class PartitionValues
{
    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", "yyyy-MM-dd'T'HH:mm:ss'Z'",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFzzz", "yyyy-MM-dd'T'HH:mm:sszzz",
    ];

    /// <summary>The log string of a typed partition value (null stays null).</summary>
    public static string? Serialize(object? value, IArrowType type)
    {
        if (value is null) return null;
        var inv = CultureInfo.InvariantCulture;
        return (type, value) switch
        {
            (_, string s) => s,
            (BooleanType, bool b) => b ? "true" : "false",
            (Date32Type or Date64Type, DateOnly d) => d.ToString("yyyy-MM-dd", inv),
            (Date32Type or Date64Type, DateTime d) => d.ToString("yyyy-MM-dd", inv),
            (TimestampType ts, DateTimeOffset t) when !string.IsNullOrEmpty(ts.Timezone) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", inv),
            (TimestampType ts, DateTime t) when !string.IsNullOrEmpty(ts.Timezone) =>
                (t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime()).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", inv),
            (TimestampType, DateTime t) => t.ToString("yyyy-MM-dd HH:mm:ss.ffffff", inv),
            (TimestampType, DateTimeOffset t) => t.DateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", inv),
            (BinaryType, byte[] bytes) => Encoding.Latin1.GetString(bytes),
            (_, float f) => f.ToString("R", inv),
            (_, double d) => d.ToString("R", inv),
            (_, IFormattable f) => f.ToString(null, inv),
            _ => value.ToString(),
        };
    }

    /// <summary>The typed value of a log partition value: long/int/short/sbyte, float/double, bool, decimal, DateOnly, DateTimeOffset (UTC), DateTime (ntz), string, byte[].</summary>
    public static object? Parse(string? value, IArrowType type)
    {
        if (value is null) return null;
        if (value.Length == 0 && type is not StringType) return null;
        var inv = CultureInfo.InvariantCulture;
        try
        {
            return type switch
            {
                StringType or LargeStringType => value.Length == 0 ? null : value,
                Int8Type => sbyte.Parse(value, inv),
                Int16Type => short.Parse(value, inv),
                Int32Type => int.Parse(value, inv),
                Int64Type => long.Parse(value, inv),
                FloatType => float.Parse(value, NumberStyles.Float, inv),
                DoubleType => double.Parse(value, NumberStyles.Float, inv),
                BooleanType => bool.Parse(value),
                Decimal128Type or Decimal256Type => decimal.Parse(value, NumberStyles.Float, inv),
                Date32Type or Date64Type => DateOnly.ParseExact(value, "yyyy-MM-dd", inv),
                TimestampType ts when string.IsNullOrEmpty(ts.Timezone) =>
                    DateTime.ParseExact(value, TimestampFormats, inv, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
                TimestampType => new DateTimeOffset(
                    DateTime.ParseExact(value, TimestampFormats, inv, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal), TimeSpan.Zero),
                BinaryType => Encoding.Latin1.GetBytes(value),
                _ => value,
            };
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new CorruptTableException($"Partition value '{value}' is not a valid {DeltaSchema.TypeName(type)}: {e.Message}", e);
        }
    }
}
