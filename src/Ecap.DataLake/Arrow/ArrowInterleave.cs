using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Gathers runs of rows from several batches of one schema into one new batch ("interleave"): run i of the output
/// is <c>lengths[i]</c> consecutive rows of <c>sources[source[i]]</c> from row <c>starts[i]</c>. A k-way merge builds
/// its output this way straight from the sorted inputs, with no concatenation of the inputs first. The runs are
/// grouped by source once, so each column reads each source's buffers once (one typed copy loop per source and
/// column, a block copy per run). Booleans, fixed-width types, strings and binaries are built directly; other types
/// (structs, lists, maps, dictionaries) fall back to a concatenation of the sources and <see cref="ArrowGather"/>.
/// </summary>
internal static class ArrowInterleave
{
    public static RecordBatch Take(Schema schema, IReadOnlyList<RecordBatch> sources, ReadOnlySpan<int> source, ReadOnlySpan<int> starts, ReadOnlySpan<int> lengths)
    {
        if (source.Length != starts.Length || source.Length != lengths.Length)
            throw new ArgumentException($"{source.Length} sources for {starts.Length} starts and {lengths.Length} lengths.", nameof(lengths));
        var plan = new Plan(sources, source, starts, lengths);
        var columns = new IArrowArray[schema.FieldsList.Count];
        var data = new ArrayData[sources.Count];
        for (var c = 0; c < columns.Length; c++)
        {
            for (var s = 0; s < data.Length; s++) data[s] = sources[s].Column(c).Data;
            columns[c] = ArrowArrayFactory.BuildArray(Take(data, plan, sources, c));
        }
        return new RecordBatch(schema, columns, plan.Length);
    }

    /// <summary>The runs grouped by source (a counting sort): where each lands in the output, where it starts in its source, its length.</summary>
    private sealed class Plan
    {
        public readonly int Length;
        public readonly int[] Starts;    // the runs of source s are k = Starts[s]..Starts[s + 1]
        public readonly int[] Positions; // Positions[k]: the run's first row in the output
        public readonly int[] Rows;      // Rows[k]: the run's first row in its source
        public readonly int[] Counts;    // Counts[k]: the run's length

        public Plan(IReadOnlyList<RecordBatch> sources, ReadOnlySpan<int> source, ReadOnlySpan<int> starts, ReadOnlySpan<int> lengths)
        {
            var sourceCount = sources.Count;
            Starts = new int[sourceCount + 1];
            foreach (var s in source)
            {
                if ((uint)s >= (uint)sourceCount) throw new ArgumentOutOfRangeException(nameof(source), $"Source {s} is outside 0..{sourceCount - 1}.");
                Starts[s + 1]++;
            }
            for (var s = 0; s < sourceCount; s++) Starts[s + 1] += Starts[s];
            var next = Starts.AsSpan(0, sourceCount).ToArray();
            Positions = GC.AllocateUninitializedArray<int>(source.Length);
            Rows = GC.AllocateUninitializedArray<int>(source.Length);
            Counts = GC.AllocateUninitializedArray<int>(source.Length);
            var position = 0;
            for (var i = 0; i < source.Length; i++)
            {
                if (starts[i] < 0 || lengths[i] < 0 || starts[i] + lengths[i] > sources[source[i]].Length)
                    throw new ArgumentOutOfRangeException(nameof(lengths), $"Rows {starts[i]}..+{lengths[i]} are outside source {source[i]} ({sources[source[i]].Length} rows).");
                var k = next[source[i]]++;
                Positions[k] = position;
                Rows[k] = starts[i];
                Counts[k] = lengths[i];
                position += lengths[i];
            }
            Length = position;
        }
    }

    private static ArrayData Take(ArrayData[] sources, Plan plan, IReadOnlyList<RecordBatch> batches, int column)
    {
        var type = sources[0].DataType;
        var n = plan.Length;
        switch (type)
        {
            case NullType:
                return new ArrayData(type, n, n, 0, System.Array.Empty<ArrowBuffer>(), []);
            case BooleanType:
                {
                    var (validity, nulls) = Validity(sources, plan);
                    return new ArrayData(type, n, nulls, 0, [validity, Bits(sources, plan)], []);
                }
            case FixedWidthType fw when type is not DictionaryType:
                {
                    var (validity, nulls) = Validity(sources, plan);
                    var values = (fw.BitWidth / 8) switch
                    {
                        1 => Fixed<byte>(sources, plan),
                        2 => Fixed<short>(sources, plan),
                        4 => Fixed<int>(sources, plan),
                        8 => Fixed<long>(sources, plan),
                        16 => Fixed<Int128>(sources, plan),
                        var width => FixedBytes(sources, plan, width),
                    };
                    return new ArrayData(type, n, nulls, 0, [validity, values], []);
                }
            case StringType or BinaryType:
                {
                    var (validity, nulls) = Validity(sources, plan);
                    var (offsets, values) = VarBinary(sources, plan);
                    return new ArrayData(type, n, nulls, 0, [validity, offsets, values], []);
                }
            default:
                {
                    // Nested and dictionary columns: rare as merge payloads; correct through the generic kernels.
                    var concatenated = ArrowArrayConcatenator.Concatenate(batches.Select(b => b.Column(column)).ToList());
                    var bases = new int[sources.Length];
                    for (var s = 1; s < sources.Length; s++) bases[s] = bases[s - 1] + sources[s - 1].Length;
                    var indices = new int[n];
                    for (var s = 0; s < sources.Length; s++)
                        for (var k = plan.Starts[s]; k < plan.Starts[s + 1]; k++)
                            for (var i = 0; i < plan.Counts[k]; i++) indices[plan.Positions[k] + i] = bases[s] + plan.Rows[k] + i;
                    return ArrowGather.Take(concatenated.Data, indices);
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot loop: skip tier-0 code on first use
    private static (ArrowBuffer Buffer, int NullCount) Validity(ArrayData[] sources, Plan plan)
    {
        if (sources.All(s => s.NullCount == 0 || s.Buffers.Length == 0 || s.Buffers[0].IsEmpty)) return (ArrowBuffer.Empty, 0);
        var dst = new byte[(plan.Length + 7) / 8];
        var valid = 0;
        for (var s = 0; s < sources.Length; s++)
        {
            var data = sources[s];
            int from = plan.Starts[s], to = plan.Starts[s + 1];
            if (data.NullCount == 0 || data.Buffers[0].IsEmpty)
            {
                for (var k = from; k < to; k++)
                    for (int p = plan.Positions[k], end = p + plan.Counts[k]; p < end; p++) dst[p >> 3] |= (byte)(1 << (p & 7));
                continue;
            }
            var src = data.Buffers[0].Span;
            var off = data.Offset;
            for (var k = from; k < to; k++)
            {
                int j = plan.Rows[k] + off, p = plan.Positions[k];
                for (var i = 0; i < plan.Counts[k]; i++, j++, p++)
                    if ((src[j >> 3] & (1 << (j & 7))) != 0) dst[p >> 3] |= (byte)(1 << (p & 7));
            }
        }
        foreach (var b in dst) valid += System.Numerics.BitOperations.PopCount(b);
        var nulls = plan.Length - valid;
        return nulls == 0 ? (ArrowBuffer.Empty, 0) : (new ArrowBuffer(dst), nulls);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ArrowBuffer Bits(ArrayData[] sources, Plan plan)
    {
        var dst = new byte[(plan.Length + 7) / 8];
        for (var s = 0; s < sources.Length; s++)
        {
            var src = sources[s].Buffers[1].Span;
            var off = sources[s].Offset;
            for (var k = plan.Starts[s]; k < plan.Starts[s + 1]; k++)
            {
                int j = plan.Rows[k] + off, p = plan.Positions[k];
                for (var i = 0; i < plan.Counts[k]; i++, j++, p++)
                    if ((src[j >> 3] & (1 << (j & 7))) != 0) dst[p >> 3] |= (byte)(1 << (p & 7));
            }
        }
        return new ArrowBuffer(dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ArrowBuffer Fixed<T>(ArrayData[] sources, Plan plan) where T : unmanaged
    {
        var bytes = GC.AllocateUninitializedArray<byte>(plan.Length * Unsafe.SizeOf<T>());
        var dst = MemoryMarshal.Cast<byte, T>(bytes.AsSpan());
        var positions = plan.Positions;
        var rows = plan.Rows;
        var counts = plan.Counts;
        for (var s = 0; s < sources.Length; s++)
        {
            int from = plan.Starts[s], to = plan.Starts[s + 1];
            if (from == to) continue;
            var src = MemoryMarshal.Cast<byte, T>(sources[s].Buffers[1].Span)[sources[s].Offset..];
            for (var k = from; k < to; k++)
            {
                if (counts[k] == 1) dst[positions[k]] = src[rows[k]];
                else src.Slice(rows[k], counts[k]).CopyTo(dst.Slice(positions[k], counts[k]));
            }
        }
        return new ArrowBuffer(bytes);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static ArrowBuffer FixedBytes(ArrayData[] sources, Plan plan, int width)
    {
        var bytes = GC.AllocateUninitializedArray<byte>(plan.Length * width);
        for (var s = 0; s < sources.Length; s++)
        {
            var src = sources[s].Buffers[1].Span;
            var off = sources[s].Offset;
            for (var k = plan.Starts[s]; k < plan.Starts[s + 1]; k++)
                src.Slice((plan.Rows[k] + off) * width, plan.Counts[k] * width).CopyTo(bytes.AsSpan(plan.Positions[k] * width, plan.Counts[k] * width));
        }
        return new ArrowBuffer(bytes);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (ArrowBuffer Offsets, ArrowBuffer Values) VarBinary(ArrayData[] sources, Plan plan)
    {
        var offBytes = GC.AllocateUninitializedArray<byte>((plan.Length + 1) * 4);
        var dstOff = MemoryMarshal.Cast<byte, int>(offBytes.AsSpan());
        // Lengths at each output position first, then their running sum, then the bytes (one block per run).
        dstOff[0] = 0;
        for (var s = 0; s < sources.Length; s++)
        {
            int from = plan.Starts[s], to = plan.Starts[s + 1];
            if (from == to) continue;
            var src = MemoryMarshal.Cast<byte, int>(sources[s].Buffers[1].Span)[sources[s].Offset..];
            for (var k = from; k < to; k++)
            {
                int r = plan.Rows[k], p = plan.Positions[k] + 1;
                for (var i = 0; i < plan.Counts[k]; i++, r++) dstOff[p + i] = src[r + 1] - src[r];
            }
        }
        long total = 0;
        for (var i = 1; i <= plan.Length; i++)
        {
            total += dstOff[i];
            if (total > int.MaxValue) throw new InvalidInputException("A merged batch holds more than 2 GB of string or binary data in one column.");
            dstOff[i] = (int)total;
        }
        var dst = GC.AllocateUninitializedArray<byte>((int)total);
        for (var s = 0; s < sources.Length; s++)
        {
            int from = plan.Starts[s], to = plan.Starts[s + 1];
            if (from == to) continue;
            var src = MemoryMarshal.Cast<byte, int>(sources[s].Buffers[1].Span)[sources[s].Offset..];
            var values = sources[s].Buffers[2].Span;
            for (var k = from; k < to; k++)
            {
                var r = plan.Rows[k];
                var begin = src[r];
                var len = src[r + plan.Counts[k]] - begin;
                values.Slice(begin, len).CopyTo(dst.AsSpan(dstOff[plan.Positions[k]], len));
            }
        }
        return (new ArrowBuffer(offBytes), new ArrowBuffer(dst));
    }
}
