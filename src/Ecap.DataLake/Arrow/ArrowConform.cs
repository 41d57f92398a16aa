using System.Numerics;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Makes a column decoded from a data file carry the table's type. Foreign writers store the same logical
/// values in other physical forms (Spark's INT96 and TIMESTAMP_MILLIS, nanoseconds, timestamps without
/// isAdjustedToUTC, decimals of a smaller precision, legacy list/map layouts whose child names differ);
/// the native reader hands back the file's form, and a batch labelled with the table's schema over such an
/// array is read wrongly by anything that trusts the schema (a Parquet export wrote nanoseconds as micros).
/// Type widening (a column widened after files were written: byte/short/int/long upward, float or small integers
/// to double, date to timestamp_ntz, decimals and integers to a wider decimal) reads the old files as the new type.
/// Values are converted exactly or refused with a message naming the column: never silently changed.
/// </summary>
internal static class ArrowConform
{
    /// <summary>The array as <paramref name="target"/>; the array itself when it already has that type or no exact conversion applies.</summary>
    /// <param name="array">A decoded column.</param>
    /// <param name="target">The table's type of the column.</param>
    /// <param name="column">The column's (dotted) name, for error messages.</param>
    /// <param name="where">Where the values come from (a file key), for error messages.</param>
    public static IArrowArray To(IArrowArray array, IArrowType target, string column, string where)
    {
        var data = Conform(array.Data, target, column, where);
        return ReferenceEquals(data, array.Data) ? array : ArrowArrayFactory.BuildArray(data);
    }

    /// <summary>True when the two types are the same for a reader (child field names and nullability aside).</summary>
    public static bool SameType(IArrowType a, IArrowType b) => (a, b) switch
    {
        (TimestampType x, TimestampType y) => x.Unit == y.Unit && string.IsNullOrEmpty(x.Timezone) == string.IsNullOrEmpty(y.Timezone),
        (Decimal128Type x, Decimal128Type y) => x.Precision == y.Precision && x.Scale == y.Scale,
        (StructType x, StructType y) => x.Fields.Count == y.Fields.Count &&
            x.Fields.Zip(y.Fields).All(p => p.First.Name == p.Second.Name && SameType(p.First.DataType, p.Second.DataType)),
        (MapType x, MapType y) => SameType(x.KeyField.DataType, y.KeyField.DataType) && SameType(x.ValueField.DataType, y.ValueField.DataType),
        (ListType x, ListType y) => SameType(x.ValueDataType, y.ValueDataType),
        (DictionaryType x, _) => SameType(x.ValueType, b is DictionaryType dy ? dy.ValueType : b),
        _ => a.TypeId == b.TypeId,
    };

    private static ArrayData Conform(ArrayData data, IArrowType target, string column, string where)
    {
        var source = data.DataType;
        switch (source, target)
        {
            case (TimestampType from, TimestampType to):
                if (from.Unit == to.Unit && from.Timezone == to.Timezone) return data;
                return Timestamps(data, from, to, column, where);
            case (Decimal128Type from, Decimal128Type to):
                if (from.Precision == to.Precision && from.Scale == to.Scale) return data;
                return Decimals(data, from, to, column, where);
            case (StructType from, StructType to):
            {
                // The file's fields (a struct may lack fields added later), each with the table's type where both have it.
                var children = new ArrayData[data.Children.Length];
                var fields = new List<Field>(children.Length);
                var changed = false;
                for (var i = 0; i < children.Length; i++)
                {
                    var field = from.Fields[i];
                    var index = to.GetFieldIndex(field.Name);
                    children[i] = index < 0 ? data.Children[i] : Conform(data.Children[i], to.Fields[index].DataType, column + "." + field.Name, where);
                    changed |= !ReferenceEquals(children[i], data.Children[i]);
                    fields.Add(index < 0 ? field : new Field(field.Name, children[i].DataType, to.Fields[index].IsNullable, to.Fields[index].Metadata));
                }
                if (!changed) return data;
                var type = fields.Count == to.Fields.Count && fields.Zip(to.Fields).All(p => p.First.Name == p.Second.Name) ? to : new StructType(fields);
                return data.WithChildren(type, children);
            }
            case (ListType, ListType to):
            {
                var values = Conform(data.Children[0], to.ValueDataType, column + ".element", where);
                // A legacy list layout names its element differently: relabelled when the values agree.
                return SameType(values.DataType, to.ValueDataType) ? data.WithChildren(to, [values]) : data;
            }
            case (MapType, MapType to):
            {
                var entries = Conform(data.Children[0], to.KeyValueType, column, where);
                var e = (StructType)entries.DataType;
                return e.Fields.Count == 2 && SameType(e.Fields[0].DataType, to.KeyField.DataType) && SameType(e.Fields[1].DataType, to.ValueField.DataType)
                    ? data.WithChildren(to, [new ArrayData(to.KeyValueType, entries.Length, entries.NullCount, entries.Offset, entries.Buffers, entries.Children, entries.Dictionary)])
                    : data;
            }
            default:
                // Type widening (PROTOCOL.md "Type Widening"): files written before a column was widened hold the narrower type.
                return IsWidening(source, target) ? Widen(data, target, column, where) : data;
        }
    }

    private static int IntegerRank(IArrowType type) => type switch
    {
        Int8Type => 1,
        Int16Type => 2,
        Int32Type => 3,
        Int64Type => 4,
        _ => 0,
    };

    /// <summary>The widenings Delta allows: byte/short/int/long upward, float or byte/short/int to double, date to timestamp_ntz, integers to decimal.</summary>
    private static bool IsWidening(IArrowType source, IArrowType target)
    {
        var from = IntegerRank(source);
        return target switch
        {
            Int16Type or Int32Type or Int64Type => from > 0 && from < IntegerRank(target),
            DoubleType => source is FloatType || from is > 0 and <= 3,
            TimestampType ts => source is Date32Type && string.IsNullOrEmpty(ts.Timezone),
            Decimal128Type => from > 0,
            _ => false,
        };
    }

    private static long Integer(IArrowArray array, int i) => array switch
    {
        Int8Array a => a.GetValue(i)!.Value,
        Int16Array a => a.GetValue(i)!.Value,
        Int32Array a => a.GetValue(i)!.Value,
        Int64Array a => a.GetValue(i)!.Value,
        _ => throw new InvalidOperationException($"not an integer array: {array.Data.DataType.Name}"),
    };

    private static ArrayData Widen(ArrayData data, IArrowType target, string column, string where)
    {
        var array = ArrowArrayFactory.BuildArray(data);
        var n = data.Length;
        byte[] values;
        switch (target)
        {
            case Int16Type:
            {
                var r = new short[n];
                for (var i = 0; i < n; i++) if (array.IsValid(i)) r[i] = (short)Integer(array, i);
                values = MemoryMarshal.AsBytes(r.AsSpan()).ToArray();
                break;
            }
            case Int32Type:
            {
                var r = new int[n];
                for (var i = 0; i < n; i++) if (array.IsValid(i)) r[i] = (int)Integer(array, i);
                values = MemoryMarshal.AsBytes(r.AsSpan()).ToArray();
                break;
            }
            case Int64Type:
            {
                var r = new long[n];
                for (var i = 0; i < n; i++) if (array.IsValid(i)) r[i] = Integer(array, i);
                values = MemoryMarshal.AsBytes(r.AsSpan()).ToArray();
                break;
            }
            case DoubleType:
            {
                var r = new double[n];
                for (var i = 0; i < n; i++)
                    if (array.IsValid(i)) r[i] = array is FloatArray f ? f.GetValue(i)!.Value : Integer(array, i);
                values = MemoryMarshal.AsBytes(r.AsSpan()).ToArray();
                break;
            }
            case TimestampType ts:
            {
                // A date is midnight of that day as a timestamp_ntz (a wall-clock time, no zone).
                var perDay = 86_400L * 1_000_000_000 / Factor(ts.Unit);
                var days = (Date32Array)array;
                var r = new long[n];
                for (var i = 0; i < n; i++) if (array.IsValid(i)) r[i] = days.Values[i] * perDay;
                values = MemoryMarshal.AsBytes(r.AsSpan()).ToArray();
                break;
            }
            case Decimal128Type d:
            {
                var factor = (Int128)BigInteger.Pow(10, d.Scale);
                var limit = (Int128)BigInteger.Pow(10, d.Precision);
                var r = new Int128[n];
                for (var i = 0; i < n; i++)
                {
                    if (!array.IsValid(i)) continue;
                    var v = (Int128)Integer(array, i) * factor;
                    if (v >= limit || v <= -limit)
                        throw new SchemaMismatchException($"Column '{column}' of '{where}' holds {Integer(array, i)}, which the table's decimal({d.Precision},{d.Scale}) cannot hold.");
                    r[i] = v;
                }
                values = MemoryMarshal.AsBytes(r.AsSpan()).ToArray();
                break;
            }
            default:
                return data;
        }
        return new ArrayData(target, n, data.NullCount, 0, [Validity(array), new ArrowBuffer(values)]);
    }

    private static ArrayData WithChildren(this ArrayData data, IArrowType type, ArrayData[] children) =>
        new(type, data.Length, data.NullCount, data.Offset, data.Buffers, children, data.Dictionary);

    private static long Factor(TimeUnit unit) => unit switch
    {
        TimeUnit.Second => 1_000_000_000,
        TimeUnit.Millisecond => 1_000_000,
        TimeUnit.Microsecond => 1_000,
        _ => 1,
    };

    private static ArrayData Timestamps(ArrayData data, TimestampType from, TimestampType to, string column, string where)
    {
        // The stored number is kept as is: an instant (isAdjustedToUTC, INT96) or a wall-clock time read as UTC, as
        // Spark and delta-rs read a Delta column of the other kind; only the unit changes.
        var type = new TimestampType(to.Unit, to.Timezone);
        if (from.Unit == to.Unit) return new ArrayData(type, data.Length, data.NullCount, data.Offset, data.Buffers, data.Children, data.Dictionary);
        var array = new TimestampArray(data);
        var values = array.Values;
        var result = new long[data.Length];
        long fromFactor = Factor(from.Unit), toFactor = Factor(to.Unit);
        for (var i = 0; i < result.Length; i++)
        {
            if (!array.IsValid(i)) continue;
            var v = values[i];
            if (fromFactor > toFactor)
            {
                var m = fromFactor / toFactor;
                if (v > long.MaxValue / m || v < long.MinValue / m)
                    throw new SchemaMismatchException($"Column '{column}' of '{where}' holds timestamp {v} ({from.Unit}), outside the range of the table's {to.Unit} timestamps.");
                result[i] = v * m;
            }
            else
            {
                var d = toFactor / fromFactor;
                var q = Math.DivRem(v, d, out var rem);
                if (rem != 0)
                    throw new SchemaMismatchException(
                        $"Column '{column}' of '{where}' holds a timestamp with {from.Unit} precision ({v} {from.Unit}s since 1970) that a {to.Unit} Delta timestamp cannot hold exactly; refusing to round it.");
                result[i] = q;
            }
        }
        return new ArrayData(type, data.Length, data.NullCount, 0,
            [Validity(array), new ArrowBuffer(MemoryMarshal.AsBytes(result.AsSpan()).ToArray())]);
    }

    private static ArrayData Decimals(ArrayData data, Decimal128Type from, Decimal128Type to, string column, string where)
    {
        if (from.Scale > to.Scale)
            throw new SchemaMismatchException($"Column '{column}' of '{where}' is decimal({from.Precision},{from.Scale}); the table's decimal({to.Precision},{to.Scale}) cannot hold its digits.");
        var array = new Decimal128Array(data);
        var bytes = array.ValueBuffer.Span.Slice(array.Offset * 16, array.Length * 16);
        var source = MemoryMarshal.Cast<byte, Int128>(bytes);
        var result = new Int128[array.Length];
        var factor = (Int128)BigInteger.Pow(10, to.Scale - from.Scale);
        var limit = (Int128)BigInteger.Pow(10, to.Precision);
        for (var i = 0; i < result.Length; i++)
        {
            if (!array.IsValid(i)) continue;
            var v = source[i] * factor;
            if (v >= limit || v <= -limit)
                throw new SchemaMismatchException($"Column '{column}' of '{where}' holds a value with more digits than the table's decimal({to.Precision},{to.Scale}).");
            result[i] = v;
        }
        return new ArrayData(to, data.Length, data.NullCount, 0,
            [Validity(array), new ArrowBuffer(MemoryMarshal.AsBytes(result.AsSpan()).ToArray())]);
    }

    private static ArrowBuffer Validity(IArrowArray array)
    {
        if (array.NullCount == 0) return ArrowBuffer.Empty;
        var bits = new byte[(array.Length + 7) / 8];
        for (var i = 0; i < array.Length; i++)
            if (array.IsValid(i)) bits[i >> 3] |= (byte)(1 << (i & 7));
        return new ArrowBuffer(bits);
    }
}
