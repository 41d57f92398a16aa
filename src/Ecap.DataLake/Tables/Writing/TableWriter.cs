using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.Reading;

namespace Ecap.DataLake.Tables.Writing;

/// <summary>
/// Turns a stream of batches into one commit of a table: checks the mode and the table's positions, settles layout
/// and schema, enforces constraints, residency and encryption, writes sorted, partitioned Parquet files (deduplicated
/// if asked) and commits them with the write's txns and parameters. Files of a commit that did not land are deleted.
/// </summary>
internal sealed class TableWriter(DataLakeStorage storage)
{
    /// <summary>Writes <paramref name="data"/> into the table and commits once; Committed: the version committed (null: nothing was).</summary>
    public async Task<(WriteResult Result, long? Committed)> WriteAsync(IAsyncEnumerable<RecordBatch> data, string tableName, DataType? dataType,
        WriteMode mode, WriteOptions? options, CancellationToken ct)
    {
        options ??= new WriteOptions();
        var clock = Stopwatch.StartNew();
        var table = storage.OpenTable(tableName);
        var snapshot = await table.ExistsAsync(ct) ? await table.GetSnapshotAsync(ct) : null;

        if (snapshot != null && mode == WriteMode.ErrorIfExists)
            throw new TableAlreadyExistsException($"Table '{tableName}' already exists at version {snapshot.Version} (mode error-if-exists).");
        if (snapshot != null && mode == WriteMode.Ignore)
            return (new WriteResult(tableName, snapshot.Version, 0, 0, 0, 0, 0, Skipped: true, clock.Elapsed), null);
        EnsureExpectedTransactions(snapshot, options.ExpectedTransactions, tableName);
        if (options.OverwriteSchema && mode != WriteMode.Overwrite)
            throw new InvalidInputException("overwriteSchema needs mode overwrite.");
        if (options.SkipExistingKeys && options.DeduplicateKeys is not { Count: > 0 })
            throw new InvalidInputException("skipExistingKeys needs deduplicateKeys (the key columns to look up).");

        // The layout: the table's own when it exists (unless its schema is being replaced), else the requested one.
        var replaceLayout = snapshot == null || (mode == WriteMode.Overwrite && options.OverwriteSchema);
        var strategy = replaceLayout
            ? options.Strategy ?? (dataType is { } preset ? PartitionStrategy.For(preset, options.TimeColumn) : PartitionStrategy.Custom([]))
            : TableLayout.FromMetadata(snapshot!.Metadata);
        if (!replaceLayout) EnsureSameLayout(tableName, strategy, dataType, options.Strategy);
        var partitioner = new BatchPartitioner(strategy);

        // The next input batch is decoded while the current one is partitioned.
        await using var input = data.Ahead(2, ct).GetAsyncEnumerator(ct);
        if (!await input.MoveNextAsync())
        {
            if (snapshot != null && mode == WriteMode.Append)
                return (new WriteResult(tableName, snapshot.Version, 0, 0, 0, 0, 0, Skipped: false, clock.Elapsed), null);
        }
        var first = input.Current is { } f ? Prepare(f, partitioner, options) : null;
        if (first == null && snapshot == null)
            throw new InvalidInputException($"Cannot create table '{tableName}' from an input without any batch: the schema is unknown.");

        // Schema: the table's, merged with new columns if asked, or the input's for a new/replaced table.
        Schema tableSchema;
        Metadata? newMetadata = null;
        if (replaceLayout)
        {
            tableSchema = first!.Schema;
            var missing = strategy.PartitionColumns.Where(c => tableSchema.GetFieldIndex(c) < 0).ToList();
            if (missing.Count > 0)
                throw new SchemaMismatchException($"Partition column(s) {string.Join(", ", missing)} are not in the input of '{tableName}'.");
            newMetadata = Metadata.Create(tableSchema, strategy.PartitionColumns, TableProperties(strategy, options), name: tableName);
            if (snapshot != null)
                newMetadata = newMetadata with
                {
                    Id = snapshot.Metadata.Id, CreatedTime = snapshot.Metadata.CreatedTime,
                    Configuration = DataLakeStorage.WithGovernance(newMetadata.Configuration, snapshot.Metadata), // an overwrite never sheds constraints, encryption or residency
                };
            // Nor the table's auto-compaction choice.
            if (snapshot != null && snapshot.Metadata.Configuration.TryGetValue(TablePropertyKeys.AutoCompact, out var autoCompact))
                newMetadata = newMetadata with { Configuration = new Dictionary<string, string>(newMetadata.Configuration) { [TablePropertyKeys.AutoCompact] = autoCompact } };
        }
        else
        {
            tableSchema = first == null ? snapshot!.Schema
                : SchemaAlignment.Resolve(snapshot!.Schema, first.Schema, options.MergeSchema, snapshot.PartitionColumns.ToList());
            if (!ReferenceEquals(tableSchema, snapshot.Schema))
                newMetadata = snapshot.Metadata with { SchemaString = DeltaSchema.ToSchemaString(tableSchema) };
        }

        // Constraints (delta.constraints.*) of the table as it will be: every row must pass, or nothing is committed.
        var constraints = TableConstraints.Of(newMetadata ?? snapshot!.Metadata);
        constraints.EnsureColumns(tableSchema, tableName);
        Residency.DataResidency.EnsureWritable(newMetadata ?? snapshot!.Metadata, tableName, storage.Options.Region, storage.Location);
        var encryption = Parquet.Encryption.TableEncryption.Of((newMetadata ?? snapshot!.Metadata).Configuration);
        encryption?.EnsureKeys(storage.Keys, tableName);
        // Column mapping: appends and overwrites of the data write physical names; changing the schema by a write is refused
        // (new columns would need ids and physical names: `storage alter --add-column` assigns them).
        var mapped = snapshot != null && ColumnMapping.IsMapped(snapshot.Metadata);
        if (mapped && newMetadata != null)
            throw new InvalidInputException(
                $"Table '{tableName}' uses column mapping (delta.columnMapping.mode): a write cannot change its schema (--merge-schema, --overwrite-schema); " +
                "add columns with `ecap data-lake storage alter --add-column` first.");
        if (mapped && encryption != null)
            throw new UnsupportedProtocolException($"Table '{tableName}' uses column mapping and encryption together, which this library does not write.");
        var writer = new PartitionedFileWriter(table.Store, partitioner, options, storage.Options.WriteBufferBytes, encryption, encryption is null ? null : storage.Keys,
            mapped ? tableSchema : null);
        var dedup = options.DeduplicateKeys is { Count: > 0 } keys ? new Deduplicator(keys, options.DeduplicateOrderBy, storage.Options.WriteBufferBytes) : null;
        var commitAttempted = false;
        try
        {
            var batch = first;
            while (batch != null)
            {
                // Later batches of a stream may differ from the first: check each new shape against the table.
                if (!ReferenceEquals(batch.Schema, first!.Schema))
                    SchemaAlignment.Resolve(tableSchema, batch.Schema, mergeSchema: false, strategy.PartitionColumns);
                var aligned = SchemaAlignment.Conform(batch, tableSchema);
                constraints.Enforce(aligned, tableName);
                if (dedup != null) dedup.Collect(aligned);
                else if (aligned.Length > 0) await writer.AddAsync(aligned, ct);
                batch = await input.MoveNextAsync() ? Prepare(input.Current, partitioner, options) : null;
            }
            if (dedup != null)
            {
                var existing = options.SkipExistingKeys && snapshot != null && mode == WriteMode.Append
                    ? await ExistingKeysAsync(table, snapshot, dedup, ct) : null;
                foreach (var deduped in dedup.Results(existing, snapshot?.PartitionColumns))
                    if (deduped.Length > 0) await writer.AddAsync(deduped, ct);
            }
            var adds = await writer.FinishAsync(ct);

            var removed = 0;
            Transaction Build(Snapshot? read, Metadata? metadata)
            {
                var tx = table.StartTransaction(read, options.Operation ?? OperationName(mode, read));
                tx.ColumnMappingAware = mapped;
                removed = 0;
                if (read == null) tx.SetProtocol(Protocol.Default);
                if (metadata != null) tx.SetMetadata(metadata);
                if (read != null && mode == WriteMode.Overwrite)
                {
                    foreach (var file in read.Files) { tx.Remove(RemoveFile.For(file)); removed++; }
                    tx.ReadWholeTable = true;
                }
                else if (read != null && mode == WriteMode.OverwritePartitions)
                {
                    // Adds carry physical partition-value keys under column mapping; the snapshot's files logical ones.
                    var replaced = adds.Select(a => DataLakeStorage.PartitionKey(
                        mapped ? ColumnMapping.LogicalFile(a, read.Schema, read.PartitionColumns).PartitionValues : a.PartitionValues,
                        read.PartitionColumns)).ToHashSet(StringComparer.Ordinal);
                    foreach (var file in read.Files.Where(file => replaced.Contains(DataLakeStorage.PartitionKey(file.PartitionValues, read.PartitionColumns))))
                    {
                        tx.Remove(RemoveFile.For(file));
                        removed++;
                    }
                    tx.ReadWholeTable = true;
                }
                foreach (var add in adds) tx.Add(add);
                tx.OperationParameters["mode"] = mode.Name();
                tx.OperationParameters["partitionBy"] = "[" + string.Join(",", strategy.PartitionColumns.Select(c => "\"" + c + "\"")) + "]";
                if (dataType is { } typed) tx.OperationParameters["dataType"] = typed.ToName();
                if (options.SourceName != null) tx.OperationParameters["source"] = options.SourceName;
                foreach (var (appId, txnVersion) in options.Transactions ?? new Dictionary<string, long>()) tx.SetTxn(appId, txnVersion);
                foreach (var (key, value) in options.CommitParameters ?? new Dictionary<string, string>()) tx.OperationParameters[key] = value;
                tx.OperationMetrics["numFiles"] = adds.Count.ToString(CultureInfo.InvariantCulture);
                tx.OperationMetrics["numOutputRows"] = writer.RowsWritten.ToString(CultureInfo.InvariantCulture);
                tx.OperationMetrics["numOutputBytes"] = writer.BytesWritten.ToString(CultureInfo.InvariantCulture);
                tx.OperationMetrics["numRemovedFiles"] = removed.ToString(CultureInfo.InvariantCulture);
                return tx;
            }

            commitAttempted = true;
            CommitResult commit;
            try
            {
                commit = await Build(snapshot, newMetadata).CommitAsync(ct);
            }
            catch (TableAlreadyExistsException) when (snapshot == null && mode is WriteMode.Append or WriteMode.Ignore)
            {
                // Another writer created the table first (lost the race for version 0). Like any lost race: an append
                // of files that fit the table it created commits on top of it; an ignore is skipped.
                var winner = await table.GetSnapshotAsync(ct);
                if (mode == WriteMode.Ignore)
                {
                    await writer.DeleteWrittenFilesAsync();
                    return (new WriteResult(tableName, winner.Version, 0, 0, 0, 0, 0, Skipped: true, clock.Elapsed), null);
                }
                if (LostCreateConflict(winner, newMetadata!, options) is { } reason)
                    throw new TableAlreadyExistsException(
                        $"Table '{tableName}' was created by another writer while this write created it, and this write cannot append to it: {reason}. " +
                        "Nothing was committed; run the write again.");
                commit = await Build(winner, null).CommitAsync(ct);
            }
            Metrics.LakeMetrics.RecordWrite(table.Location, writer.RowsWritten, writer.BytesWritten);
            return (new WriteResult(tableName, commit.Version, adds.Count, writer.RowsWritten, writer.BytesWritten, removed,
                dedup?.Dropped ?? 0, Skipped: false, clock.Elapsed), commit.Version);
        }
        catch (Exception e)
        {
            // Until the commit is attempted no version can reference these files, and a commit the protocol refused
            // (a conflict, a validation) did not land: remove them. Any other failure of the commit itself (a store
            // error or a cancellation during the put) may have landed: the files stay, and vacuum deletes them only if
            // no version references them.
            if (!commitAttempted || e is DataLakeException or InvalidOperationException) await writer.DeleteWrittenFilesAsync();
            throw;
        }
    }

    /// <summary>
    /// Why files written for a new table cannot be appended to the table another writer created meanwhile (null: they can):
    /// the same schema, partitioning and properties (layout, encryption, residency), no dedup against keys it may hold, and
    /// the write's source positions still where they were expected.
    /// </summary>
    private static string? LostCreateConflict(Snapshot winner, Metadata ours, WriteOptions options)
    {
        if (winner.Metadata.SchemaString != ours.SchemaString) return "its schema differs";
        if (!winner.PartitionColumns.SequenceEqual(ours.PartitionColumns)) return "its partition columns differ";
        var theirs = winner.Metadata.Configuration;
        if (theirs.Count != ours.Configuration.Count || ours.Configuration.Any(kv => !theirs.TryGetValue(kv.Key, out var v) || v != kv.Value))
            return "its table properties (layout, encryption, residency) differ";
        if (options.SkipExistingKeys) return "skip-existing-keys did not see its rows";
        foreach (var (appId, expected) in options.ExpectedTransactions ?? new Dictionary<string, long>())
            if ((winner.GetTxnVersion(appId) ?? 0) != expected) return $"it holds txn version {winner.GetTxnVersion(appId)} for '{appId}', not the expected {expected}";
        foreach (var appId in (options.Transactions ?? new Dictionary<string, long>()).Keys)
            if (winner.GetTxnVersion(appId) is { } v) return $"it already holds txn version {v} for '{appId}'";
        return null;
    }

    /// <summary>Refuses a conditional commit (exactly-once sources) when the table no longer holds the txn versions it expects.</summary>
    internal static void EnsureExpectedTransactions(Snapshot? snapshot, IReadOnlyDictionary<string, long>? expected, string tableName)
    {
        foreach (var (appId, version) in expected ?? new Dictionary<string, long>())
            if ((snapshot?.GetTxnVersion(appId) ?? 0) != version)
                throw new ConcurrentModificationException(
                    $"Table '{tableName}' holds txn version {snapshot?.GetTxnVersion(appId) ?? 0} for '{appId}', not the expected {version}: another writer moved that source on.");
    }

    // The keys already in the partitions the input touches, qualified by partition; only those partitions'
    // key columns are read.
    private static async Task<IReadOnlySet<string>> ExistingKeysAsync(DeltaTable table, Snapshot snapshot, Deduplicator dedup, CancellationToken ct)
    {
        var touched = dedup.TouchedPartitions(snapshot.PartitionColumns);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var byPartition = snapshot.Files.GroupBy(f => DataLakeStorage.PartitionKey(f.PartitionValues, snapshot.PartitionColumns)).Where(g => touched.Contains(g.Key));
        foreach (var partition in byPartition)
        {
            var files = partition.ToHashSet();
            var scan = TableScan.Plan(table.Store, snapshot, new ReadOptions { Columns = dedup.Keys }, files.Contains);
            await foreach (var batch in scan.ReadBatchesAsync(ct))
                for (var r = 0; r < batch.Length; r++) keys.Add(Deduplicator.InPartition(partition.Key, dedup.KeyOf(batch, r)));
        }
        return keys;
    }

    // A layout or data type asked of an existing table must be its own: a different one is never silently ignored.
    private static void EnsureSameLayout(string tableName, PartitionStrategy table, DataType? dataType, PartitionStrategy? asked)
    {
        if (dataType is { } type && table.DataType is { } own && own != type)
            throw new InvalidInputException(
                $"Table '{tableName}' holds {own.ToName()} (layout {PartitionSpec.Format(table)}), not {type.ToName()}: write it with its own data type or into another table.");
        if (asked is not null && !PartitionSpec.SameLayout(table, asked))
            throw new InvalidInputException(
                $"Table '{tableName}' is laid out as {PartitionSpec.Format(table)}, not {PartitionSpec.Format(asked)}: " +
                "drop the layout options to append with the table's own layout.");
    }

    // A new table's properties: its layout, plus what the write declares (encryption, residency).
    private static Dictionary<string, string> TableProperties(PartitionStrategy strategy, WriteOptions options)
    {
        var properties = new Dictionary<string, string>(strategy.ToTableProperties());
        foreach (var (k, v) in options.Encryption?.ToTableProperties() ?? new Dictionary<string, string>()) properties[k] = v;
        if (options.Region is { Length: > 0 } region) properties[Residency.DataResidency.RegionProperty] = region;
        if (options.DeletionVectors) properties[TableFeatures.DeletionVectorsProperty] = "true";
        // Tables ecap creates compact their small files after commits unless told otherwise (a lake's hook does it).
        properties[TablePropertyKeys.AutoCompact] = options.AutoCompact ? "true" : "false";
        return properties;
    }

    private static RecordBatch Prepare(RecordBatch batch, BatchPartitioner partitioner, WriteOptions options)
    {
        batch = Arrow.TimestampNormalizer.ToMicros(batch);
        batch = MetadataColumns.Add(batch, options);
        return partitioner.AddDerivedColumns(batch);
    }

    private static string OperationName(WriteMode mode, Snapshot? snapshot) => snapshot == null ? "CREATE TABLE AS SELECT" : "WRITE";
}
