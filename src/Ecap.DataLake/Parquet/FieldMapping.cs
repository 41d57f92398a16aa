using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Parquet;

/// <summary>How a table's data files name its columns (PROTOCOL.md, "Column Mapping").</summary>
internal enum ColumnMappingMode
{
    /// <summary>Files use the logical (schema) names.</summary>
    None,

    /// <summary>Files use each field's <c>delta.columnMapping.physicalName</c>.</summary>
    Name,

    /// <summary>Files are matched by Parquet field id (<c>delta.columnMapping.id</c>), else by physical name.</summary>
    Id,
}

/// <summary>
/// The data-file side of Delta column mapping: a file's columns (nested struct fields too) relabelled with the logical
/// names of the table columns they map to when read, and written under their physical names with field ids.
/// </summary>
internal static class FieldMapping
{
    public const string IdKey = "delta.columnMapping.id";
    public const string PhysicalNameKey = "delta.columnMapping.physicalName";

    /// <summary>The Arrow field metadata key the Parquet reader and writer use for a field id.</summary>
    public const string ParquetFieldIdKey = "PARQUET:field_id";

    /// <summary>The name a file column that maps to no table column gets, so it can never shadow a logical name.</summary>
    private const string UnmappedPrefix = "\u0000unmapped:";

    /// <summary>The name a data file uses for the field.</summary>
    public static string PhysicalName(Field field) =>
        field.HasMetadata && field.Metadata.TryGetValue(PhysicalNameKey, out var p) && !string.IsNullOrEmpty(p) ? p : field.Name;

    /// <summary>The field's column mapping id, or null.</summary>
    public static int? ColumnId(Field field) =>
        field.HasMetadata && field.Metadata.TryGetValue(IdKey, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? id : null;

    private static int? FileFieldId(Field field) =>
        field.HasMetadata && field.Metadata.TryGetValue(ParquetFieldIdKey, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var id) ? id : null;

    /// <summary>
    /// The file's schema with each column (nested struct fields too) named by the table column it maps to:
    /// by field id in mode id (falling back to the physical name when the file has no ids), by physical name
    /// in mode name. File columns no table column maps to get a name no logical name can equal.
    /// Returns <paramref name="file"/> itself when every name already matches.
    /// </summary>
    public static Schema LogicalFileSchema(Schema file, Schema table, ColumnMappingMode mode)
    {
        var fields = MapFields(file.FieldsList, table.FieldsList, mode, out var changed);
        return changed ? new Schema(fields, file.Metadata) : file;
    }

    private static List<Field> MapFields(IReadOnlyList<Field> fileFields, IReadOnlyList<Field> tableFields, ColumnMappingMode mode, out bool changed)
    {
        var byPhysical = new Dictionary<string, Field>(StringComparer.Ordinal);
        var byId = new Dictionary<int, Field>();
        foreach (var t in tableFields)
        {
            byPhysical.TryAdd(PhysicalName(t), t);
            if (mode == ColumnMappingMode.Id && ColumnId(t) is { } id) byId.TryAdd(id, t);
        }
        changed = false;
        var result = new List<Field>(fileFields.Count);
        foreach (var f in fileFields)
        {
            Field? t = null;
            if (mode == ColumnMappingMode.Id && FileFieldId(f) is { } id) byId.TryGetValue(id, out t);
            if (t is null) byPhysical.TryGetValue(f.Name, out t);
            if (t is null)
            {
                result.Add(new Field(UnmappedPrefix + f.Name, f.DataType, f.IsNullable, f.Metadata));
                changed = true;
                continue;
            }
            var type = LogicalType(f.DataType, t.DataType, mode, out var typeChanged);
            changed |= typeChanged || f.Name != t.Name;
            result.Add(typeChanged || f.Name != t.Name ? new Field(t.Name, type, f.IsNullable, f.Metadata) : f);
        }
        return result;
    }

    private static IArrowType LogicalType(IArrowType file, IArrowType table, ColumnMappingMode mode, out bool changed)
    {
        changed = false;
        switch (file, table)
        {
            case (StructType fs, StructType ts):
                var fields = MapFields(fs.Fields, ts.Fields, mode, out changed);
                return changed ? new StructType(fields) : file;
            case (MapType fm, MapType tm):
            {
                var key = LogicalType(fm.KeyField.DataType, tm.KeyField.DataType, mode, out var k);
                var value = LogicalType(fm.ValueField.DataType, tm.ValueField.DataType, mode, out var v);
                changed = k || v;
                return changed
                    ? new MapType(new Field(fm.KeyField.Name, key, fm.KeyField.IsNullable, fm.KeyField.Metadata),
                        new Field(fm.ValueField.Name, value, fm.ValueField.IsNullable, fm.ValueField.Metadata), keySorted: fm.KeySorted)
                    : file;
            }
            case (ListType fl, ListType tl):
            {
                var element = LogicalType(fl.ValueDataType, tl.ValueDataType, mode, out changed);
                return changed ? new ListType(new Field(fl.ValueField.Name, element, fl.ValueField.IsNullable, fl.ValueField.Metadata)) : file;
            }
            default:
                return file;
        }
    }

    /// <summary>
    /// The schema a data file of a mapped table is written with: <paramref name="logical"/>'s fields (a batch in table
    /// names, maybe without the partition columns) under their physical names, nested fields too, each carrying its
    /// column mapping id as the Parquet field id.
    /// </summary>
    public static Schema PhysicalSchema(Schema logical, Schema table) =>
        new(logical.FieldsList.Select(f => PhysicalField(f, table.GetFieldByName(f.Name))).ToList(), logical.Metadata);

    private static Field PhysicalField(Field field, Field? tableField)
    {
        if (tableField is null) throw new SchemaMismatchException($"Column '{field.Name}' is not a column of the table.");
        var metadata = ColumnId(tableField) is { } id
            ? new Dictionary<string, string> { [ParquetFieldIdKey] = id.ToString(CultureInfo.InvariantCulture) }
            : null;
        return new Field(PhysicalName(tableField), PhysicalType(field.DataType, tableField.DataType), field.IsNullable, metadata);
    }

    private static IArrowType PhysicalType(IArrowType type, IArrowType table) => (type, table) switch
    {
        (StructType s, StructType t) => new StructType(s.Fields.Select(f => PhysicalField(f, t.Fields.FirstOrDefault(x => x.Name == f.Name))).ToList()),
        (MapType m, MapType t) => new MapType(
            new Field(m.KeyField.Name, PhysicalType(m.KeyField.DataType, t.KeyField.DataType), m.KeyField.IsNullable),
            new Field(m.ValueField.Name, PhysicalType(m.ValueField.DataType, t.ValueField.DataType), m.ValueField.IsNullable), keySorted: m.KeySorted),
        (ListType l, ListType t) => new ListType(new Field(l.ValueField.Name, PhysicalType(l.ValueDataType, t.ValueDataType), l.ValueField.IsNullable)),
        _ => type,
    };

    /// <summary>Partition values keyed by the partition columns' physical names (for <c>add.partitionValues</c>).</summary>
    public static IReadOnlyDictionary<string, string?> PhysicalPartitionValues(IReadOnlyDictionary<string, string?> values, Schema table) =>
        values.ToDictionary(kv => table.GetFieldByName(kv.Key) is { } f ? PhysicalName(f) : kv.Key, kv => kv.Value, StringComparer.Ordinal);

    /// <summary>The decoded batch labelled with <paramref name="schema"/> (from <see cref="LogicalFileSchema"/>): same buffers, new names.</summary>
    /// <param name="batch">The decoded columns.</param>
    /// <param name="schema">The file's logical schema.</param>
    /// <param name="fileFields">The file field index of each batch column (null: the batch holds every field, in order).</param>
    public static RecordBatch Relabel(RecordBatch batch, Schema schema, IReadOnlyList<int>? fileFields)
    {
        var arrays = new IArrowArray[batch.ColumnCount];
        var fields = new Field[batch.ColumnCount];
        for (var i = 0; i < arrays.Length; i++)
        {
            var column = batch.Column(i);
            fields[i] = schema.GetFieldByIndex(fileFields?[i] ?? i);
            var data = RelabelData(column.Data, fields[i].DataType);
            arrays[i] = ReferenceEquals(data, column.Data) ? column : ArrowArrayFactory.BuildArray(data);
        }
        return new RecordBatch(new Schema(fields, batch.Schema.Metadata), arrays, batch.Length);
    }

    private static ArrayData RelabelData(ArrayData data, IArrowType type)
    {
        ArrayData[] children;
        switch (type)
        {
            case StructType st:
                children = new ArrayData[data.Children.Length];
                for (var i = 0; i < children.Length; i++) children[i] = RelabelData(data.Children[i], st.Fields[i].DataType);
                break;
            case MapType mt:
                children = [RelabelData(data.Children[0], mt.KeyValueType)];
                break;
            case ListType lt:
                children = [RelabelData(data.Children[0], lt.ValueDataType)];
                break;
            default:
                return data;
        }
        return new ArrayData(type, data.Length, data.NullCount, data.Offset, data.Buffers, children, data.Dictionary);
    }
}
