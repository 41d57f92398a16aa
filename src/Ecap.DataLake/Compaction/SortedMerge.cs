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
/// Merges data files that are each sorted by the same keys into one sorted stream, holding one batch per
/// input. Each round takes the smallest "last key" among the inputs' current batches as a bound: every
/// row at or below it can be emitted now (later rows of any input are at or above its current last key),
/// so the rows at or below the bound are cut from each input, sorted together and emitted, and at least
/// one input's batch is used up per round. Inputs whose key ranges follow each other (keys that grow with
/// time, the usual case) come out as whole batches without any sort.
/// </summary>
internal static class SortedMerge
{
    /// <summary>About this many rows are sorted together per round when many inputs overlap (bounds the sort's memory).</summary>
    public const int DefaultMaxRowsPerRound = 256 * 1024;

    public static async IAsyncEnumerable<RecordBatch> MergeAsync(IObjectStore store, IReadOnlyList<AddFile> files, Schema fileSchema,
        IReadOnlyList<SortKey> keys, int batchRows, [EnumeratorCancellation] CancellationToken ct, Schema? statsSchema = null,
        int maxRowsPerRound = DefaultMaxRowsPerRound, Parquet.Encryption.IKeyProvider? decryptionKeys = null,
        Func<AddFile, CancellationToken, IAsyncEnumerable<RecordBatch>>? open = null)
    {
        if (keys.Count == 0)
        {
            var plain = new ParquetReadOptions { TableSchema = fileSchema, BatchSize = batchRows, DecryptionKeys = decryptionKeys };
            foreach (var file in files)
                await foreach (var batch in DeletionVectors.ReadLiveRowsAsync(store, file, plain, ct: ct)) yield return batch;
            yield break;
        }

        // Inputs are opened only when the merge reaches their first key (stats min of the first sort column, when it
        // is an integer-like column): files whose key ranges follow each other are then read one or two at a time.
        var lazy = statsSchema is not null && IsLongKey(fileSchema, keys);
        var bounds = files.Select(f => (File: f, Range: lazy ? RangeOf(f, keys[0].Column, statsSchema!) : null)).ToList();
        var pending = new Queue<(AddFile File, long Min)>(bounds
            .OrderBy(x => x.Range?.Min ?? long.MinValue)
            .Select(x => (x.File, x.Range?.Min ?? long.MinValue)));
        // Memory is one batch per open input: when many inputs overlap (all open at once), their batches shrink.
        var depth = OverlapDepth(files, keys, fileSchema, statsSchema);
        // Decoding stays on the merge's own thread (no column threads): the encoder runs on the other core meanwhile.
        var read = new ParquetReadOptions { UseThreads = false, TableSchema = fileSchema, BatchSize = Math.Clamp(batchRows * 64 / Math.Max(1, depth), Math.Min(1024, batchRows), batchRows), DecryptionKeys = decryptionKeys };
        var active = new List<Input>();
        async Task OpenNextAsync()
        {
            var (file, _) = pending.Dequeue();
            var batches = open is null ? DeletionVectors.ReadLiveRowsAsync(store, file, read, ct: ct) : open(file, ct);
            var input = new Input(batches.GetAsyncEnumerator(ct), keys);
            await input.AdvanceAsync();
            if (input.Batch is null) await input.DisposeAsync();
            else active.Add(input);
        }

        try
        {
            if (!lazy)
                while (pending.Count > 0) await OpenNextAsync();
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                while (active.Count == 0 && pending.Count > 0) await OpenNextAsync();
                if (active.Count == 0) break;

                // The bound: the input whose current batch ends lowest; inputs that may start at or below it join first.
                Input bound;
                while (true)
                {
                    bound = active[0];
                    foreach (var i in active.Skip(1))
                        if (KeyComparer.Compare(i.Keys, i.Batch!.Length - 1, bound.Keys, bound.Batch!.Length - 1) < 0) bound = i;
                    var last = bound.Batch!.Length - 1;
                    // A null bound key sorts before every file that has no nulls (and files with nulls are opened at once).
                    if (!lazy || pending.Count == 0 || bound.Keys[0].IsNull(last) || pending.Peek().Min > KeyComparer.Long(bound.Keys[0], last)) break;
                    await OpenNextAsync();
                }
                // Any key of the bound's batch is a valid bound; an earlier one keeps a round to about maxRowsPerRound rows.
                var boundRow = Math.Min(bound.Batch!.Length - 1, bound.Position + Math.Max(1, maxRowsPerRound / active.Count) - 1);

                if (active.Count == 1)
                {
                    yield return Copy(bound.TakeRest());
                }
                else
                {
                    var parts = new List<RecordBatch>();
                    foreach (var i in active)
                    {
                        var n = i.CountAtOrBelow(bound.Keys, boundRow);
                        if (n > 0) parts.Add(i.Take(n));
                    }
                    yield return parts.Count == 1 ? Copy(parts[0]) : ArrowSort.Sort(ArrowSort.Concat(parts), keys);
                }
                foreach (var i in active.ToList())
                {
                    if (i.Remaining > 0) continue;
                    await i.AdvanceAsync();
                    if (i.Batch is not null) continue;
                    await i.DisposeAsync();
                    active.Remove(i);
                }
            }
        }
        finally
        {
            foreach (var input in active) await input.DisposeAsync();
        }
    }

    /// <summary>
    /// A managed copy of a slice of an input batch: what is emitted never points into the inputs' native buffers,
    /// so an input batch is freed the moment it is used up, even while emitted batches wait in a prefetch queue.
    /// </summary>
    private static RecordBatch Copy(RecordBatch slice)
    {
        // A whole batch (the usual case when key ranges follow each other): copy its buffers as they are, far cheaper
        // than gathering row by row.
        if (slice.Arrays.All(a => a.Data.Offset == 0 && a.Data.Length == slice.Length))
            return new RecordBatch(slice.Schema, slice.Arrays.Select(a => ArrowArrayFactory.BuildArray(CopyBuffers(a.Data))), slice.Length);
        var identity = new int[slice.Length];
        for (var i = 0; i < identity.Length; i++) identity[i] = i;
        return ArrowGather.Take(slice, identity);
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

    /// <summary>One sorted input: its current batch, the position of the first row not yet emitted, and its key columns.</summary>
    private sealed class Input(IAsyncEnumerator<RecordBatch> source, IReadOnlyList<SortKey> sortKeys) : IAsyncDisposable
    {
        private int _position;

        public RecordBatch? Batch { get; private set; }

        public IArrowArray[] Keys { get; private set; } = [];

        public int Remaining => Batch is null ? 0 : Batch.Length - _position;

        public int Position => _position;

        public async Task AdvanceAsync()
        {
            // Decoded batches live in native memory the GC does not see: release each one as soon as it is used up.
            Batch?.Dispose();
            Batch = null;
            while (await source.MoveNextAsync())
            {
                if (source.Current.Length == 0) continue;
                Batch = source.Current;
                _position = 0;
                Keys = sortKeys.Select(k => ArrowColumns.Resolve(Batch, k.Column)
                    ?? throw new SchemaMismatchException($"Sort column '{k.Column}' is not in the data files.")).ToArray();
                return;
            }
        }

        /// <summary>How many of the remaining rows sort at or below row <paramref name="row"/> of <paramref name="other"/> (binary search).</summary>
        public int CountAtOrBelow(IArrowArray[] other, int row)
        {
            int lo = _position, hi = Batch!.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (KeyComparer.Compare(Keys, mid, other, row) <= 0) lo = mid + 1;
                else hi = mid;
            }
            return lo - _position;
        }

        public RecordBatch Take(int n)
        {
            var part = _position == 0 && n == Batch!.Length ? Batch : Batch!.Slice(_position, n);
            _position += n;
            return part;
        }

        public RecordBatch TakeRest() => Take(Remaining);

        public ValueTask DisposeAsync()
        {
            Batch?.Dispose();
            Batch = null;
            return source.DisposeAsync();
        }
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
