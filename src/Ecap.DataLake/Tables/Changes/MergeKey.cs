using Apache.Arrow;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tables.Changes;

/// <summary>A match key: one integer key as itself (no string per row), anything else as the text of its values.</summary>
internal readonly record struct MergeKey(long Number, string? Text)
{
    public override string ToString() => Text?.Replace("\u0001", ", ", StringComparison.Ordinal) ?? Number.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Which of <paramref name="parts"/> a key belongs to (stable within a process, which is all a spilled merge needs).</summary>
    public int Part(int parts) => (int)((uint)GetHashCode() % (uint)parts);

    /// <summary>The match key of a row (its key columns' values); null when one is null (SQL: null equals nothing).</summary>
    public static MergeKey? Of(IArrowArray[] keyColumns, int row)
    {
        if (keyColumns.Length == 1)
        {
            var column = keyColumns[0];
            if (column.IsNull(row)) return null;
            switch (column)
            {
                case Int64Array a: return new MergeKey(a.Values[row], null);
                case Int32Array a: return new MergeKey(a.Values[row], null);
                case Int16Array a: return new MergeKey(a.Values[row], null);
                case Int8Array a: return new MergeKey(a.Values[row], null);
                case StringArray a: return new MergeKey(0, a.GetString(row));
            }
            return ArrowValues.Format(ArrowValues.Get(column, row)) is { } single ? new MergeKey(0, single) : null;
        }
        var parts = new string[keyColumns.Length];
        for (var k = 0; k < keyColumns.Length; k++)
        {
            if (ArrowValues.Format(ArrowValues.Get(keyColumns[k], row)) is not { } part) return null;
            parts[k] = part;
        }
        return new MergeKey(0, string.Join("\u0001", parts));
    }
}
