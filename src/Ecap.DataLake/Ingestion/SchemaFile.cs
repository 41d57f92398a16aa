using System.Text;
using System.Text.Json;
using Apache.Arrow;

namespace Ecap.DataLake.Ingestion;

/// <summary>
/// An explicit schema for file ingestion, from a file holding either a Spark JSON schema
/// (<c>{"type":"struct","fields":[...]}</c>, as in a Delta log's schemaString) or a list of
/// <c>name:type</c> (or <c>name type</c>) pairs, one per line or comma-separated (types: string, long/bigint, integer/int,
/// short, byte, double, float, boolean/bool, date, timestamp, decimal(p,s), binary).
/// </summary>
public static class SchemaFile
{
    public static Schema Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException($"Schema file '{path}' does not exist.");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>
    /// The schema as <see cref="Parse"/> reads it back: <c>name type, name type, ...</c> (what <c>--dry-run</c> prints, to copy
    /// into <c>--schema</c>); a schema with nested types or names that text cannot hold is given as Spark JSON.
    /// </summary>
    public static string Format(Schema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var names = schema.FieldsList.Select(f => Delta.DeltaSchema.TypeName(f.DataType)).ToList();
        var plain = names.All(t => t is not ("struct" or "array" or "map"))
            && schema.FieldsList.All(f => f.Name.Length > 0 && !f.Name.Any(ch => char.IsWhiteSpace(ch) || ch is ',' or ':' or '#' or '(' or ')'));
        return plain
            ? string.Join(", ", schema.FieldsList.Select((f, i) => f.Name + " " + names[i]))
            : Delta.DeltaSchema.ToSchemaString(schema);
    }

    public static Schema Parse(string text, string origin = "schema")
    {
        text = text.Trim();
        try
        {
            if (text.StartsWith('{')) return Delta.DeltaSchema.ToArrowSchema(text);
        }
        catch (Exception e) when (e is JsonException or FormatException or NotSupportedException or ArgumentException or KeyNotFoundException or InvalidOperationException)
        {
            throw new InvalidInputException($"{origin}: not a valid Spark JSON schema ({e.Message})");
        }
        catch (CorruptTableException e)
        {
            // DeltaSchema reports a schema it cannot parse as a damaged table; here the schema is the user's.
            throw new InvalidInputException($"{origin}: not a valid Spark JSON schema ({e.InnerException?.Message ?? e.Message})");
        }
        var json = new StringBuilder("{\"type\":\"struct\",\"fields\":[");
        var first = true;
        // Commas separate entries except inside decimal(p,s).
        foreach (var entry in System.Text.RegularExpressions.Regex.Split(text, @"\n|,(?![^()]*\))").Select(e => e.Trim()).Where(e => e.Length > 0))
        {
            if (entry.StartsWith('#')) continue;
            // name:type, or SQL's "name type" (the form --dry-run prints).
            var colon = entry.IndexOf(':');
            if (colon <= 0) colon = entry.IndexOfAny([' ', '\t']);
            if (colon <= 0) throw new InvalidInputException($"{origin}: '{entry}' is not name:type or 'name type'");
            var name = entry[..colon].Trim();
            var type = entry[(colon + 1)..].Trim().ToLowerInvariant() switch
            {
                "string" or "text" => "string",
                "long" or "bigint" or "int64" => "long",
                "int" or "integer" or "int32" => "integer",
                "short" or "smallint" => "short",
                "byte" or "tinyint" => "byte",
                "double" or "float64" => "double",
                "float" or "real" or "float32" => "float",
                "bool" or "boolean" => "boolean",
                "date" => "date",
                "timestamp" => "timestamp",
                "timestamp_ntz" => "timestamp_ntz",
                "binary" => "binary",
                var d when d.StartsWith("decimal(", StringComparison.Ordinal) => d.Replace(" ", "", StringComparison.Ordinal),
                var other => throw new InvalidInputException($"{origin}: unknown type '{other}' for column '{name}'"),
            };
            if (!first) json.Append(',');
            first = false;
            json.Append("{\"name\":").Append(JsonSerializer.Serialize(name)).Append(",\"type\":\"").Append(type).Append("\",\"nullable\":true,\"metadata\":{}}");
        }
        json.Append("]}");
        if (first) throw new InvalidInputException($"{origin}: no columns");
        try
        {
            return Delta.DeltaSchema.ToArrowSchema(json.ToString());
        }
        catch (CorruptTableException e)
        {
            throw new InvalidInputException($"{origin}: {e.InnerException?.Message ?? e.Message}");
        }
    }
}
