using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Tables.Partitioning;

/// <summary>
/// Row gather (Arrow "take") for the flat types the table layer writes: int8-64, uint8-64, float,
/// double, bool, decimal128/256, date32/64, timestamp, time, string, binary (and fixed-size binary).
/// Output arrays have offset 0 and fresh buffers; a column without nulls gets no validity bitmap.
/// Works on whole spans, never one value through a builder.
/// </summary>
/// <remarks>Internal to the partitioner; a generic gather in the Parquet layer may replace it later.</remarks>
internal static class RowGather
{
    /// <summary>Gathers the rows <paramref name="indices"/> of every column of a batch.</summary>
    public static RecordBatch Take(RecordBatch batch, ReadOnlySpan<int> indices)
    {
        var arrays = new IArrowArray[batch.ColumnCount];
        for (int c = 0; c < arrays.Length; c++) arrays[c] = Take(batch.Column(c), indices);
        return new RecordBatch(batch.Schema, arrays, indices.Length);
    }

    /// <summary>Gathers the rows <paramref name="indices"/> of one array.</summary>
    public static IArrowArray Take(IArrowArray array, ReadOnlySpan<int> indices)
    {
        if (!IsSupported(array.Data.DataType)) return TakeBySlices(array, indices);
        var data = array.Data;
        int n = indices.Length;
        var (validity, nullCount) = GatherValidity(data, indices);
        ArrowBuffer[] buffers;
        switch (data.DataType.TypeId)
        {
            case ArrowTypeId.Boolean:
                buffers = [validity, GatherBits(data.Buffers[1].Span, data.Offset, indices)];
                break;
            case ArrowTypeId.String:
            case ArrowTypeId.Binary:
                {
                    var (offsets, values) = GatherVarBinary(data, indices);
                    buffers = [validity, offsets, values];
                    break;
                }
            default:
                {
                    int width = FixedWidth(data.DataType);
                    buffers = [validity, GatherFixed(data.Buffers[1].Span, data.Offset, width, indices)];
                    break;
                }
        }
        return ArrowArrayFactory.BuildArray(new ArrayData(data.DataType, n, nullCount, 0, buffers));
    }

    /// <summary>True for the types the buffer-level gather and scatter handle; others use <see cref="TakeBySlices"/>.</summary>
    public static bool IsSupported(IArrowType type) =>
        type.TypeId is ArrowTypeId.Boolean or ArrowTypeId.String or ArrowTypeId.Binary
        || (type is FixedWidthType && type is not DictionaryType && type.TypeId != ArrowTypeId.Null);

    /// <summary>
    /// Fallback for any other type (lists, structs, maps, ...): slices runs of consecutive indices and
    /// concatenates them. Correct for every type Arrow can concatenate; slower than the typed paths.
    /// </summary>
    public static IArrowArray TakeBySlices(IArrowArray array, ReadOnlySpan<int> indices)
    {
        if (indices.Length == 0) return ArrowArrayFactory.Slice(array, 0, 0);
        var parts = new List<IArrowArray>();
        int start = indices[0], length = 1;
        for (int k = 1; k <= indices.Length; k++)
        {
            if (k < indices.Length && indices[k] == start + length)
            {
                length++;
                continue;
            }
            parts.Add(ArrowArrayFactory.Slice(array, start, length));
            if (k < indices.Length)
            {
                start = indices[k];
                length = 1;
            }
        }
        return ArrowArrayConcatenator.Concatenate(parts);
    }

    /// <summary>Byte width of a fixed-width type; throws for types the gather does not support.</summary>
    public static int FixedWidth(IArrowType type) => type switch
    {
        FixedWidthType { TypeId: not ArrowTypeId.Boolean } fw when type is not DictionaryType => (fw.BitWidth + 7) / 8,
        _ => throw new NotSupportedException($"Row gather does not support Arrow type {type.Name}."),
    };

    private static (ArrowBuffer Validity, int NullCount) GatherValidity(ArrayData data, ReadOnlySpan<int> indices)
    {
        if (data.NullCount == 0 || data.Buffers[0].IsEmpty) return (ArrowBuffer.Empty, 0);
        var bits = data.Buffers[0].Span;
        int offset = data.Offset;
        var dst = new byte[(indices.Length + 7) >> 3];
        int valid = 0;
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k] + offset;
            int bit = (bits[i >> 3] >> (i & 7)) & 1;
            dst[k >> 3] |= (byte)(bit << (k & 7));
            valid += bit;
        }
        int nulls = indices.Length - valid;
        return nulls == 0 ? (ArrowBuffer.Empty, 0) : (new ArrowBuffer(dst), nulls);
    }

    private static ArrowBuffer GatherBits(ReadOnlySpan<byte> bits, int offset, ReadOnlySpan<int> indices)
    {
        var dst = new byte[(indices.Length + 7) >> 3];
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k] + offset;
            int bit = (bits[i >> 3] >> (i & 7)) & 1;
            dst[k >> 3] |= (byte)(bit << (k & 7));
        }
        return new ArrowBuffer(dst);
    }

    private static ArrowBuffer GatherFixed(ReadOnlySpan<byte> values, int offset, int width, ReadOnlySpan<int> indices)
    {
        var dst = GC.AllocateUninitializedArray<byte>(indices.Length * width);
        switch (width)
        {
            case 1: Gather<byte>(values, offset, indices, dst); break;
            case 2: Gather<short>(values, offset, indices, dst); break;
            case 4: Gather<int>(values, offset, indices, dst); break;
            case 8: Gather<long>(values, offset, indices, dst); break;
            case 16: Gather<Int128>(values, offset, indices, dst); break;
            default:
                for (int k = 0; k < indices.Length; k++)
                    values.Slice((indices[k] + offset) * width, width).CopyTo(dst.AsSpan(k * width, width));
                break;
        }
        return new ArrowBuffer(dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Gather<T>(ReadOnlySpan<byte> values, int offset, ReadOnlySpan<int> indices, byte[] dst)
        where T : unmanaged
    {
        var src = MemoryMarshal.Cast<byte, T>(values).Slice(offset);
        var d = MemoryMarshal.Cast<byte, T>(dst.AsSpan());
        for (int k = 0; k < indices.Length; k++) d[k] = src[indices[k]];
    }

    private static (ArrowBuffer Offsets, ArrowBuffer Values) GatherVarBinary(ArrayData data, ReadOnlySpan<int> indices)
    {
        var srcOffsets = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span).Slice(data.Offset);
        var srcValues = data.Buffers[2].Span;
        var offsets = GC.AllocateUninitializedArray<byte>((indices.Length + 1) * sizeof(int));
        var dstOffsets = MemoryMarshal.Cast<byte, int>(offsets.AsSpan());
        long total = 0;
        dstOffsets[0] = 0;
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k];
            total += srcOffsets[i + 1] - srcOffsets[i];
            if (total > int.MaxValue)
                throw new DataLakeException("A gathered string/binary column exceeds 2 GiB; use smaller batches.");
            dstOffsets[k + 1] = (int)total;
        }
        var values = GC.AllocateUninitializedArray<byte>((int)total);
        var dst = values.AsSpan();
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k];
            int start = srcOffsets[i];
            int len = srcOffsets[i + 1] - start;
            srcValues.Slice(start, len).CopyTo(dst.Slice(dstOffsets[k], len));
        }
        return (new ArrowBuffer(offsets), new ArrowBuffer(values));
    }
}
