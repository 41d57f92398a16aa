using System.Buffers.Binary;
using System.Text.Json;
using ParquetSharp;
using ParquetSharp.Schema;

namespace Ecap.TestSupport;

/// <summary>
/// Delta tables with deletion vectors, written the way other writers leave them, from scratch: data files (id long,
/// v string) in row groups of a chosen size, vectors serialized by an encoder of its own (RoaringBitmapArray in the
/// portable format with array, bitmap and run containers; Z85; the framed file with CRC32 from System.IO.Hashing) and
/// a hand-written commit. <see cref="DuckDbLiveRows"/> is the independent reading: the raw file minus the positions.
/// </summary>
public sealed class DeletionVectorTable(string tableDir)
{
    public string Dir { get; } = tableDir;
    private readonly List<string> _actions = [];

    public const string SchemaString =
        "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}},{\"name\":\"v\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}";

    /// <summary>Writes a data file of ids firstId.. (v = "v" + id) with row groups of <paramref name="rowGroupRows"/>; returns its size.</summary>
    public long WriteDataFile(string name, long firstId, int rows, int rowGroupRows)
    {
        var path = Path.Combine(Dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Node[] nodes =
        [
            new PrimitiveNode("id", Repetition.Optional, LogicalType.None(), PhysicalType.Int64),
            new PrimitiveNode("v", Repetition.Optional, LogicalType.String(), PhysicalType.ByteArray),
        ];
        using var schema = new GroupNode("spark_schema", Repetition.Required, nodes);
        using var props = new WriterPropertiesBuilder().Compression(Compression.Snappy).Build();
        using (var writer = new ParquetFileWriter(path, schema, props))
        {
            for (var start = 0; start < rows; start += rowGroupRows)
            {
                var n = Math.Min(rowGroupRows, rows - start);
                using var group = writer.AppendRowGroup();
                using (var w = group.NextColumn().LogicalWriter<long?>())
                    w.WriteBatch(Enumerable.Range(start, n).Select(i => (long?)(firstId + i)).ToArray());
                using (var w = group.NextColumn().LogicalWriter<string?>())
                    w.WriteBatch(Enumerable.Range(start, n).Select(i => (string?)("v" + (firstId + i))).ToArray());
            }
            writer.Close();
        }
        return new FileInfo(path).Length;
    }

    /// <summary>Adds a file to the commit, with a descriptor JSON (see <see cref="Descriptor"/>) or none.</summary>
    public void Add(string name, long size, long numRecords, string? descriptor = null, long firstId = 0, string? partitionJson = null)
    {
        var stats = JsonSerializer.Serialize(new { numRecords, minValues = new { id = firstId }, maxValues = new { id = firstId + numRecords - 1 }, nullCount = new { id = 0, v = 0 } });
        _actions.Add("{\"add\":{\"path\":" + JsonSerializer.Serialize(name) + ",\"partitionValues\":" + (partitionJson ?? "{}") + ",\"size\":" + size +
                     ",\"modificationTime\":1700000000000,\"dataChange\":true,\"stats\":" + JsonSerializer.Serialize(stats) +
                     (descriptor is null ? "" : ",\"deletionVector\":" + descriptor) + "}}");
    }

    public static string Descriptor(string storageType, string pathOrInline, int? offset, int sizeInBytes, long cardinality) =>
        "{\"storageType\":\"" + storageType + "\",\"pathOrInlineDv\":" + JsonSerializer.Serialize(pathOrInline) +
        (offset is { } o ? ",\"offset\":" + o : "") + ",\"sizeInBytes\":" + sizeInBytes + ",\"cardinality\":" + cardinality + "}";

    /// <summary>An inline ('i') descriptor of the rows.</summary>
    public static string Inline(IReadOnlyCollection<long> rows)
    {
        var bytes = Serialize(rows);
        return Descriptor("i", Z85Encode(bytes), null, bytes.Length, rows.Count);
    }

    /// <summary>
    /// Writes a vector file holding one vector per entry (version byte, then size, bitmap, CRC each) at
    /// <paramref name="relativePath"/>; returns each vector's (offset, size).
    /// </summary>
    public List<(int Offset, int Size)> WriteVectorFile(string relativePath, params IReadOnlyCollection<long>[] vectors)
    {
        var path = Path.Combine(Dir, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var ms = new MemoryStream();
        ms.WriteByte(1);
        var result = new List<(int, int)>();
        var be = new byte[4];
        foreach (var rows in vectors)
        {
            var bytes = Serialize(rows);
            result.Add(((int)ms.Position, bytes.Length));
            BinaryPrimitives.WriteInt32BigEndian(be, bytes.Length);
            ms.Write(be);
            ms.Write(bytes);
            BinaryPrimitives.WriteUInt32BigEndian(be, System.IO.Hashing.Crc32.HashToUInt32(bytes));
            ms.Write(be);
        }
        File.WriteAllBytes(path, ms.ToArray());
        return result;
    }

    /// <summary>The 'u' id of a vector file: the prefix (may be empty) then the Z85 of the UUID's 16 big-endian bytes.</summary>
    public static (string Id, string RelativePath) UuidVector(string prefix, Guid uuid)
    {
        var id = prefix + Z85Encode(uuid.ToByteArray(bigEndian: true));
        var file = "deletion_vector_" + uuid.ToString("D") + ".bin";
        return (id, prefix.Length == 0 ? file : prefix + "/" + file);
    }

    /// <summary>Writes commit 0: protocol (deletionVectors), metaData, the adds.</summary>
    public void Commit(string? partitionColumn = null)
    {
        Directory.CreateDirectory(Path.Combine(Dir, "_delta_log"));
        var schema = partitionColumn is null ? SchemaString : SchemaString.Replace("]}", ",{\"name\":\"" + partitionColumn + "\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}");
        var lines = new List<string>
        {
            "{\"commitInfo\":{\"timestamp\":1700000000000,\"operation\":\"WRITE\",\"engineInfo\":\"hand-written dv writer\"}}",
            "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[\"deletionVectors\"]}}",
            "{\"metaData\":{\"id\":\"dv-test\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":" + JsonSerializer.Serialize(schema) +
            ",\"partitionColumns\":[" + (partitionColumn is null ? "" : "\"" + partitionColumn + "\"") + "],\"configuration\":{\"delta.enableDeletionVectors\":\"true\"},\"createdTime\":1700000000000}}",
        };
        lines.AddRange(_actions);
        File.WriteAllLines(Path.Combine(Dir, "_delta_log", "00000000000000000000.json"), lines);
    }

    /// <summary>DuckDB's rows "id|v" of the raw file minus the positions, with an optional extra WHERE on id/v.</summary>
    public List<string> DuckDbLiveRows(DuckDbReader duck, string name, IEnumerable<long> deleted, string? where = null)
    {
        var list = string.Join(",", deleted.Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var path = Path.Combine(Dir, name).Replace("'", "''");
        var sql = $"SELECT id, v FROM read_parquet('{path}', file_row_number = true) WHERE " +
                  (list.Length == 0 ? "true" : $"file_row_number NOT IN ({list})") + (where is null ? "" : $" AND ({where})");
        return duck.Rows(sql).Select(r => r[0] + "|" + r[1]).ToList();
    }

    // ---- an independent writer of the formats the reader decodes ----

    private const string Z85Chars = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

    public static string Z85Encode(byte[] data)
    {
        var padded = new byte[(data.Length + 3) / 4 * 4];
        data.CopyTo(padded, 0);
        var sb = new System.Text.StringBuilder();
        for (var i = 0; i < padded.Length; i += 4)
        {
            var value = BinaryPrimitives.ReadUInt32BigEndian(padded.AsSpan(i));
            var chars = new char[5];
            for (var k = 4; k >= 0; k--)
            {
                chars[k] = Z85Chars[(int)(value % 85)];
                value /= 85;
            }
            sb.Append(chars);
        }
        return sb.ToString();
    }

    /// <summary>
    /// A 64-bit RoaringBitmapArray in the portable format: magic 1681511377, int64 bucket count, then per bucket its
    /// int32 high key and a portable 32-bit Roaring bitmap. Containers: a run container when runs are shorter, else an
    /// array (at most 4096 values) or a 65536-bit bitmap.
    /// </summary>
    public static byte[] Serialize(IEnumerable<long> rows)
    {
        var sorted = rows.Distinct().Order().ToList();
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms); // little endian
        w.Write(1681511377);
        var buckets = sorted.GroupBy(r => (uint)(r >> 32)).ToList();
        w.Write((long)buckets.Count);
        foreach (var bucket in buckets)
        {
            w.Write(bucket.Key);
            WriteRoaring32(w, bucket.Select(r => (uint)r).ToList());
        }
        w.Flush();
        return ms.ToArray();
    }

    private static void WriteRoaring32(BinaryWriter w, List<uint> values)
    {
        var containers = values.GroupBy(v => (ushort)(v >> 16)).Select(g => (Key: g.Key, Low: g.Select(v => (ushort)v).ToList())).ToList();
        var kinds = containers.Select(c =>
        {
            var runs = Runs(c.Low);
            var runBytes = 2 + 4 * runs.Count;
            var plainBytes = c.Low.Count <= 4096 ? 2 * c.Low.Count : 8192;
            return runBytes < plainBytes ? 'r' : c.Low.Count <= 4096 ? 'a' : 'b';
        }).ToList();
        var hasRuns = kinds.Contains('r');
        if (hasRuns)
        {
            w.Write((uint)(12347 | ((containers.Count - 1) << 16)));
            var flags = new byte[(containers.Count + 7) / 8];
            for (var i = 0; i < kinds.Count; i++) if (kinds[i] == 'r') flags[i / 8] |= (byte)(1 << (i % 8));
            w.Write(flags);
        }
        else
        {
            w.Write(12346u);
            w.Write(containers.Count);
        }
        foreach (var c in containers)
        {
            w.Write(c.Key);
            w.Write((ushort)(c.Low.Count - 1));
        }
        var bodies = containers.Select((c, i) => Body(c.Low, kinds[i])).ToList();
        if (!hasRuns || containers.Count >= 4)
        {
            // Offsets from the start of this bitmap: header (cookie etc.) so far plus the offsets themselves.
            var headerSize = (hasRuns ? 4 + (containers.Count + 7) / 8 : 8) + 4 * containers.Count + 4 * containers.Count;
            var offset = headerSize;
            foreach (var b in bodies)
            {
                w.Write(offset);
                offset += b.Length;
            }
        }
        foreach (var b in bodies) w.Write(b);
    }

    private static List<(ushort Start, ushort LengthMinusOne)> Runs(List<ushort> low)
    {
        var runs = new List<(ushort, ushort)>();
        var i = 0;
        while (i < low.Count)
        {
            var j = i;
            while (j + 1 < low.Count && low[j + 1] == low[j] + 1) j++;
            runs.Add((low[i], (ushort)(low[j] - low[i])));
            i = j + 1;
        }
        return runs;
    }

    private static byte[] Body(List<ushort> low, char kind)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        switch (kind)
        {
            case 'r':
                var runs = Runs(low);
                w.Write((ushort)runs.Count);
                foreach (var (s, l) in runs) { w.Write(s); w.Write(l); }
                break;
            case 'a':
                foreach (var v in low) w.Write(v);
                break;
            default:
                var words = new ulong[1024];
                foreach (var v in low) words[v >> 6] |= 1UL << (v & 63);
                foreach (var word in words) w.Write(word);
                break;
        }
        w.Flush();
        return ms.ToArray();
    }
}
