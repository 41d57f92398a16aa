using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Delta;

/// <summary>
/// The one mapping between the Spark JSON schema of <c>metaData.schemaString</c> and Arrow schemas.
/// byte/short/integer/long -> Int8/16/32/64, float/double, boolean, string -> Utf8, binary, date -> Date32,
/// timestamp -> Timestamp(us, "UTC"), timestamp_ntz -> Timestamp(us, no zone), decimal(p,s) -> Decimal128,
/// struct, array (containsNull as the element field's nullability), map (valueContainsNull).
/// Spark field metadata (any JSON values) maps to Arrow string metadata: string values as themselves,
/// other values as raw JSON, listed under <see cref="JsonValuedKeysMetadataKey"/> so they round-trip.
/// </summary>
internal static partial class DeltaSchema
{
    /// <summary>Arrow metadata key listing (comma-separated) the keys whose values are raw JSON, not strings.</summary>
    public const string JsonValuedKeysMetadataKey = "ecap.delta.jsonValuedKeys";

    /// <summary>The schema of a table without columns (metadata-only tables in tests omit schemaString).</summary>
    public const string EmptySchemaString = "{\"type\":\"struct\",\"fields\":[]}";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [GeneratedRegex(@"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")]
    private static partial Regex DecimalPattern();

    // ---------------------------------------------------------------- Spark JSON -> Arrow

    /// <summary>Parses a schemaString into an Arrow schema. A malformed schema is a <see cref="CorruptTableException"/>.</summary>
    public static Apache.Arrow.Schema ToArrowSchema(string schemaString)
    {
        try
        {
            using var doc = JsonDocument.Parse(schemaString);
            if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("fields", out var top) &&
                top.ValueKind == JsonValueKind.Array && top.GetArrayLength() == 0)
                return new Apache.Arrow.Schema([], null); // Arrow has no empty struct type
            var type = ParseType(doc.RootElement);
            if (type is not StructType st)
                throw new FormatException("the top level type is not a struct");
            return new Apache.Arrow.Schema(st.Fields, null);
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            throw new CorruptTableException($"The table schema (metaData.schemaString) cannot be parsed: {e.Message}", e);
        }
    }

    private static IArrowType ParseType(JsonElement t)
    {
        if (t.ValueKind == JsonValueKind.String)
            return ParsePrimitive(t.GetString()!);
        var kind = t.GetProperty("type").GetString();
        switch (kind)
        {
            case "struct":
                return new StructType(t.GetProperty("fields").EnumerateArray().Select(ParseField).ToList());
            case "array":
                return new ListType(new Field("element", ParseType(t.GetProperty("elementType")), t.GetProperty("containsNull").GetBoolean()));
            case "map":
                return new MapType(
                    new Field("key", ParseType(t.GetProperty("keyType")), false),
                    new Field("value", ParseType(t.GetProperty("valueType")), t.GetProperty("valueContainsNull").GetBoolean()));
            default:
                throw new FormatException($"unknown complex type '{kind}'");
        }
    }

    private static Field ParseField(JsonElement f)
    {
        var name = f.GetProperty("name").GetString()!;
        var type = ParseType(f.GetProperty("type"));
        var nullable = !f.TryGetProperty("nullable", out var n) || n.GetBoolean();
        Dictionary<string, string>? metadata = null;
        if (f.TryGetProperty("metadata", out var md) && md.ValueKind == JsonValueKind.Object)
        {
            var jsonKeys = new List<string>();
            foreach (var p in md.EnumerateObject())
            {
                metadata ??= new Dictionary<string, string>();
                if (p.Value.ValueKind == JsonValueKind.String) metadata[p.Name] = p.Value.GetString()!;
                else
                {
                    metadata[p.Name] = p.Value.GetRawText();
                    jsonKeys.Add(p.Name);
                }
            }
            if (jsonKeys.Count > 0) metadata![JsonValuedKeysMetadataKey] = string.Join(",", jsonKeys);
        }
        return new Field(name, type, nullable, metadata);
    }

    private static IArrowType ParsePrimitive(string name)
    {
        switch (name)
        {
            case "byte": return Int8Type.Default;
            case "short": return Int16Type.Default;
            case "integer": return Int32Type.Default;
            case "long": return Int64Type.Default;
            case "float": return FloatType.Default;
            case "double": return DoubleType.Default;
            case "boolean": return BooleanType.Default;
            case "string": return StringType.Default;
            case "binary": return BinaryType.Default;
            case "date": return Date32Type.Default;
            case "timestamp": return new TimestampType(TimeUnit.Microsecond, "UTC");
            case "timestamp_ntz": return new TimestampType(TimeUnit.Microsecond, (string?)null);
            case "decimal": return new Decimal128Type(10, 0);
        }
        var m = DecimalPattern().Match(name);
        if (m.Success)
        {
            var precision = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var scale = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            if (precision is < 1 or > 38 || scale > precision)
                throw new FormatException($"invalid decimal type '{name}' (precision 1..38, scale <= precision)");
            return new Decimal128Type(precision, scale);
        }
        throw new FormatException($"unknown primitive type '{name}'");
    }

    // ---------------------------------------------------------------- Arrow -> Spark JSON

    /// <summary>The schemaString of an Arrow schema. Arrow types Delta cannot store are a <see cref="SchemaMismatchException"/>.</summary>
    public static string ToSchemaString(Apache.Arrow.Schema schema)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteStruct(w, schema.FieldsList, "");
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The Spark type name of an Arrow type ("long", "decimal(10,2)", ...); nested types give "struct"/"array"/"map".</summary>
    public static string TypeName(IArrowType type) => type switch
    {
        StructType => "struct",
        ListType or LargeListType or FixedSizeListType => "array",
        MapType => "map",
        _ => PrimitiveName(type, ""),
    };

    /// <summary>True when the schema uses timestamp_ntz (which needs the timestampNtz table feature).</summary>
    public static bool UsesTimestampNtz(Apache.Arrow.Schema schema) => schema.FieldsList.Any(f => UsesNtz(f.DataType));

    private static bool UsesNtz(IArrowType t) => t switch
    {
        TimestampType ts => string.IsNullOrEmpty(ts.Timezone),
        NestedType n => n.Fields.Any(f => UsesNtz(f.DataType)),
        _ => false,
    };

    private static void WriteStruct(Utf8JsonWriter w, IReadOnlyList<Field> fields, string path)
    {
        w.WriteStartObject();
        w.WriteString("type", "struct");
        w.WriteStartArray("fields");
        foreach (var f in fields)
        {
            w.WriteStartObject();
            w.WriteString("name", f.Name);
            w.WritePropertyName("type");
            WriteType(w, f.DataType, path + f.Name);
            w.WriteBoolean("nullable", f.IsNullable);
            w.WriteStartObject("metadata");
            if (f.HasMetadata)
            {
                var jsonKeys = f.Metadata.TryGetValue(JsonValuedKeysMetadataKey, out var keys)
                    ? keys.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet()
                    : [];
                foreach (var (k, v) in f.Metadata)
                {
                    if (k == JsonValuedKeysMetadataKey) continue;
                    if (jsonKeys.Contains(k))
                    {
                        w.WritePropertyName(k);
                        w.WriteRawValue(v);
                    }
                    else w.WriteString(k, v);
                }
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteType(Utf8JsonWriter w, IArrowType type, string path)
    {
        switch (type)
        {
            case StructType st:
                WriteStruct(w, st.Fields, path + ".");
                return;
            case MapType mt:
                w.WriteStartObject();
                w.WriteString("type", "map");
                w.WritePropertyName("keyType");
                WriteType(w, mt.KeyField.DataType, path + ".key");
                w.WritePropertyName("valueType");
                WriteType(w, mt.ValueField.DataType, path + ".value");
                w.WriteBoolean("valueContainsNull", mt.ValueField.IsNullable);
                w.WriteEndObject();
                return;
            case ListType lt:
                WriteArray(w, lt.ValueField, path);
                return;
            case LargeListType llt:
                WriteArray(w, llt.ValueField, path);
                return;
            case FixedSizeListType flt:
                WriteArray(w, flt.ValueField, path);
                return;
            default:
                w.WriteStringValue(PrimitiveName(type, path));
                return;
        }
    }

    private static void WriteArray(Utf8JsonWriter w, Field element, string path)
    {
        w.WriteStartObject();
        w.WriteString("type", "array");
        w.WritePropertyName("elementType");
        WriteType(w, element.DataType, path + ".element");
        w.WriteBoolean("containsNull", element.IsNullable);
        w.WriteEndObject();
    }

    private static string PrimitiveName(IArrowType type, string path) => type switch
    {
        Int8Type => "byte",
        Int16Type => "short",
        Int32Type => "integer",
        Int64Type => "long",
        FloatType => "float",
        DoubleType => "double",
        BooleanType => "boolean",
        StringType or LargeStringType or StringViewType => "string",
        BinaryType or LargeBinaryType or BinaryViewType or FixedSizeBinaryType when type is not Decimal128Type and not Decimal256Type => "binary",
        Date32Type or Date64Type => "date",
        TimestampType ts => string.IsNullOrEmpty(ts.Timezone) ? "timestamp_ntz" : "timestamp",
        Decimal128Type d => string.Create(CultureInfo.InvariantCulture, $"decimal({d.Precision},{d.Scale})"),
        Decimal256Type d when d.Precision <= 38 => string.Create(CultureInfo.InvariantCulture, $"decimal({d.Precision},{d.Scale})"),
        _ => throw new SchemaMismatchException(
            $"Column '{path}' has Arrow type {type.Name}, which a Delta table cannot store. " +
            "Use a signed integer, float, double, boolean, string, binary, date, timestamp, decimal(<=38), struct, list or map."),
    };
}
