using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.Reading;
using Ecap.DataLake.Tables.Writing;

namespace Ecap.DataLake.Tables;

/// <summary>
/// The lake as a data engineer sees it: named tables under one root, each a Delta table laid out by
/// its data type's partition strategy. Writes stream Arrow batches into sorted, partitioned Parquet
/// files and publish them in one atomic commit; reads prune partitions, buckets, files and row groups
/// and stream batches back. Build one per lake and reuse it; it holds no per-call state.
/// </summary>
public sealed class DataLakeStorage
{
    private readonly IObjectStore _lake;

    public DataLakeStorage(string basePath, DataLakeStorageOptions? options = null)
        : this(ObjectStoreFactory.Open(basePath), options)
    {
    }

    public DataLakeStorage(IObjectStore lake, DataLakeStorageOptions? options = null)
    {
        _lake = lake;
        Options = options ?? new DataLakeStorageOptions();
        _tableOptions = new DeltaTableOptions { SnapshotCache = Options.SnapshotCacheCapacity > 0 ? new SnapshotCache(Options.SnapshotCacheCapacity) : null };
        Guard = Options.Guard ?? LakeGuard.ForLake(lake);
    }

    /// <summary>Options of every table opened here: they share one snapshot cache, so repeated reads do not replay logs.</summary>
    private readonly DeltaTableOptions _tableOptions;

    public DataLakeStorageOptions Options { get; }

    /// <summary>Access control and audit of every operation on this lake (see <see cref="LakeGuard"/>).</summary>
    public LakeGuard Guard { get; }

    public string Location => _lake.Location;

    /// <summary>The lake's object store (side files of the lake, e.g. stream heartbeats under <c>_ecap/</c>).</summary>
    public IObjectStore Store => _lake;

    /// <summary>The Delta table behind a table name (validated: no path tricks).</summary>
    public DeltaTable OpenTable(string tableName) => new(TableStore(tableName), _tableOptions);

    private IObjectStore TableStore(string tableName) => _lake.Child(TableNames.Validate(tableName));

    // ------------------------------------------------------------------ writes

    public Task<WriteResult> WritePartitionedDataAsync(IEnumerable<RecordBatch> data, string tableName, DataType dataType,
        WriteMode mode = WriteMode.Append, WriteOptions? options = null, CancellationToken ct = default) =>
        WritePartitionedDataAsync(data.ToAsyncEnumerable(), tableName, dataType, mode, options, ct);

    /// <summary>
    /// Writes a stream of batches (any size: memory is bounded by <see cref="DataLakeStorageOptions.WriteBufferBytes"/>)
    /// into a table, creating it with the data type's strategy if needed, and commits once.
    /// </summary>
    public Task<WriteResult> WritePartitionedDataAsync(IAsyncEnumerable<RecordBatch> data, string tableName, DataType dataType,
        WriteMode mode = WriteMode.Append, WriteOptions? options = null, CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation("write", TableNames.ValidateWritable(tableName), Privilege.Write, new Dictionary<string, string?>
        {
            ["mode"] = mode.Name(), ["data_type"] = dataType.ToName(), ["source"] = options?.SourceName,
        }), async scope =>
        {
            var result = await WriteCoreAsync(data, tableName, dataType, mode, options, ct);
            scope.Complete(result.RowsWritten, result.BytesWritten, result.Version);
            return result;
        }, ct);

    private async Task<WriteResult> WriteCoreAsync(IAsyncEnumerable<RecordBatch> data, string tableName, DataType dataType,
        WriteMode mode, WriteOptions? options, CancellationToken ct)
    {
        options ??= new WriteOptions();
        var clock = Stopwatch.StartNew();
        var table = OpenTable(tableName);
        var snapshot = await table.ExistsAsync(ct) ? await table.GetSnapshotAsync(ct) : null;

        if (snapshot != null && mode == WriteMode.ErrorIfExists)
            throw new TableAlreadyExistsException($"Table '{tableName}' already exists at version {snapshot.Version} (mode error-if-exists).");
        if (snapshot != null && mode == WriteMode.Ignore)
            return new WriteResult(tableName, snapshot.Version, 0, 0, 0, 0, 0, Skipped: true, clock.Elapsed);
        foreach (var (appId, expected) in options.ExpectedTransactions ?? new Dictionary<string, long>())
            if ((snapshot?.GetTxnVersion(appId) ?? 0) != expected)
                throw new ConcurrentModificationException(
                    $"Table '{tableName}' holds txn version {snapshot?.GetTxnVersion(appId) ?? 0} for '{appId}', not the expected {expected}: another writer moved that source on.");
        if (options.OverwriteSchema && mode != WriteMode.Overwrite)
            throw new ArgumentException("overwriteSchema needs mode overwrite.");
        if (options.SkipExistingKeys && options.DeduplicateKeys is not { Count: > 0 })
            throw new ArgumentException("skipExistingKeys needs deduplicateKeys (the key columns to look up).");

        // The layout: the table's own when it exists (unless its schema is being replaced), else the requested one.
        var replaceLayout = snapshot == null || (mode == WriteMode.Overwrite && options.OverwriteSchema);
        var strategy = replaceLayout
            ? options.Strategy ?? PartitionStrategy.For(dataType, options.TimeColumn)
            : TableLayout.FromMetadata(snapshot!.Metadata);
        var partitioner = new BatchPartitioner(strategy);

        // The next input batch is decoded while the current one is partitioned.
        await using var input = data.Ahead(2, ct).GetAsyncEnumerator(ct);
        if (!await input.MoveNextAsync())
        {
            if (snapshot != null && mode == WriteMode.Append)
                return new WriteResult(tableName, snapshot.Version, 0, 0, 0, 0, 0, Skipped: false, clock.Elapsed);
        }
        var first = input.Current is { } f ? Prepare(f, partitioner, options) : null;
        if (first == null && snapshot == null)
            throw new ArgumentException($"Cannot create table '{tableName}' from an input without any batch: the schema is unknown.");

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
                    Configuration = WithGovernance(newMetadata.Configuration, snapshot.Metadata), // an overwrite never sheds constraints, encryption or residency
                };
        }
        else
        {
            tableSchema = first == null ? snapshot!.Schema
                : SchemaAlignment.Resolve(snapshot!.Schema, first.Schema, options.MergeSchema, snapshot.PartitionColumns.ToList());
            if (!ReferenceEquals(tableSchema, snapshot.Schema))
                newMetadata = snapshot.Metadata with { SchemaString = DeltaSchema.ToSchemaString(tableSchema) };
        }

        // Constraints (delta.constraints.*) of the table as it will be: every row must pass, or nothing is committed.
        var constraints = Quality.TableConstraints.Of(newMetadata ?? snapshot!.Metadata);
        constraints.EnsureColumns(tableSchema, tableName);
        Residency.DataResidency.EnsureWritable(newMetadata ?? snapshot!.Metadata, tableName, Options.Region, _lake.Location);
        var encryption = Parquet.Encryption.TableEncryption.Of(newMetadata ?? snapshot!.Metadata);
        encryption?.EnsureKeys(Keys, tableName);
        var writer = new PartitionedFileWriter(table.Store, partitioner, options, Options.WriteBufferBytes, encryption, encryption is null ? null : Keys);
        var dedup = options.DeduplicateKeys is { Count: > 0 } keys ? new Deduplicator(keys, options.DeduplicateOrderBy, Options.WriteBufferBytes) : null;
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

            var tx = table.StartTransaction(snapshot, OperationName(mode, snapshot));
            if (snapshot == null) tx.SetProtocol(Protocol.Default);
            if (newMetadata != null) tx.SetMetadata(newMetadata);
            var removed = 0;
            if (snapshot != null && mode == WriteMode.Overwrite)
            {
                foreach (var file in snapshot.Files) { tx.Remove(RemoveFile.For(file)); removed++; }
                tx.ReadWholeTable = true;
            }
            else if (snapshot != null && mode == WriteMode.OverwritePartitions)
            {
                var replaced = adds.Select(a => PartitionKey(a.PartitionValues, snapshot.PartitionColumns)).ToHashSet(StringComparer.Ordinal);
                foreach (var file in snapshot.Files.Where(file => replaced.Contains(PartitionKey(file.PartitionValues, snapshot.PartitionColumns))))
                {
                    tx.Remove(RemoveFile.For(file));
                    removed++;
                }
                tx.ReadWholeTable = true;
            }
            foreach (var add in adds) tx.Add(add);
            tx.OperationParameters["mode"] = mode.Name();
            tx.OperationParameters["partitionBy"] = "[" + string.Join(",", strategy.PartitionColumns.Select(c => "\"" + c + "\"")) + "]";
            tx.OperationParameters["dataType"] = dataType.ToName();
            if (options.SourceName != null) tx.OperationParameters["source"] = options.SourceName;
            foreach (var (appId, txnVersion) in options.Transactions ?? new Dictionary<string, long>()) tx.SetTxn(appId, txnVersion);
            foreach (var (key, value) in options.CommitParameters ?? new Dictionary<string, string>()) tx.OperationParameters[key] = value;
            tx.OperationMetrics["numFiles"] = adds.Count.ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numOutputRows"] = writer.RowsWritten.ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numOutputBytes"] = writer.BytesWritten.ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numRemovedFiles"] = removed.ToString(CultureInfo.InvariantCulture);
            commitAttempted = true;
            var commit = await tx.CommitAsync(ct);
            await NotifyCommitAsync(tableName, commit.Version, ct);
            Metrics.LakeMetrics.RecordWrite(table.Location, writer.RowsWritten, writer.BytesWritten);
            return new WriteResult(tableName, commit.Version, adds.Count, writer.RowsWritten, writer.BytesWritten, removed,
                dedup?.Dropped ?? 0, Skipped: false, clock.Elapsed);
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

    // The keys already in the partitions the input touches, qualified by partition; only those partitions'
    // key columns are read.
    private static async Task<IReadOnlySet<string>> ExistingKeysAsync(DeltaTable table, Snapshot snapshot, Deduplicator dedup, CancellationToken ct)
    {
        var touched = dedup.TouchedPartitions(snapshot.PartitionColumns);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var byPartition = snapshot.Files.GroupBy(f => PartitionKey(f.PartitionValues, snapshot.PartitionColumns)).Where(g => touched.Contains(g.Key));
        foreach (var partition in byPartition)
        {
            var files = partition.ToHashSet();
            var scan = TableScan.Plan(table.Store, snapshot, new ReadOptions { Columns = dedup.Keys }, files.Contains);
            await foreach (var batch in scan.ReadBatchesAsync(ct))
                for (var r = 0; r < batch.Length; r++) keys.Add(Deduplicator.InPartition(partition.Key, dedup.KeyOf(batch, r)));
        }
        return keys;
    }

    // The commit already happened: a failing hook (the catalog) is reported, never fails the write.
    internal async Task NotifyCommitAsync(string tableName, long version, CancellationToken ct)
    {
        if (Options.AfterCommit is not { } hook) return;
        try { await hook(tableName, version, ct); }
        catch (Exception e) when (e is not OperationCanceledException) { (Options.AfterCommitFailed ?? ((t, x) => System.Diagnostics.Trace.TraceWarning($"after-commit hook failed for '{t}': {x.Message}")))(tableName, e); }
    }

    /// <summary>The key provider of encrypted tables (<see cref="DataLakeStorageOptions.KeyProvider"/>, else from the environment).</summary>
    public Parquet.Encryption.IKeyProvider Keys => _keys ??= Options.KeyProvider ?? Parquet.Encryption.KeyProviders.FromEnvironment();

    private Parquet.Encryption.IKeyProvider? _keys;

    // A new table's properties: its layout, plus what the write declares (encryption, residency).
    private static Dictionary<string, string> TableProperties(PartitionStrategy strategy, WriteOptions options)
    {
        var properties = new Dictionary<string, string>(strategy.ToTableProperties());
        foreach (var (k, v) in options.Encryption?.ToTableProperties() ?? new Dictionary<string, string>()) properties[k] = v;
        if (options.Region is { Length: > 0 } region) properties[Residency.DataResidency.RegionProperty] = region;
        return properties;
    }

    /// <summary>Table properties governance owns: constraints, encryption, residency.</summary>
    private static readonly string[] GovernancePrefixes = [Quality.TableConstraints.Prefix, "ecap.encryption.", "ecap.residency."];

    /// <summary><paramref name="configuration"/> with the governance properties of <paramref name="current"/> (replacing its own).</summary>
    private static Dictionary<string, string> WithGovernance(IReadOnlyDictionary<string, string> configuration, Metadata current)
    {
        static bool Governed(string key) => GovernancePrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));
        var result = configuration.Where(kv => !Governed(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (k, v) in current.Configuration.Where(kv => Governed(kv.Key))) result[k] = v;
        return result;
    }

    private static RecordBatch Prepare(RecordBatch batch, BatchPartitioner partitioner, WriteOptions options)
    {
        batch = Arrow.TimestampNormalizer.ToMicros(batch);
        batch = MetadataColumns.Add(batch, options);
        return partitioner.AddDerivedColumns(batch);
    }

    private static string OperationName(WriteMode mode, Snapshot? snapshot) => snapshot == null ? "CREATE TABLE AS SELECT" : "WRITE";

    internal static string PartitionKey(IReadOnlyDictionary<string, string?> values, IEnumerable<string> columns) =>
        string.Join("\u0001", columns.Select(c => values.TryGetValue(c, out var v) && !string.IsNullOrEmpty(v) ? v : "\u0000")); // "" is null (protocol)

    // ------------------------------------------------------------------ reads

    /// <summary>Plans a read: resolves the snapshot, prunes files; the batches stream from the returned scan.</summary>
    public Task<TableScan> ReadPartitionedDataAsync(string tableName, ReadOptions? options = null, CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation("read", tableName, Privilege.Read, new Dictionary<string, string?>
        {
            ["columns"] = options?.Columns is { } c ? string.Join(",", c) : null,
            ["where"] = options?.Predicate?.ToString(),
            ["version"] = options?.Version?.ToString(CultureInfo.InvariantCulture),
            ["timestamp"] = options?.Timestamp?.ToString("O", CultureInfo.InvariantCulture),
        }), async scope =>
        {
            var masked = scope.MaskedColumns(tableName);
            options ??= new ReadOptions();
            var filtered = (options.Predicate?.Columns().Select(c => c.Split('.')[0]) ?? []).Concat(options.PartitionFilters.Select(f => f.Column))
                .Where(masked.Contains).Distinct().ToList();
            if (filtered.Count > 0)
                throw new AccessDeniedException($"access denied: {scope.Principal.Name} may not filter on excluded column(s) {string.Join(", ", filtered)} of table {tableName}.");
            var scan = await PlanReadAsync(tableName, options, ct);
            scan.Mask(masked);
            if (Parquet.Encryption.TableEncryption.Of(scan.Snapshot.Metadata) is { } encryption)
            {
                encryption.EnsureKeys(Keys, tableName, scan.Schema.FieldsList.Select(f => f.Name));
                scan.DecryptionKeys = Keys;
            }
            scope.Complete(version: scan.Version);
            return scan;
        }, ct);

    private async Task<TableScan> PlanReadAsync(string tableName, ReadOptions options, CancellationToken ct)
    {
        var table = OpenTable(tableName);
        if (!await table.ExistsAsync(ct))
            throw new TableNotFoundException($"Table '{tableName}' does not exist in {_lake.Location} (no _delta_log).");
        var snapshot = options switch
        {
            { Version: { } v } => await table.GetSnapshotAsync(v, ct),
            { Timestamp: { } t } => await table.GetSnapshotAtAsync(t, ct),
            _ => await table.GetSnapshotAsync(ct),
        };
        return TableScan.Plan(table.Store, snapshot, options);
    }

    // ------------------------------------------------------------------ inspection

    public Task<TableInfo> GetTableInfoAsync(string tableName, CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation("info", tableName, Privilege.Read), async scope =>
        {
            var table = OpenTable(tableName);
            if (!await table.ExistsAsync(ct))
                throw new TableNotFoundException($"Table '{tableName}' does not exist in {_lake.Location} (no _delta_log).");
            var snapshot = await table.GetSnapshotAsync(ct);
            scope.Complete(rows: TableInspector.RowCount(snapshot), version: snapshot.Version);
            var encrypted = Parquet.Encryption.TableEncryption.Of(snapshot.Metadata);
            encrypted?.EnsureKeys(Keys, tableName);
            return await TableInspector.InspectAsync(tableName, table.Store, snapshot, Options.TargetFileSizeBytes, ct, encrypted is null ? null : Keys);
        }, ct);

    /// <summary>Every Delta table directly under the lake root (folders holding a _delta_log), with version, rows and size.</summary>
    public Task<IReadOnlyList<TableSummary>> ListTablesAsync(CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation("list-tables", null, null), async scope =>
        {
            var tables = await ListTablesCoreAsync(scope, ct);
            scope.Complete(rows: tables.Count);
            return tables;
        }, ct);

    private async Task<IReadOnlyList<TableSummary>> ListTablesCoreAsync(GuardScope scope, CancellationToken ct)
    {
        var result = new List<TableSummary>();
        foreach (var name in await ListTableNamesAsync(ct))
        {
            if (!scope.CanRead(name)) continue; // with access control on, only the tables the caller may read
            var snapshot = await new DeltaTable(_lake.Child(name), _tableOptions).GetSnapshotAsync(ct); // any folder name, as listed
            result.Add(new TableSummary(name, snapshot.Version, TableInspector.RowCount(snapshot), snapshot.TotalSize, snapshot.Files.Count));
        }
        return result;
    }

    /// <summary>Names of the folders under the lake root that hold a Delta log, without reading any snapshot (a broken table is still listed).</summary>
    internal async Task<IReadOnlyList<string>> ListTableNamesAsync(CancellationToken ct = default)
    {
        var result = new List<string>();
        await foreach (var name in _lake.ListPrefixesAsync("", ct))
        {
            if (name.StartsWith('_') || name.StartsWith('.')) continue; // _ecap, _catalog and hidden folders are not tables
            if (await new DeltaTable(_lake.Child(name), _tableOptions).ExistsAsync(ct)) result.Add(name);
        }
        return result;
    }

    public Task<IReadOnlyList<TableHistoryEntry>> GetHistoryAsync(string tableName, int? limit = null, CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation("history", tableName, Privilege.Read), async scope =>
        {
            var table = OpenTable(tableName);
            if (!await table.ExistsAsync(ct))
                throw new TableNotFoundException($"Table '{tableName}' does not exist in {_lake.Location} (no _delta_log).");
            var history = await table.GetHistoryAsync(limit, ct);
            scope.Complete(rows: history.Count);
            return (IReadOnlyList<TableHistoryEntry>)history.Select(h => new TableHistoryEntry(h.Version, h.Timestamp, h.Operation ?? "UNKNOWN",
                h.OperationParameters, h.OperationMetrics)).ToList();
        }, ct);

    /// <summary>
    /// Returns the table to an earlier version with a new commit: files live then but not now are added
    /// back, files live now but not then are removed. Fails clearly when vacuum already deleted a needed file.
    /// </summary>
    public Task<RestoreResult> RestoreAsync(string tableName, long version, CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation("restore", TableNames.ValidateWritable(tableName), Privilege.Write,
            new Dictionary<string, string?> { ["version"] = version.ToString(CultureInfo.InvariantCulture) }), async scope =>
        {
            var result = await RestoreCoreAsync(tableName, version, ct);
            scope.Complete(version: result.NewVersion);
            return result;
        }, ct);

    private async Task<RestoreResult> RestoreCoreAsync(string tableName, long version, CancellationToken ct)
    {
        var table = OpenTable(tableName);
        var current = await table.GetSnapshotAsync(ct);
        var target = await table.GetSnapshotAsync(version, ct);
        var now = current.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var then = target.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        var toAdd = target.Files.Where(f => !now.Contains(f.Path)).ToList();
        var toRemove = current.Files.Where(f => !then.Contains(f.Path)).ToList();
        // The old version's schema and layout come back; the table's current constraints, encryption and residency stay
        // (a writer must not shed them by restoring; restored rows are not re-checked).
        var restored = target.Metadata with { Configuration = WithGovernance(target.Metadata.Configuration, current.Metadata) };
        Residency.DataResidency.EnsureWritable(restored, tableName, Options.Region, _lake.Location);
        foreach (var file in toAdd)
            if (await table.Store.HeadAsync(file.ObjectKey, ct) == null)
                throw new DataLakeException($"Cannot restore '{tableName}' to version {version}: its data file '{file.ObjectKey}' was deleted (vacuumed).");

        var tx = table.StartTransaction(current, "RESTORE");
        if (!restored.Configuration.OrderBy(kv => kv.Key).SequenceEqual(current.Metadata.Configuration.OrderBy(kv => kv.Key)) || target.Metadata != current.Metadata)
            tx.SetMetadata(restored);
        foreach (var f in toRemove) tx.Remove(RemoveFile.For(f));
        foreach (var f in toAdd) tx.Add(f with { DataChange = true, ModificationTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() });
        tx.ReadWholeTable = true;
        tx.OperationParameters["version"] = version.ToString(CultureInfo.InvariantCulture);
        tx.OperationMetrics["numRestoredFiles"] = toAdd.Count.ToString(CultureInfo.InvariantCulture);
        tx.OperationMetrics["numRemovedFiles"] = toRemove.Count.ToString(CultureInfo.InvariantCulture);
        var commit = await tx.CommitAsync(ct);
        await NotifyCommitAsync(tableName, commit.Version, ct);
        return new RestoreResult(version, commit.Version, toAdd.Count, toRemove.Count);
    }
}

/// <summary>Lake-wide settings of a <see cref="DataLakeStorage"/>.</summary>
public sealed record DataLakeStorageOptions
{
    /// <summary>Rows buffered per write before partitions are flushed to files (in-memory Arrow bytes).</summary>
    public long WriteBufferBytes { get; init; } = 512L * 1024 * 1024;

    /// <summary>The data-file size tables aim for; a file below a quarter of it counts as small.</summary>
    public long TargetFileSizeBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>Called after each successful write or restore commit (table, version), e.g. to keep the catalog current.</summary>
    public Func<string, long, CancellationToken, Task>? AfterCommit { get; init; }

    /// <summary>Snapshots kept across reads of this storage's tables (<see cref="SnapshotCache"/>); 0 turns the cache off.</summary>
    public int SnapshotCacheCapacity { get; init; } = SnapshotCache.DefaultCapacity;

    /// <summary>Told when <see cref="AfterCommit"/> throws (default: a trace warning); the write still succeeds.</summary>
    public Action<string, Exception>? AfterCommitFailed { get; init; }

    /// <summary>The region the lake's storage is in, checked against tables' declared regions on writes (default: ECAP_LAKE_REGION).</summary>
    public string? Region { get; init; } = Residency.DataResidency.LakeRegionFromEnvironment();

    /// <summary>Keys of encrypted tables (null: <see cref="Parquet.Encryption.KeyProviders.FromEnvironment"/>: ECAP_KEY_FILE or ECAP_KEY_&lt;ID&gt;).</summary>
    public Parquet.Encryption.IKeyProvider? KeyProvider { get; init; }

    /// <summary>Access control and audit (null: <see cref="LakeGuard.ForLake"/>: grants in the lake's catalog, audit in _ecap/audit, identity from the environment).</summary>
    public LakeGuard? Guard { get; init; }
}

public sealed record TableHistoryEntry(long Version, DateTimeOffset Timestamp, string Operation,
    IReadOnlyDictionary<string, string> Parameters, IReadOnlyDictionary<string, string> Metrics);

public sealed record RestoreResult(long RestoredVersion, long NewVersion, int FilesAdded, int FilesRemoved);
