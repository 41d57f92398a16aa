using System.Globalization;
using Apache.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Compaction;

/// <summary>The live files of one partition and bucket: the unit compaction rewrites (it never mixes groups).</summary>
internal sealed record FileGroup(string PartitionKey, IReadOnlyDictionary<string, string?> PartitionValues, int? Bucket, IReadOnlyList<AddFile> Files)
{
    /// <summary>The folder the group's files live in (from an existing file, so escaping stays exactly as written).</summary>
    public string Directory
    {
        get
        {
            var key = Files[0].ObjectKey;
            var slash = key.LastIndexOf('/');
            return slash < 0 ? "" : key[..(slash + 1)];
        }
    }

    public long Bytes => Files.Sum(f => f.Size);

    public static int? BucketOf(AddFile file) =>
        file.Tags?.GetValueOrDefault(TableLayout.BucketTag) is { } tag && int.TryParse(tag, NumberStyles.Integer, CultureInfo.InvariantCulture, out var b) ? b : null;

    /// <summary>The snapshot's files grouped by partition and bucket, in partition order.</summary>
    public static List<FileGroup> Of(IEnumerable<AddFile> files, IReadOnlyList<string> partitionColumns) =>
        files.GroupBy(f => (Key: DataLakeStorage.PartitionKey(f.PartitionValues, partitionColumns), Bucket: BucketOf(f)))
            .OrderBy(g => g.Key.Key, StringComparer.Ordinal).ThenBy(g => g.Key.Bucket)
            .Select(g => new FileGroup(g.Key.Key,
                partitionColumns.ToDictionary(c => c, c => g.First().PartitionValues.GetValueOrDefault(c)),
                g.Key.Bucket, g.OrderBy(f => f.ModificationTime).ThenBy(f => f.Path, StringComparer.Ordinal).ToList()))
            .ToList();

    /// <summary>
    /// For estimates: the files below <paramref name="minFileSize"/> packed into bins of about <paramref name="target"/>
    /// input bytes (compaction itself sizes bins by the output it sees). A bin of one file is left out: rewriting it
    /// alone gains nothing.
    /// </summary>
    public List<List<AddFile>> Bins(long minFileSize, long target)
    {
        var bins = new List<List<AddFile>>();
        var current = new List<AddFile>();
        long bytes = 0;
        foreach (var file in Files.Where(f => f.Size < minFileSize))
        {
            current.Add(file);
            bytes += file.Size;
            if (bytes >= target)
            {
                bins.Add(current);
                current = [];
                bytes = 0;
            }
        }
        if (current.Count > 0) bins.Add(current);
        return bins.Where(b => b.Count > 1).ToList();
    }

    /// <summary>The estimated file count after compaction (kept files plus about one file per target of small-file bytes).</summary>
    public int EstimatedFilesAfter(long minFileSize, long target)
    {
        var packed = Bins(minFileSize, target);
        var rewritten = packed.Sum(b => b.Count);
        var output = packed.Sum(b => (int)Math.Max(1, Math.Ceiling(b.Sum(f => (double)f.Size) / target)));
        return Files.Count - rewritten + output;
    }
}

/// <summary>
/// Writes a stream of data-file batches of one group as new Parquet files next to the group's files, and makes
/// their <c>add</c> actions (dataChange = false: a rewrite, the rows are the same). Deletes what it wrote when
/// the caller abandons the result.
/// </summary>
internal sealed class GroupFileWriter(IObjectStore table, FileGroup group, Schema fileSchema, long targetFileSize, TableFiles? tableFiles = null) : IDisposable
{
    private bool _disposed;
    private readonly ParquetDataWriter _writer = new(table, fileSchema,
        index => group.Directory + DataFileName.Create(index, group.Bucket, CodecName(group.Files[0])),
        new ParquetWriteOptions { Codec = Codec(group.Files[0]), TargetFileSizeBytes = targetFileSize, Encryption = tableFiles?.Encryption, Keys = tableFiles?.Keys });

    public Task WriteAsync(RecordBatch batch, CancellationToken ct) => _writer.WriteAsync(batch, ct);

    public async Task<List<AddFile>> CompleteAsync(CancellationToken ct)
    {
        var files = await _writer.CompleteAsync(ct);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        return files.Select(f => new AddFile
        {
            Path = AddFile.EncodePath(f.Key),
            PartitionValues = group.Files[0].PartitionValues,
            Size = f.SizeBytes,
            ModificationTime = now,
            DataChange = false,
            Stats = tableFiles?.Encryption is { } e ? e.FilterStats(f.Stats.ToJson()) : f.Stats.ToJson(),
            Tags = group.Files[0].Tags,
        }).ToList();
    }

    /// <summary>Deletes every file written (closed or open): the rewrite was not committed.</summary>
    public async Task DeleteWrittenAsync()
    {
        Dispose(); // deletes a file still open
        foreach (var f in _writer.Files)
        {
            try { await table.DeleteAsync(f.Key); } catch (IOException) { /* vacuum removes what is left */ }
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _writer.Dispose();
    }

    private static string CodecName(AddFile file) =>
        DataFileName.TryParse(file.ObjectKey, out _, out _, out _, out var codec) && codec is { Length: > 0 } ? codec : "snappy";

    private static ParquetCodec Codec(AddFile file) => CodecName(file) switch
    {
        "zstd" => ParquetCodec.Zstd,
        "gzip" => ParquetCodec.Gzip,
        "none" or "uncompressed" => ParquetCodec.None,
        _ => ParquetCodec.Snappy,
    };
}

/// <summary>
/// How a rewrite reads and writes a table's data files: the table's encryption (null: plaintext) and the keys for it,
/// so compaction and Z-order keep an encrypted table encrypted (and its stats policy) instead of writing plaintext.
/// </summary>
internal sealed record TableFiles(Parquet.Encryption.TableEncryption? Encryption, Parquet.Encryption.IKeyProvider? Keys)
{
    public static TableFiles For(DataLakeStorage storage, Snapshot snapshot, string tableName) => For(storage.Keys, snapshot, tableName);

    public static TableFiles For(Parquet.Encryption.IKeyProvider? keys, Snapshot snapshot, string tableName)
    {
        var encryption = Parquet.Encryption.TableEncryption.Of(snapshot.Metadata.Configuration);
        if (encryption is not null && keys is null)
            throw new InvalidInputException($"Table '{tableName}' is encrypted and no key provider was given to rewrite it.");
        encryption?.EnsureKeys(keys!, tableName);
        return new TableFiles(encryption, encryption is null ? null : keys);
    }
}
