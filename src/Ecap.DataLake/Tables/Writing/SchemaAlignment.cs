using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tables.Writing;

/// <summary>
/// Lines input batches up with a table's schema: same columns in the table's order, missing nullable
/// columns filled with nulls, new columns allowed only with mergeSchema, type changes refused with the
/// names of the columns involved.
/// </summary>
internal static class SchemaAlignment
{
    /// <summary>
    /// The schema the table will have after a write of <paramref name="input"/>: the table's own, or the
    /// table's plus the input's new (nullable) columns when <paramref name="mergeSchema"/> is set.
    /// </summary>
    public static Schema Resolve(Schema table, Schema input, bool mergeSchema, IReadOnlyCollection<string> partitionColumns)
    {
        var problems = new List<string>();
        foreach (var field in input.FieldsList)
        {
            var existing = table.GetFieldIndex(field.Name) is var i and >= 0 ? table.GetFieldByIndex(i) : null;
            if (existing != null && !SameType(existing.DataType, field.DataType))
                problems.Add($"'{field.Name}' is {TypeText(existing.DataType)} in the table but {TypeText(field.DataType)} in the input");
        }
        var extra = input.FieldsList.Where(f => table.GetFieldIndex(f.Name) < 0).ToList();
        var missingRequired = table.FieldsList
            .Where(f => input.GetFieldIndex(f.Name) < 0 && !f.IsNullable && !partitionColumns.Contains(f.Name)).ToList();
        if (extra.Count > 0 && !mergeSchema)
            problems.Add($"new column(s) {string.Join(", ", extra.Select(f => $"'{f.Name}'"))} are not in the table (use mergeSchema to add them)");
        if (missingRequired.Count > 0)
            problems.Add($"required column(s) {string.Join(", ", missingRequired.Select(f => $"'{f.Name}'"))} are missing from the input");
        if (problems.Count > 0)
            throw new SchemaMismatchException("The input does not match the table's schema: " + string.Join("; ", problems) + ".");
        if (extra.Count == 0) return table;

        var builder = new Schema.Builder();
        foreach (var f in table.FieldsList) builder.Field(f);
        foreach (var f in extra) builder.Field(new Field(f.Name, f.DataType, nullable: true, f.Metadata));
        return builder.Build();
    }

    /// <summary>The batch with the columns of <paramref name="target"/>, in its order (missing ones as nulls).</summary>
    public static RecordBatch Conform(RecordBatch batch, Schema target)
    {
        if (ReferenceEquals(batch.Schema, target)) return batch;
        var columns = new IArrowArray[target.FieldsList.Count];
        for (var c = 0; c < columns.Length; c++)
        {
            var field = target.GetFieldByIndex(c);
            var index = batch.Schema.GetFieldIndex(field.Name);
            columns[c] = index >= 0 ? batch.Column(index) : ArrowGather.Nulls(field.DataType, batch.Length);
        }
        return new RecordBatch(target, columns, batch.Length);
    }

    public static bool SameType(IArrowType a, IArrowType b) => (a, b) switch
    {
        (TimestampType x, TimestampType y) => x.Unit == y.Unit && (x.Timezone is null) == (y.Timezone is null),
        (Decimal128Type x, Decimal128Type y) => x.Precision == y.Precision && x.Scale == y.Scale,
        (StructType x, StructType y) => x.Fields.Count == y.Fields.Count &&
            x.Fields.Zip(y.Fields).All(p => p.First.Name == p.Second.Name && SameType(p.First.DataType, p.Second.DataType)),
        (ListType x, ListType y) => SameType(x.ValueDataType, y.ValueDataType),
        (MapType x, MapType y) => SameType(x.KeyField.DataType, y.KeyField.DataType) && SameType(x.ValueField.DataType, y.ValueField.DataType),
        _ => a.TypeId == b.TypeId,
    };

    private static string TypeText(IArrowType type) => type switch
    {
        TimestampType t => $"timestamp[{t.Unit.ToString().ToLowerInvariant()}{(t.Timezone is null ? "" : ", " + t.Timezone)}]",
        Decimal128Type d => $"decimal({d.Precision},{d.Scale})",
        _ => type.Name,
    };
}
