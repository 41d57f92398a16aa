using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Expressions;

namespace Ecap.DataLake.Arrow;

/// <summary>One sort key: a top-level column (or struct leaf by dotted path), its direction and where nulls go.</summary>
public sealed record SortKey(string Column, bool Descending = false, bool NullsFirst = false);

/// <summary>
/// Stable sort of a record batch by columns, as an index permutation for <see cref="ArrowGather.Take(RecordBatch, ReadOnlySpan{int})"/>
/// (compaction keeps a table's sort order with it). A single integer-like key (ints, date, timestamp) is
/// sorted as packed 128-bit (key, row) integers; other keys go through a typed comparer. Strings order by
/// UTF-8 bytes (code point order), floats by IEEE total order with NaN largest.
/// Use <see cref="ArrowArrayConcatenator"/> (Apache.Arrow) or <see cref="Concat"/> to sort across batches.
/// </summary>
public static class ArrowSort
{
    /// <summary>Concatenates batches of one schema into one batch.</summary>
    public static RecordBatch Concat(IReadOnlyList<RecordBatch> batches)
    {
        if (batches.Count == 0) throw new ArgumentException("No batches to concatenate.", nameof(batches));
        if (batches.Count == 1) return batches[0];
        var schema = batches[0].Schema;
        var columns = new IArrowArray[schema.FieldsList.Count];
        for (var c = 0; c < columns.Length; c++)
            columns[c] = ArrowArrayConcatenator.Concatenate(batches.Select(b => b.Column(c)).ToList());
        return new RecordBatch(schema, columns, batches.Sum(b => b.Length));
    }

    /// <summary>Sorts a batch by the keys (stable).</summary>
    public static RecordBatch Sort(RecordBatch batch, IReadOnlyList<SortKey> keys) => ArrowGather.Take(batch, SortIndices(batch, keys));

    /// <summary>The row order that sorts the batch by the keys (stable: equal rows keep their order).</summary>
    public static int[] SortIndices(RecordBatch batch, IReadOnlyList<SortKey> keys)
    {
        var n = batch.Length;
        var arrays = keys.Select(k => RowFilter.ResolveColumn(batch, k.Column)
            ?? throw new SchemaMismatchException($"Sort column '{k.Column}' is not in the data.")).ToArray();
        if (keys.Count == 1 && AsLongKeys(arrays[0]) is { } longs) return SortPacked(longs, arrays[0], keys[0]);

        var comparers = new Comparison<int>[keys.Count];
        for (var k = 0; k < keys.Count; k++) comparers[k] = ComparerFor(arrays[k], keys[k]);
        var idx = new int[n];
        for (var i = 0; i < n; i++) idx[i] = i;
        System.Array.Sort(idx, (a, b) =>
        {
            foreach (var cmp in comparers)
            {
                var r = cmp(a, b);
                if (r != 0) return r;
            }
            return a.CompareTo(b);
        });
        return idx;
    }

    private static long[]? AsLongKeys(IArrowArray a)
    {
        var d = a.Data;
        var values = d.Buffers.Length > 1 ? d.Buffers[1].Span : default;
        switch (d.DataType.TypeId)
        {
            case ArrowTypeId.Int64 or ArrowTypeId.Timestamp or ArrowTypeId.Date64:
                return MemoryMarshal.Cast<byte, long>(values).Slice(d.Offset, d.Length).ToArray();
            case ArrowTypeId.Int32 or ArrowTypeId.Date32:
                {
                    var src = MemoryMarshal.Cast<byte, int>(values).Slice(d.Offset, d.Length);
                    var r = new long[src.Length];
                    for (var i = 0; i < r.Length; i++) r[i] = src[i];
                    return r;
                }
            case ArrowTypeId.Int16:
                {
                    var src = MemoryMarshal.Cast<byte, short>(values).Slice(d.Offset, d.Length);
                    var r = new long[src.Length];
                    for (var i = 0; i < r.Length; i++) r[i] = src[i];
                    return r;
                }
            default:
                return null;
        }
    }

    private static int[] SortPacked(long[] keys, IArrowArray array, SortKey key)
    {
        // (order bucket: nulls first/last) | (key mapped to unsigned, flipped when descending) | row.
        var n = keys.Length;
        var packed = new UInt128[n];
        var hasNulls = array.NullCount > 0;
        for (var i = 0; i < n; i++)
        {
            var u = (ulong)keys[i] ^ 0x8000_0000_0000_0000UL;
            if (key.Descending) u = ~u;
            ulong bucket = 1;
            if (hasNulls && array.IsNull(i))
            {
                bucket = key.NullsFirst ? 0UL : 2UL;
                u = 0;
            }
            packed[i] = ((UInt128)bucket << 96) | ((UInt128)u << 32) | (uint)i;
        }
        System.Array.Sort(packed);
        var result = new int[n];
        for (var i = 0; i < n; i++) result[i] = (int)(uint)packed[i];
        return result;
    }

    private static Comparison<int> ComparerFor(IArrowArray array, SortKey key)
    {
        var values = ValueComparer(array);
        var sign = key.Descending ? -1 : 1;
        var nullSign = key.NullsFirst ? -1 : 1;
        if (array.NullCount == 0) return (a, b) => sign * values(a, b);
        return (a, b) =>
        {
            var na = array.IsNull(a);
            var nb = array.IsNull(b);
            if (na || nb) return na == nb ? 0 : na ? nullSign : -nullSign;
            return sign * values(a, b);
        };
    }

    private static Comparison<int> ValueComparer(IArrowArray array)
    {
        var d = array.Data;
        switch (array)
        {
            case Int8Array x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case Int16Array x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case Int32Array x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case Int64Array x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case UInt8Array x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case UInt16Array x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case UInt32Array x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case UInt64Array x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case FloatArray x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case DoubleArray x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case Date32Array or TimestampArray or Date64Array:
                {
                    var keys = AsLongKeys(array)!;
                    return (a, b) => keys[a].CompareTo(keys[b]);
                }
            case Decimal128Array:
                {
                    var buffer = d.Buffers[1];
                    var offset = d.Offset;
                    return (a, b) =>
                    {
                        var s = MemoryMarshal.Cast<byte, Int128>(buffer.Span);
                        return s[offset + a].CompareTo(s[offset + b]);
                    };
                }
            case BooleanArray x: return (a, b) => x.GetValue(a)!.Value.CompareTo(x.GetValue(b)!.Value);
            case StringArray or BinaryArray:
                {
                    var bin = (BinaryArray)array;
                    return (a, b) => bin.GetBytes(a).SequenceCompareTo(bin.GetBytes(b));
                }
            default:
                throw new NotSupportedException($"Sorting by Arrow type {d.DataType.Name} is not supported.");
        }
    }
}
