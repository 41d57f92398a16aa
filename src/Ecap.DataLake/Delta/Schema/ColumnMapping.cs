using System.Globalization;
using System.Text.Json.Nodes;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Parquet;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Column mapping: users see logical names everywhere, while data files, <c>add.partitionValues</c> and
/// <c>add.stats</c> use physical names (or Parquet field ids). The translation happens at the two edges: a
/// mapped snapshot hands out its files with logical partition-value and stats keys (<see cref="LogicalFile"/>),
/// and the Parquet reader relabels a file's columns to logical names right after decoding
/// (<see cref="FieldMapping"/>), so pruning, filters and projections in between
/// only ever see logical names.
/// </summary>
internal static class ColumnMapping
{
    public const string ModeKey = "delta.columnMapping.mode";
    public const string IdKey = FieldMapping.IdKey;
    public const string PhysicalNameKey = FieldMapping.PhysicalNameKey;
    public const string MaxColumnIdKey = "delta.columnMapping.maxColumnId";

    /// <summary>The table's mode; an unknown mode is refused (a reader that guessed would read the wrong columns).</summary>
    public static ColumnMappingMode ModeOf(Metadata? metadata) => metadata?.Configuration.GetValueOrDefault(ModeKey) switch
    {
        null or "none" => ColumnMappingMode.None,
        "name" => ColumnMappingMode.Name,
        "id" => ColumnMappingMode.Id,
        var other => throw new UnsupportedProtocolException(
            $"The table's column mapping mode '{other}' (delta.columnMapping.mode) is not one this library knows (none, name, id)."),
    };

    /// <summary>True when the table maps columns (mode name or id); unknown modes count as mapped.</summary>
    public static bool IsMapped(Metadata metadata) =>
        metadata.Configuration.GetValueOrDefault(ModeKey) is { } mode && mode != "none";

    /// <summary>The name a data file uses for the field.</summary>
    public static string PhysicalName(Field field) => FieldMapping.PhysicalName(field);

    /// <summary>The field's column mapping id, or null.</summary>
    public static int? ColumnId(Field field) => FieldMapping.ColumnId(field);

    // ---------------------------------------------------------------- log side: partition values and stats

    /// <summary>The file with partition values and stats keyed by logical names (the file itself when nothing changes).</summary>
    public static AddFile LogicalFile(AddFile file, Schema schema, IReadOnlyList<string> partitionColumns)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var column in partitionColumns)
        {
            var field = schema.GetFieldByName(column);
            if (field is not null && file.PartitionValues.TryGetValue(PhysicalName(field), out var v)) values[column] = v;
        }
        return file with { PartitionValues = values, Stats = LogicalStats(file.Stats, schema) };
    }

    /// <summary>Stats JSON with its per-column objects keyed by logical names; keys of dropped columns are left out.</summary>
    public static string? LogicalStats(string? json, Schema schema)
    {
        if (string.IsNullOrEmpty(json)) return json;
        JsonObject? root;
        try { root = JsonNode.Parse(json) as JsonObject; }
        catch (System.Text.Json.JsonException) { return null; } // unreadable stats prune nothing
        if (root is null) return null;
        foreach (var key in new[] { "minValues", "maxValues", "nullCount" })
            if (root[key] is JsonObject values) root[key] = Rename(values, schema.FieldsList);
        return root.ToJsonString();
    }

    private static JsonObject Rename(JsonObject values, IReadOnlyList<Field> fields)
    {
        var result = new JsonObject();
        foreach (var field in fields)
        {
            if (!values.TryGetPropertyValue(PhysicalName(field), out var v)) continue;
            result[field.Name] = field.DataType is StructType st && v is JsonObject nested ? Rename(nested, st.Fields) : v?.DeepClone();
        }
        return result;
    }

}
