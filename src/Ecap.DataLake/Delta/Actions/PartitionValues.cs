using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Delta;

/// <summary>
/// The one implementation of Delta partition values (PROTOCOL.md, "Partition Value Serialization"): the
/// string in <c>add.partitionValues</c> of an Arrow cell (<see cref="Format"/>), the typed value of such a
/// string (<see cref="Parse"/>) and a constant column of it (<see cref="ToArray"/>). Directory names are <see cref="PartitionPath"/>.
/// <list type="bullet">
/// <item>null and the empty string (of any type) are null in the log;</item>
/// <item>strings as they are; integers, floats (round-trip "R") and decimals (with their scale) as invariant text; booleans <c>true</c>/<c>false</c>;</item>
/// <item>dates <c>yyyy-MM-dd</c>;</item>
/// <item>timestamps (with a time zone) in ISO 8601 adjusted to UTC, <c>1970-01-01T00:00:00.123456Z</c>, as the protocol recommends;</item>
/// <item>timestamps without a time zone (timestamp_ntz) <c>1970-01-01 00:00:00.123456</c>;</item>
/// <item>binary as a string of one character per byte (U+0000..U+00FF, the protocol's "escaped binary values" <c>\u0001\u0002</c>).</item>
/// </list>
/// <see cref="Parse"/> reads timestamps in both the ISO and the Spark <c>yyyy-MM-dd HH:mm:ss[.ffffff]</c> form (taken as UTC).
/// </summary>
internal static class PartitionValues
{
    private const string IsoUtc = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";
    private const string Ntz = "yyyy-MM-dd HH:mm:ss.ffffff";

    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", "yyyy-MM-dd'T'HH:mm:ss'Z'",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFzzz", "yyyy-MM-dd'T'HH:mm:sszzz",
    ];

    private static readonly int UnixEpochDay = new DateOnly(1970, 1, 1).DayNumber;

    /// <summary>The log string of row <paramref name="row"/> of a partition column (null for null or empty).</summary>
    /// <exception cref="SchemaMismatchException">The column's type cannot be a partition column.</exception>
    public static string? Format(IArrowArray array, int row)
    {
        if (array.IsNull(row)) return null;
        var inv = CultureInfo.InvariantCulture;
        return array switch
        {
            StringArray s => Empty(s.GetString(row)),
            Int8Array a => a.GetValue(row)!.Value.ToString(inv),
            Int16Array a => a.GetValue(row)!.Value.ToString(inv),
            Int32Array a => a.GetValue(row)!.Value.ToString(inv),
            Int64Array a => a.GetValue(row)!.Value.ToString(inv),
            UInt8Array a => a.GetValue(row)!.Value.ToString(inv),
            UInt16Array a => a.GetValue(row)!.Value.ToString(inv),
            UInt32Array a => a.GetValue(row)!.Value.ToString(inv),
            UInt64Array a => a.GetValue(row)!.Value.ToString(inv),
            BooleanArray a => a.GetValue(row)!.Value ? "true" : "false",
            FloatArray a => a.GetValue(row)!.Value.ToString("R", inv),
            DoubleArray a => a.GetValue(row)!.Value.ToString("R", inv),
            Date32Array a => FormatDate(a.Values[row]),
            Date64Array a => FormatDate((int)Math.Floor(a.Values[row] / 86_400_000.0)),
            TimestampArray a => FormatTimestamp(a.Values[row], (TimestampType)a.Data.DataType),
            Decimal128Array a => FormatDecimal(a, row),
            BinaryArray a => Empty(Encoding.Latin1.GetString(a.GetBytes(row))),
            _ => throw new SchemaMismatchException($"Partition columns of Arrow type {array.Data.DataType.Name} are not supported."),
        };
    }

    /// <summary>The typed value of a log partition value: long/int/short/sbyte, float/double, bool, decimal, DateOnly, DateTimeOffset (UTC), DateTime (ntz), string, byte[].</summary>
    public static object? Parse(string? value, IArrowType type)
    {
        if (string.IsNullOrEmpty(value)) return null;
        var inv = CultureInfo.InvariantCulture;
        try
        {
            return type switch
            {
                StringType or LargeStringType => value,
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

    /// <summary>
    /// A column holding one partition value <paramref name="length"/> times (Delta keeps partition values in
    /// the log, not in the data files); a null value gives nulls.
    /// </summary>
    public static IArrowArray ToArray(IArrowType type, string? value, int length) =>
        ArrowArrays.Constant(type, Parse(value, type), length);

    private static string? Empty(string s) => s.Length == 0 ? null : s;

    private static string FormatDate(int days) =>
        DateOnly.FromDayNumber(UnixEpochDay + days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string FormatTimestamp(long value, TimestampType type)
    {
        long micros = type.Unit switch
        {
            TimeUnit.Second => value * 1_000_000,
            TimeUnit.Millisecond => value * 1000,
            TimeUnit.Microsecond => value,
            _ => Math.DivRem(value, 1000, out long rem) - (rem < 0 ? 1 : 0),
        };
        var t = DateTime.UnixEpoch.AddTicks(micros * 10);
        return t.ToString(string.IsNullOrEmpty(type.Timezone) ? Ntz : IsoUtc, CultureInfo.InvariantCulture);
    }

    private static string FormatDecimal(Decimal128Array a, int row)
    {
        var type = (Decimal128Type)a.Data.DataType;
        var unscaled = MemoryMarshal.Cast<byte, Int128>(a.ValueBuffer.Span)[a.Offset + row];
        var digits = Int128.Abs(unscaled).ToString(CultureInfo.InvariantCulture);
        var sign = unscaled < 0 ? "-" : "";
        if (type.Scale <= 0) return sign + digits + new string('0', -type.Scale);
        if (digits.Length <= type.Scale) digits = new string('0', type.Scale - digits.Length + 1) + digits;
        return $"{sign}{digits[..^type.Scale]}.{digits[^type.Scale..]}";
    }
}
