using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Tables.SampleData;

/// <summary>
/// Counter-based random numbers: every value depends only on (seed, row, column), so the data
/// does not depend on the batch size and any row can be generated on its own.
/// </summary>
internal readonly struct RowRandom
{
    private readonly ulong _key;

    public RowRandom(ulong seedKey, long row) => _key = Mix(seedKey + (ulong)row * 0x9E3779B97F4A7C15UL);

    public static ulong SeedKey(int seed, int stream) => Mix(((ulong)(uint)seed << 32) ^ (ulong)(uint)stream ^ 0x5DEECE66DUL);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next(int column) => Mix(_key + (ulong)column * 0xD1B54A32D192ED03UL);

    /// <summary>Uniform in [0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double Unit(int column) => (Next(column) >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Int(int column, int n) => (int)((Next(column) >> 33) * (ulong)n >> 31);

    /// <summary>True with probability <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Chance(int column, double p) => Unit(column) < p;

    /// <summary>Skewed id in [1, n]: small ids are much more popular (density ~ x^(-2/3), Zipf-like head).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Skewed(int column, long n)
    {
        double u = Unit(column);
        return 1 + (long)(u * u * u * n);
    }
}

/// <summary>A small set of string values with weights, pre-encoded as UTF-8.</summary>
internal sealed class Domain
{
    private readonly byte[][] _utf8;
    private readonly double[] _cumulative;

    public Domain(params (string Value, double Weight)[] values)
    {
        Values = values.Select(v => v.Value).ToArray();
        _utf8 = Values.Select(System.Text.Encoding.UTF8.GetBytes).ToArray();
        _cumulative = new double[values.Length];
        double total = values.Sum(v => v.Weight), acc = 0;
        for (int i = 0; i < values.Length; i++) _cumulative[i] = (acc += values[i].Weight) / total;
        _cumulative[^1] = 1.0;
    }

    public Domain(params string[] values) : this(values.Select(v => (v, 1.0)).ToArray()) { }

    public string[] Values { get; }

    public int Count => Values.Length;

    public ReadOnlySpan<byte> Utf8(int index) => _utf8[index];

    /// <summary>Index of the value picked by a uniform number in [0, 1).</summary>
    public int Pick(double u)
    {
        var c = _cumulative;
        for (int i = 0; i < c.Length - 1; i++) if (u < c[i]) return i;
        return c.Length - 1;
    }
}

/// <summary>Builds Arrow arrays straight from flat buffers (no per-value builder calls).</summary>
internal sealed class Validity
{
    private readonly byte[] _bits;

    public Validity(int length)
    {
        _bits = new byte[(length + 7) >> 3];
        Length = length;
    }

    public int Length { get; }

    public int NullCount { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int i, bool valid)
    {
        if (valid) _bits[i >> 3] |= (byte)(1 << (i & 7));
        else NullCount++;
    }

    public ArrowBuffer Buffer => NullCount == 0 ? ArrowBuffer.Empty : new ArrowBuffer(_bits);
}

/// <summary>A fixed-width column written into a byte buffer through a typed span.</summary>
internal sealed class FixedColumn<T> where T : unmanaged
{
    private readonly byte[] _bytes;

    public FixedColumn(int length)
    {
        _bytes = GC.AllocateUninitializedArray<byte>(length * Unsafe.SizeOf<T>());
        Length = length;
    }

    public int Length { get; }

    public Span<T> Values => MemoryMarshal.Cast<byte, T>(_bytes.AsSpan());

    public IArrowArray Build(IArrowType type, Validity? validity = null) =>
        ArrowArrayFactory.BuildArray(new ArrayData(
            type, Length, validity?.NullCount ?? 0, 0,
            [validity?.Buffer ?? ArrowBuffer.Empty, new ArrowBuffer(_bytes)]));
}

/// <summary>A boolean column as a bitmap.</summary>
internal sealed class BoolColumn(int length)
{
    private readonly byte[] _bits = new byte[(length + 7) >> 3];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Set(int i, bool value)
    {
        if (value) _bits[i >> 3] |= (byte)(1 << (i & 7));
    }

    public IArrowArray Build(Validity? validity = null) =>
        new BooleanArray(new ArrowBuffer(_bits), validity?.Buffer ?? ArrowBuffer.Empty, length, validity?.NullCount ?? 0, 0);
}

/// <summary>A UTF-8 string column written row by row into one growing byte buffer.</summary>
internal sealed class StringColumn
{
    private readonly byte[] _offsets;
    private byte[] _data;
    private int _used;
    private int _row;
    private readonly Validity _validity;

    public StringColumn(int length, int bytesPerRow)
    {
        _offsets = GC.AllocateUninitializedArray<byte>((length + 1) * sizeof(int));
        Offsets[0] = 0;
        _data = GC.AllocateUninitializedArray<byte>(Math.Max(16, length * bytesPerRow));
        _validity = new Validity(length);
    }

    private Span<int> Offsets => MemoryMarshal.Cast<byte, int>(_offsets.AsSpan());

    public void Append(ReadOnlySpan<byte> utf8)
    {
        Ensure(utf8.Length);
        utf8.CopyTo(_data.AsSpan(_used));
        _used += utf8.Length;
        End(true);
    }

    /// <summary>Space to write at most <paramref name="max"/> bytes; finish with <see cref="Commit"/>.</summary>
    public Span<byte> Begin(int max)
    {
        Ensure(max);
        return _data.AsSpan(_used, max);
    }

    public void Commit(int written)
    {
        _used += written;
        End(true);
    }

    public void AppendNull() => End(false);

    private void End(bool valid)
    {
        _validity.Set(_row, valid);
        Offsets[++_row] = _used;
    }

    private void Ensure(int extra)
    {
        if (_used + extra <= _data.Length) return;
        var bigger = GC.AllocateUninitializedArray<byte>(Math.Max(_data.Length * 2, _used + extra));
        _data.AsSpan(0, _used).CopyTo(bigger);
        _data = bigger;
    }

    public IArrowArray Build() =>
        new StringArray(_row, new ArrowBuffer(_offsets), new ArrowBuffer(_data.AsMemory(0, _used)), _validity.Buffer, _validity.NullCount, 0);
}
