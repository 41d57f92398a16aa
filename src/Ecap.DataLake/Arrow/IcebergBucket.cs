using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Iceberg's bucket transform: <c>(murmur3_x86_32(bytes, seed 0) &amp; int.MaxValue) % N</c>, so Spark,
/// Trino or any Iceberg-aware engine computes the same bucket for a key.
/// <list type="bullet">
/// <item>Integers (int8/16/32/64) are hashed as an 8-byte little-endian long (Iceberg hashes int like long).</item>
/// <item>Strings are hashed as their UTF-8 bytes; binary as its bytes.</item>
/// </list>
/// The canonical type of <c>customer_id</c> is int64 (see CanonicalSchemas); a table whose
/// customer_id is a string buckets by the UTF-8 bytes, which is also what Iceberg does for strings —
/// but note the same id as a number and as a string lands in different buckets.
/// A null key has no bucket (null).
/// </summary>
internal static class IcebergBucket
{
    /// <summary>Murmur3 x86 32-bit hash of a long as 8 little-endian bytes, seed 0 (Iceberg spec: 34 -> 2017239379).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Hash(long value)
    {
        uint h = 0;
        h = Mix(h, (uint)value);
        h = Mix(h, (uint)((ulong)value >> 32));
        return (int)FMix(h ^ 8u);
    }

    /// <summary>Murmur3 x86 32-bit hash of bytes, seed 0.</summary>
    public static int Hash(ReadOnlySpan<byte> data)
    {
        uint h = 0;
        int blocks = data.Length / 4;
        for (int i = 0; i < blocks; i++)
            h = Mix(h, BinaryPrimitives.ReadUInt32LittleEndian(data.Slice(i * 4)));
        var tail = data.Slice(blocks * 4);
        uint k = 0;
        switch (tail.Length)
        {
            case 3: k ^= (uint)tail[2] << 16; goto case 2;
            case 2: k ^= (uint)tail[1] << 8; goto case 1;
            case 1:
                k ^= tail[0];
                k *= 0xcc9e2d51;
                k = BitOperations.RotateLeft(k, 15);
                k *= 0x1b873593;
                h ^= k;
                break;
        }
        return (int)FMix(h ^ (uint)data.Length);
    }

    /// <summary>Murmur3 hash of a string's UTF-8 bytes.</summary>
    public static int Hash(string value)
    {
        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        Span<byte> buffer = max <= 512 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(value, buffer);
        return Hash(buffer.Slice(0, n));
    }

    /// <summary>The bucket of a long key, in [0, <paramref name="buckets"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Bucket(long value, int buckets) => (Hash(value) & int.MaxValue) % buckets;

    /// <summary>The bucket of a byte key (UTF-8 string or binary), in [0, <paramref name="buckets"/>).</summary>
    public static int Bucket(ReadOnlySpan<byte> value, int buckets) => (Hash(value) & int.MaxValue) % buckets;

    /// <summary>The bucket of a string key (hashed as UTF-8), in [0, <paramref name="buckets"/>).</summary>
    public static int Bucket(string value, int buckets) => (Hash(value) & int.MaxValue) % buckets;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Mix(uint h, uint k)
    {
        k *= 0xcc9e2d51;
        k = BitOperations.RotateLeft(k, 15);
        k *= 0x1b873593;
        h ^= k;
        h = BitOperations.RotateLeft(h, 13);
        return h * 5 + 0xe6546b64;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint FMix(uint h)
    {
        h ^= h >> 16;
        h *= 0x85ebca6b;
        h ^= h >> 13;
        h *= 0xc2b2ae35;
        h ^= h >> 16;
        return h;
    }
}
