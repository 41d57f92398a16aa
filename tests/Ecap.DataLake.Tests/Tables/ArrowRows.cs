using System.Runtime.InteropServices;
using Apache.Arrow;

namespace Ecap.DataLake.Tests.Tables;

/// <summary>Reads Arrow values one at a time the slow, obvious way, for checking the fast code.</summary>
internal static class ArrowRows
{
    public static object? Value(IArrowArray array, int i)
    {
        if (array.IsNull(i)) return null;
        return array switch
        {
            StringArray a => a.GetString(i),
            Int8Array a => (long)a.GetValue(i)!.Value,
            Int16Array a => (long)a.GetValue(i)!.Value,
            Int32Array a => (long)a.GetValue(i)!.Value,
            Int64Array a => a.GetValue(i)!.Value,
            DoubleArray a => a.GetValue(i)!.Value,
            FloatArray a => (double)a.GetValue(i)!.Value,
            BooleanArray a => a.GetValue(i)!.Value,
            TimestampArray a => a.Values[i],
            Date32Array a => (long)a.Values[i],
            Decimal128Array a => MemoryMarshal.Cast<byte, Int128>(a.ValueBuffer.Span)[a.Offset + i],
            BinaryArray a => Convert.ToHexString(a.GetBytes(i)),
            _ => throw new NotSupportedException(array.Data.DataType.Name),
        };
    }

    public static object?[] Column(RecordBatch batch, string name)
    {
        var array = batch.Column(batch.Schema.GetFieldIndex(name));
        var values = new object?[batch.Length];
        for (int i = 0; i < values.Length; i++) values[i] = Value(array, i);
        return values;
    }

    /// <summary>Rows as name -> value dictionaries.</summary>
    public static List<Dictionary<string, object?>> Rows(RecordBatch batch)
    {
        var names = batch.Schema.FieldsList.Select(f => f.Name).ToArray();
        var rows = new List<Dictionary<string, object?>>(batch.Length);
        for (int r = 0; r < batch.Length; r++)
        {
            var row = new Dictionary<string, object?>();
            for (int c = 0; c < names.Length; c++) row[names[c]] = Value(batch.Column(c), r);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Nulls first, then natural order; strings ordinal.</summary>
    public sealed class NullsFirst : IComparer<object?>
    {
        public static readonly NullsFirst Instance = new();

        public int Compare(object? x, object? y) => (x, y) switch
        {
            (null, null) => 0,
            (null, _) => -1,
            (_, null) => 1,
            (string a, string b) => string.CompareOrdinal(a, b),
            (IComparable a, _) => a.CompareTo(y),
            _ => throw new InvalidOperationException(),
        };
    }
}
