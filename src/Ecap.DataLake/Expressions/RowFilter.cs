using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Apache.Arrow;
using Array = System.Array;
using Apache.Arrow.Types;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Expressions;

/// <summary>
/// Evaluates a predicate over a record batch, column at a time: each leaf fills a truth vector
/// (one byte per row: 0 false, 1 unknown, 2 true) with a typed loop over the column's buffers,
/// AND/OR/NOT combine vectors (min, max, 2-x: SQL three-valued logic), and the rows that are true
/// are gathered with <see cref="ArrowGather"/>. Float comparisons follow IEEE (NaN compares false,
/// except <c>!=</c>). Supported leaf types: bool, integers, float, double, decimal128, date32,
/// timestamp (any unit), string; IS [NOT] NULL works on every type.
/// </summary>
internal static class RowFilter
{
    private const byte F = 0, U = 1, T = 2;

    /// <summary>The rows of <paramref name="batch"/> for which <paramref name="predicate"/> is true (the batch itself when all are).</summary>
    public static RecordBatch Filter(RecordBatch batch, Predicate predicate)
    {
        var indices = SelectIndices(batch, predicate);
        return indices.Length == batch.Length ? batch : ArrowGather.Take(batch, indices);
    }

    /// <summary>Indices of the rows for which the predicate is true, ascending.</summary>
    public static int[] SelectIndices(RecordBatch batch, Predicate predicate)
    {
        var truth = Evaluate(batch, predicate);
        var count = 0;
        foreach (var t in truth) if (t == T) count++;
        var result = new int[count];
        var k = 0;
        for (var i = 0; i < truth.Length; i++) if (truth[i] == T) result[k++] = i;
        return result;
    }

    /// <summary>Per-row truth: 0 false, 1 unknown (null), 2 true.</summary>
    public static byte[] Evaluate(RecordBatch batch, Predicate predicate)
    {
        switch (predicate)
        {
            case And a:
                {
                    var l = Evaluate(batch, a.Left);
                    var r = Evaluate(batch, a.Right);
                    Combine(l, r, min: true);
                    return l;
                }
            case Or o:
                {
                    var l = Evaluate(batch, o.Left);
                    var r = Evaluate(batch, o.Right);
                    Combine(l, r, min: false);
                    return l;
                }
            case Not n:
                {
                    var v = Evaluate(batch, n.Inner);
                    for (var i = 0; i < v.Length; i++) v[i] = (byte)(T - v[i]);
                    return v;
                }
            case ColumnPredicate c:
                return Leaf(batch, c);
            default:
                throw new NotSupportedException($"Unknown predicate {predicate.GetType().Name}.");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Combine(byte[] left, byte[] right, bool min)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var w = Vector<byte>.Count;
            for (; i + w <= left.Length; i += w)
            {
                var a = new Vector<byte>(left, i);
                var b = new Vector<byte>(right, i);
                (min ? Vector.Min(a, b) : Vector.Max(a, b)).CopyTo(left, i);
            }
        }
        for (; i < left.Length; i++) left[i] = min ? Math.Min(left[i], right[i]) : Math.Max(left[i], right[i]);
    }

    private static byte[] Leaf(RecordBatch batch, ColumnPredicate c)
    {
        var array = ArrowColumns.Resolve(batch, c.Column) ?? throw new SchemaMismatchException(
                $"Filter column '{c.Column}' is not in the data; columns are: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}.");
        var n = batch.Length;
        var result = new byte[n];
        switch (c)
        {
            case IsNull:
                FillByValidity(array, result, validValue: F, nullValue: T);
                return result;
            case IsNotNull:
                FillByValidity(array, result, validValue: T, nullValue: F);
                return result;
            case Comparison or InList when array.Data.DataType.TypeId == ArrowTypeId.Null:
                Array.Fill(result, U);
                return result;
            case Comparison cmp:
                {
                    var lit = ValueDomain.Coerce(cmp.Value, array.Data.DataType, c.Column);
                    if (lit is null)
                    {
                        Array.Fill(result, U);
                        return result;
                    }
                    CompareColumn(array, cmp.Op, lit, result, c.Column);
                    ApplyNulls(array, result);
                    return result;
                }
            case InList list:
                {
                    var tmp = new byte[n];
                    var any = false;
                    foreach (var raw in list.Values)
                    {
                        var lit = ValueDomain.Coerce(raw, array.Data.DataType, c.Column);
                        if (lit is null)
                        {
                            Array.Fill(tmp, U);
                        }
                        else
                        {
                            CompareColumn(array, ComparisonOp.Equal, lit, tmp, c.Column);
                        }
                        if (!any) { tmp.CopyTo(result, 0); any = true; }
                        else Combine(result, tmp, min: false);
                    }
                    ApplyNulls(array, result);
                    return result;
                }
            default:
                throw new NotSupportedException($"Unknown predicate {c.GetType().Name}.");
        }
    }

    private static void FillByValidity(IArrowArray array, byte[] result, byte validValue, byte nullValue)
    {
        if (array.NullCount == 0)
        {
            Array.Fill(result, validValue);
            return;
        }
        for (var i = 0; i < result.Length; i++) result[i] = array.IsNull(i) ? nullValue : validValue;
    }

    private static void ApplyNulls(IArrowArray array, byte[] result)
    {
        if (array.NullCount == 0) return;
        var data = array.Data;
        if (data.DataType.TypeId == ArrowTypeId.Null)
        {
            Array.Fill(result, U);
            return;
        }
        var bitmap = data.Buffers[0].Span;
        var off = data.Offset;
        for (var i = 0; i < result.Length; i++)
        {
            var j = i + off;
            if ((bitmap[j >> 3] & (1 << (j & 7))) == 0) result[i] = U;
        }
    }

    private static void CompareColumn(IArrowArray array, ComparisonOp op, object lit, byte[] result, string column)
    {
        var data = array.Data;
        var type = data.DataType;
        switch (type.TypeId)
        {
            case ArrowTypeId.Int8: CompareInteger<sbyte>(data, op, lit, result); return;
            case ArrowTypeId.Int16: CompareInteger<short>(data, op, lit, result); return;
            case ArrowTypeId.Int32: CompareInteger<int>(data, op, lit, result); return;
            case ArrowTypeId.Int64: CompareInteger<long>(data, op, lit, result); return;
            case ArrowTypeId.UInt8: CompareInteger<byte>(data, op, lit, result); return;
            case ArrowTypeId.UInt16: CompareInteger<ushort>(data, op, lit, result); return;
            case ArrowTypeId.UInt32: CompareInteger<uint>(data, op, lit, result); return;
            case ArrowTypeId.UInt64: CompareInteger<ulong>(data, op, lit, result); return;
            case ArrowTypeId.Date32: CompareInteger<int>(data, op, lit, result); return;
            case ArrowTypeId.Timestamp:
                {
                    // Canonical literal is microseconds; express it in the column's unit.
                    var unit = ((TimestampType)type).Unit;
                    var m = lit is long l ? (decimal)l : lit is decimal dm ? dm : throw new PredicateTypeException($"Bad timestamp literal for '{column}'.");
                    decimal scaled = unit switch
                    {
                        TimeUnit.Second => m / 1_000_000m,
                        TimeUnit.Millisecond => m / 1000m,
                        TimeUnit.Microsecond => m,
                        _ => m * 1000m,
                    };
                    CompareInteger<long>(data, op, scaled, result);
                    return;
                }
            case ArrowTypeId.Double:
                CompareValues(Values<double>(data), op, Convert.ToDouble(lit, System.Globalization.CultureInfo.InvariantCulture), result);
                return;
            case ArrowTypeId.Float:
                {
                    var v = Values<float>(data);
                    var x = Convert.ToDouble(lit, System.Globalization.CultureInfo.InvariantCulture);
                    // Compare in double so the literal is not rounded to float.
                    for (var i = 0; i < v.Length; i++) result[i] = Test(((double)v[i]).CompareTo(x), op, double.IsNaN(v[i]) || double.IsNaN(x));
                    return;
                }
            case ArrowTypeId.Decimal128:
                {
                    var scale = ((Decimal128Type)type).Scale;
                    var m = lit switch { long l => l, decimal d => d, double d => (decimal)d, _ => 0m };
                    decimal scaled;
                    try
                    {
                        scaled = m * Pow10(scale);
                    }
                    catch (OverflowException)
                    {
                        FillOutOfRange(result, op, above: m > 0);
                        return;
                    }
                    CompareInteger<Int128>(data, op, scaled, result);
                    return;
                }
            case ArrowTypeId.String:
                CompareStrings(data, op, (string)lit, result);
                return;
            case ArrowTypeId.Boolean:
                {
                    var b = (bool)lit;
                    var bits = data.Buffers[1].Span;
                    for (var i = 0; i < result.Length; i++)
                    {
                        var j = i + data.Offset;
                        var v = (bits[j >> 3] & (1 << (j & 7))) != 0;
                        result[i] = Test(v.CompareTo(b), op, false);
                    }
                    return;
                }
            default:
                throw new PredicateTypeException($"Filtering rows on column '{column}' of type {type.Name} is not supported.");
        }
    }

    private static decimal Pow10(int scale)
    {
        var p = 1m;
        for (var i = 0; i < scale; i++) p *= 10m;
        return p;
    }

    private static ReadOnlySpan<TV> Values<TV>(ArrayData data) where TV : unmanaged =>
        MemoryMarshal.Cast<byte, TV>(data.Buffers[1].Span).Slice(data.Offset, data.Length);

    /// <summary>
    /// Compares an integer-valued column with a literal that may lie between integers or outside the
    /// column type's range, by rewriting (op, literal) to an equivalent integer comparison.
    /// </summary>
    private static void CompareInteger<TV>(ArrayData data, ComparisonOp op, object lit, byte[] result)
        where TV : unmanaged, IBinaryInteger<TV>, IMinMaxValue<TV>
    {
        decimal v;
        switch (lit)
        {
            case long l when typeof(TV) == typeof(long):
                CompareValues(Values<TV>(data), op, TV.CreateTruncating(l), result);
                return;
            case long l: v = l; break;
            case decimal d: v = d; break;
            case double d:
                if (double.IsNaN(d)) { Array.Fill(result, op == ComparisonOp.NotEqual ? T : F); return; }
                if (d >= 9.2233720368547758e18 || d < -9.2233720368547758e18) { FillOutOfRange(result, op, above: d > 0); return; }
                // Floor/ceiling are exact in double; (decimal)d would round to 15 digits.
                var fl = Math.Floor(d);
                if (fl != d)
                {
                    switch (op)
                    {
                        case ComparisonOp.Equal: Array.Fill(result, F); return;
                        case ComparisonOp.NotEqual: Array.Fill(result, T); return;
                        case ComparisonOp.LessThan or ComparisonOp.LessThanOrEqual: op = ComparisonOp.LessThanOrEqual; v = (long)fl; break;
                        default: op = ComparisonOp.GreaterThanOrEqual; v = (long)Math.Ceiling(d); break;
                    }
                }
                else v = (long)d;
                break;
            default: throw new PredicateTypeException($"Cannot compare an integer column with {lit.GetType().Name}.");
        }
        var floor = decimal.Floor(v);
        if (floor != v)
        {
            switch (op)
            {
                case ComparisonOp.Equal: Array.Fill(result, F); return;
                case ComparisonOp.NotEqual: Array.Fill(result, T); return;
                case ComparisonOp.LessThan or ComparisonOp.LessThanOrEqual: op = ComparisonOp.LessThanOrEqual; v = floor; break;
                default: op = ComparisonOp.GreaterThanOrEqual; v = decimal.Ceiling(v); break;
            }
        }
        // Range check against the column type.
        var max = decimal.CreateSaturating(TV.MaxValue);
        var min = decimal.CreateSaturating(TV.MinValue);
        if (v > max) { FillOutOfRange(result, op, above: true); return; }
        if (v < min) { FillOutOfRange(result, op, above: false); return; }
        CompareValues(Values<TV>(data), op, TV.CreateChecked(v), result);
    }

    private static void FillOutOfRange(byte[] result, ComparisonOp op, bool above)
    {
        // Every value is below the literal (above == true) or above it.
        var truth = op switch
        {
            ComparisonOp.Equal => false,
            ComparisonOp.NotEqual => true,
            ComparisonOp.LessThan or ComparisonOp.LessThanOrEqual => above,
            _ => !above,
        };
        Array.Fill(result, truth ? T : F);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CompareValues<TV>(ReadOnlySpan<TV> v, ComparisonOp op, TV x, byte[] r)
        where TV : IComparisonOperators<TV, TV, bool>
    {
        switch (op)
        {
            case ComparisonOp.Equal: for (var i = 0; i < v.Length; i++) r[i] = v[i] == x ? T : F; break;
            case ComparisonOp.NotEqual: for (var i = 0; i < v.Length; i++) r[i] = v[i] != x ? T : F; break;
            case ComparisonOp.LessThan: for (var i = 0; i < v.Length; i++) r[i] = v[i] < x ? T : F; break;
            case ComparisonOp.LessThanOrEqual: for (var i = 0; i < v.Length; i++) r[i] = v[i] <= x ? T : F; break;
            case ComparisonOp.GreaterThan: for (var i = 0; i < v.Length; i++) r[i] = v[i] > x ? T : F; break;
            default: for (var i = 0; i < v.Length; i++) r[i] = v[i] >= x ? T : F; break;
        }
    }

    private static byte Test(int cmp, ComparisonOp op, bool nan)
    {
        if (nan) return op == ComparisonOp.NotEqual ? T : F;
        var ok = op switch
        {
            ComparisonOp.Equal => cmp == 0,
            ComparisonOp.NotEqual => cmp != 0,
            ComparisonOp.LessThan => cmp < 0,
            ComparisonOp.LessThanOrEqual => cmp <= 0,
            ComparisonOp.GreaterThan => cmp > 0,
            _ => cmp >= 0,
        };
        return ok ? T : F;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CompareStrings(ArrayData data, ComparisonOp op, string lit, byte[] result)
    {
        var x = Encoding.UTF8.GetBytes(lit);
        var offsets = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span).Slice(data.Offset, data.Length + 1);
        var values = data.Buffers[2].Span;
        if (op is ComparisonOp.Equal or ComparisonOp.NotEqual)
        {
            var eq = op == ComparisonOp.Equal ? T : F;
            var ne = (byte)(T - eq);
            for (var i = 0; i < result.Length; i++)
            {
                var s = offsets[i];
                var len = offsets[i + 1] - s;
                result[i] = len == x.Length && values.Slice(s, len).SequenceEqual(x) ? eq : ne;
            }
            return;
        }
        for (var i = 0; i < result.Length; i++)
        {
            var s = offsets[i];
            result[i] = Test(values.Slice(s, offsets[i + 1] - s).SequenceCompareTo(x), op, false);
        }
    }
}
