using System.Collections.Concurrent;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Tables.Writing;

/// <summary>
/// Turns a stream of table-schema batches into sorted, partitioned Parquet data files and the
/// <c>add</c> actions that publish them. Rows are grouped by partition (and bucket) and buffered per
/// group up to a memory budget; a flushed group is sorted by the strategy's sort columns as a whole,
/// so every file is sorted inside. Files are written in parallel; nothing is visible until the caller
/// commits the returned actions, and <see cref="DeleteWrittenFilesAsync"/> cleans up after a failure.
/// </summary>
internal sealed class PartitionedFileWriter
{
    private readonly IObjectStore _table;
    private readonly BatchPartitioner _partitioner;
    private readonly WriteOptions _options;
    private readonly long _maxBufferBytes;
    private readonly Dictionary<string, GroupBuffer> _buffers = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<AddFile> _adds = [];
    private readonly ConcurrentBag<string> _writtenKeys = [];
    private long _bufferedBytes;
    private int _sequence = -1;
    private long _rowsWritten;
    private long _bytesWritten;

    private readonly Parquet.Encryption.TableEncryption? _encryption;
    private readonly Parquet.Encryption.IKeyProvider? _keys;

    // A column-mapped table's schema: files and partition values use its physical names.
    private readonly Schema? _columnMapping;

    public PartitionedFileWriter(IObjectStore table, BatchPartitioner partitioner, WriteOptions options, long maxBufferBytes,
        Parquet.Encryption.TableEncryption? encryption = null, Parquet.Encryption.IKeyProvider? keys = null, Schema? columnMapping = null)
    {
        _columnMapping = columnMapping;
        _encryption = encryption;
        _keys = keys;
        _table = table;
        _partitioner = partitioner;
        _options = options;
        _maxBufferBytes = maxBufferBytes;
    }

    public long RowsWritten => Interlocked.Read(ref _rowsWritten);
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);
    public int FilesWritten => _adds.Count;

    /// <summary>Partitions and buffers one batch (in the table schema, derived columns included or not).</summary>
    public async Task AddAsync(RecordBatch batch, CancellationToken ct)
    {
        foreach (var group in _partitioner.Partition(batch))
        {
            var key = group.Directory + "|" + group.Bucket;
            if (!_buffers.TryGetValue(key, out var buffer))
                _buffers[key] = buffer = new GroupBuffer(group.Directory, group.PartitionValues, group.Bucket);
            var size = ArrowSizes.Of(group.Rows);
            buffer.Add(group.Rows, size);
            _bufferedBytes += size;
        }
        if (_bufferedBytes > _maxBufferBytes)
        {
            // Flush the largest groups until half the budget is free: big groups make big files.
            var victims = new List<GroupBuffer>();
            var freed = 0L;
            foreach (var b in _buffers.Values.OrderByDescending(b => b.Bytes))
            {
                if (_bufferedBytes - freed <= _maxBufferBytes / 2) break;
                victims.Add(b);
                freed += b.Bytes;
            }
            await FlushAsync(victims, ct);
        }
    }

    /// <summary>Writes everything still buffered and returns the add actions of all files written.</summary>
    public async Task<IReadOnlyList<AddFile>> FinishAsync(CancellationToken ct)
    {
        await FlushAsync(_buffers.Values.ToList(), ct);
        return _adds.OrderBy(a => a.Path, StringComparer.Ordinal).ToList();
    }

    /// <summary>Deletes every file this writer wrote (after a failed or abandoned commit).</summary>
    public async Task DeleteWrittenFilesAsync()
    {
        foreach (var key in _writtenKeys)
        {
            try { await _table.DeleteAsync(key); } catch (IOException) { /* vacuum removes what is left */ }
        }
    }

    private async Task FlushAsync(List<GroupBuffer> groups, CancellationToken ct)
    {
        foreach (var g in groups)
        {
            _buffers.Remove(g.Directory + "|" + g.Bucket);
            _bufferedBytes -= g.Bytes;
        }
        // Encoding is CPU-bound (one group per core); on a remote store (S3) each file also waits on its upload, so more
        // groups are in flight to keep the network busy while the cores encode.
        var degree = _table.TryGetLocalPath("x") is null ? Math.Max(8, 4 * Environment.ProcessorCount) : Environment.ProcessorCount;
        await Parallel.ForEachAsync(groups, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = degree },
            async (group, token) => await WriteGroupAsync(group, token));
    }

    private async Task WriteGroupAsync(GroupBuffer group, CancellationToken ct)
    {
        IReadOnlyList<WrittenFile> files;
        using (var parquet = new ParquetDataWriter(_table, group.Batches[0].Schema, _ => NextKey(), new ParquetWriteOptions
               {
                   Codec = Codec,
                   TargetFileSizeBytes = _options.TargetFileSizeBytes,
                   Encryption = _encryption,
                   Keys = _keys,
                   ColumnMapping = _columnMapping,
               }))
        {
            // Each buffered batch arrived sorted. When the runs also follow each other in order (the usual
            // case: keys grow with time), they are written one after another; otherwise merged by a sort.
            var keys = _partitioner.Strategy.SortColumns.Select(c => new SortKey(c, NullsFirst: true)).ToList();
            if (keys.Count == 0 || RunsAreInOrder(group.Batches, keys))
                foreach (var batch in group.Batches) await parquet.WriteAsync(batch, ct);
            else
                await parquet.WriteAsync(ArrowSort.Sort(ArrowSort.Concat(group.Batches), keys), ct);
            files = await parquet.CompleteAsync(ct);
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var file in files)
        {
            _writtenKeys.Add(file.Key);
            _adds.Add(new AddFile
            {
                Path = AddFile.EncodePath(file.Key),
                PartitionValues = _columnMapping is null ? group.PartitionValues : Parquet.FieldMapping.PhysicalPartitionValues(group.PartitionValues, _columnMapping),
                Size = file.SizeBytes,
                ModificationTime = now,
                DataChange = true,
                Stats = _encryption is null ? file.Stats.ToJson() : _encryption.FilterStats(file.Stats.ToJson()),
                Tags = group.Bucket is { } bucket
                    ? new Dictionary<string, string?> { [TableLayout.BucketTag] = bucket.ToString(System.Globalization.CultureInfo.InvariantCulture) }
                    : null,
            });
            Interlocked.Add(ref _rowsWritten, file.RowCount);
            Interlocked.Add(ref _bytesWritten, file.SizeBytes);
        }
        _options.Progress?.Report(new WriteProgress(RowsWritten, FilesWritten, BytesWritten));

        string NextKey() => group.Directory + DataFileName.Create(Interlocked.Increment(ref _sequence), group.Bucket, Codec.ToString().ToLowerInvariant());
    }

    /// <summary>Whether sorted runs are in order end to start: each run's last row sorts at or before the next run's first.</summary>
    private static bool RunsAreInOrder(List<RecordBatch> runs, IReadOnlyList<SortKey> keys)
    {
        if (runs.Count == 1) return true;
        var boundaries = new List<RecordBatch>(2 * runs.Count);
        for (var i = 0; i < runs.Count; i++)
        {
            if (i > 0) boundaries.Add(runs[i].Slice(0, 1));
            if (i < runs.Count - 1) boundaries.Add(runs[i].Slice(runs[i].Length - 1, 1));
        }
        // A stable sort leaves the boundary rows where they are exactly when they are already in order.
        var order = ArrowSort.SortIndices(ArrowSort.Concat(boundaries), keys);
        for (var i = 0; i < order.Length; i++)
            if (order[i] != i) return false;
        return true;
    }

    private ParquetCodec Codec => _options.Compression.ToLowerInvariant() switch
    {
        "snappy" => ParquetCodec.Snappy,
        "zstd" => ParquetCodec.Zstd,
        "gzip" => ParquetCodec.Gzip,
        "none" or "uncompressed" => ParquetCodec.None,
        var other => throw new InvalidInputException($"Unknown compression '{other}': use snappy, zstd, gzip or none."),
    };

    private sealed class GroupBuffer(string directory, IReadOnlyDictionary<string, string?> partitionValues, int? bucket)
    {
        public string Directory { get; } = directory;
        public IReadOnlyDictionary<string, string?> PartitionValues { get; } = partitionValues;
        public int? Bucket { get; } = bucket;
        public List<RecordBatch> Batches { get; } = [];
        public long Bytes { get; private set; }

        public void Add(RecordBatch rows, long bytes)
        {
            Batches.Add(rows);
            Bytes += bytes;
        }
    }
}
