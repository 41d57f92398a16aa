using System.Runtime.InteropServices;
using Apache.Arrow;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Dense group codes: every row gets the id of its distinct value (or combination of values),
/// numbered 0..Count-1 in order of first appearance. Null is a value of its own.
/// Small integer ranges use a lookup array; larger ones a hash map; strings an open-addressing
/// table over the bytes (no string per row).
/// </summary>
internal static class GroupCodes
{
    private const int MaxDirectRange = 1 << 20;

    /// <summary>Codes of one column.</summary>
    public static int[] ForColumn(IArrowArray array, out int count)
    {
        var data = array.Data;
        var nulls = ColumnKeys.NullFlags(data);
        if (ColumnKeys.TryReadLongs(array, out var keys))
            return ForLongs(keys, nulls, out count);
        if (ColumnKeys.IsBytes(data.DataType))
        {
            var (values, offsets) = ColumnKeys.ReadBytes(array);
            return ForBytes(values.Span, offsets, nulls, out count);
        }
        if (data.DataType.TypeId == Apache.Arrow.Types.ArrowTypeId.Decimal128)
        {
            var wide = ColumnKeys.ReadInt128(array);
            var codes = new int[wide.Length];
            var map = new Dictionary<Int128, int>();
            int nullCode = -1;
            count = 0;
            for (int i = 0; i < wide.Length; i++)
            {
                if (nulls is not null && nulls[i])
                {
                    if (nullCode < 0) nullCode = count++;
                    codes[i] = nullCode;
                    continue;
                }
                ref int slot = ref CollectionsMarshal.GetValueRefOrAddDefault(map, wide[i], out bool exists);
                if (!exists) slot = count++;
                codes[i] = slot;
            }
            return codes;
        }
        throw new SchemaMismatchException($"Partitioning by a column of Arrow type {data.DataType.Name} is not supported.");
    }

    /// <summary>Codes of long keys (null rows flagged in <paramref name="nulls"/>).</summary>
    public static int[] ForLongs(ReadOnlySpan<long> keys, bool[]? nulls, out int count)
    {
        int n = keys.Length;
        var codes = GC.AllocateUninitializedArray<int>(n);
        count = 0;
        if (n == 0) return codes;
        long min = long.MaxValue, max = long.MinValue;
        for (int i = 0; i < n; i++)
        {
            if (nulls is not null && nulls[i]) continue;
            long k = keys[i];
            if (k < min) min = k;
            if (k > max) max = k;
        }
        int nullCode = -1;
        if (min <= max && (ulong)(max - min) < MaxDirectRange)
        {
            var map = new int[(int)(max - min) + 1];
            map.AsSpan().Fill(-1);
            if (nulls is null)
            {
                for (int i = 0; i < n; i++)
                {
                    ref int slot = ref map[(int)(keys[i] - min)];
                    if (slot < 0) slot = count++;
                    codes[i] = slot;
                }
            }
            else
            {
                for (int i = 0; i < n; i++)
                {
                    if (nulls[i])
                    {
                        if (nullCode < 0) nullCode = count++;
                        codes[i] = nullCode;
                        continue;
                    }
                    ref int slot = ref map[(int)(keys[i] - min)];
                    if (slot < 0) slot = count++;
                    codes[i] = slot;
                }
            }
            return codes;
        }
        var dict = new Dictionary<long, int>();
        for (int i = 0; i < n; i++)
        {
            if (nulls is not null && nulls[i])
            {
                if (nullCode < 0) nullCode = count++;
                codes[i] = nullCode;
                continue;
            }
            ref int slot = ref CollectionsMarshal.GetValueRefOrAddDefault(dict, keys[i], out bool exists);
            if (!exists) slot = count++;
            codes[i] = slot;
        }
        return codes;
    }

    /// <summary>Codes of string/binary values, hashing bytes in an open-addressing table.</summary>
    public static int[] ForBytes(ReadOnlySpan<byte> values, int[] offsets, bool[]? nulls, out int count)
    {
        int n = offsets.Length - 1;
        var codes = GC.AllocateUninitializedArray<int>(n);
        count = 0;
        int nullCode = -1;
        int capacity = 64;
        var slots = new int[capacity]; // row index of the first row with the value, +1; 0 = empty
        var slotCodes = new int[capacity];
        for (int i = 0; i < n; i++)
        {
            if (nulls is not null && nulls[i])
            {
                if (nullCode < 0) nullCode = count++;
                codes[i] = nullCode;
                continue;
            }
            var value = values.Slice(offsets[i], offsets[i + 1] - offsets[i]);
            int hash = IcebergBucket.Hash(value);
            int mask = capacity - 1;
            int s = hash & mask;
            while (true)
            {
                int first = slots[s] - 1;
                if (first < 0)
                {
                    slots[s] = i + 1;
                    slotCodes[s] = count;
                    codes[i] = count++;
                    if (count * 2 > capacity)
                        (slots, slotCodes, capacity) = Grow(values, offsets, slots, slotCodes, capacity);
                    break;
                }
                if (values.Slice(offsets[first], offsets[first + 1] - offsets[first]).SequenceEqual(value))
                {
                    codes[i] = slotCodes[s];
                    break;
                }
                s = (s + 1) & mask;
            }
        }
        return codes;
    }

    private static (int[], int[], int) Grow(ReadOnlySpan<byte> values, int[] offsets, int[] slots, int[] slotCodes, int capacity)
    {
        int newCapacity = capacity * 2;
        var ns = new int[newCapacity];
        var nc = new int[newCapacity];
        int mask = newCapacity - 1;
        for (int j = 0; j < capacity; j++)
        {
            int first = slots[j] - 1;
            if (first < 0) continue;
            int s = IcebergBucket.Hash(values.Slice(offsets[first], offsets[first + 1] - offsets[first])) & mask;
            while (ns[s] != 0) s = (s + 1) & mask;
            ns[s] = slots[j];
            nc[s] = slotCodes[j];
        }
        return (ns, nc, newCapacity);
    }

    /// <summary>
    /// Combines codes of another column into <paramref name="codes"/> in place: the result numbers
    /// distinct (codes, other) pairs in order of first appearance.
    /// </summary>
    public static void Combine(int[] codes, ref int count, ReadOnlySpan<int> other, int otherCount)
    {
        long product = (long)count * otherCount;
        int next = 0;
        if (product <= MaxDirectRange * 4L)
        {
            var map = new int[product];
            map.AsSpan().Fill(-1);
            for (int i = 0; i < codes.Length; i++)
            {
                ref int slot = ref map[codes[i] * otherCount + other[i]];
                if (slot < 0) slot = next++;
                codes[i] = slot;
            }
        }
        else
        {
            var dict = new Dictionary<long, int>();
            for (int i = 0; i < codes.Length; i++)
            {
                ref int slot = ref CollectionsMarshal.GetValueRefOrAddDefault(dict, (long)codes[i] * otherCount + other[i], out bool exists);
                if (!exists) slot = next++;
                codes[i] = slot;
            }
        }
        count = next;
    }
}
