using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Reads Arrow columns into flat per-row keys for grouping and sorting: an order-preserving
/// <see cref="long"/> for integer-like, temporal, boolean and floating types (and decimals that fit
/// in a long), <see cref="Int128"/> for wider decimals, and byte slices for strings and binary.
/// </summary>
internal static class ColumnKeys
{
    /// <summary>True when the type's values are all read as longs by <see cref="ReadLongs"/>.</summary>
    public static bool IsLongLike(IArrowType type) => type.TypeId switch
    {
        ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64
            or ArrowTypeId.UInt8 or ArrowTypeId.UInt16 or ArrowTypeId.UInt32 or ArrowTypeId.UInt64
            or ArrowTypeId.Date32 or ArrowTypeId.Date64 or ArrowTypeId.Timestamp
            or ArrowTypeId.Time32 or ArrowTypeId.Time64 or ArrowTypeId.Boolean
            or ArrowTypeId.Float or ArrowTypeId.Double or ArrowTypeId.HalfFloat => true,
        _ => false,
    };

    public static bool IsBytes(IArrowType type) => type.TypeId is ArrowTypeId.String or ArrowTypeId.Binary;

    /// <summary>True when the row is null.</summary>
    public static bool IsNull(ArrayData data, int row)
    {
        if (data.NullCount == 0 || data.Buffers[0].IsEmpty) return false;
        int i = row + data.Offset;
        return ((data.Buffers[0].Span[i >> 3] >> (i & 7)) & 1) == 0;
    }

    /// <summary>A per-row null flag array, or null when the column has no nulls.</summary>
    public static bool[]? NullFlags(ArrayData data)
    {
        if (data.NullCount == 0 || data.Buffers[0].IsEmpty) return null;
        var bits = data.Buffers[0].Span;
        var flags = new bool[data.Length];
        int offset = data.Offset;
        for (int r = 0; r < flags.Length; r++)
        {
            int i = r + offset;
            flags[r] = ((bits[i >> 3] >> (i & 7)) & 1) == 0;
        }
        return flags;
    }

    /// <summary>
    /// Order-preserving long keys of a long-like column (null rows get an arbitrary key; check
    /// <see cref="NullFlags"/>). Returns false for other types.
    /// </summary>
    public static bool TryReadLongs(IArrowArray array, out long[] keys)
    {
        var data = array.Data;
        if (data.DataType.TypeId == ArrowTypeId.Decimal128)
            return TryReadDecimalAsLongs(data, out keys);
        if (!IsLongLike(data.DataType))
        {
            keys = [];
            return false;
        }
        keys = GC.AllocateUninitializedArray<long>(data.Length);
        ReadLongs(data, keys);
        return true;
    }

    private static void ReadLongs(ArrayData data, Span<long> dst)
    {
        int n = data.Length, o = data.Offset;
        var raw = data.Buffers[1].Span;
        switch (data.DataType.TypeId)
        {
            case ArrowTypeId.Int8: { var s = MemoryMarshal.Cast<byte, sbyte>(raw).Slice(o, n); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case ArrowTypeId.UInt8: { var s = raw.Slice(o, n); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case ArrowTypeId.Int16: { var s = MemoryMarshal.Cast<byte, short>(raw).Slice(o, n); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case ArrowTypeId.UInt16: { var s = MemoryMarshal.Cast<byte, ushort>(raw).Slice(o, n); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case ArrowTypeId.Int32:
            case ArrowTypeId.Date32:
            case ArrowTypeId.Time32: { var s = MemoryMarshal.Cast<byte, int>(raw).Slice(o, n); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case ArrowTypeId.UInt32: { var s = MemoryMarshal.Cast<byte, uint>(raw).Slice(o, n); for (int i = 0; i < n; i++) dst[i] = s[i]; break; }
            case ArrowTypeId.Int64:
            case ArrowTypeId.Date64:
            case ArrowTypeId.Timestamp:
            case ArrowTypeId.Time64: MemoryMarshal.Cast<byte, long>(raw).Slice(o, n).CopyTo(dst); break;
            case ArrowTypeId.UInt64: { var s = MemoryMarshal.Cast<byte, ulong>(raw).Slice(o, n); for (int i = 0; i < n; i++) dst[i] = (long)(s[i] ^ 0x8000_0000_0000_0000UL); break; }
            case ArrowTypeId.Float: { var s = MemoryMarshal.Cast<byte, float>(raw).Slice(o, n); for (int i = 0; i < n; i++) dst[i] = OrderedBits(s[i]); break; }
            case ArrowTypeId.HalfFloat: { var s = MemoryMarshal.Cast<byte, Half>(raw).Slice(o, n); for (int i = 0; i < n; i++) dst[i] = OrderedBits((double)s[i]); break; }
            case ArrowTypeId.Double: { var s = MemoryMarshal.Cast<byte, double>(raw).Slice(o, n); for (int i = 0; i < n; i++) dst[i] = OrderedBits(s[i]); break; }
            case ArrowTypeId.Boolean:
                for (int i = 0; i < n; i++) { int b = i + o; dst[i] = (raw[b >> 3] >> (b & 7)) & 1; }
                break;
            default: throw new NotSupportedException($"Arrow type {data.DataType.Name} is not long-like.");
        }
    }

    /// <summary>Total order on doubles as signed longs (-0.0 equals 0.0; every NaN, whatever its sign bit, sorts last).</summary>
    public static long OrderedBits(double v)
    {
        if (double.IsNaN(v)) return long.MaxValue; // .NET's double.NaN has the sign bit set: do not let it sort first
        if (v == 0) v = 0; // fold -0.0 into 0.0
        long b = BitConverter.DoubleToInt64Bits(v);
        return b ^ ((b >> 63) & long.MaxValue);
    }

    private static bool TryReadDecimalAsLongs(ArrayData data, out long[] keys)
    {
        var s = MemoryMarshal.Cast<byte, long>(data.Buffers[1].Span).Slice(data.Offset * 2, data.Length * 2);
        var nulls = NullFlags(data);
        keys = GC.AllocateUninitializedArray<long>(data.Length);
        for (int i = 0; i < keys.Length; i++)
        {
            long lo = s[2 * i], hi = s[2 * i + 1];
            if (hi != (lo >> 63) && (nulls is null || !nulls[i]))
            {
                keys = [];
                return false;
            }
            keys[i] = lo;
        }
        return true;
    }

    /// <summary>Decimal128 unscaled values as <see cref="Int128"/>.</summary>
    public static Int128[] ReadInt128(IArrowArray array)
    {
        var data = array.Data;
        var s = MemoryMarshal.Cast<byte, Int128>(data.Buffers[1].Span).Slice(data.Offset, data.Length);
        return s.ToArray();
    }

    /// <summary>Offsets (length+1, offset applied) and value bytes of a string/binary column.</summary>
    public static (ReadOnlyMemory<byte> Values, int[] Offsets) ReadBytes(IArrowArray array)
    {
        var data = array.Data;
        var offsets = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span).Slice(data.Offset, data.Length + 1).ToArray();
        return (data.Buffers[2].Memory, offsets);
    }
}
