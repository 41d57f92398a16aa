using System.Globalization;
using System.Text.Json.Nodes;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Tables;

/// <summary>
/// Renames, drops and adds top-level columns as a metadata-only commit (PROTOCOL.md "Column Mapping"). A rename or drop
/// needs column mapping: a table without it is upgraded first, as Delta does (mode name; every field, nested ones too,
/// gets an id and a physical name equal to its current name, so the files already written need no rewrite;
/// <c>delta.columnMapping.maxColumnId</c> is the highest id; the protocol becomes reader 2 / writer 5, or gains the
/// <c>columnMapping</c> feature at 3/7). A dropped column stays in the files and is no longer read; an added column of a
/// mapped table gets a fresh id and a physical name no file has used.
/// </summary>
internal static class ColumnAlter
{
    /// <summary>The metadata and protocol after the changes (renames, then drops, then adds).</summary>
    public static (Metadata Metadata, Protocol Protocol, string Operation) Apply(Snapshot snapshot, string table,
        IReadOnlyList<(string From, string To)> renames, IReadOnlyList<string> drops, IReadOnlyList<(string Name, string Type)> adds)
    {
        if (renames.Count + drops.Count + adds.Count == 0)
            throw new InvalidInputException("Nothing to alter: give --rename-column old=new, --drop-column name or --add-column name:type.");
        var metadata = snapshot.Metadata;
        var protocol = snapshot.Protocol;
        var mode = ColumnMapping.ModeOf(metadata);
        var fields = snapshot.Schema.FieldsList.ToList();
        var layout = LayoutColumns(metadata);
        var constrained = TableConstraints.Of(metadata).All
            .SelectMany(c => c.Predicate.Columns().Select(n => n.Split('.')[0])).ToHashSet(StringComparer.Ordinal);

        int Index(string name, string what)
        {
            var i = fields.FindIndex(f => f.Name == name);
            if (i < 0) throw new InvalidInputException($"Cannot {what} column '{name}': table '{table}' has no such column (it has: {string.Join(", ", fields.Select(f => f.Name))}).");
            return i;
        }
        void EnsureFree(string name)
        {
            if (string.IsNullOrWhiteSpace(name) || name.Contains('.') || name.Contains('\0'))
                throw new InvalidInputException($"'{name}' is not a valid column name (empty, or holds '.').");
            if (fields.Any(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase)))
                throw new InvalidInputException($"Table '{table}' already has a column named '{name}' (column names are case-insensitive in Delta).");
        }
        void EnsureUnused(string name, string what)
        {
            if (layout.Contains(name))
                throw new InvalidInputException($"Cannot {what} column '{name}' of '{table}': the table's layout (partitioning, sort, bucket or time column) uses it.");
            if (constrained.Contains(name))
                throw new InvalidInputException($"Cannot {what} column '{name}' of '{table}': a constraint names it; drop the constraint first.");
        }

        if ((renames.Count > 0 || drops.Count > 0) && mode == ColumnMappingMode.None)
        {
            (fields, var maxId) = AssignIds(fields);
            metadata = metadata with
            {
                Configuration = new Dictionary<string, string>(metadata.Configuration)
                {
                    [ColumnMapping.ModeKey] = "name",
                    [ColumnMapping.MaxColumnIdKey] = maxId.ToString(CultureInfo.InvariantCulture),
                },
            };
            protocol = WithColumnMapping(protocol);
            mode = ColumnMappingMode.Name;
        }

        var partitionColumns = metadata.PartitionColumns.ToList();
        foreach (var (from, to) in renames)
        {
            var i = Index(from, "rename");
            EnsureUnused(from, "rename");
            if (!string.Equals(from, to, StringComparison.OrdinalIgnoreCase)) EnsureFree(to);
            fields[i] = new Field(to, fields[i].DataType, fields[i].IsNullable, fields[i].Metadata);
            var p = partitionColumns.IndexOf(from);
            if (p >= 0) partitionColumns[p] = to;
        }
        foreach (var name in drops)
        {
            var i = Index(name, "drop");
            if (partitionColumns.Contains(name))
                throw new InvalidInputException($"Cannot drop column '{name}' of '{table}': it is a partition column.");
            EnsureUnused(name, "drop");
            if (fields.Count == 1) throw new InvalidInputException($"Cannot drop column '{name}': it is the last column of '{table}'.");
            fields.RemoveAt(i);
        }
        // New ids start above both the recorded high-water mark and every id in use (a foreign writer's mark may lag behind).
        var nextId = Math.Max(metadata.Configuration.TryGetValue(ColumnMapping.MaxColumnIdKey, out var max) &&
            long.TryParse(max, NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) ? m : 0, MaxId(fields));
        foreach (var (name, type) in adds)
        {
            EnsureFree(name);
            var field = ParseField(name, type);
            if (mode != ColumnMappingMode.None)
            {
                (var mapped, nextId) = AssignIds(field, nextId, fresh: true);
                field = mapped;
            }
            fields.Add(field);
        }
        var configuration = new Dictionary<string, string>(metadata.Configuration);
        if (mode != ColumnMappingMode.None) configuration[ColumnMapping.MaxColumnIdKey] = Math.Max(nextId, MaxId(fields)).ToString(CultureInfo.InvariantCulture);
        metadata = metadata with
        {
            SchemaString = DeltaSchema.ToSchemaString(new Schema(fields, null)),
            PartitionColumns = partitionColumns,
            Configuration = configuration,
        };
        var operation = renames.Count > 0 && drops.Count + adds.Count == 0 ? "RENAME COLUMN"
            : drops.Count > 0 && renames.Count + adds.Count == 0 ? "DROP COLUMNS"
            : adds.Count > 0 && renames.Count + drops.Count == 0 ? "ADD COLUMNS"
            : "ALTER TABLE";
        return (metadata, protocol, operation);
    }

    /// <summary>Columns ecap's layout properties name (partitioning, sort, bucket, time and derived columns).</summary>
    private static HashSet<string> LayoutColumns(Metadata metadata)
    {
        var s = PartitionStrategy.FromTableProperties(metadata.Configuration);
        var result = new HashSet<string>(StringComparer.Ordinal);
        if (s is null) return result;
        result.UnionWith(s.PartitionColumns);
        result.UnionWith(s.SortColumns);
        result.UnionWith(s.ComputedColumns);
        result.UnionWith(s.TruncateColumns.Select(t => t.Source));
        if (s.TimeColumn is not null) result.Add(s.TimeColumn);
        if (s.BucketColumn is not null) result.Add(s.BucketColumn);
        return result;
    }

    /// <summary>The protocol with column mapping: reader 2 / writer 5 for legacy protocols, the feature added at 3/7.</summary>
    private static Protocol WithColumnMapping(Protocol protocol)
    {
        if (protocol.MinWriterVersion == 7)
        {
            static List<string> With(IReadOnlyList<string>? features) =>
                (features ?? []).Contains("columnMapping") ? [.. features!] : [.. features ?? [], "columnMapping"];
            return protocol.MinReaderVersion == 3
                ? protocol with { ReaderFeatures = With(protocol.ReaderFeatures), WriterFeatures = With(protocol.WriterFeatures) }
                : protocol with { MinReaderVersion = Math.Max(2, protocol.MinReaderVersion), WriterFeatures = With(protocol.WriterFeatures) };
        }
        return new Protocol(Math.Max(2, protocol.MinReaderVersion), Math.Max(5, protocol.MinWriterVersion));
    }

    /// <summary>Ids 1..n depth-first and physical names equal to the current names (the files already use them).</summary>
    private static (List<Field> Fields, long MaxId) AssignIds(List<Field> fields)
    {
        var next = 0L;
        var result = new List<Field>(fields.Count);
        foreach (var f in fields)
        {
            (var mapped, next) = AssignIds(f, next, fresh: false);
            result.Add(mapped);
        }
        return (result, next);
    }

    private static (Field Field, long Next) AssignIds(Field field, long next, bool fresh)
    {
        var id = ++next;
        var type = field.DataType;
        (type, next) = AssignNested(type, next, fresh);
        var md = field.HasMetadata ? new Dictionary<string, string>(field.Metadata) : new Dictionary<string, string>();
        md[ColumnMapping.IdKey] = id.ToString(CultureInfo.InvariantCulture);
        md[ColumnMapping.PhysicalNameKey] = fresh ? "col-" + Guid.NewGuid().ToString() : field.Name;
        // The id is a JSON number in the schema string, as Delta writes it.
        var jsonKeys = md.TryGetValue(DeltaSchema.JsonValuedKeysMetadataKey, out var keys) ? keys.Split(',', StringSplitOptions.RemoveEmptyEntries).ToList() : [];
        if (!jsonKeys.Contains(ColumnMapping.IdKey)) jsonKeys.Add(ColumnMapping.IdKey);
        md[DeltaSchema.JsonValuedKeysMetadataKey] = string.Join(",", jsonKeys);
        return (new Field(field.Name, type, field.IsNullable, md), next);
    }

    private static (IArrowType Type, long Next) AssignNested(IArrowType type, long next, bool fresh)
    {
        switch (type)
        {
            case StructType st:
                var children = new List<Field>();
                foreach (var c in st.Fields)
                {
                    (var mapped, next) = AssignIds(c, next, fresh);
                    children.Add(mapped);
                }
                return (new StructType(children), next);
            case MapType mt:
                (var key, next) = AssignNested(mt.KeyField.DataType, next, fresh);
                (var value, next) = AssignNested(mt.ValueField.DataType, next, fresh);
                return (new MapType(new Field(mt.KeyField.Name, key, mt.KeyField.IsNullable), new Field(mt.ValueField.Name, value, mt.ValueField.IsNullable)), next);
            case ListType lt:
                (var element, next) = AssignNested(lt.ValueDataType, next, fresh);
                return (new ListType(new Field(lt.ValueField.Name, element, lt.ValueField.IsNullable)), next);
            default:
                return (type, next);
        }
    }

    private static long MaxId(IEnumerable<Field> fields)
    {
        var max = 0L;
        foreach (var f in fields)
        {
            if (ColumnMapping.ColumnId(f) is { } id) max = Math.Max(max, id);
            if (f.DataType is NestedType n) max = Math.Max(max, MaxId(n.Fields));
        }
        return max;
    }

    /// <summary>A new nullable column of a Delta type name (long, string, decimal(10,2), timestamp, ...).</summary>
    private static Field ParseField(string name, string type)
    {
        var json = new JsonObject
        {
            ["type"] = "struct",
            ["fields"] = new JsonArray(new JsonObject { ["name"] = name, ["type"] = type.Trim(), ["nullable"] = true, ["metadata"] = new JsonObject() }),
        };
        try
        {
            return DeltaSchema.ToArrowSchema(json.ToJsonString()).FieldsList[0];
        }
        catch (CorruptTableException)
        {
            throw new InvalidInputException(
                $"Unknown column type '{type}' for '{name}': use byte, short, integer, long, float, double, boolean, string, binary, date, timestamp, timestamp_ntz or decimal(p,s).");
        }
    }
}
