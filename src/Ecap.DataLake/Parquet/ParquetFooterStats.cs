using System.Buffers.Binary;
using System.Runtime.InteropServices;

using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Expressions;
using ParquetSharp;

namespace Ecap.DataLake.Parquet;

/// <summary>One stats-bearing leaf column: its path of field names and its Arrow type.</summary>
internal sealed record LeafColumn(string[] Path, IArrowType Type, int ParquetIndex)
{
    public string DottedPath => string.Join('.', Path);
}

/// <summary>
/// Reads column bounds from Parquet footer statistics (no data pages are touched): per row group for
/// pruning, or merged over a file for Delta stats. Leaves are top-level primitives and primitives
/// nested in structs; list and map columns are skipped.
/// </summary>
internal static class ParquetFooterStats
{
    /// <summary>The stats-bearing leaves of an Arrow schema with their Parquet leaf column index (depth-first order).</summary>
    public static List<LeafColumn> Leaves(Schema schema)
    {
        var result = new List<LeafColumn>();
        var index = 0;
        foreach (var f in schema.FieldsList) Walk(f, [], result, ref index, skip: false);
        return result;
    }

    private static void Walk(Field field, string[] parent, List<LeafColumn> acc, ref int index, bool skip)
    {
        string[] path = [.. parent, field.Name];
        switch (field.DataType)
        {
            case StructType st:
                foreach (var c in st.Fields) Walk(c, path, acc, ref index, skip);
                return;
            case ListType lt:
                Walk(lt.ValueField, path, acc, ref index, skip: true);
                return;
            case FixedSizeListType fl:
                Walk(fl.ValueField, path, acc, ref index, skip: true);
                return;
            case LargeListType ll:
                Walk(ll.ValueField, path, acc, ref index, skip: true);
                return;
            case MapType mt:
                Walk(mt.KeyField, path, acc, ref index, skip: true);
                Walk(mt.ValueField, path, acc, ref index, skip: true);
                return;
            default:
                var type = field.DataType is DictionaryType dt ? dt.ValueType : field.DataType;
                if (!skip) acc.Add(new LeafColumn(path, type, index));
                index++;
                return;
        }
    }

    /// <summary>Bounds of each leaf in one row group (RowCount is the row group's row count).</summary>
    public static Dictionary<string, ColumnBounds> RowGroupBounds(RowGroupMetaData rg, IReadOnlyList<LeafColumn> leaves)
    {
        var result = new Dictionary<string, ColumnBounds>(StringComparer.Ordinal);
        var rows = rg.NumRows;
        foreach (var leaf in leaves)
        {
            using var chunk = rg.GetColumnChunkMetaData(leaf.ParquetIndex);
            result[leaf.DottedPath] = ChunkBounds(chunk, rg.Schema.Column(leaf.ParquetIndex), leaf.Type, rows);
        }
        return result;
    }

    /// <summary>Merges row-group bounds into file bounds; an unknown part anywhere makes that part unknown.</summary>
    public static ColumnBounds Merge(ColumnBounds a, ColumnBounds b)
    {
        long? nulls = a.NullCount is { } x && b.NullCount is { } y ? x + y : null;
        long? rows = a.RowCount is { } r1 && b.RowCount is { } r2 ? r1 + r2 : null;
        var aAllNull = a.NullCount is { } an && a.RowCount is { } ar && an >= ar;
        var bAllNull = b.NullCount is { } bn && b.RowCount is { } br && bn >= br;
        object? min, max;
        if (aAllNull) { min = b.Min; max = b.Max; }
        else if (bAllNull) { min = a.Min; max = a.Max; }
        else
        {
            min = a.Min is null || b.Min is null ? null : ValueDomain.Compare(a.Min, b.Min) <= 0 ? a.Min : b.Min;
            max = a.Max is null || b.Max is null ? null : ValueDomain.Compare(a.Max, b.Max) >= 0 ? a.Max : b.Max;
        }
        return new ColumnBounds(a.Type, min, max, nulls, rows);
    }

    private static ColumnBounds ChunkBounds(ColumnChunkMetaData chunk, ColumnDescriptor descriptor, IArrowType type, long rows)
    {
        if (!chunk.IsStatsSet) return new ColumnBounds(type, null, null, null, rows);
        using var stats = chunk.Statistics;
        if (stats is null) return new ColumnBounds(type, null, null, null, rows);
        long? nulls = stats.NullCount;
        object? min = null, max = null;
        if (stats.HasMinMax && ValueDomain.IsSupported(type))
        {
            try
            {
                min = Canonical(stats, isMax: false, type, descriptor);
                max = Canonical(stats, isMax: true, type, descriptor);
            }
            catch (OverflowException)
            {
                min = max = null;
            }
        }
        return new ColumnBounds(type, min, max, nulls, rows);
    }

    private static object? Canonical(Statistics stats, bool isMax, IArrowType type, ColumnDescriptor d)
    {
        switch (stats)
        {
            case Statistics<bool> b:
                return isMax ? b.Max : b.Min;
            case Statistics<int> i:
                {
                    var v = isMax ? i.Max : i.Min;
                    return type.TypeId switch
                    {
                        ArrowTypeId.UInt32 => (object)(long)(uint)v,
                        ArrowTypeId.UInt64 => (object)(decimal)(uint)v,
                        ArrowTypeId.Decimal128 => ScaleDecimal(v, ((Decimal128Type)type).Scale),
                        ArrowTypeId.Timestamp => null,
                        _ => (object)(long)v,
                    };
                }
            case Statistics<long> l:
                {
                    var v = isMax ? l.Max : l.Min;
                    switch (type.TypeId)
                    {
                        case ArrowTypeId.UInt64: return (decimal)(ulong)v;
                        case ArrowTypeId.Decimal128: return ScaleDecimal(v, ((Decimal128Type)type).Scale);
                        case ArrowTypeId.Timestamp:
                            {
                                using var logical = d.LogicalType;
                                var unit = logical is TimestampLogicalType ts ? ts.TimeUnit : ParquetSharp.TimeUnit.Micros;
                                return unit switch
                                {
                                    ParquetSharp.TimeUnit.Millis => (object)checked(v * 1000),
                                    ParquetSharp.TimeUnit.Nanos => (object)(isMax ? CeilDiv(v, 1000) : FloorDiv(v, 1000)),
                                    _ => (object)v,
                                };
                            }
                        case ArrowTypeId.Date32: return null;
                        default: return v;
                    }
                }
            case Statistics<float> f:
                {
                    var v = isMax ? f.Max : f.Min;
                    return float.IsFinite(v) ? (double)v : null;
                }
            case Statistics<double> db:
                {
                    var v = isMax ? db.Max : db.Min;
                    return double.IsFinite(v) ? v : null;
                }
            case Statistics<ByteArray> ba:
                {
                    if (type.TypeId is not (ArrowTypeId.String or ArrowTypeId.LargeString)) return null;
                    var v = isMax ? ba.Max : ba.Min;
                    return Utf8(v.Pointer, v.Length);
                }
            case Statistics<FixedLenByteArray> fl:
                {
                    if (type is not Decimal128Type dec) return null;
                    var v = isMax ? fl.Max : fl.Min;
                    return DecimalFromBigEndian(v.Pointer, d.TypeLength, dec.Scale);
                }
            default:
                return null;
        }
    }

    // By remainder, not by adding b - 1: that overflows (and swaps the bounds) for values near the ends of the range.
    private static long FloorDiv(long a, long b) => Math.DivRem(a, b, out var r) - (r < 0 ? 1 : 0);

    private static long CeilDiv(long a, long b) => Math.DivRem(a, b, out var r) + (r > 0 ? 1 : 0);

    private static unsafe string Utf8(IntPtr p, int length) =>
        length == 0 ? "" : System.Text.Encoding.UTF8.GetString((byte*)p, length);

    private static unsafe decimal? DecimalFromBigEndian(IntPtr p, int length, int scale)
    {
        if (length is <= 0 or > 16) return null;
        Span<byte> buf = stackalloc byte[16];
        var src = new ReadOnlySpan<byte>((void*)p, length);
        var fill = (src[0] & 0x80) != 0 ? (byte)0xFF : (byte)0;
        buf[..(16 - length)].Fill(fill);
        src.CopyTo(buf[(16 - length)..]);
        var value = BinaryPrimitives.ReadInt128BigEndian(buf);
        return ScaleDecimal(value, scale);
    }

    /// <summary>unscaled * 10^-scale as a decimal, or null when it does not fit System.Decimal.</summary>
    internal static decimal? ScaleDecimal(Int128 unscaled, int scale)
    {
        var negative = unscaled < 0;
        var mag = (UInt128)(negative ? -unscaled : unscaled);
        if (mag >> 96 != 0 || scale > 28) return null;
        var lo = (int)(uint)mag;
        var mid = (int)(uint)(mag >> 32);
        var hi = (int)(uint)(mag >> 64);
        return new decimal(lo, mid, hi, negative, (byte)scale);
    }

    /// <summary>Reads a decimal128 value from an Arrow array's 16-byte little-endian buffer.</summary>
    internal static Int128 ReadInt128(ReadOnlySpan<byte> buffer, int index) =>
        MemoryMarshal.Cast<byte, Int128>(buffer)[index];
}
