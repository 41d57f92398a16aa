using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Apache.Arrow;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Deletion vectors (PROTOCOL.md, "Deletion Vectors"): where a descriptor's bitmap is stored (<c>u</c>: a file
/// named by a Z85-encoded UUID under an optional prefix, <c>i</c>: inline Z85, <c>p</c>: an absolute path inside
/// the table), the on-disk framing (version byte; at <c>offset</c>: big-endian size, the bitmap, big-endian CRC32)
/// and the bitmap itself (a 64-bit RoaringBitmapArray in the portable format). The result is the sorted,
/// distinct physical row indexes of the file that are deleted.
/// </summary>
internal static class DeletionVectors
{
    /// <summary>The object key (relative to the table root) of the file holding the vector; null for inline vectors.</summary>
    public static string? ObjectKey(DeletionVectorDescriptor dv, string tableLocation)
    {
        switch (dv.StorageType)
        {
            case "i": return null;
            case "u":
            {
                var s = dv.PathOrInlineDv;
                if (s.Length < 20) throw Corrupt(dv, "a 'u' deletion vector id is at least 20 characters (a Z85-encoded UUID)");
                var prefix = s[..^20];
                var uuid = new Guid(Z85.Decode(s[^20..]), bigEndian: true);
                var name = "deletion_vector_" + uuid.ToString("D") + ".bin";
                return prefix.Length == 0 ? name : prefix + "/" + name;
            }
            case "p": return ResolveAbsolute(dv.PathOrInlineDv, tableLocation);
            default:
                throw new UnsupportedProtocolException(
                    $"Deletion vector storage type '{dv.StorageType}' is not one of u, i, p (Delta feature deletionVectors); the table cannot be read.");
        }
    }

    /// <summary>The rows of a data file that its deletion vector (if any) does not delete: every reader of table files reads through here.</summary>
    public static async IAsyncEnumerable<RecordBatch> ReadLiveRowsAsync(IObjectStore table, AddFile file, ParquetReadOptions options,
        ParquetReadCounters? counters = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (file.DeletionVector is { } dv) options = options with { DeletedRows = await LoadAsync(table, dv, ct).ConfigureAwait(false) };
        await foreach (var batch in ParquetDataReader.ReadAsync(table, file.ObjectKey, options, counters, ct).ConfigureAwait(false))
            yield return batch;
    }

    /// <summary>The deleted row indexes of a file: sorted ascending and distinct, as many as the descriptor's cardinality.</summary>
    public static async Task<long[]> LoadAsync(IObjectStore table, DeletionVectorDescriptor dv, CancellationToken ct = default)
    {
        byte[] bitmap;
        if (dv.StorageType == "i")
        {
            var raw = Z85.Decode(dv.PathOrInlineDv);
            if (dv.SizeInBytes < 0 || dv.SizeInBytes > raw.Length) throw Corrupt(dv, $"its sizeInBytes {dv.SizeInBytes} exceeds the {raw.Length} inline bytes");
            bitmap = raw[..dv.SizeInBytes];
        }
        else
        {
            var key = ObjectKey(dv, table.Location)!;
            var offset = dv.Offset ?? 1;
            if (dv.SizeInBytes < 0 || offset < 1) throw Corrupt(dv, "negative size or offset");
            if (await table.HeadAsync(key, ct).ConfigureAwait(false) is null)
                throw new CorruptTableException($"Deletion vector file '{key}' is missing (deleted by vacuum or by hand); the rows of its data file cannot be read correctly.");
            var version = await table.ReadRangeAsync(key, 0, 1, ct).ConfigureAwait(false);
            if (version.Length != 1 || version[0] != 1)
                throw Corrupt(dv, $"file '{key}' has format version {(version.Length == 1 ? version[0] : -1)}, not 1");
            var framed = await table.ReadRangeAsync(key, offset, dv.SizeInBytes + 8, ct).ConfigureAwait(false);
            if (framed.Length != dv.SizeInBytes + 8) throw Corrupt(dv, $"file '{key}' ends before offset {offset} + {dv.SizeInBytes + 8} bytes");
            var size = BinaryPrimitives.ReadInt32BigEndian(framed);
            if (size != dv.SizeInBytes) throw Corrupt(dv, $"file '{key}' frames {size} bytes at offset {offset}, the descriptor says {dv.SizeInBytes}");
            bitmap = framed[4..(4 + size)];
            var crc = BinaryPrimitives.ReadUInt32BigEndian(framed.AsSpan(4 + size));
            if (Crc32.Compute(bitmap) != crc) throw Corrupt(dv, $"the CRC32 of its bytes in '{key}' does not match");
        }
        var rows = RoaringBitmapArray.Decode(bitmap, dv);
        if (rows.LongLength != dv.Cardinality) throw Corrupt(dv, $"it holds {rows.LongLength} rows, its cardinality says {dv.Cardinality}");
        return rows;
    }

    private static string ResolveAbsolute(string path, string tableLocation)
    {
        // Same form as add.path (a URI), resolved as data paths are: only a file inside this table is read.
        // Spark (Hadoop Path) writes local files as file:/x, which .NET would read as host 'x': make it file:///x.
        var uri = path.StartsWith("file:/", StringComparison.Ordinal) && !path.StartsWith("file://", StringComparison.Ordinal) ? "file://" + path[5..] : path;
        try
        {
            return DeltaPaths.DecodePath(DeltaPaths.InTable(uri, tableLocation));
        }
        catch (InvalidPathException)
        {
            throw new UnsupportedProtocolException(
                $"Deletion vector path '{path}' is outside the table '{tableLocation}'; this library reads deletion vectors only from inside the table.");
        }
    }

    /// <summary>
    /// Writes one deletion vector file at the table root (<c>deletion_vector_&lt;uuid&gt;.bin</c>, storage type 'u') holding
    /// one vector per entry of <paramref name="vectors"/> (each sorted, distinct physical row indexes) and returns their
    /// descriptors in order. One file per operation, as Spark writes one per task: fewer objects than one per data file.
    /// </summary>
    public static async Task<(string ObjectKey, long Size, IReadOnlyList<DeletionVectorDescriptor> Descriptors)> WriteFileAsync(IObjectStore table,
        IReadOnlyList<long[]> vectors, CancellationToken ct = default)
    {
        var uuid = Guid.NewGuid();
        var id = Z85.Encode(uuid.ToByteArray(bigEndian: true));
        using var file = new MemoryStream();
        file.WriteByte(1); // format version
        var descriptors = new List<DeletionVectorDescriptor>(vectors.Count);
        Span<byte> be = stackalloc byte[4];
        foreach (var rows in vectors)
        {
            var bitmap = RoaringBitmapArray.Encode(rows);
            var offset = checked((int)file.Position);
            BinaryPrimitives.WriteInt32BigEndian(be, bitmap.Length);
            file.Write(be);
            file.Write(bitmap);
            BinaryPrimitives.WriteUInt32BigEndian(be, Crc32.Compute(bitmap));
            file.Write(be);
            descriptors.Add(new DeletionVectorDescriptor("u", id, offset, bitmap.Length, rows.LongLength));
        }
        var key = "deletion_vector_" + uuid.ToString("D") + ".bin";
        await table.WriteAsync(key, file.GetBuffer().AsMemory(0, (int)file.Length), ct).ConfigureAwait(false);
        return (key, file.Length, descriptors);
    }

    /// <summary>The sorted union of two sorted, distinct row index arrays.</summary>
    public static long[] Union(long[] a, long[] b)
    {
        if (a.Length == 0) return b;
        if (b.Length == 0) return a;
        var result = new long[a.Length + b.Length];
        int i = 0, j = 0, k = 0;
        while (i < a.Length || j < b.Length)
        {
            long next;
            if (j >= b.Length || (i < a.Length && a[i] < b[j])) next = a[i++];
            else if (i >= a.Length || b[j] < a[i]) next = b[j++];
            else { next = a[i++]; j++; }
            result[k++] = next;
        }
        return result.AsSpan(0, k).ToArray();
    }

    internal static CorruptTableException Corrupt(DeletionVectorDescriptor dv, string why) =>
        new($"Deletion vector {dv.StorageType}:{(dv.PathOrInlineDv.Length > 40 ? dv.PathOrInlineDv[..40] + "..." : dv.PathOrInlineDv)} is corrupt: {why}.");
}

/// <summary>Z85 (ZeroMQ base-85), the encoding of inline vectors and of the UUIDs of 'u' vectors.</summary>
internal static class Z85
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    private static readonly sbyte[] Values = BuildValues();

    private static sbyte[] BuildValues()
    {
        var v = new sbyte[128];
        System.Array.Fill(v, (sbyte)-1);
        for (var i = 0; i < Alphabet.Length; i++) v[Alphabet[i]] = (sbyte)i;
        return v;
    }

    /// <summary>Z85 of <paramref name="data"/> (its length a multiple of 4, as a UUID's 16 bytes are).</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        if (data.Length % 4 != 0) throw new ArgumentException("Z85 encodes groups of 4 bytes.", nameof(data));
        var text = new char[data.Length / 4 * 5];
        for (int i = 0, o = 0; i < data.Length; i += 4, o += 5)
        {
            var value = BinaryPrimitives.ReadUInt32BigEndian(data[i..]);
            for (var k = 4; k >= 0; k--)
            {
                text[o + k] = Alphabet[(int)(value % 85)];
                value /= 85;
            }
        }
        return new string(text);
    }

    public static byte[] Decode(string text)
    {
        if (text.Length % 5 != 0) throw new CorruptTableException($"Z85 text of {text.Length} characters is not a multiple of 5.");
        var bytes = new byte[text.Length / 5 * 4];
        for (int i = 0, o = 0; i < text.Length; i += 5, o += 4)
        {
            ulong value = 0;
            for (var k = 0; k < 5; k++)
            {
                var c = text[i + k];
                var d = c < 128 ? Values[c] : -1;
                if (d < 0) throw new CorruptTableException($"'{c}' is not a Z85 character.");
                value = value * 85 + (ulong)d;
            }
            if (value > uint.MaxValue) throw new CorruptTableException("Z85 group exceeds 32 bits.");
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(o), (uint)value);
        }
        return bytes;
    }
}

/// <summary>CRC-32 (IEEE 802.3, as java.util.zip.CRC32), the checksum after each vector in a deletion vector file.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc ^ 0xFFFFFFFFu;
    }
}

/// <summary>
/// Decoder of Delta's 64-bit RoaringBitmapArray: a little-endian magic number, then (portable format) an int64
/// count of 32-bit Roaring bitmaps, each an int32 key (the high 32 bits) and a bitmap in the portable Roaring
/// format (array, bitmap and run containers). Hand-written: a few dozen lines, no native library to ship.
/// </summary>
internal static class RoaringBitmapArray
{
    private const int PortableMagic = 1681511377;
    private const int NativeMagic = 1681511376;
    private const int SerialCookieNoRun = 12346;
    private const int SerialCookie = 12347;

    /// <summary>
    /// Encodes sorted, distinct row indexes in the portable format: one 32-bit bitmap per high key, each in the no-run
    /// layout (cookie 12346, container count, key/cardinality pairs, offsets) with array containers up to 4096 values and
    /// 65536-bit bitmap containers above.
    /// </summary>
    public static byte[] Encode(long[] rows)
    {
        using var ms = new MemoryStream(16 + rows.Length * 2);
        using var w = new BinaryWriter(ms); // little endian, as the format
        w.Write(PortableMagic);
        var buckets = new List<(uint High, int From, int To)>();
        for (var i = 0; i < rows.Length;)
        {
            if (rows[i] < 0 || (i > 0 && rows[i] <= rows[i - 1])) throw new ArgumentException("Row indexes must be sorted, distinct and non-negative.", nameof(rows));
            var high = (uint)(rows[i] >> 32);
            var j = i;
            while (j < rows.Length && (uint)(rows[j] >> 32) == high) j++;
            buckets.Add((high, i, j));
            i = j;
        }
        w.Write((long)buckets.Count);
        foreach (var (high, from, to) in buckets)
        {
            w.Write(high);
            Encode32(w, rows.AsSpan(from, to - from));
        }
        w.Flush();
        return ms.ToArray();
    }

    private static void Encode32(BinaryWriter w, ReadOnlySpan<long> rows)
    {
        var containers = new List<(ushort Key, int From, int To)>();
        for (var i = 0; i < rows.Length;)
        {
            var key = (ushort)((uint)rows[i] >> 16);
            var j = i;
            while (j < rows.Length && (ushort)((uint)rows[j] >> 16) == key) j++;
            containers.Add((key, i, j));
            i = j;
        }
        w.Write((uint)SerialCookieNoRun);
        w.Write(containers.Count);
        foreach (var (key, from, to) in containers)
        {
            w.Write(key);
            w.Write((ushort)(to - from - 1));
        }
        var offset = 8 + 8 * containers.Count; // cookie, count, key/cardinality pairs, the offsets themselves
        foreach (var (_, from, to) in containers)
        {
            w.Write(offset);
            offset += to - from <= 4096 ? 2 * (to - from) : 8192;
        }
        foreach (var (_, from, to) in containers)
        {
            if (to - from <= 4096)
            {
                for (var i = from; i < to; i++) w.Write((ushort)rows[i]);
                continue;
            }
            var words = new ulong[1024];
            for (var i = from; i < to; i++)
            {
                var low = (ushort)rows[i];
                words[low >> 6] |= 1UL << (low & 63);
            }
            foreach (var word in words) w.Write(word);
        }
    }

    public static long[] Decode(ReadOnlySpan<byte> data, DeletionVectorDescriptor dv)
    {
        try
        {
            return DecodeCore(data, dv);
        }
        catch (ArgumentOutOfRangeException)
        {
            throw DeletionVectors.Corrupt(dv, "its bitmap ends early");
        }
    }

    private static long[] DecodeCore(ReadOnlySpan<byte> data, DeletionVectorDescriptor dv)
    {
        var magic = BinaryPrimitives.ReadInt32LittleEndian(data);
        var pos = 4;
        long count;
        if (magic == PortableMagic)
        {
            count = BinaryPrimitives.ReadInt64LittleEndian(data[pos..]);
            pos += 8;
        }
        else if (magic == NativeMagic)
        {
            count = BinaryPrimitives.ReadInt32LittleEndian(data[pos..]);
            pos += 4;
        }
        else throw DeletionVectors.Corrupt(dv, $"unknown RoaringBitmapArray magic number {magic}");
        if (count < 0 || count > data.Length) throw DeletionVectors.Corrupt(dv, $"invalid bitmap count {count}");
        var rows = new List<long>((int)Math.Clamp(dv.Cardinality, 0, 1 << 24));
        long lastKey = -1;
        for (long b = 0; b < count; b++)
        {
            long high;
            if (magic == PortableMagic)
            {
                high = BinaryPrimitives.ReadUInt32LittleEndian(data[pos..]);
                pos += 4;
            }
            else
            {
                // Native: the i-th bitmap holds high part i, each preceded by its size.
                high = b;
                pos += 4;
            }
            if (high <= lastKey) throw DeletionVectors.Corrupt(dv, "its bitmap keys are not ascending");
            lastKey = high;
            pos += Decode32(data[pos..], high << 32, rows, dv);
        }
        return rows.ToArray();
    }

    /// <summary>Appends one portable 32-bit Roaring bitmap's values (plus <paramref name="high"/>) to rows; returns its size in bytes.</summary>
    private static int Decode32(ReadOnlySpan<byte> data, long high, List<long> rows, DeletionVectorDescriptor dv)
    {
        var cookie = BinaryPrimitives.ReadUInt32LittleEndian(data);
        var pos = 4;
        int size;
        ReadOnlySpan<byte> runFlags = default;
        bool hasRuns;
        if ((cookie & 0xFFFF) == SerialCookie)
        {
            hasRuns = true;
            size = (int)(cookie >> 16) + 1;
            var flagBytes = (size + 7) / 8;
            runFlags = data.Slice(pos, flagBytes);
            pos += flagBytes;
        }
        else if (cookie == SerialCookieNoRun)
        {
            hasRuns = false;
            size = BinaryPrimitives.ReadInt32LittleEndian(data[pos..]);
            pos += 4;
        }
        else throw DeletionVectors.Corrupt(dv, $"unknown Roaring cookie {cookie}");
        if (size < 0 || size > 65536) throw DeletionVectors.Corrupt(dv, $"invalid container count {size}");
        var header = data.Slice(pos, size * 4);
        pos += size * 4;
        // The offset header is present without runs, or with at least 4 containers; containers follow in order anyway.
        if (!hasRuns || size >= 4) pos += size * 4;
        var lastKey = -1;
        for (var c = 0; c < size; c++)
        {
            int key = BinaryPrimitives.ReadUInt16LittleEndian(header[(c * 4)..]);
            var cardinality = BinaryPrimitives.ReadUInt16LittleEndian(header[(c * 4 + 2)..]) + 1;
            if (key <= lastKey) throw DeletionVectors.Corrupt(dv, "its container keys are not ascending");
            lastKey = key;
            var baseValue = high | ((long)key << 16);
            var isRun = hasRuns && (runFlags[c / 8] & (1 << (c % 8))) != 0;
            if (isRun)
            {
                int runs = BinaryPrimitives.ReadUInt16LittleEndian(data[pos..]);
                pos += 2;
                var previousEnd = -1;
                for (var r = 0; r < runs; r++)
                {
                    int start = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + r * 4)..]);
                    int length = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + r * 4 + 2)..]);
                    if (start <= previousEnd || start + length > 0xFFFF) throw DeletionVectors.Corrupt(dv, "its runs overlap or overflow");
                    for (var v = start; v <= start + length; v++) rows.Add(baseValue | (uint)v);
                    previousEnd = start + length;
                }
                pos += runs * 4;
            }
            else if (cardinality <= 4096)
            {
                var previous = -1;
                for (var i = 0; i < cardinality; i++)
                {
                    int v = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + i * 2)..]);
                    if (v <= previous) throw DeletionVectors.Corrupt(dv, "its array container is not sorted");
                    previous = v;
                    rows.Add(baseValue | (uint)v);
                }
                pos += cardinality * 2;
            }
            else
            {
                var words = data.Slice(pos, 8192);
                var seen = 0;
                for (var w = 0; w < 1024; w++)
                {
                    var word = BinaryPrimitives.ReadUInt64LittleEndian(words[(w * 8)..]);
                    while (word != 0)
                    {
                        var bit = System.Numerics.BitOperations.TrailingZeroCount(word);
                        rows.Add(baseValue | (uint)(w * 64 + bit));
                        word &= word - 1;
                        seen++;
                    }
                }
                if (seen != cardinality) throw DeletionVectors.Corrupt(dv, $"a bitmap container holds {seen} values, its header says {cardinality}");
                pos += 8192;
            }
        }
        return pos;
    }
}
