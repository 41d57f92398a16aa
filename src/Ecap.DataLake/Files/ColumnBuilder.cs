using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Files;

/// <summary>
/// Builds one Arrow column of a target type from text (CSV) or JSON values. Import is dominated by
/// parsing text, so Arrow's builders are fine here; conversion failures name the value and the type.
/// </summary>
internal sealed class ColumnBuilder
{
    private readonly Field _field;
    private readonly IArrowArrayBuilder _builder;
    private readonly Action<string> _appendText;
    private readonly Action _appendNull;

    public ColumnBuilder(Field field)
    {
        _field = field;
        switch (field.DataType)
        {
            case BooleanType: { var b = new BooleanArray.Builder(); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(ParseBool(s)); break; }
            case Int8Type: { var b = new Int8Array.Builder(); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(sbyte.Parse(s, CultureInfo.InvariantCulture)); break; }
            case Int16Type: { var b = new Int16Array.Builder(); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(short.Parse(s, CultureInfo.InvariantCulture)); break; }
            case Int32Type: { var b = new Int32Array.Builder(); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(int.Parse(s, CultureInfo.InvariantCulture)); break; }
            case Int64Type: { var b = new Int64Array.Builder(); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(long.Parse(s, CultureInfo.InvariantCulture)); break; }
            case FloatType: { var b = new FloatArray.Builder(); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(float.Parse(s, CultureInfo.InvariantCulture)); break; }
            case DoubleType: { var b = new DoubleArray.Builder(); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(double.Parse(s, CultureInfo.InvariantCulture)); break; }
            case Decimal128Type d: { var b = new Decimal128Array.Builder(d); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => AppendDecimal(b, ParseDecimal(s, d)); break; }
            case StringType: { var b = new StringArray.Builder(); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(s); break; }
            case BinaryType: { var b = new BinaryArray.Builder(); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(Convert.FromBase64String(s).AsSpan()); break; }
            case Date32Type: { var b = new Date32Array.Builder(); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(DateOnly.Parse(s, CultureInfo.InvariantCulture)); break; }
            case TimestampType t: { var b = new TimestampArray.Builder(t); _builder = b; _appendNull = () => b.AppendNull(); _appendText = s => b.Append(ParseTimestamp(s)); break; }
            default: throw new InvalidInputException($"Column '{field.Name}' has type {field.DataType.Name}, which file import does not support.");
        }
    }

    public int Length => _builder.Length;

    /// <summary>
    /// Appends a text value; empty text or null is a null, which a required (non-nullable) column refuses. Throws
    /// FormatException naming the column on bad values.
    /// </summary>
    public void AppendText(string? text)
    {
        if (string.IsNullOrEmpty(text)) { AppendRequiredNull(); return; }
        try
        {
            _appendText(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new FormatException($"column '{_field.Name}': '{Truncate(text)}' is not a valid {_field.DataType.Name}", e);
        }
    }

    public void AppendJson(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined: AppendNull(); break;
            case JsonValueKind.String: AppendText(value.GetString()); break;
            case JsonValueKind.True or JsonValueKind.False when _field.DataType is StringType: AppendText(value.GetBoolean() ? "true" : "false"); break;
            case JsonValueKind.Object or JsonValueKind.Array when _field.DataType is StringType: AppendText(value.GetRawText()); break;
            case JsonValueKind.Number when _field.DataType is TimestampType:
                // Numbers for timestamps are epoch milliseconds (what most producers emit).
                AppendText(DateTimeOffset.FromUnixTimeMilliseconds(value.GetInt64()).ToString("O"));
                break;
            default: AppendText(value.GetRawText()); break;
        }
    }

    /// <summary>
    /// Appends the JSON value the reader is on (the token after a property name), with the same conversions as
    /// <see cref="AppendJson(JsonElement)"/> but straight from the UTF-8 bytes for the common cases (numbers into
    /// numeric columns, strings, booleans, UTC timestamps): message sources convert millions of values this way.
    /// </summary>
    public void AppendJson(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: AppendRequiredNull(); return;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                using (var doc = JsonDocument.ParseValue(ref reader)) AppendJson(doc.RootElement);
                return;
            case JsonTokenType.True or JsonTokenType.False:
                if (_builder is BooleanArray.Builder bools) bools.Append(reader.TokenType == JsonTokenType.True);
                else AppendText(reader.TokenType == JsonTokenType.True ? "true" : "false");
                return;
            case JsonTokenType.Number:
                switch (_builder)
                {
                    case Int64Array.Builder b when reader.TryGetInt64(out var l): b.Append(l); return;
                    case Int32Array.Builder b when reader.TryGetInt32(out var i): b.Append(i); return;
                    case DoubleArray.Builder b when reader.TryGetDouble(out var d): b.Append(d); return;
                    case Decimal128Array.Builder b when reader.TryGetDecimal(out var m):
                        AppendDecimal(b, CheckScale(m, (Decimal128Type)_field.DataType, () => m.ToString(CultureInfo.InvariantCulture)));
                        return;
                    case TimestampArray.Builder b when reader.TryGetInt64(out var ms):
                        // Numbers for timestamps are epoch milliseconds (what most producers emit).
                        b.Append(DateTimeOffset.FromUnixTimeMilliseconds(ms));
                        return;
                }
                AppendText(System.Text.Encoding.UTF8.GetString(reader.ValueSpan));
                return;
            case JsonTokenType.String:
                if (_builder is StringArray.Builder strings)
                {
                    // Unescaped text is already the UTF-8 the column stores: no string in between.
                    if (reader.ValueSpan.Length == 0) AppendRequiredNull();
                    else if (!reader.ValueIsEscaped) strings.Append(reader.ValueSpan);
                    else strings.Append(reader.GetString());
                    return;
                }
                // ISO 8601 with a Z is read straight from the bytes; other forms go through the text parser (which assumes UTC).
                if (_builder is TimestampArray.Builder ts && !reader.ValueIsEscaped && reader.ValueSpan is [.., (byte)'Z'] && reader.TryGetDateTimeOffset(out var t))
                {
                    ts.Append(t.ToUniversalTime());
                    return;
                }
                AppendText(reader.GetString());
                return;
            default:
                throw new FormatException($"column '{_field.Name}': unexpected JSON token {reader.TokenType}");
        }
    }

    /// <summary>Appends a null whatever the column's nullability (a failed row's padding; callers check required columns).</summary>
    public void AppendNull() => _appendNull();

    /// <summary>A null from the input: a value of its own in a nullable column, a bad value in a required one (the table would hold a null it forbids).</summary>
    private void AppendRequiredNull()
    {
        if (!_field.IsNullable) throw new FormatException($"column '{_field.Name}' is required but missing or null");
        _appendNull();
    }

    public IArrowArray Build() => _builder switch
    {
        BooleanArray.Builder b => b.Build(),
        Int8Array.Builder b => b.Build(),
        Int16Array.Builder b => b.Build(),
        Int32Array.Builder b => b.Build(),
        Int64Array.Builder b => b.Build(),
        FloatArray.Builder b => b.Build(),
        DoubleArray.Builder b => b.Build(),
        Decimal128Array.Builder b => b.Build(),
        StringArray.Builder b => b.Build(),
        BinaryArray.Builder b => b.Build(),
        Date32Array.Builder b => b.Build(),
        TimestampArray.Builder b => b.Build(),
        _ => throw new InvalidOperationException(),
    };

    private static bool ParseBool(string s) => s.Trim().ToLowerInvariant() switch
    {
        "true" or "t" or "1" or "yes" or "y" => true,
        "false" or "f" or "0" or "no" or "n" => false,
        _ => throw new FormatException(),
    };

    private static decimal ParseDecimal(string s, Decimal128Type type)
    {
        var value = decimal.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
        var rounded = Math.Round(value, type.Scale, MidpointRounding.ToEven);
        if (rounded != value) throw new FormatException($"more than {type.Scale} decimal places");
        return rounded;
    }

    private decimal CheckScale(decimal value, Decimal128Type type, Func<string> text)
    {
        var rounded = Math.Round(value, type.Scale, MidpointRounding.ToEven);
        if (rounded != value)
            throw new FormatException($"column '{_field.Name}': '{Truncate(text())}' is not a valid {_field.DataType.Name} (more than {type.Scale} decimal places)");
        return rounded;
    }

    /// <summary>
    /// Appends a decimal already at most at the column's scale as its unscaled 128-bit value. Arrow's Append(decimal)
    /// computes the same through BigInteger, which was a tenth of the cost of converting a JSON message.
    /// </summary>
    private void AppendDecimal(Decimal128Array.Builder builder, decimal value)
    {
        var type = (Decimal128Type)_field.DataType;
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var mantissa = ((Int128)(uint)bits[2] << 64) | ((Int128)(uint)bits[1] << 32) | (uint)bits[0];
        var unscaled = mantissa * Powers10[type.Scale - ((bits[3] >> 16) & 0xFF)]; // 96 bits x 10^38 at most: no overflow
        if (unscaled >= Powers10[type.Precision])
            throw new FormatException($"column '{_field.Name}': {value.ToString(CultureInfo.InvariantCulture)} has more digits than decimal({type.Precision},{type.Scale}) holds");
        Span<byte> bytes = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteInt128LittleEndian(bytes, bits[3] < 0 ? -unscaled : unscaled);
        builder.Append(bytes);
    }

    /// <summary>10^0 .. 10^38.</summary>
    private static readonly Int128[] Powers10 = PowersOfTen();

    private static Int128[] PowersOfTen()
    {
        var powers = new Int128[39];
        powers[0] = 1;
        for (var i = 1; i < powers.Length; i++) powers[i] = powers[i - 1] * 10;
        return powers;
    }

    // The inferred formats first (the same set inference takes), then anything else the invariant parser reads.
    private static DateTimeOffset ParseTimestamp(string s) =>
        TimestampText.TryParse(s, out var value) ? value
            : DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..57] + "...";
}
