using System.Diagnostics;
using System.Globalization;
using SortKey = Ecap.DataLake.Arrow.SortKey;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Reading;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// One compaction of one table: plan bins per partition group, merge each bin's sorted files into new files,
/// and commit removes + adds with <c>dataChange=false</c> (per group or once). Before each commit the group's
/// input files must still be live in the newest snapshot: appends that landed meanwhile are simply kept
/// (Delta's conflict rules let a rewrite pass appends); a group whose inputs a concurrent rewrite already
/// removed is dropped and its new files deleted, so the two rewrites never both win.
/// </summary>
internal static class TableCompaction
{
    public static async Task<CompactionResult> RunAsync(DataLakeStorage storage, string tableName, CompactOptions options, CancellationToken ct)
    {
        var table = await DataCompactor.OpenExistingAsync(storage, tableName, ct);
        return await RunAsync(table, tableName, storage.Keys, options, ct);
    }

    /// <summary>A compaction of a table opened by the caller (auto-compaction: the committed table, lake tables and the audit trail alike).</summary>
    internal static async Task<CompactionResult> RunAsync(DeltaTable table, string tableName, Parquet.Encryption.IKeyProvider? keyProvider, CompactOptions options, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var target = options.TargetFileSizeBytes;
        if (target <= 0) throw new InvalidInputException($"The target file size must be positive (got {target} bytes).");
        var minSize = options.MinFileSizeBytes ?? target / 4;
        var snapshot = await table.GetSnapshotAsync(ct);
        SpilledMerge.RemoveStaleFolders(options.TempDirectory); // a killed compaction's sorted runs

        var pruning = options.PartitionFilters.Count > 0 ? new FilePruning(snapshot, new ReadOptions { PartitionFilters = options.PartitionFilters }) : null;
        var selected = snapshot.Files.Where(f => pruning is null || pruning.Check(f) != FilePruning.Verdict.PrunedByPartition);
        var work = FileGroup.Of(selected, snapshot.PartitionColumns)
            .Where(g => options.GroupFilter is null || options.GroupFilter(g.PartitionKey))
            // A file with a deletion vector is rewritten even alone: that drops its deleted rows and the vector (the purge).
            .Select(g => (Group: g, Small: InKeyOrder(g.Files.Where(f => f.Size < minSize || f.DeletionVector is not null), snapshot)))
            .Select(w => options.MaxFilesPerGroup is { } cap && w.Small.Count > cap ? (Group: w.Group, Small: w.Small.Take(cap).ToList()) : w)
            .Where(w => w.Small.Count > 1 || w.Small.Any(f => f.DeletionVector is not null)).ToList();
        var fileSchema = DataFileSchema(snapshot);
        var tableFiles = TableFiles.For(keyProvider, snapshot, tableName);
        var keys = TableLayout.FromMetadata(snapshot.Metadata).SortColumns
            .Where(c => fileSchema.GetFieldIndex(c) >= 0).Select(c => new SortKey(c, NullsFirst: true)).ToList();

        RestorePoint? point = null;
        if (options.Backup && work.Count > 0)
        {
            var now = DateTimeOffset.UtcNow;
            point = new RestorePoint(options.RestorePointName ?? $"compaction-v{snapshot.Version}-{now:yyyyMMddTHHmmssfff}",
                snapshot.Version, now, now + options.BackupRetention, "OPTIMIZE");
            await RestorePoints.CreateAsync(table.Store, point, ct);
        }

        var bytesTotal = work.Sum(w => w.Small.Sum(f => f.Size));
        long bytesDone = 0, rows = 0;
        var groupsDone = 0;
        var committer = new RewriteCommitter(table, snapshot, options, target);
        var pending = new List<GroupRewrite>();
        options.Progress?.Report(new CompactionProgress(tableName, 0, work.Count, 0, bytesTotal));
        try
        {
            await Parallel.ForEachAsync(work, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.MaxParallelism), CancellationToken = ct },
                async (item, token) =>
                {
                    var rewrite = new GroupRewrite(item.Group);
                    lock (pending) pending.Add(rewrite);
                    // Bins of about one target of output: small files compress better together, so the input bytes
                    // per bin follow the output/input ratio seen so far. A lone leftover file is not rewritten.
                    var ratio = 1.0;
                    var ranges = item.Small.Select(f => SortedMerge.KeyRange(f, keys, fileSchema, snapshot.Schema)).ToList();
                    GroupFileWriter? writer = null;
                    long? writerMax = null;
                    long writerInput = 0;
                    for (var next = 0; next < item.Small.Count;)
                    {
                        var bin = new List<AddFile>();
                        var binRanges = new List<(long Min, long Max)?>();
                        var binUnknown = false;
                        long binBytes = 0;
                        while (next < item.Small.Count && (bin.Count == 0 || binBytes * ratio < target))
                        {
                            binUnknown |= ranges[next] is null;
                            binRanges.Add(ranges[next]);
                            bin.Add(item.Small[next++]);
                            binBytes += bin[^1].Size;
                        }
                        if (bin.Count == 1 && bin[0].DeletionVector is null) break;
                        // Bins whose key ranges follow each other share one writer, so files roll at the target across
                        // bins and stay sorted; a bin that overlaps the previous one starts a new file.
                        var binMin = binUnknown ? (long?)null : binRanges.Min(r => r!.Value.Min);
                        if (writer is not null && !(writerMax is { } m && binMin is { } b && m <= b))
                        {
                            var adds = await writer.CompleteAsync(token);
                            rewrite.Added.AddRange(adds);
                            ratio = Math.Clamp((double)adds.Sum(a => a.Size) / writerInput, 0.05, 4);
                            writer = null;
                        }
                        if (writer is null)
                        {
                            writer = new GroupFileWriter(table.Store, item.Group, fileSchema, target, tableFiles);
                            rewrite.Writers.Add(writer);
                            writerInput = 0;
                        }
                        writerInput += binBytes;
                        writerMax = binUnknown ? null : binRanges.Max(r => r!.Value.Max);
                        long binRows = 0;
                        // The merge runs ahead of the encoder (decode and merge on one core, encode on another). More
                        // overlapping inputs than the fan-in are merged through sorted runs on local disk.
                        await foreach (var batch in SpilledMerge.MergeAsync(table.Store, bin, fileSchema, keys, options.ReadBatchRows,
                                           options.MaxMergeFanIn, snapshot.Schema, tableFiles, token, options.TempDirectory).Ahead(4, token))
                        {
                            await writer.WriteAsync(batch, token);
                            binRows += batch.Length;
                        }
                        CheckRowCount(bin, binRows, tableName);
                        rewrite.Removed.AddRange(bin);
                        Interlocked.Add(ref rows, binRows);
                        var done = Interlocked.Add(ref bytesDone, binBytes);
                        options.Progress?.Report(new CompactionProgress(tableName, Volatile.Read(ref groupsDone), work.Count, done, bytesTotal));
                    }
                    if (writer is not null) rewrite.Added.AddRange(await writer.CompleteAsync(token));
                    if (options.CommitMode == CompactionCommitMode.PerPartition) await committer.CommitAsync([rewrite], token);
                    var groups = Interlocked.Increment(ref groupsDone);
                    options.Progress?.Report(new CompactionProgress(tableName, groups, work.Count, Interlocked.Read(ref bytesDone), bytesTotal));
                });
            if (options.CommitMode == CompactionCommitMode.PerTable && pending.Count > 0) await committer.CommitAsync(pending, ct);
        }
        catch
        {
            // Nothing more will be committed: the new files of groups not committed are never read; delete them now.
            foreach (var r in pending.Where(r => !r.Committed))
                foreach (var w in r.Writers) await w.DeleteWrittenAsync();
            throw;
        }
        foreach (var r in pending.Where(r => !r.Committed))
            foreach (var w in r.Writers) await w.DeleteWrittenAsync();
        foreach (var r in pending)
            foreach (var w in r.Writers) w.Dispose();

        var done = pending.Where(r => r.Committed).ToList();
        var attempted = pending.Count(r => r.Removed.Count > 0);
        var removed = done.Sum(r => r.Removed.Count);
        var added = done.Sum(r => r.Added.Count);
        var bytesRemoved = done.Sum(r => r.Removed.Sum(f => f.Size));
        var bytesAdded = done.Sum(r => r.Added.Sum(f => f.Size));
        if (bytesAdded > 0) Metrics.LakeMetrics.RecordCompaction(table.Location, bytesAdded);
        return new CompactionResult
        {
            TableName = tableName,
            ReadVersion = snapshot.Version,
            CommitVersions = committer.Versions.Order().ToList(),
            PartitionGroupsCompacted = done.Count,
            PartitionGroupsSkipped = attempted - done.Count,
            FilesBefore = snapshot.Files.Count,
            FilesAfter = snapshot.Files.Count - removed + added,
            BytesBefore = snapshot.TotalSize,
            BytesAfter = snapshot.TotalSize - bytesRemoved + bytesAdded,
            FilesRemoved = removed,
            FilesAdded = added,
            BytesRemoved = bytesRemoved,
            BytesAdded = bytesAdded,
            RowsRewritten = TableInspector.RowCount(done.SelectMany(r => r.Added)),
            RestorePoint = point,
            Duration = clock.Elapsed,
        };
    }

    /// <summary>
    /// Files by the stats minimum of the first sort column (then commit time), so each bin holds neighbouring key
    /// ranges: bins of time-ordered appends merge without sorting and their output files do not overlap.
    /// </summary>
    private static List<AddFile> InKeyOrder(IEnumerable<AddFile> files, Snapshot snapshot)
    {
        var column = TableLayout.FromMetadata(snapshot.Metadata).SortColumns.FirstOrDefault();
        object? MinKey(AddFile f) => column is not null && DataFileStats.TryParse(f.Stats, snapshot.Schema, out var stats) ? stats.GetBounds(column)?.Min : null;
        return files.Select(f => (File: f, Min: MinKey(f)))
            .OrderBy(x => x.Min is null ? 1 : 0)
            .ThenBy(x => x.Min, Comparer<object?>.Create((a, b) => a is IComparable ca && b is not null && a.GetType() == b.GetType() ? ca.CompareTo(b) : 0))
            .ThenBy(x => x.File.ModificationTime).ThenBy(x => x.File.Path, StringComparer.Ordinal)
            .Select(x => x.File).ToList();
    }

    /// <summary>The schema of the table's data files: the table schema without partition columns (those live in the log).</summary>
    internal static Schema DataFileSchema(Snapshot snapshot)
    {
        var partitions = snapshot.PartitionColumns.ToHashSet(StringComparer.Ordinal);
        return new Schema(snapshot.Schema.FieldsList.Where(f => !partitions.Contains(f.Name)).ToList(), snapshot.Schema.Metadata);
    }

    /// <summary>A rewrite must keep every row: compare with the inputs' numRecords when all of them have stats.</summary>
    internal static void CheckRowCount(IReadOnlyList<AddFile> inputs, long rowsWritten, string tableName)
    {
        var counts = inputs.Select(TableInspector.NumRecords).ToList();
        if (counts.Any(c => c is null)) return;
        long total = 0;
        if (counts.Any(c => !TableInspector.TryAddRows(ref total, c!.Value))) return; // stats that overflow are no evidence either way
        if (total != rowsWritten)
            throw new DataLakeException($"Compaction of '{tableName}' read {rowsWritten} rows from files whose stats say {total}; " +
                                        "nothing was committed. The files' stats or contents are inconsistent.");
    }
}

/// <summary>The rewrite of one partition group: the files it replaces, the files it wrote, and whether that was committed.</summary>
internal sealed class GroupRewrite(FileGroup group)
{
    public FileGroup Group { get; } = group;
    public List<AddFile> Removed { get; } = [];
    public List<AddFile> Added { get; } = [];
    public List<GroupFileWriter> Writers { get; } = [];
    public bool Committed { get; set; }
}

/// <summary>Commits rewrites one at a time, each against the newest snapshot, skipping those whose inputs are gone.</summary>
internal sealed class RewriteCommitter(DeltaTable table, Snapshot read, CompactOptions options, long target)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public List<long> Versions { get; } = [];

    public async Task CommitAsync(IReadOnlyList<GroupRewrite> rewrites, CancellationToken ct, IReadOnlyList<string>? zOrderBy = null)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var latest = await table.GetSnapshotAsync(ct);
            // By path and deletion vector: an input whose vector changed since it was read is no longer the file read.
            var live = latest.Files.Select(f => f.Key).ToHashSet();
            // A concurrent rewrite (another compaction, a delete) already replaced some input: this one loses.
            var ready = rewrites.Where(r => r.Removed.Count > 0 && r.Removed.All(f => live.Contains(f.Key))).ToList();
            if (ready.Count == 0) return;
            var tx = table.StartTransaction(latest, "OPTIMIZE");
            foreach (var r in ready)
            {
                foreach (var f in r.Removed) tx.Remove(f, dataChange: false);
                foreach (var a in r.Added) tx.Add(a);
            }
            tx.OperationParameters["predicate"] = "[" + string.Join(",", options.PartitionFilters.Select(f => "\"" + Describe(f) + "\"")) + "]";
            tx.OperationParameters["targetSize"] = target.ToString(CultureInfo.InvariantCulture);
            tx.OperationParameters["zOrderBy"] = "[" + string.Join(",", (zOrderBy ?? []).Select(c => "\"" + c + "\"")) + "]";
            tx.OperationParameters["readVersion"] = read.Version.ToString(CultureInfo.InvariantCulture);
            // Delta's (Databricks') marker of an auto-compaction: `storage info` and `monitor` find the last one by it.
            if (options.Automatic) tx.OperationParameters["auto"] = "true";
            tx.OperationMetrics["numRemovedFiles"] = ready.Sum(r => r.Removed.Count).ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numAddedFiles"] = ready.Sum(r => r.Added.Count).ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numRemovedBytes"] = ready.Sum(r => r.Removed.Sum(f => f.Size)).ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numAddedBytes"] = ready.Sum(r => r.Added.Sum(f => f.Size)).ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numPartitionGroups"] = ready.Count.ToString(CultureInfo.InvariantCulture);
            try
            {
                var commit = await tx.CommitAsync(ct);
                Versions.Add(commit.Version);
                foreach (var r in ready) r.Committed = true;
            }
            catch (ConcurrentModificationException)
            {
                // Lost to a concurrent rewrite of the same files between our check and our commit: stop cleanly (not committed).
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private static string Describe(PartitionFilter f) =>
        f.Values is { } values ? $"{f.Column} IN ({string.Join(", ", values.Select(v => v ?? "null"))})" : $"{f.Column} BETWEEN {f.Min ?? "-inf"} AND {f.Max ?? "+inf"}";
}
