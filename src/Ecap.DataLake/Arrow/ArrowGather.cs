using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Gathers ("takes") rows of Arrow arrays by index into new arrays, building the Arrow buffers
/// directly (one typed copy loop per column, no per-value builder calls). Used by the row filter,
/// and by anyone who sorts or partitions batches: compute an index list, then take.
/// Supported: bool, int8..int64, uint8..uint64, half/float/double, decimal128/256, date32/64,
/// time32/64, timestamp, duration, string, binary, fixed-size binary, null, dictionary (indices
/// gathered, dictionary shared), struct, list and map (children gathered recursively).
/// Other types throw <see cref="NotSupportedException"/>. Indices may repeat and come in any order.
/// </summary>
internal static class ArrowGather
{
    /// <summary>The rows of <paramref name="batch"/> at <paramref name="indices"/>, in that order.</summary>
    public static RecordBatch Take(RecordBatch batch, ReadOnlySpan<int> indices)
    {
        var columns = new IArrowArray[batch.ColumnCount];
        for (var c = 0; c < columns.Length; c++) columns[c] = Take(batch.Column(c), indices);
        return new RecordBatch(batch.Schema, columns, indices.Length);
    }

    public static IArrowArray Take(IArrowArray array, ReadOnlySpan<int> indices) =>
        ArrowArrayFactory.BuildArray(Take(array.Data, indices));

    /// <summary>
    /// An array of <paramref name="length"/> nulls of any type (a column a file does not have, read under a
    /// newer table schema). Nested types get all-null children of length 0 (lists, maps) or
    /// <paramref name="length"/> (structs).
    /// </summary>
    public static IArrowArray Nulls(IArrowType type, int length) => ArrowArrayFactory.BuildArray(NullData(type, length));

    private static ArrayData NullData(IArrowType type, int length)
    {
        if (type.TypeId == ArrowTypeId.Null) return new ArrayData(type, length, length, 0, System.Array.Empty<ArrowBuffer>(), []);
        var validity = new ArrowBuffer(new byte[(length + 7) / 8]);
        switch (type)
        {
            case BooleanType:
                return new ArrayData(type, length, length, 0, [validity, new ArrowBuffer(new byte[(length + 7) / 8])], []);
            case FixedWidthType fw:
                return new ArrayData(type, length, length, 0, [validity, new ArrowBuffer(new byte[length * Math.Max(1, fw.BitWidth / 8)])], []);
            case StringType or BinaryType:
                return new ArrayData(type, length, length, 0, [validity, new ArrowBuffer(new byte[(length + 1) * 4]), ArrowBuffer.Empty], []);
            case StructType st:
                return new ArrayData(type, length, length, 0, [validity], st.Fields.Select(f => NullData(f.DataType, length)).ToArray());
            case ListType lt:
                return new ArrayData(type, length, length, 0, [validity, new ArrowBuffer(new byte[(length + 1) * 4])], [NullData(lt.ValueDataType, 0)]);
            case MapType mt:
                return new ArrayData(type, length, length, 0, [validity, new ArrowBuffer(new byte[(length + 1) * 4])],
                    [NullData(new StructType([mt.KeyField, mt.ValueField]), 0)]);
            default:
                throw new NotSupportedException($"Cannot build a null array of Arrow type {type.Name}.");
        }
    }

    /// <summary>
    /// Splits a batch into groups (partitions, buckets): row i goes to group <c>groupOfRow[i]</c>
    /// (0..groupCount-1); rows keep their order within a group. Groups without rows are null. One
    /// counting pass and one <see cref="Take(RecordBatch, ReadOnlySpan{int})"/> per non-empty group.
    /// </summary>
    public static RecordBatch?[] Split(RecordBatch batch, ReadOnlySpan<int> groupOfRow, int groupCount)
    {
        if (groupOfRow.Length != batch.Length)
            throw new ArgumentException($"groupOfRow has {groupOfRow.Length} entries for {batch.Length} rows.", nameof(groupOfRow));
        var starts = new int[groupCount + 1];
        foreach (var g in groupOfRow)
        {
            if ((uint)g >= (uint)groupCount) throw new ArgumentOutOfRangeException(nameof(groupOfRow), $"Group {g} is outside 0..{groupCount - 1}.");
            starts[g + 1]++;
        }
        for (var g = 0; g < groupCount; g++) starts[g + 1] += starts[g];
        var next = starts.AsSpan(0, groupCount).ToArray();
        var order = new int[groupOfRow.Length];
        for (var i = 0; i < groupOfRow.Length; i++) order[next[groupOfRow[i]]++] = i;
        var result = new RecordBatch?[groupCount];
        for (var g = 0; g < groupCount; g++)
        {
            var len = starts[g + 1] - starts[g];
            if (len == 0) continue;
            result[g] = len == batch.Length ? batch : Take(batch, order.AsSpan(starts[g], len));
        }
        return result;
    }

    /// <summary>Index list 0..n-1 where <paramref name="selected"/> is true.</summary>
    public static int[] IndicesOf(ReadOnlySpan<bool> selected)
    {
        var count = 0;
        foreach (var s in selected) if (s) count++;
        var result = new int[count];
        var k = 0;
        for (var i = 0; i < selected.Length; i++) if (selected[i]) result[k++] = i;
        return result;
    }

    public static ArrayData Take(ArrayData data, ReadOnlySpan<int> indices)
    {
        var n = indices.Length;
        var type = data.DataType;
        if (type.TypeId == ArrowTypeId.Null)
            return new ArrayData(type, n, n, 0, System.Array.Empty<ArrowBuffer>(), []);

        var (validity, nulls) = TakeValidity(data, indices);
        switch (type)
        {
            case BooleanType:
                return new ArrayData(type, n, nulls, 0, [validity, TakeBits(data.Buffers[1].Span, data.Offset, indices)], []);
            case FixedWidthType fw when type.TypeId != ArrowTypeId.Boolean:
                {
                    var width = fw.BitWidth / 8;
                    var values = width switch
                    {
                        1 => TakeFixed<byte>(data.Buffers[1].Span, data.Offset, indices),
                        2 => TakeFixed<short>(data.Buffers[1].Span, data.Offset, indices),
                        4 => TakeFixed<int>(data.Buffers[1].Span, data.Offset, indices),
                        8 => TakeFixed<long>(data.Buffers[1].Span, data.Offset, indices),
                        16 => TakeFixed<Int128>(data.Buffers[1].Span, data.Offset, indices),
                        _ => TakeFixedBytes(data.Buffers[1].Span, data.Offset, width, indices),
                    };
                    return new ArrayData(type, n, nulls, 0, [validity, values], []);
                }
            case StringType or BinaryType:
                {
                    var (offsets, bytes) = TakeVarBinary(data.Buffers[1].Span, data.Buffers[2].Span, data.Offset, indices);
                    return new ArrayData(type, n, nulls, 0, [validity, offsets, bytes], []);
                }
            case DictionaryType:
                {
                    var indexData = new ArrayData(((DictionaryType)type).IndexType, data.Length, data.NullCount, data.Offset, data.Buffers, []);
                    var taken = Take(indexData, indices);
                    return new ArrayData(type, n, taken.NullCount, 0, taken.Buffers, [], data.Dictionary);
                }
            case StructType:
                {
                    Span<int> shifted = data.Offset == 0 ? default : new int[n];
                    ReadOnlySpan<int> childIdx = indices;
                    if (data.Offset != 0)
                    {
                        for (var i = 0; i < n; i++) shifted[i] = indices[i] + data.Offset;
                        childIdx = shifted;
                    }
                    var children = new ArrayData[data.Children.Length];
                    for (var c = 0; c < children.Length; c++) children[c] = Take(data.Children[c], childIdx);
                    return new ArrayData(type, n, nulls, 0, [validity], children);
                }
            case ListType or MapType:
                {
                    var srcOffsets = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span).Slice(data.Offset, data.Length + 1);
                    var offsets = new int[n + 1];
                    var total = 0;
                    for (var i = 0; i < n; i++)
                    {
                        var r = indices[i];
                        total += srcOffsets[r + 1] - srcOffsets[r];
                        offsets[i + 1] = total;
                    }
                    var childIndices = new int[total];
                    var k = 0;
                    for (var i = 0; i < n; i++)
                    {
                        var r = indices[i];
                        for (var j = srcOffsets[r]; j < srcOffsets[r + 1]; j++) childIndices[k++] = j;
                    }
                    var child = Take(data.Children[0], childIndices);
                    return new ArrayData(type, n, nulls, 0, [validity, new ArrowBuffer(MemoryMarshal.AsBytes(offsets.AsSpan()).ToArray())], [child]);
                }
            default:
                throw new NotSupportedException($"Gathering rows of Arrow type {type.Name} is not supported.");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loop: skip tier-0 code on first use
    private static (ArrowBuffer Buffer, int NullCount) TakeValidity(ArrayData data, ReadOnlySpan<int> indices)
    {
        if (data.NullCount == 0 || data.Buffers.Length == 0 || data.Buffers[0].IsEmpty) return (ArrowBuffer.Empty, 0);
        var src = data.Buffers[0].Span;
        var off = data.Offset;
        var dst = new byte[(indices.Length + 7) / 8];
        var valid = 0;
        for (var i = 0; i < indices.Length; i++)
        {
            var j = indices[i] + off;
            if ((src[j >> 3] & (1 << (j & 7))) != 0)
            {
                dst[i >> 3] |= (byte)(1 << (i & 7));
                valid++;
            }
        }
        var nulls = indices.Length - valid;
        return nulls == 0 ? (ArrowBuffer.Empty, 0) : (new ArrowBuffer(dst), nulls);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loop: skip tier-0 code on first use
    private static ArrowBuffer TakeBits(ReadOnlySpan<byte> src, int offset, ReadOnlySpan<int> indices)
    {
        var dst = new byte[(indices.Length + 7) / 8];
        for (var i = 0; i < indices.Length; i++)
        {
            var j = indices[i] + offset;
            if ((src[j >> 3] & (1 << (j & 7))) != 0) dst[i >> 3] |= (byte)(1 << (i & 7));
        }
        return new ArrowBuffer(dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loop: skip tier-0 code on first use
    private static ArrowBuffer TakeFixed<T>(ReadOnlySpan<byte> buffer, int offset, ReadOnlySpan<int> indices) where T : unmanaged
    {
        var src = MemoryMarshal.Cast<byte, T>(buffer)[offset..];
        var bytes = GC.AllocateUninitializedArray<byte>(indices.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        var dst = MemoryMarshal.Cast<byte, T>(bytes.AsSpan());
        for (var i = 0; i < indices.Length; i++) dst[i] = src[indices[i]];
        return new ArrowBuffer(bytes);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loop: skip tier-0 code on first use
    private static ArrowBuffer TakeFixedBytes(ReadOnlySpan<byte> buffer, int offset, int width, ReadOnlySpan<int> indices)
    {
        var bytes = GC.AllocateUninitializedArray<byte>(indices.Length * width);
        for (var i = 0; i < indices.Length; i++)
            buffer.Slice((indices[i] + offset) * width, width).CopyTo(bytes.AsSpan(i * width, width));
        return new ArrowBuffer(bytes);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loop: skip tier-0 code on first use
    private static (ArrowBuffer Offsets, ArrowBuffer Values) TakeVarBinary(ReadOnlySpan<byte> offsetBuffer, ReadOnlySpan<byte> values, int offset, ReadOnlySpan<int> indices)
    {
        var src = MemoryMarshal.Cast<byte, int>(offsetBuffer)[offset..];
        var offBytes = GC.AllocateUninitializedArray<byte>((indices.Length + 1) * 4);
        var dstOff = MemoryMarshal.Cast<byte, int>(offBytes.AsSpan());
        var total = 0;
        dstOff[0] = 0;
        for (var i = 0; i < indices.Length; i++)
        {
            var r = indices[i];
            total += src[r + 1] - src[r];
            dstOff[i + 1] = total;
        }
        var dst = GC.AllocateUninitializedArray<byte>(total);
        var pos = 0;
        for (var i = 0; i < indices.Length; i++)
        {
            var r = indices[i];
            var start = src[r];
            var len = src[r + 1] - start;
            values.Slice(start, len).CopyTo(dst.AsSpan(pos, len));
            pos += len;
        }
        return (new ArrowBuffer(offBytes), new ArrowBuffer(dst));
    }
}
