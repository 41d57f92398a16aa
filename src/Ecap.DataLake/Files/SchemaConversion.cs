using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Files;

/// <summary>
/// Casts typed batches (Parquet sources) to a target schema by column name, as text files are parsed into it: a column
/// of another type is converted value by value through its invariant text (the CSV parsers of <see cref="ColumnBuilder"/>),
/// and a row with a value that does not convert, or a null in a required column, is a bad record (raw: the row as JSON).
/// Columns the target lacks pass through unchanged.
/// </summary>
internal static class SchemaConversion
{
    public static (RecordBatch Rows, List<BadRecord> Bad) Convert(RecordBatch batch, Schema target, long firstRecord)
    {
        var fields = new List<Field>(batch.ColumnCount);
        var columns = new List<IArrowArray>(batch.ColumnCount);
        var errors = new SortedDictionary<int, string>();
        var changed = false;
        for (var c = 0; c < batch.ColumnCount; c++)
        {
            var field = batch.Schema.GetFieldByIndex(c);
            var column = batch.Column(c);
            var index = target.GetFieldIndex(field.Name);
            if (index < 0)
            {
                fields.Add(field);
                columns.Add(column);
                continue;
            }
            var known = target.GetFieldByIndex(index);
            changed |= field.IsNullable != known.IsNullable || !SameType(field.DataType, known.DataType);
            if (!SameType(field.DataType, known.DataType))
            {
                var builder = new ColumnBuilder(known);
                for (var r = 0; r < batch.Length; r++)
                {
                    try
                    {
                        builder.AppendText(ArrowValues.Format(ArrowValues.Get(column, r)));
                    }
                    catch (FormatException e)
                    {
                        errors.TryAdd(r, e.Message);
                        builder.AppendNull();
                    }
                }
                column = builder.Build();
            }
            else if (!known.IsNullable && column.NullCount > 0)
            {
                for (var r = 0; r < batch.Length; r++)
                    if (column.IsNull(r)) errors.TryAdd(r, $"column '{known.Name}' is required but missing or null");
            }
            fields.Add(known);
            columns.Add(column);
        }
        if (!changed) return (batch, []);
        var converted = new RecordBatch(new Schema(fields, batch.Schema.Metadata), columns, batch.Length);
        if (errors.Count == 0) return (converted, []);
        var bad = errors.Select(e => new BadRecord(firstRecord + e.Key, 0, Delta.TableConstraints.Describe(batch, e.Key), e.Value)).ToList();
        var keep = Enumerable.Range(0, batch.Length).Where(r => !errors.ContainsKey(r)).ToArray();
        return (ArrowGather.Take(converted, keep), bad);
    }

    /// <summary>Whether values of <paramref name="a"/> are stored as <paramref name="b"/> (unit, time zone, precision and scale included).</summary>
    private static bool SameType(IArrowType a, IArrowType b) => (a, b) switch
    {
        (TimestampType x, TimestampType y) => x.Unit == y.Unit && (x.Timezone is null) == (y.Timezone is null),
        (Decimal128Type x, Decimal128Type y) => x.Precision == y.Precision && x.Scale == y.Scale,
        _ => a.TypeId == b.TypeId,
    };
}
