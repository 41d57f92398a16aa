using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// Merges data files that are each sorted by the same keys into one sorted stream (a k-way heap merge),
/// holding one batch per open input. A binary heap orders the inputs by their next row; the input on top
/// emits rows until its next row sorts after the best of the others (runs of rows come out together), and
/// each output batch is gathered straight from the input batches the rows came from
/// (<see cref="ArrowInterleave"/>): no concatenation, no sort. Rows compare by a 64-bit prefix of the first
/// key (the value itself for integer-like keys without nulls, so most comparisons are one integer compare),
/// then by every key (<see cref="KeyComparer"/>), then by input order, so equal keys keep the inputs' order.
/// Inputs whose key ranges follow each other (keys that grow with time, the usual case) come out as whole
/// batches, copied without any per-row work.
/// </summary>
internal static class SortedMerge
{
    /// <summary>Rows per merged batch when rows of several inputs interleave.</summary>
    public const int DefaultOutputRows = 8 * 1024;

    public static async IAsyncEnumerable<RecordBatch> MergeAsync(IObjectStore store, IReadOnlyList<AddFile> files, Schema fileSchema,
        IReadOnlyList<SortKey> keys, int batchRows, [EnumeratorCancellation] CancellationToken ct, Schema? statsSchema = null,
        int outputRows = DefaultOutputRows, Parquet.Encryption.IKeyProvider? decryptionKeys = null,
        Func<AddFile, CancellationToken, IAsyncEnumerable<RecordBatch>>? open = null)
    {
        if (keys.Count == 0)
        {
            var plain = new ParquetReadOptions { TableSchema = fileSchema, BatchSize = batchRows, DecryptionKeys = decryptionKeys };
            foreach (var file in files)
                await foreach (var batch in DeletionVectors.ReadLiveRowsAsync(store, file, plain, ct: ct)) yield return batch;
            yield break;
        }
        if (outputRows < 1) throw new ArgumentOutOfRangeException(nameof(outputRows), "At least one row per merged batch.");

        // Inputs are opened only when the merge reaches their first key (stats min of the first sort column, when it
        // is an integer-like column): files whose key ranges follow each other are then read one or two at a time.
        var lazy = statsSchema is not null && IsLongKey(fileSchema, keys);
        var pending = new Queue<(AddFile File, long Min, int Ordinal)>(files
            .Select((f, i) => (File: f, Min: lazy ? RangeOf(f, keys[0].Column, statsSchema!)?.Min ?? long.MinValue : long.MinValue, Ordinal: i))
            .OrderBy(x => x.Min).ThenBy(x => x.Ordinal));
        // Memory is one batch per open input: when many inputs overlap (all open at once), their batches shrink.
        var depth = OverlapDepth(files, keys, fileSchema, statsSchema);
        // Decoding stays on the merge's own thread (no column threads): the encoder runs on the other core meanwhile.
        var read = new ParquetReadOptions { UseThreads = false, TableSchema = fileSchema, BatchSize = Math.Clamp(batchRows * 64 / Math.Max(1, depth), Math.Min(1024, batchRows), batchRows), DecryptionKeys = decryptionKeys };
        var exactPrefix = keys.Count == 1;
        var heap = new Input[files.Count];
        var count = 0;
        // The output batch being built, as runs of rows: run i is rows start[i].. (length[i] of them) of
        // sources[source[i]]; used-up input batches wait in retired until it is gathered.
        var source = new int[outputRows];
        var start = new int[outputRows];
        var length = new int[outputRows];
        var segments = 0;
        var filled = 0;
        var sources = new List<RecordBatch>();
        var retired = new List<RecordBatch>();

        async Task OpenNextAsync()
        {
            var (file, _, ordinal) = pending.Dequeue();
            var batches = open is null ? DeletionVectors.ReadLiveRowsAsync(store, file, read, ct: ct) : open(file, ct);
            var input = new Input(batches.GetAsyncEnumerator(ct), keys, ordinal, exactPrefix);
            if (!await input.AdvanceAsync())
            {
                await input.DisposeAsync();
                return;
            }
            heap[count] = input;
            SiftUp(heap, count++);
        }

        RecordBatch Flush()
        {
            var merged = ArrowInterleave.Take(sources[0].Schema, sources, source.AsSpan(0, segments), start.AsSpan(0, segments), length.AsSpan(0, segments));
            filled = segments = 0;
            sources.Clear();
            for (var i = 0; i < count; i++) heap[i].SourceIndex = -1;
            foreach (var b in retired) b.Dispose();
            retired.Clear();
            return merged;
        }

        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                // Open every pending input that may start at or below the next row. Files without a known range (nulls in
                // the key, no stats) are opened at once; a null key sorts before every file that has one.
                while (pending.Count > 0 && (count == 0 || pending.Peek().Min == long.MinValue
                                             || (!heap[0].KeyIsNull && pending.Peek().Min <= heap[0].LongKey(heap[0].Position))))
                    await OpenNextAsync();
                if (count == 0) break;

                var top = heap[0];
                long? pendingMin = pending.Count > 0 ? pending.Peek().Min : null;
                if (count == 1 && (pendingMin is null || top.LastKeyIsNull || pendingMin > top.LongKey(top.Length - 1)))
                {
                    // Alone up to the end of its batch: the rest of the batch is the output as it is.
                    if (filled > 0) yield return Flush();
                    yield return Copy(top.Batch!, top.Position, top.Length - top.Position);
                    top.Position = top.Length;
                }
                else
                {
                    Input? second = count == 1 ? null : count == 2 || Less(heap[1], heap[2]) ? heap[1] : heap[2];
                    if (top.SourceIndex < 0)
                    {
                        top.SourceIndex = sources.Count;
                        sources.Add(top.Batch!);
                    }
                    // Emit the top input's rows while they sort before the best of the others (and below any input not open yet).
                    var first = top.Position;
                    do top.Position++;
                    while (top.Position < top.Length && filled + top.Position - first < outputRows && (second is null || Less(top, second))
                           && (pendingMin is null || top.KeyIsNull || top.LongKey(top.Position) < pendingMin));
                    source[segments] = top.SourceIndex;
                    start[segments] = first;
                    length[segments++] = top.Position - first;
                    filled += top.Position - first;
                    if (filled == outputRows) yield return Flush();
                }

                if (top.Position < top.Length)
                {
                    SiftDown(heap, 0, count);
                    continue;
                }
                // The top input's batch is used up: it stays alive until the output that holds its rows is gathered.
                if (top.SourceIndex >= 0) retired.Add(top.Batch!);
                else top.Batch!.Dispose();
                if (await top.AdvanceAsync())
                {
                    SiftDown(heap, 0, count);
                    continue;
                }
                await top.DisposeAsync();
                heap[0] = heap[--count];
                heap[count] = null!;
                if (count > 0) SiftDown(heap, 0, count);
            }
            if (filled > 0) yield return Flush();
        }
        finally
        {
            // The sources of an output not gathered are the open inputs' current batches (disposed with them) or retired.
            for (var i = 0; i < count; i++) await heap[i].DisposeAsync();
            foreach (var b in retired) b.Dispose();
        }
    }

    /// <summary>Whether input <paramref name="a"/>'s next row sorts before <paramref name="b"/>'s (ties: the earlier input first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Less(Input a, Input b)
    {
        long pa = a.Prefix[a.Position], pb = b.Prefix[b.Position];
        if (pa != pb) return pa < pb;
        if (!a.Exact || !b.Exact)
        {
            var r = KeyComparer.Compare(a.Keys, a.Position, b.Keys, b.Position);
            if (r != 0) return r < 0;
        }
        return a.Ordinal < b.Ordinal;
    }

    private static void SiftUp(Input[] heap, int i)
    {
        var item = heap[i];
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Less(item, heap[parent])) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = item;
    }

    private static void SiftDown(Input[] heap, int i, int count)
    {
        var item = heap[i];
        while (true)
        {
            var child = 2 * i + 1;
            if (child >= count) break;
            if (child + 1 < count && Less(heap[child + 1], heap[child])) child++;
            if (!Less(heap[child], item)) break;
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = item;
    }

    /// <summary>
    /// A managed copy of a slice of an input batch: what is emitted never points into the inputs' native buffers,
    /// so an input batch is freed the moment it is used up, even while emitted batches wait in a prefetch queue.
    /// </summary>
    private static RecordBatch Copy(RecordBatch batch, int start, int length)
    {
        // A whole batch (the usual case when key ranges follow each other): copy its buffers as they are.
        if (start == 0 && length == batch.Length && batch.Arrays.All(a => a.Data.Offset == 0 && a.Data.Length == length))
            return new RecordBatch(batch.Schema, batch.Arrays.Select(a => ArrowArrayFactory.BuildArray(CopyBuffers(a.Data))), length);
        return ArrowInterleave.Take(batch.Schema, [batch], [0], [start], [length]);
    }

    private static ArrayData CopyBuffers(ArrayData d) => new(d.DataType, d.Length, d.NullCount, d.Offset,
        d.Buffers.Select(b => new ArrowBuffer(b.Span.ToArray())).ToArray(), d.Children?.Select(CopyBuffers).ToArray(),
        d.Dictionary is null ? null : CopyBuffers(d.Dictionary));

    /// <summary>
    /// How many of the files a merge holds open at once at most: the largest number of key ranges (stats of the first
    /// sort column, when integer-like) that overlap at one point; all of them when the ranges are unknown.
    /// </summary>
    public static int OverlapDepth(IReadOnlyCollection<AddFile> files, IReadOnlyList<SortKey> keys, Schema fileSchema, Schema? statsSchema)
    {
        if (keys.Count == 0) return 1;
        if (statsSchema is null || !IsLongKey(fileSchema, keys)) return files.Count;
        var ranges = files.Select(f => RangeOf(f, keys[0].Column, statsSchema)).ToList();
        if (ranges.Any(r => r is null)) return files.Count;
        var events = ranges.SelectMany(r => new[] { (At: r!.Value.Min, Delta: 1), (At: r.Value.Max, Delta: -1) })
            .OrderBy(e => e.At).ThenByDescending(e => e.Delta).ToList();
        int depth = 0, max = 0;
        foreach (var e in events) max = Math.Max(max, depth += e.Delta);
        return max;
    }

    /// <summary>A file's stats range of the first sort column when it is integer-like (what lazy opening and fan-in limits use), else null.</summary>
    public static (long Min, long Max)? KeyRange(AddFile file, IReadOnlyList<SortKey> keys, Schema fileSchema, Schema statsSchema) =>
        IsLongKey(fileSchema, keys) ? RangeOf(file, keys[0].Column, statsSchema) : null;

    private static bool IsLongKey(Schema fileSchema, IReadOnlyList<SortKey> keys) =>
        keys.Count > 0 && fileSchema.GetFieldByName(keys[0].Column) is { } field && IsLongKey(field.DataType);

    private static bool IsLongKey(IArrowType type) => type.TypeId switch
    {
        ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64 or ArrowTypeId.UInt8 or ArrowTypeId.UInt16
            or ArrowTypeId.UInt32 or ArrowTypeId.Date32 => true,
        // Stats hold timestamps as microseconds; other units would compare on different scales.
        ArrowTypeId.Timestamp => ((TimestampType)type).Unit == TimeUnit.Microsecond,
        _ => false,
    };

    /// <summary>The stats min and max of a column as longs (timestamps at millisecond precision: min floored, max widened), or null.</summary>
    private static (long Min, long Max)? RangeOf(AddFile file, string column, Schema statsSchema) =>
        DataFileStats.TryParse(file.Stats, statsSchema, out var stats) && stats.GetBounds(column) is { Min: long min, Max: long max, NullCount: 0 } ? (min, max) : null;

    /// <summary>
    /// One sorted input: its current batch, the position of its next row, its key columns, and the 64-bit prefix of
    /// each row's first key (order-preserving: a smaller prefix means a smaller key; equal prefixes decide nothing
    /// unless <see cref="Exact"/>).
    /// </summary>
    private sealed class Input(IAsyncEnumerator<RecordBatch> source, IReadOnlyList<SortKey> sortKeys, int ordinal, bool exactPrefix) : IAsyncDisposable
    {
        public readonly int Ordinal = ordinal;
        public RecordBatch? Batch;
        public int Position;
        public int Length;
        public IArrowArray[] Keys = [];
        public long[] Prefix = [];
        /// <summary>Equal prefixes mean equal keys (one integer-like key without nulls in this batch).</summary>
        public bool Exact;
        /// <summary>The index of the current batch among the sources of the output being built, or -1.</summary>
        public int SourceIndex = -1;

        public bool KeyIsNull => Keys[0].IsNull(Position);

        public bool LastKeyIsNull => Keys[0].IsNull(Length - 1);

        public long LongKey(int row) => KeyComparer.Long(Keys[0], row);

        /// <summary>Moves to the next non-empty batch (the caller has released the current one); false at the end.</summary>
        public async Task<bool> AdvanceAsync()
        {
            Batch = null;
            SourceIndex = -1;
            while (await source.MoveNextAsync())
            {
                if (source.Current.Length == 0)
                {
                    source.Current.Dispose();
                    continue;
                }
                Batch = source.Current;
                Position = 0;
                Length = Batch.Length;
                Keys = sortKeys.Select(k => ArrowColumns.Resolve(Batch, k.Column)
                    ?? throw new SchemaMismatchException($"Sort column '{k.Column}' is not in the data files.")).ToArray();
                Prefix = Prefixes(Keys[0], out var exact);
                Exact = exactPrefix && exact;
                return true;
            }
            return false;
        }

        public ValueTask DisposeAsync()
        {
            Batch?.Dispose();
            Batch = null;
            return source.DisposeAsync();
        }
    }

    /// <summary>
    /// Order-preserving 64-bit prefixes of a key column (nulls smallest, as they sort first): integer-like values
    /// themselves (exact when there are no nulls), decimals by their high 64 bits, strings and binaries by their first
    /// 8 bytes; other types all 0 (every comparison goes to <see cref="KeyComparer"/>).
    /// </summary>
    private static long[] Prefixes(IArrowArray key, out bool exact)
    {
        var data = key.Data;
        var n = data.Length;
        long[] prefix;
        exact = false;
        if (ColumnKeys.IsLongLike(data.DataType) && ColumnKeys.TryReadLongs(key, out prefix))
            exact = data.DataType.TypeId != ArrowTypeId.HalfFloat; // KeyComparer does not order half floats
        else if (data.DataType.TypeId == ArrowTypeId.Decimal128)
        {
            prefix = GC.AllocateUninitializedArray<long>(n);
            var values = MemoryMarshal.Cast<byte, long>(data.Buffers[1].Span).Slice(data.Offset * 2, n * 2);
            for (var i = 0; i < n; i++) prefix[i] = values[2 * i + 1];
        }
        else if (ColumnKeys.IsBytes(data.DataType))
        {
            prefix = GC.AllocateUninitializedArray<long>(n);
            var binary = (BinaryArray)key;
            Span<byte> head = stackalloc byte[8];
            for (var i = 0; i < n; i++)
            {
                var bytes = binary.GetBytes(i);
                head.Clear();
                bytes[..Math.Min(8, bytes.Length)].CopyTo(head);
                prefix[i] = (long)(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(head) ^ 0x8000_0000_0000_0000UL);
            }
        }
        else
            prefix = new long[n];
        if (key.NullCount > 0) // the array's count: a slice's ArrayData may not know its own
        {
            exact = false;
            for (var i = 0; i < n; i++)
                if (key.IsNull(i)) prefix[i] = long.MinValue;
        }
        return prefix;
    }
}

/// <summary>
/// Compares rows of two batches by their key columns (ascending, nulls first, as the table writer sorts),
/// with the same value order as <see cref="ArrowSort"/>: integers and times numerically, decimals by
/// unscaled value, strings and binaries by bytes, floats by IEEE total order (NaN largest).
/// </summary>
internal static class KeyComparer
{
    public static int Compare(IArrowArray[] a, int i, IArrowArray[] b, int j)
    {
        for (var k = 0; k < a.Length; k++)
        {
            var r = CompareValue(a[k], i, b[k], j);
            if (r != 0) return r;
        }
        return 0;
    }

    private static int CompareValue(IArrowArray a, int i, IArrowArray b, int j)
    {
        var na = a.IsNull(i);
        var nb = b.IsNull(j);
        if (na || nb) return na == nb ? 0 : na ? -1 : 1;
        switch (a.Data.DataType.TypeId)
        {
            case ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64 or ArrowTypeId.UInt8 or ArrowTypeId.UInt16
                or ArrowTypeId.UInt32 or ArrowTypeId.Date32 or ArrowTypeId.Date64 or ArrowTypeId.Timestamp:
                return Long(a, i).CompareTo(Long(b, j));
            case ArrowTypeId.UInt64:
                return ((UInt64Array)a).GetValue(i)!.Value.CompareTo(((UInt64Array)b).GetValue(j)!.Value);
            case ArrowTypeId.Decimal128:
                return Value<Int128>(a, i).CompareTo(Value<Int128>(b, j));
            case ArrowTypeId.Float:
                return ColumnKeys.OrderedBits(((FloatArray)a).GetValue(i)!.Value).CompareTo(ColumnKeys.OrderedBits(((FloatArray)b).GetValue(j)!.Value));
            case ArrowTypeId.Double:
                return ColumnKeys.OrderedBits(((DoubleArray)a).GetValue(i)!.Value).CompareTo(ColumnKeys.OrderedBits(((DoubleArray)b).GetValue(j)!.Value));
            case ArrowTypeId.Boolean:
                return ((BooleanArray)a).GetValue(i)!.Value.CompareTo(((BooleanArray)b).GetValue(j)!.Value);
            case ArrowTypeId.String or ArrowTypeId.Binary:
                return ((BinaryArray)a).GetBytes(i).SequenceCompareTo(((BinaryArray)b).GetBytes(j));
            default:
                throw new InvalidInputException($"Merging files sorted by Arrow type {a.Data.DataType.Name} is not supported.");
        }
    }

    private static T Value<T>(IArrowArray array, int index) where T : struct =>
        MemoryMarshal.Cast<byte, T>(array.Data.Buffers[1].Span)[array.Data.Offset + index];

    internal static long Long(IArrowArray array, int index) => array.Data.DataType.TypeId switch
    {
        ArrowTypeId.Int8 => Value<sbyte>(array, index),
        ArrowTypeId.Int16 => Value<short>(array, index),
        ArrowTypeId.Int32 or ArrowTypeId.Date32 => Value<int>(array, index),
        ArrowTypeId.UInt8 => Value<byte>(array, index),
        ArrowTypeId.UInt16 => Value<ushort>(array, index),
        ArrowTypeId.UInt32 => Value<uint>(array, index),
        _ => Value<long>(array, index),
    };
}
