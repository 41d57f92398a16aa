using Apache.Arrow;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Sorts row indices by one or more columns: ascending, nulls first, stable (ties keep their
/// original order). Each column is read once into flat keys; a run of rows is sorted by the first
/// column with a struct sort specialised for its key type (no per-row virtual call or boxing), and
/// runs of equal keys are refined by the next column. Already-sorted runs are detected in one pass.
/// </summary>
internal sealed class RowSorter
{
    private readonly SortLevel[] _levels;

    public RowSorter(RecordBatch batch, IReadOnlyList<string> columns)
    {
        _levels = new SortLevel[columns.Count];
        for (int c = 0; c < columns.Count; c++)
        {
            int index = batch.Schema.GetFieldIndex(columns[c]);
            if (index < 0)
                throw new SchemaMismatchException(
                    $"Sort column '{columns[c]}' is not in the batch (columns: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}).");
            _levels[c] = SortLevel.Create(batch.Column(index));
        }
    }

    /// <summary>Sorts <paramref name="rows"/> in place. Rows must come in ascending order for stability.</summary>
    public void Sort(Span<int> rows)
    {
        if (_levels.Length > 0 && rows.Length > 1) SortLevelRange(rows, 0);
    }

    private void SortLevelRange(Span<int> rows, int level)
    {
        var l = _levels[level];
        l.Sort(rows);
        if (level + 1 == _levels.Length) return;
        int start = 0;
        for (int i = 1; i <= rows.Length; i++)
        {
            if (i == rows.Length || !l.Equal(rows[start], rows[i]))
            {
                if (i - start > 1) SortLevelRange(rows.Slice(start, i - start), level + 1);
                start = i;
            }
        }
    }

    private abstract class SortLevel
    {
        protected readonly bool[]? Nulls;

        protected SortLevel(bool[]? nulls) => Nulls = nulls;

        public static SortLevel Create(IArrowArray array)
        {
            var nulls = ColumnKeys.NullFlags(array.Data);
            if (ColumnKeys.TryReadLongs(array, out var keys)) return new LongLevel(keys, nulls);
            if (ColumnKeys.IsBytes(array.Data.DataType))
            {
                var (values, offsets) = ColumnKeys.ReadBytes(array);
                return new BytesLevel(values, offsets, nulls);
            }
            if (array.Data.DataType.TypeId == Apache.Arrow.Types.ArrowTypeId.Decimal128)
                return new KeyLevel<Int128>(ColumnKeys.ReadInt128(array), nulls);
            throw new SchemaMismatchException($"Sorting by a column of Arrow type {array.Data.DataType.Name} is not supported.");
        }

        public void Sort(Span<int> rows)
        {
            int nonNull = 0;
            if (Nulls is not null)
            {
                // Stable partition: nulls first, both parts keep their order.
                int nullCount = 0;
                foreach (int r in rows) if (Nulls[r]) nullCount++;
                if (nullCount > 0)
                {
                    var tmp = rows.ToArray();
                    int a = 0, b = nullCount;
                    foreach (int r in tmp)
                    {
                        if (Nulls[r]) rows[a++] = r;
                        else rows[b++] = r;
                    }
                    nonNull = nullCount;
                }
            }
            var rest = rows.Slice(nonNull);
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
    private sealed class LongLevel(long[] keys, bool[]? nulls) : SortLevel(nulls)
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

    private sealed class KeyLevel<T>(T[] keys, bool[]? nulls) : SortLevel(nulls) where T : IComparable<T>
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
    /// column's common prefix (a struct sort), then only runs with equal keys are compared in full.
    /// </summary>
    private sealed class BytesLevel : SortLevel
    {
        private readonly ReadOnlyMemory<byte> _values;
        private readonly int[] _offsets;
        private readonly ulong[] _keys;

        public BytesLevel(ReadOnlyMemory<byte> values, int[] offsets, bool[]? nulls) : base(nulls)
        {
            _values = values;
            _offsets = offsets;
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
                if (len >= 8)
                {
                    _keys[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(span.Slice(start, 8));
                }
                else
                {
                    buffer.Clear();
                    if (len > 0) span.Slice(start, len).CopyTo(buffer);
                    _keys[i] = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(buffer);
                }
            }
        }

        private ReadOnlySpan<byte> Value(int row) => _values.Span.Slice(_offsets[row], _offsets[row + 1] - _offsets[row]);

        protected override void SortNonNull(Span<int> rows)
        {
            var comparer = new BytesComparer(_values, _offsets);
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

    /// <summary>Compares rows by bytes (UTF-8 byte order is code point order), then by row index.</summary>
    private readonly struct BytesComparer(ReadOnlyMemory<byte> values, int[] offsets) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            var span = values.Span;
            int c = span.Slice(offsets[a], offsets[a + 1] - offsets[a])
                .SequenceCompareTo(span.Slice(offsets[b], offsets[b + 1] - offsets[b]));
            return c != 0 ? c : a.CompareTo(b);
        }
    }
}
