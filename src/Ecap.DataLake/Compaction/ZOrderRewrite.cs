using System.Diagnostics;
using System.Globalization;
using SortKey = Ecap.DataLake.Arrow.SortKey;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Reading;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// Z-order: every partition group is rewritten with its rows ordered by a Z-value, the interleaved bits of each
/// column's rank, so rows close in all the columns land in the same file and the file stats of each column
/// cover a narrow range (a filter on any of them prunes files, not only on the first). Rows are clustered in
/// chunks of at most <see cref="ZOrderOptions.MaxChunkBytes"/>; the whole table is one commit (dataChange=false).
/// </summary>
internal static class ZOrderRewrite
{
    public static async Task<ZOrderResult> RunAsync(DataLakeStorage storage, string tableName, IReadOnlyList<string> columns, ZOrderOptions options, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        if (columns.Count == 0) throw new InvalidInputException("Z-order needs at least one column (--columns a,b).");
        var table = await DataCompactor.OpenExistingAsync(storage, tableName, ct);
        var snapshot = await table.GetSnapshotAsync(ct);
        var fileSchema = TableCompaction.DataFileSchema(snapshot);
        var tableFiles = TableFiles.For(storage, snapshot, tableName);
        foreach (var c in columns)
        {
            if (snapshot.PartitionColumns.Contains(c))
                throw new InvalidInputException($"'{c}' is a partition column of '{tableName}': it is constant within a file, so Z-ordering by it does nothing.");
            if (fileSchema.GetFieldIndex(c) < 0)
                throw new InvalidInputException($"Unknown column '{c}'; the table has: {string.Join(", ", fileSchema.FieldsList.Select(f => f.Name))}.");
        }

        var pruning = options.PartitionFilters.Count > 0 ? new FilePruning(snapshot, new ReadOptions { PartitionFilters = options.PartitionFilters }) : null;
        var groups = FileGroup.Of(snapshot.Files.Where(f => pruning is null || pruning.Check(f) != FilePruning.Verdict.PrunedByPartition), snapshot.PartitionColumns);
        var bytesTotal = groups.Sum(g => g.Bytes);
        long bytesDone = 0, rows = 0;
        var rewrites = new List<GroupRewrite>();
        var committer = new RewriteCommitter(table, snapshot, new CompactOptions { PartitionFilters = options.PartitionFilters }, options.TargetFileSizeBytes);
        try
        {
            for (var g = 0; g < groups.Count; g++)
            {
                var group = groups[g];
                var rewrite = new GroupRewrite(group);
                rewrites.Add(rewrite);
                var writer = new GroupFileWriter(table.Store, group, fileSchema, options.TargetFileSizeBytes, tableFiles);
                rewrite.Writers.Add(writer);
                var chunk = new List<RecordBatch>();
                long chunkBytes = 0, groupRows = 0;
                async Task FlushAsync()
                {
                    if (chunk.Count == 0) return;
                    var all = ArrowSort.Concat(chunk);
                    await writer.WriteAsync(ArrowGather.Take(all, ZOrderIndices(all, columns)), ct);
                    groupRows += all.Length;
                    // The decoded batches hold native memory the GC does not see: free them now.
                    foreach (var b in chunk) b.Dispose();
                    chunk.Clear();
                    chunkBytes = 0;
                }
                var read = new ParquetReadOptions { TableSchema = fileSchema, DecryptionKeys = tableFiles.Keys };
                foreach (var file in group.Files)
                {
                    await foreach (var batch in DeletionVectors.ReadLiveRowsAsync(table.Store, file, read, ct: ct))
                    {
                        chunk.Add(batch);
                        chunkBytes += ArrowSizes.Of(batch);
                        if (chunkBytes >= options.MaxChunkBytes) await FlushAsync();
                    }
                    bytesDone += file.Size;
                }
                await FlushAsync();
                TableCompaction.CheckRowCount(group.Files, groupRows, tableName);
                rewrite.Removed.AddRange(group.Files);
                rewrite.Added.AddRange(await writer.CompleteAsync(ct));
                rows += groupRows;
                options.Progress?.Report(new CompactionProgress(tableName, g + 1, groups.Count, bytesDone, bytesTotal));
            }
            if (rewrites.Count > 0) await committer.CommitAsync(rewrites, ct, zOrderBy: columns);
        }
        finally
        {
            foreach (var r in rewrites.Where(r => !r.Committed))
                foreach (var w in r.Writers) await w.DeleteWrittenAsync();
            foreach (var r in rewrites)
                foreach (var w in r.Writers) w.Dispose();
        }
        var done = rewrites.Where(r => r.Committed).ToList();
        return new ZOrderResult(tableName, columns, committer.Versions.Count > 0 ? committer.Versions[0] : null, done.Count,
            done.Sum(r => r.Removed.Count), done.Sum(r => r.Added.Count), done.Count == rewrites.Count ? rows : 0, clock.Elapsed);
    }

    /// <summary>
    /// The row order by Z-value: each column's values are ranked (equal values share a rank, nulls first), ranks are
    /// scaled to 64/k bits, and the bits of the k columns interleaved from the most significant down.
    /// </summary>
    internal static int[] ZOrderIndices(RecordBatch batch, IReadOnlyList<string> columns)
    {
        var n = batch.Length;
        var k = columns.Count;
        var bits = Math.Min(32, 64 / k);
        var scaled = new ulong[k][];
        for (var c = 0; c < k; c++)
        {
            var order = ArrowSort.SortIndices(batch, [new SortKey(columns[c], NullsFirst: true)]);
            var array = ArrowColumns.Resolve(batch, columns[c])!;
            IArrowArray[] key = [array];
            var ranks = new long[n];
            long rank = 0;
            for (var i = 1; i < n; i++)
            {
                if (KeyComparer.Compare(key, order[i - 1], key, order[i]) != 0) rank++;
                ranks[order[i]] = rank;
            }
            var maxRank = Math.Max(1, rank);
            var top = (1UL << bits) - 1;
            scaled[c] = new ulong[n];
            for (var i = 0; i < n; i++) scaled[c][i] = (ulong)((UInt128)(ulong)ranks[i] * top / (ulong)maxRank);
        }
        var z = new ulong[n];
        for (var i = 0; i < n; i++)
        {
            ulong value = 0;
            for (var b = bits - 1; b >= 0; b--)
                for (var c = 0; c < k; c++)
                    value = (value << 1) | ((scaled[c][i] >> b) & 1);
            z[i] = value;
        }
        var indices = new int[n];
        for (var i = 0; i < n; i++) indices[i] = i;
        System.Array.Sort(z, indices);
        return indices;
    }
}
