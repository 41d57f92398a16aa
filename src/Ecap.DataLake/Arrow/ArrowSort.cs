using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>One sort key: a top-level column (or struct leaf by dotted path), its direction and where nulls go.</summary>
internal sealed record SortKey(string Column, bool Descending = false, bool NullsFirst = false);

/// <summary>
/// The stable sort of Arrow rows, used by the partitioner (each group by the strategy's sort columns)
/// and by compaction (a table's sort order): by one or more <see cref="SortKey"/>s, each ascending or
/// descending with nulls first or last; ties keep their original order.
/// <para>
/// Each key column is read once into flat keys (<see cref="ColumnKeys"/>); a run of rows is sorted by the
/// first key with a primitive or struct sort specialised for its key type (no per-row virtual call or
/// boxing), and runs of equal keys are refined by the next key. Already-sorted runs are detected in one
/// pass. Integers, dates, times and booleans order numerically, decimals by unscaled value, strings and
/// binaries by bytes (UTF-8 byte order is code point order), floats by IEEE total order with -0.0 equal
/// to 0.0 and NaN largest.
/// </para>
/// Use <see cref="Concat"/> to sort across batches.
/// </summary>
internal static class ArrowSort
{
    /// <summary>Concatenates batches of one schema into one batch.</summary>
    public static RecordBatch Concat(IReadOnlyList<RecordBatch> batches)
    {
        if (batches.Count == 0) throw new ArgumentException("No batches to concatenate.", nameof(batches));
        if (batches.Count == 1) return batches[0];
        var schema = batches[0].Schema;
        var columns = new IArrowArray[schema.FieldsList.Count];
        for (var c = 0; c < columns.Length; c++)
            columns[c] = ArrowArrayConcatenator.Concatenate(batches.Select(b => b.Column(c)).ToList());
        return new RecordBatch(schema, columns, batches.Sum(b => b.Length));
    }

    /// <summary>Sorts a batch by the keys (stable).</summary>
    public static RecordBatch Sort(RecordBatch batch, IReadOnlyList<SortKey> keys) => ArrowGather.Take(batch, SortIndices(batch, keys));

    /// <summary>The row order that sorts the batch by the keys (stable: equal rows keep their order).</summary>
    public static int[] SortIndices(RecordBatch batch, IReadOnlyList<SortKey> keys)
    {
        var rows = new int[batch.Length];
        for (var i = 0; i < rows.Length; i++) rows[i] = i;
        SortRows(batch, keys, rows);
        return rows;
    }

    /// <summary>
    /// Sorts row indices of <paramref name="batch"/> in place by the keys. The rows must come in ascending
    /// order for the sort to be stable.
    /// </summary>
    /// <exception cref="SchemaMismatchException">A key column is missing or of a type that cannot be sorted.</exception>
    public static void SortRows(RecordBatch batch, IReadOnlyList<SortKey> keys, Span<int> rows)
    {
        if (keys.Count == 0 || rows.Length < 2) return;
        var levels = new SortLevel[keys.Count];
        for (var k = 0; k < keys.Count; k++)
        {
            var array = ArrowColumns.Resolve(batch, keys[k].Column) ?? throw new SchemaMismatchException(
                $"Sort column '{keys[k].Column}' is not in the data (columns: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}).");
            levels[k] = SortLevel.Create(array, keys[k]);
        }
        SortLevelRange(levels, rows, 0);
    }

    private static void SortLevelRange(SortLevel[] levels, Span<int> rows, int level)
    {
        var l = levels[level];
        l.Sort(rows);
        if (level + 1 == levels.Length) return;
        int start = 0;
        for (int i = 1; i <= rows.Length; i++)
        {
            if (i == rows.Length || !l.Equal(rows[start], rows[i]))
            {
                if (i - start > 1) SortLevelRange(levels, rows.Slice(start, i - start), level + 1);
                start = i;
            }
        }
    }

    private abstract class SortLevel
    {
        protected readonly bool[]? Nulls;
        private readonly bool _nullsFirst;

        protected SortLevel(bool[]? nulls, bool nullsFirst)
        {
            Nulls = nulls;
            _nullsFirst = nullsFirst;
        }

        /// <summary>A level over the column's keys; descending keys are stored order-reversed (bitwise not).</summary>
        public static SortLevel Create(IArrowArray array, SortKey key)
        {
            var nulls = ColumnKeys.NullFlags(array.Data);
            if (ColumnKeys.TryReadLongs(array, out var longs))
            {
                if (key.Descending) for (int i = 0; i < longs.Length; i++) longs[i] = ~longs[i];
                return new LongLevel(longs, nulls, key.NullsFirst);
            }
            if (ColumnKeys.IsBytes(array.Data.DataType))
            {
                var (values, offsets) = ColumnKeys.ReadBytes(array);
                return new BytesLevel(values, offsets, nulls, key);
            }
            if (array.Data.DataType.TypeId == ArrowTypeId.Decimal128)
            {
                var wide = ColumnKeys.ReadInt128(array);
                if (key.Descending) for (int i = 0; i < wide.Length; i++) wide[i] = ~wide[i];
                return new KeyLevel<Int128>(wide, nulls, key.NullsFirst);
            }
            throw new SchemaMismatchException($"Sorting by a column of Arrow type {array.Data.DataType.Name} is not supported.");
        }

        public void Sort(Span<int> rows)
        {
            int nullCount = 0;
            if (Nulls is not null)
            {
                foreach (int r in rows) if (Nulls[r]) nullCount++;
                if (nullCount > 0)
                {
                    // Stable partition: nulls first (or last), both parts keep their order.
                    var tmp = rows.ToArray();
                    int a = _nullsFirst ? 0 : rows.Length - nullCount, b = _nullsFirst ? nullCount : 0;
                    foreach (int r in tmp)
                    {
                        if (Nulls[r]) rows[a++] = r;
                        else rows[b++] = r;
                    }
                }
            }
            var rest = _nullsFirst ? rows.Slice(nullCount) : rows.Slice(0, rows.Length - nullCount);
            if (rest.Length > 1) SortNonNull(rest);
        }

        protected abstract void SortNonNull(Span<int> rows);

        public bool Equal(int a, int b)
        {
            if (Nulls is not null)
            {
                bool na = Nulls[a], nb = Nulls[b];
                if (na || nb) return na == nb;
            }
            return EqualNonNull(a, b);
        }

        protected abstract bool EqualNonNull(int a, int b);
    }

    private readonly struct Entry<T>(T key, int row) : IComparable<Entry<T>> where T : IComparable<T>
    {
        public readonly T Key = key;
        public readonly int Row = row;

        public int CompareTo(Entry<T> other)
        {
            int c = Key.CompareTo(other.Key);
            return c != 0 ? c : Row.CompareTo(other.Row);
        }
    }

    /// <summary>
    /// Long keys: a primitive key/row sort (the runtime's fastest path, not stable), then runs of
    /// equal keys are put back in row order, which makes the whole sort stable.
    /// </summary>
    private sealed class LongLevel(long[] keys, bool[]? nulls, bool nullsFirst) : SortLevel(nulls, nullsFirst)
    {
        protected override void SortNonNull(Span<int> rows)
        {
            bool sorted = true;
            for (int i = 1; i < rows.Length; i++)
            {
                long a = keys[rows[i - 1]], b = keys[rows[i]];
                if (a > b || (a == b && rows[i - 1] > rows[i])) { sorted = false; break; }
            }
            if (sorted) return;
            var k = new long[rows.Length];
            for (int i = 0; i < k.Length; i++) k[i] = keys[rows[i]];
            k.AsSpan().Sort(rows);
            int start = 0;
            for (int i = 1; i <= k.Length; i++)
            {
                if (i == k.Length || k[i] != k[start])
                {
                    if (i - start > 1) rows.Slice(start, i - start).Sort();
                    start = i;
                }
            }
        }

        protected override bool EqualNonNull(int a, int b) => keys[a] == keys[b];
    }

    private sealed class KeyLevel<T>(T[] keys, bool[]? nulls, bool nullsFirst) : SortLevel(nulls, nullsFirst) where T : IComparable<T>
    {
        protected override void SortNonNull(Span<int> rows)
        {
            bool sorted = true;
            for (int i = 1; i < rows.Length; i++)
            {
                int c = keys[rows[i - 1]].CompareTo(keys[rows[i]]);
                if (c > 0 || (c == 0 && rows[i - 1] > rows[i])) { sorted = false; break; }
            }
            if (sorted) return;
            var entries = new Entry<T>[rows.Length];
            for (int i = 0; i < rows.Length; i++) entries[i] = new Entry<T>(keys[rows[i]], rows[i]);
            entries.AsSpan().Sort();
            for (int i = 0; i < rows.Length; i++) rows[i] = entries[i].Row;
        }

        protected override bool EqualNonNull(int a, int b) => keys[a].CompareTo(keys[b]) == 0;
    }

    /// <summary>
    /// Strings/binary: rows are first sorted by a 64-bit big-endian key of the 8 bytes after the
    /// column's common prefix (a primitive sort), then only runs with equal keys are compared in full.
    /// </summary>
    private sealed class BytesLevel : SortLevel
    {
        private readonly ReadOnlyMemory<byte> _values;
        private readonly int[] _offsets;
        private readonly ulong[] _keys;
        private readonly bool _descending;

        public BytesLevel(ReadOnlyMemory<byte> values, int[] offsets, bool[]? nulls, SortKey key) : base(nulls, key.NullsFirst)
        {
            _values = values;
            _offsets = offsets;
            _descending = key.Descending;
            var span = values.Span;
            int n = offsets.Length - 1;
            // Common prefix of all values (nulls have empty slices and are skipped).
            int common = int.MaxValue, reference = -1;
            for (int i = 0; i < n && common > 0; i++)
            {
                if (nulls is not null && nulls[i]) continue;
                var v = span.Slice(offsets[i], offsets[i + 1] - offsets[i]);
                if (reference < 0) { reference = i; common = v.Length; continue; }
                var r = span.Slice(offsets[reference], common);
                common = Math.Min(common, v.Length);
                common = r.Slice(0, common).CommonPrefixLength(v.Slice(0, common));
            }
            if (common == int.MaxValue) common = 0;
            _keys = GC.AllocateUninitializedArray<ulong>(n);
            Span<byte> buffer = stackalloc byte[8];
            for (int i = 0; i < n; i++)
            {
                int start = offsets[i] + common, len = offsets[i + 1] - start;
                ulong k;
                if (len >= 8)
                {
                    k = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(span.Slice(start, 8));
                }
                else
                {
                    buffer.Clear();
                    if (len > 0) span.Slice(start, len).CopyTo(buffer);
                    k = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(buffer);
                }
                _keys[i] = _descending ? ~k : k;
            }
        }

        private ReadOnlySpan<byte> Value(int row) => _values.Span.Slice(_offsets[row], _offsets[row + 1] - _offsets[row]);

        protected override void SortNonNull(Span<int> rows)
        {
            var comparer = new BytesComparer(_values, _offsets, _descending);
            bool sorted = true;
            for (int i = 1; i < rows.Length; i++)
            {
                if (comparer.Compare(rows[i - 1], rows[i]) > 0) { sorted = false; break; }
            }
            if (sorted) return;
            var k = new ulong[rows.Length];
            for (int i = 0; i < k.Length; i++) k[i] = _keys[rows[i]];
            k.AsSpan().Sort(rows); // primitive keys: fast, not stable; runs of equal keys are redone below
            // Equal keys: the values may differ after the key bytes, and rows must keep their order;
            // sort those runs in full (bytes, then row index).
            int start = 0;
            for (int i = 1; i <= rows.Length; i++)
            {
                if (i == rows.Length || k[i] != k[start])
                {
                    if (i - start > 1) rows.Slice(start, i - start).Sort(comparer);
                    start = i;
                }
            }
        }

        protected override bool EqualNonNull(int a, int b) => _keys[a] == _keys[b] && Value(a).SequenceEqual(Value(b));
    }

    /// <summary>Compares rows by bytes (reversed when descending), then by row index.</summary>
    private readonly struct BytesComparer(ReadOnlyMemory<byte> values, int[] offsets, bool descending) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            var span = values.Span;
            int c = span.Slice(offsets[a], offsets[a + 1] - offsets[a])
                .SequenceCompareTo(span.Slice(offsets[b], offsets[b + 1] - offsets[b]));
            if (descending) c = -c;
            return c != 0 ? c : a.CompareTo(b);
        }
    }
}
