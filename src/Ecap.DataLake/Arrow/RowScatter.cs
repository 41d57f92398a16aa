using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Splits one column into per-group arrays by scattering: the source is read once in order and
/// each row is written to its group's region at the next position, so reads are sequential and
/// writes go to one sequential stream per group (cache friendly, unlike a random-access gather
/// over the whole batch). Each group's array has offset 0 and views its own slice of one shared
/// buffer per column; validity bitmaps are per group (bit 0 = first row of the group).
/// </summary>
internal static class RowScatter
{
    /// <summary>
    /// Scatters <paramref name="array"/> into groups. <paramref name="groupOf"/>[i] is row i's group,
    /// <paramref name="position"/>[i] its index in the grouped order (group g occupies
    /// [starts[g], starts[g+1])), rows of a group keeping their relative order.
    /// </summary>
    public static IArrowArray[] Scatter(IArrowArray array, int[] groupOf, int[] position, int[] starts)
    {
        var data = array.Data;
        int groups = starts.Length - 1;
        if (!RowGather.IsSupported(data.DataType)) return ScatterBySlices(array, position, starts);
        var (validity, nullCounts) = ScatterValidity(data, groupOf, position, starts);
        var result = new IArrowArray[groups];
        switch (data.DataType.TypeId)
        {
            case ArrowTypeId.Boolean:
                {
                    var bits = ScatterBits(data.Buffers[1].Span, data.Offset, data.Length, groupOf, position, starts);
                    for (int g = 0; g < groups; g++)
                        result[g] = Build(data.DataType, starts, g, nullCounts, [validity[g], bits[g]]);
                    break;
                }
            case ArrowTypeId.String:
            case ArrowTypeId.Binary:
                ScatterVarBinary(data, groupOf, position, starts, validity, nullCounts, result);
                break;
            default:
                {
                    int width = RowGather.FixedWidth(data.DataType);
                    var values = ScatterFixed(data.Buffers[1].Span, data.Offset, data.Length, width, position);
                    for (int g = 0; g < groups; g++)
                    {
                        var slice = new ArrowBuffer(values.AsMemory(starts[g] * width, (starts[g + 1] - starts[g]) * width));
                        result[g] = Build(data.DataType, starts, g, nullCounts, [validity[g], slice]);
                    }
                    break;
                }
        }
        return result;
    }

    private static IArrowArray[] ScatterBySlices(IArrowArray array, int[] position, int[] starts)
    {
        var rows = new int[position.Length];
        for (int i = 0; i < position.Length; i++) rows[position[i]] = i;
        var result = new IArrowArray[starts.Length - 1];
        for (int g = 0; g < result.Length; g++)
            result[g] = RowGather.TakeBySlices(array, rows.AsSpan(starts[g], starts[g + 1] - starts[g]));
        return result;
    }

    private static IArrowArray Build(IArrowType type, int[] starts, int g, int[] nullCounts, ArrowBuffer[] buffers) =>
        ArrowArrayFactory.BuildArray(new ArrayData(type, starts[g + 1] - starts[g], nullCounts[g], 0, buffers));

    private static (ArrowBuffer[] Validity, int[] NullCounts) ScatterValidity(ArrayData data, int[] groupOf, int[] position, int[] starts)
    {
        int groups = starts.Length - 1;
        var buffers = new ArrowBuffer[groups];
        var nullCounts = new int[groups];
        if (data.NullCount == 0 || data.Buffers[0].IsEmpty)
        {
            System.Array.Fill(buffers, ArrowBuffer.Empty);
            return (buffers, nullCounts);
        }
        var bitmaps = ScatterBits(data.Buffers[0].Span, data.Offset, data.Length, groupOf, position, starts, nullCounts);
        for (int g = 0; g < groups; g++) buffers[g] = nullCounts[g] == 0 ? ArrowBuffer.Empty : bitmaps[g];
        return (buffers, nullCounts);
    }

    /// <summary>Scatters a bitmap into one bitmap per group; counts zero bits per group when asked.</summary>
    private static ArrowBuffer[] ScatterBits(ReadOnlySpan<byte> bits, int offset, int length, int[] groupOf, int[] position, int[] starts, int[]? zeros = null)
    {
        int groups = starts.Length - 1;
        var maps = new byte[groups][];
        for (int g = 0; g < groups; g++) maps[g] = new byte[(starts[g + 1] - starts[g] + 7) >> 3];
        for (int i = 0; i < length; i++)
        {
            int b = i + offset;
            int g = groupOf[i];
            if (((bits[b >> 3] >> (b & 7)) & 1) != 0)
            {
                int local = position[i] - starts[g];
                maps[g][local >> 3] |= (byte)(1 << (local & 7));
            }
            else if (zeros is not null)
            {
                zeros[g]++;
            }
        }
        var buffers = new ArrowBuffer[groups];
        for (int g = 0; g < groups; g++) buffers[g] = new ArrowBuffer(maps[g]);
        return buffers;
    }

    private static byte[] ScatterFixed(ReadOnlySpan<byte> values, int offset, int length, int width, int[] position)
    {
        var dst = GC.AllocateUninitializedArray<byte>(length * width);
        switch (width)
        {
            case 1: Scatter<byte>(values, offset, length, position, dst); break;
            case 2: Scatter<short>(values, offset, length, position, dst); break;
            case 4: Scatter<int>(values, offset, length, position, dst); break;
            case 8: Scatter<long>(values, offset, length, position, dst); break;
            case 16: Scatter<Int128>(values, offset, length, position, dst); break;
            default:
                for (int i = 0; i < length; i++)
                    values.Slice((i + offset) * width, width).CopyTo(dst.AsSpan(position[i] * width, width));
                break;
        }
        return dst;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Scatter<T>(ReadOnlySpan<byte> values, int offset, int length, int[] position, byte[] dst)
        where T : unmanaged
    {
        var src = MemoryMarshal.Cast<byte, T>(values).Slice(offset, length);
        var d = MemoryMarshal.Cast<byte, T>(dst.AsSpan());
        for (int i = 0; i < src.Length; i++) d[position[i]] = src[i];
    }

    private static void ScatterVarBinary(ArrayData data, int[] groupOf, int[] position, int[] starts,
        ArrowBuffer[] validity, int[] nullCounts, IArrowArray[] result)
    {
        int n = data.Length, groups = starts.Length - 1;
        var srcOffsets = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span).Slice(data.Offset, n + 1);
        var srcValues = data.Buffers[2].Span;

        // Lengths in grouped order, then per-group offsets (each group's offsets start at 0).
        // Group g's offsets live at [starts[g] + g, starts[g+1] + g] in one shared buffer.
        var offsetBytes = GC.AllocateUninitializedArray<byte>((n + groups) * sizeof(int));
        var offsets = MemoryMarshal.Cast<byte, int>(offsetBytes.AsSpan());
        for (int i = 0; i < n; i++)
            offsets[position[i] + groupOf[i] + 1] = srcOffsets[i + 1] - srcOffsets[i];
        var dataStart = new long[groups + 1];
        for (int g = 0; g < groups; g++)
        {
            int first = starts[g] + g;
            int count = starts[g + 1] - starts[g];
            long acc = 0;
            offsets[first] = 0;
            for (int k = 1; k <= count; k++)
            {
                acc += offsets[first + k];
                if (acc > int.MaxValue)
                    throw new DataLakeException("A string/binary column of one partition exceeds 2 GiB in one batch; use smaller batches.");
                offsets[first + k] = (int)acc;
            }
            dataStart[g + 1] = dataStart[g] + acc;
        }
        if (dataStart[groups] > System.Array.MaxLength)
            throw new DataLakeException("A string/binary column exceeds the largest .NET array in one batch; use smaller batches.");
        var values = GC.AllocateUninitializedArray<byte>((int)dataStart[groups]);
        var dst = values.AsSpan();
        for (int i = 0; i < n; i++)
        {
            int g = groupOf[i];
            int start = srcOffsets[i];
            int len = srcOffsets[i + 1] - start;
            if (len == 0) continue;
            int at = (int)dataStart[g] + offsets[position[i] + g];
            srcValues.Slice(start, len).CopyTo(dst.Slice(at, len));
        }
        for (int g = 0; g < groups; g++)
        {
            int count = starts[g + 1] - starts[g];
            var offs = new ArrowBuffer(offsetBytes.AsMemory((starts[g] + g) * sizeof(int), (count + 1) * sizeof(int)));
            var vals = new ArrowBuffer(values.AsMemory((int)dataStart[g], (int)(dataStart[g + 1] - dataStart[g])));
            result[g] = Build(data.DataType, starts, g, nullCounts, [validity[g], offs, vals]);
        }
    }
}
