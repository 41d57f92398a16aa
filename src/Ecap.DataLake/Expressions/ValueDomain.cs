using System.Globalization;
using System.Numerics;
using System.Text;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Expressions;

/// <summary>A filter value cannot be compared with a column of the given type.</summary>
public sealed class PredicateTypeException(string message) : InvalidInputException(message);

/// <summary>
/// The canonical values stats bounds and coerced literals use, one CLR type per Arrow type family:
/// <list type="bullet">
/// <item>bool: <see cref="bool"/></item>
/// <item>int8..int64, uint8..uint32: <see cref="long"/>; uint64: <see cref="decimal"/></item>
/// <item>date32: <see cref="long"/> days since 1970-01-01; timestamp (any unit, any zone): <see cref="long"/> microseconds since the Unix epoch (UTC)</item>
/// <item>float, double: <see cref="double"/>; decimal128: <see cref="decimal"/></item>
/// <item>string: <see cref="string"/>, ordered by Unicode code point (the UTF-8 byte order Parquet uses)</item>
/// </list>
/// A coerced literal may be "between" canonical values of an integer domain (a <see cref="decimal"/>
/// like 10.5 for an int column, or a timestamp with sub-microsecond ticks); comparisons handle mixed numerics.
/// </summary>
internal static class ValueDomain
{
    /// <summary>Whether the Arrow type has a canonical domain (and so can have min/max bounds).</summary>
    public static bool IsSupported(IArrowType type) => type.TypeId is ArrowTypeId.Boolean or ArrowTypeId.Int8 or ArrowTypeId.Int16
        or ArrowTypeId.Int32 or ArrowTypeId.Int64 or ArrowTypeId.UInt8 or ArrowTypeId.UInt16 or ArrowTypeId.UInt32 or ArrowTypeId.UInt64
        or ArrowTypeId.Float or ArrowTypeId.Double or ArrowTypeId.Decimal128 or ArrowTypeId.String or ArrowTypeId.LargeString
        or ArrowTypeId.Date32 or ArrowTypeId.Timestamp;

    /// <summary>Converts a loosely typed literal to the canonical domain of <paramref name="type"/>; null stays null.</summary>
    /// <exception cref="PredicateTypeException">The literal cannot be compared with the type.</exception>
    public static object? Coerce(object? literal, IArrowType type, string column = "?")
    {
        if (literal is null) return null;
        switch (type.TypeId)
        {
            case ArrowTypeId.Boolean:
                if (literal is bool b) return b;
                if (literal is string bs && bool.TryParse(bs, out var pb)) return pb;
                break;
            case ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64
                or ArrowTypeId.UInt8 or ArrowTypeId.UInt16 or ArrowTypeId.UInt32:
            case ArrowTypeId.UInt64 or ArrowTypeId.Decimal128 or ArrowTypeId.Float or ArrowTypeId.Double:
                {
                    var n = AsNumber(literal);
                    if (n is null) break;
                    if (type.TypeId is ArrowTypeId.Float or ArrowTypeId.Double) return ToDouble(n);
                    if (type.TypeId is ArrowTypeId.UInt64 or ArrowTypeId.Decimal128 && n is long l) return (decimal)l;
                    return n;
                }
            case ArrowTypeId.String or ArrowTypeId.LargeString:
                if (literal is string s) return s;
                if (literal is char ch) return ch.ToString();
                break;
            case ArrowTypeId.Date32:
                {
                    if (literal is DateOnly d) return (long)d.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;
                    var micros = TimestampMicros(literal);
                    if (micros is null) break;
                    // Days, possibly fractional when the literal has a time of day.
                    var m = micros is long ml ? ml : (decimal)micros;
                    var days = ToDecimal(m) / 86_400_000_000m;
                    return decimal.Truncate(days) == days ? (long)days : days;
                }
            case ArrowTypeId.Timestamp:
                {
                    if (literal is long lm) return lm;
                    var micros = TimestampMicros(literal);
                    if (micros is not null) return micros;
                    break;
                }
        }
        throw new PredicateTypeException(
            $"Column '{column}' has type {Describe(type)} and cannot be compared with {Describe(literal)}.");
    }

    private static string Describe(IArrowType t) => t switch
    {
        TimestampType ts => $"timestamp({ts.Unit}, {ts.Timezone ?? "no zone"})",
        Decimal128Type d => $"decimal({d.Precision},{d.Scale})",
        _ => t.Name,
    };

    private static string Describe(object literal) => literal switch
    {
        string s => $"the string '{s}'",
        _ => $"the {literal.GetType().Name} value {PredicateText.Literal(literal)}",
    };

    private static object? AsNumber(object literal) => literal switch
    {
        long l => (object)l,
        int i => (long)i,
        short s => (long)s,
        sbyte sb => (long)sb,
        byte by => (long)by,
        ushort us => (long)us,
        uint ui => (long)ui,
        ulong ul => (decimal)ul,
        decimal m => m,
        double d => d,
        float f => (double)f,
        string s when long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => l,
        string s when decimal.TryParse(s, NumberStyles.Number, CultureInfo.InvariantCulture, out var m) => m,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => null,
    };

    private static double ToDouble(object n) => n switch { long l => l, decimal m => (double)m, double d => d, _ => double.NaN };

    private static decimal ToDecimal(object n) => n switch { long l => l, decimal m => m, double d => (decimal)d, _ => 0 };

    /// <summary>Microseconds since the epoch (long), or a decimal when the value has sub-microsecond ticks.</summary>
    private static object? TimestampMicros(object literal)
    {
        long ticks;
        switch (literal)
        {
            case DateTimeOffset dto: ticks = dto.UtcTicks - DateTime.UnixEpoch.Ticks; break;
            case DateTime dt:
                ticks = (dt.Kind == DateTimeKind.Local ? dt.ToUniversalTime() : dt).Ticks - DateTime.UnixEpoch.Ticks;
                break;
            case DateOnly d: ticks = d.ToDateTime(TimeOnly.MinValue).Ticks - DateTime.UnixEpoch.Ticks; break;
            case string s:
                return TryParseTimestamp(s, out var m) ? m : null;
            default: return null;
        }
        return ticks % 10 == 0 ? ticks / 10 : ticks / 10m;
    }

    /// <summary>
    /// Parses '2024-10-01', '2024-10-01 12:00:00', '2024-10-01T12:00:00.123456Z', '...+02:00' into
    /// microseconds since the epoch; no zone means UTC.
    /// </summary>
    public static bool TryParseTimestamp(string text, out long micros)
    {
        micros = 0;
        text = text.Trim();
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
        {
            micros = (d.ToDateTime(TimeOnly.MinValue).Ticks - DateTime.UnixEpoch.Ticks) / 10;
            return true;
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces, out var dto))
        {
            micros = (dto.UtcTicks - DateTime.UnixEpoch.Ticks) / 10;
            return true;
        }
        return false;
    }

    /// <summary>Total order over canonical values of one domain (mixed numerics are compared exactly where possible).</summary>
    public static int Compare(object a, object b)
    {
        switch (a)
        {
            case long la when b is long lb: return la.CompareTo(lb);
            case double da when b is double db: return da.CompareTo(db);
            case decimal ma when b is decimal mb: return ma.CompareTo(mb);
            case string sa when b is string sb: return CompareUtf8Order(sa, sb);
            case bool ba when b is bool bb: return ba.CompareTo(bb);
        }
        if (IsNumeric(a) && IsNumeric(b))
        {
            // Exact: long and decimal convert to decimal without loss; a double is compared by its binary value.
            if (a is double da2) return -CompareExact(ToDecimal(b), da2);
            if (b is double db2) return CompareExact(ToDecimal(a), db2);
            return ToDecimal(a).CompareTo(ToDecimal(b));
        }
        throw new PredicateTypeException($"Cannot compare {a.GetType().Name} with {b.GetType().Name}.");
    }

    /// <summary>Compares a decimal with a double exactly (NaN sorts above everything, like double.CompareTo).</summary>
    internal static int CompareExact(decimal m, double d)
    {
        if (double.IsNaN(d) || double.IsPositiveInfinity(d)) return -1;
        if (double.IsNegativeInfinity(d)) return 1;
        var bits = decimal.GetBits(m);
        var scale = (bits[3] >> 16) & 0xFF;
        var num = ((BigInteger)(uint)bits[2] << 64) | ((BigInteger)(uint)bits[1] << 32) | (uint)bits[0];
        if (bits[3] < 0) num = -num;
        var raw = BitConverter.DoubleToInt64Bits(d);
        var exponent = (int)((raw >> 52) & 0x7FF);
        var fraction = raw & 0xF_FFFF_FFFF_FFFFL;
        BigInteger mantissa = exponent == 0 ? fraction : fraction | (1L << 52);
        var exp = exponent == 0 ? -1074 : exponent - 1075;
        if (raw < 0) mantissa = -mantissa;
        // num / 10^scale  vs  mantissa * 2^exp
        var left = num;
        var right = mantissa * BigInteger.Pow(10, scale);
        if (exp < 0) left <<= -exp;
        else right <<= exp;
        return left.CompareTo(right);
    }

    private static bool IsNumeric(object o) => o is long or double or decimal;

    /// <summary>Compares strings by Unicode code point, which is the order of their UTF-8 bytes (Parquet's order).</summary>
    public static int CompareUtf8Order(string a, string b)
    {
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var ca = a[i];
            var cb = b[i];
            if (ca == cb) continue;
            // Surrogates (code points above U+FFFF) sort after every BMP character in code point order.
            var sa = char.IsSurrogate(ca);
            var sb = char.IsSurrogate(cb);
            if (sa != sb) return sa ? 1 : -1;
            return ca.CompareTo(cb);
        }
        return a.Length.CompareTo(b.Length);
    }

    internal static int Utf8Length(string s) => Encoding.UTF8.GetByteCount(s);
}

/// <summary>
/// What is known about one column in a file or row group: bounds in the canonical domain of
/// <paramref name="Type"/> (<see cref="ValueDomain"/>), the null count and the row count. Any part may be
/// unknown (null), and an unknown part never lets an evaluator skip data.
/// </summary>
public sealed record ColumnBounds(IArrowType Type, object? Min, object? Max, long? NullCount, long? RowCount);
