using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.Reading;
using Ecap.DataLake.Tables.Writing;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// Rewrites a table into another layout (partitions, buckets, sort) in one commit: every live file removed and the rows
/// written again through the partitioned writer, all with <c>dataChange=false</c> (the rows are the same), with a metaData
/// action holding the new partition columns and layout properties. The rows are streamed from a scan of the snapshot,
/// deletion vectors applied (deleted rows stay deleted), so memory is the writer's buffer. A restore point of the version
/// read is made first. The commit changes metadata, so any commit that lands meanwhile is a conflict: the rewrite then
/// fails with <see cref="ConcurrentModificationException"/>, its files deleted, and the other commit is kept.
/// <para>
/// Derived columns of the old layout (year/month/day/hour of its time column, truncations) are dropped and the new
/// layout's recomputed from the rows, so <c>day(ts)</c> to <c>month(ts)</c> leaves no <c>day</c> column behind.
/// </para>
/// </summary>
internal static class TableRepartition
{
    public const string Operation = "REPARTITION";

    public static async Task<RepartitionResult> RunAsync(DataLakeStorage storage, string tableName, PartitionStrategy layout, RepartitionOptions options,
        CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var target = options.TargetFileSizeBytes ?? storage.Options.TargetFileSizeBytes;
        if (target <= 0) throw new InvalidInputException($"The target file size must be positive (got {target} bytes).");
        var table = await DataCompactor.OpenExistingAsync(storage, tableName, ct);
        var snapshot = await table.GetSnapshotAsync(ct);
        var old = TableLayout.FromMetadata(snapshot.Metadata);
        if (PartitionSpec.SameLayout(old, layout))
            throw new InvalidInputException($"Table '{tableName}' is already laid out as {PartitionSpec.Format(old)}.");
        if (ColumnMapping.IsMapped(snapshot.Metadata))
            throw new InvalidInputException($"Table '{tableName}' uses column mapping (delta.columnMapping.mode), which a repartition does not rewrite yet.");

        // The rows without the old layout's computed columns; the new layout computes its own.
        var oldComputed = old.ComputedColumns.ToHashSet(StringComparer.Ordinal);
        var partitioner = new BatchPartitioner(layout);
        var inputSchema = new Schema(snapshot.Schema.FieldsList.Where(f => !oldComputed.Contains(f.Name)).ToList(), snapshot.Schema.Metadata);
        var newSchema = NewSchema(inputSchema, layout, partitioner, tableName);
        var metadata = snapshot.Metadata with
        {
            SchemaString = DeltaSchema.ToSchemaString(newSchema),
            PartitionColumns = layout.PartitionColumns,
            Configuration = LayoutProperties(snapshot.Metadata.Configuration, layout),
        };
        Residency.DataResidency.EnsureWritable(metadata, tableName, storage.Options.Region, storage.Location);
        // A CHECK constraint on a column the new layout drops (an old derived part) would no longer hold: refused, naming it.
        TableConstraints.Of(metadata).EnsureColumns(newSchema, tableName);

        var files = snapshot.Files;
        var partitionsBefore = snapshot.PartitionColumns.Count == 0 ? 0
            : files.Select(f => DataLakeStorage.PartitionKey(f.PartitionValues, snapshot.PartitionColumns)).Distinct(StringComparer.Ordinal).Count();
        var bytesBefore = files.Sum(f => f.Size);
        var (estimatedPartitions, estimatedFiles) = Estimate(snapshot, layout, target);
        var result = new RepartitionResult
        {
            TableName = tableName,
            ReadVersion = snapshot.Version,
            OldPartitionBy = PartitionSpec.Format(old),
            NewPartitionBy = PartitionSpec.Format(layout),
            FilesBefore = files.Count,
            PartitionsBefore = partitionsBefore,
            BytesBefore = bytesBefore,
            EstimatedPartitionsAfter = estimatedPartitions,
            EstimatedFilesAfter = estimatedFiles,
            DryRun = options.DryRun,
            Duration = TimeSpan.Zero,
        };
        if (options.DryRun) return result with { Duration = clock.Elapsed };

        var encryption = Parquet.Encryption.TableEncryption.Of(snapshot.Metadata.Configuration);
        encryption?.EnsureKeys(storage.Keys, tableName);
        var now = DateTimeOffset.UtcNow;
        var point = new RestorePoint(options.RestorePointName ?? $"repartition-v{snapshot.Version}-{now:yyyyMMddTHHmmssfff}",
            snapshot.Version, now, now + options.BackupRetention, Operation);
        await RestorePoints.CreateAsync(table.Store, point, ct);

        var writeOptions = new WriteOptions { TargetFileSizeBytes = target };
        var writer = new PartitionedFileWriter(table.Store, partitioner, writeOptions, storage.Options.WriteBufferBytes, encryption,
            encryption is null ? null : storage.Keys);
        var commitAttempted = false;
        try
        {
            // The scan applies deletion vectors: a row a vector deletes is not read, so it is not written again.
            var scan = TableScan.Plan(table.Store, snapshot, new ReadOptions { Columns = inputSchema.FieldsList.Select(f => f.Name).ToList() });
            if (encryption is not null) scan.DecryptionKeys = storage.Keys;
            long rows = 0;
            await foreach (var batch in scan.ReadBatchesAsync(ct))
            {
                var prepared = SchemaAlignment.Conform(partitioner.AddDerivedColumns(batch), newSchema);
                if (prepared.Length > 0) await writer.AddAsync(prepared, ct);
                rows += batch.Length;
                options.Progress?.Report(new CompactionProgress(tableName, 0, 1, scan.Metrics.BytesScanned, bytesBefore));
            }
            var adds = (await writer.FinishAsync(ct)).Select(a => a with { DataChange = false }).ToList();
            TableCompaction.CheckRowCount(files.ToList(), writer.RowsWritten, tableName);
            if (options.BeforeCommit is { } beforeCommit) await beforeCommit(ct);

            var tx = table.StartTransaction(snapshot, Operation);
            tx.SetMetadata(metadata);
            foreach (var file in files) tx.Remove(file, dataChange: false);
            foreach (var add in adds) tx.Add(add);
            tx.ReadWholeTable = true;
            tx.OperationParameters["partitionBy"] = "[" + string.Join(",", layout.PartitionColumns.Select(c => "\"" + c + "\"")) + "]";
            tx.OperationParameters["layout"] = PartitionSpec.Format(layout);
            tx.OperationParameters["previousLayout"] = PartitionSpec.Format(old);
            tx.OperationParameters["restorePoint"] = point.Name;
            tx.OperationMetrics["numRemovedFiles"] = files.Count.ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numAddedFiles"] = adds.Count.ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numOutputRows"] = writer.RowsWritten.ToString(CultureInfo.InvariantCulture);
            commitAttempted = true;
            CommitResult commit;
            try
            {
                commit = await tx.CommitAsync(ct);
            }
            catch (ConcurrentModificationException e)
            {
                throw new ConcurrentModificationException(
                    $"Table '{tableName}' changed while it was rewritten into {PartitionSpec.Format(layout)} ({e.Message}): nothing was committed and " +
                    "the other commit is kept. Run the repartition again.");
            }
            return result with
            {
                Version = commit.Version,
                FilesAdded = adds.Count,
                PartitionsAfter = layout.PartitionColumns.Count == 0 ? 0
                    : adds.Select(a => DataLakeStorage.PartitionKey(a.PartitionValues, layout.PartitionColumns)).Distinct(StringComparer.Ordinal).Count(),
                BytesAfter = adds.Sum(a => a.Size),
                RowsRewritten = rows,
                RestorePoint = point,
                Duration = clock.Elapsed,
            };
        }
        catch (Exception e)
        {
            // A commit the protocol refused did not land: its files and the restore point go. A store failure during the
            // put may have landed: the files stay (vacuum removes them if no version references them).
            if (!commitAttempted || e is DataLakeException or InvalidOperationException)
            {
                await writer.DeleteWrittenFilesAsync();
                try { await RestorePoints.DeleteAsync(table.Store, point.Name, CancellationToken.None); } catch (IOException) { /* an unused restore point expires */ }
            }
            throw;
        }
    }

    // The table's schema under the new layout: the rows' columns and the layout's computed ones, every layout column present.
    private static Schema NewSchema(Schema input, PartitionStrategy layout, BatchPartitioner partitioner, string tableName)
    {
        if (layout.TimeColumn is { } time && layout.DerivedColumns.Count > 0 && input.GetFieldIndex(time) < 0)
            throw new SchemaMismatchException($"Time column '{time}' of the new layout is not a column of '{tableName}'.");
        foreach (var t in layout.TruncateColumns.Where(t => input.GetFieldIndex(t.Source) < 0))
            throw new SchemaMismatchException($"Column '{t.Source}' of truncate({t.Width}, {t.Source}) is not a column of '{tableName}'.");
        var empty = new RecordBatch(input, input.FieldsList.Select(f => ArrowGather.Nulls(f.DataType, 0)), 0);
        var schema = partitioner.AddDerivedColumns(empty).Schema;
        var missing = layout.PartitionColumns.Concat(layout.SortColumns).Concat(layout.BucketColumn is { } b ? [b] : [])
            .Where(c => schema.GetFieldIndex(c) < 0).Distinct().ToList();
        if (missing.Count > 0)
            throw new SchemaMismatchException(
                $"Column(s) {string.Join(", ", missing)} of the new layout are not columns of '{tableName}'; it has: {string.Join(", ", input.FieldsList.Select(f => f.Name))}.");
        return schema;
    }

    // The table's properties with the old layout's (ecap.partitioning.*) replaced by the new one's: governance and the rest stay.
    private static Dictionary<string, string> LayoutProperties(IReadOnlyDictionary<string, string> configuration, PartitionStrategy layout)
    {
        var properties = configuration.Where(p => !p.Key.StartsWith(PartitionStrategy.PropertyPrefix, StringComparison.Ordinal))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var (key, value) in layout.ToTableProperties()) properties[key] = value;
        return properties;
    }

    /// <summary>
    /// Partitions and files after the rewrite, from the log: exact partitions when the new partition columns are all partition
    /// columns now (a coarser layout), files as the bytes of each new partition over the target (at least one per partition and
    /// bucket). Otherwise (a column not partitioned now) both are null: only reading the rows could tell.
    /// </summary>
    internal static (int? Partitions, int? Files) Estimate(Snapshot snapshot, PartitionStrategy layout, long target)
    {
        if (snapshot.Files.Count == 0) return (0, 0);
        if (!layout.PartitionColumns.All(snapshot.PartitionColumns.Contains)) return (null, null);
        var groups = snapshot.Files.GroupBy(f => DataLakeStorage.PartitionKey(f.PartitionValues, layout.PartitionColumns), StringComparer.Ordinal)
            .Select(g => g.Sum(f => f.Size)).ToList();
        var files = groups.Sum(bytes => Math.Max(Math.Max(1, layout.BucketCount), (int)Math.Min(int.MaxValue, Math.Ceiling((double)bytes / target))));
        return (layout.PartitionColumns.Count == 0 ? 0 : groups.Count, files);
    }
}
