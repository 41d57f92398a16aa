using System.Numerics;

namespace Ecap.DataLake.Catalog;

/// <summary>
/// Approximate distinct counting (Flajolet et al., HyperLogLog with linear counting for small
/// cardinalities): 2^14 one-byte registers, standard error about 0.8%, whatever the number of values.
/// </summary>
internal sealed class HyperLogLog
{
    private const int P = 14;
    private const int M = 1 << P;
    private readonly byte[] _registers = new byte[M];

    public void AddHash(ulong hash)
    {
        var index = (int)(hash >> (64 - P));
        var rest = (hash << P) | (1UL << (P - 1)); // guard bit bounds the rank
        var rank = (byte)(BitOperations.LeadingZeroCount(rest) + 1);
        if (rank > _registers[index]) _registers[index] = rank;
    }

    public void Add(long value) => AddHash(Mix((ulong)value));

    public void Add(string value)
    {
        // FNV-1a over UTF-16 code units, then a strong finaliser so the top bits are well spread.
        var h = 14695981039346656037UL;
        foreach (var c in value) { h ^= c; h *= 1099511628211UL; }
        AddHash(Mix(h));
    }

    public long Estimate()
    {
        double sum = 0;
        var zeros = 0;
        foreach (var r in _registers)
        {
            sum += Math.Pow(2, -r);
            if (r == 0) zeros++;
        }
        var alpha = 0.7213 / (1 + 1.079 / M);
        var estimate = alpha * M * M / sum;
        if (estimate <= 2.5 * M && zeros > 0) estimate = M * Math.Log((double)M / zeros);
        return (long)Math.Round(estimate);
    }

    // splitmix64 finaliser
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }
}
