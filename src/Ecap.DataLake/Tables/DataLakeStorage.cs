using System.Globalization;
using Apache.Arrow;
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
        _tableOptions = new DeltaTableOptions
        {
            SnapshotCache = Options.SnapshotCacheCapacity > 0 ? new SnapshotCache(Options.SnapshotCacheCapacity) : null,
            Logger = Options.LoggerFactory?.CreateLogger("Ecap.DataLake.Delta"),
            PostCommitHooks = Options.PostCommitHooks,
            OnPostCommitHookFailure = Options.PostCommitHookFailed is { } report ? (commit, _, e) => report(commit.Table.Name ?? commit.Table.Location, e) : null,
        };
        Guard = Options.Guard ?? LakeGuard.ForLake(lake);
    }

    /// <summary>Options of every table opened here: they share one snapshot cache, so repeated reads do not replay logs.</summary>
    private readonly DeltaTableOptions _tableOptions;

    internal DeltaTableOptions TableOptions => _tableOptions;

    /// <summary>Where a file's unusable stats are reported (they are hints: the count then comes from the footer).</summary>
    private Microsoft.Extensions.Logging.ILogger? StatsLogger => _statsLogger ??= Options.LoggerFactory?.CreateLogger("Ecap.DataLake.Tables");

    private Microsoft.Extensions.Logging.ILogger? _statsLogger;

    public DataLakeStorageOptions Options { get; }

    /// <summary>Access control and audit of every operation on this lake (see <see cref="LakeGuard"/>).</summary>
    public LakeGuard Guard { get; }

    public string Location => _lake.Location;

    /// <summary>The lake's object store (side files of the lake, e.g. stream heartbeats under <c>_ecap/</c>).</summary>
    public IObjectStore Store => _lake;

    /// <summary>The Delta table behind a table name (validated: no path tricks).</summary>
    public DeltaTable OpenTable(string tableName) => new(TableStore(tableName), _tableOptions) { Name = tableName };

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
        WriteAsync(data, tableName, dataType, mode, options, ct);

    /// <summary>
    /// Writes into a table of any layout (<see cref="PartitionSpec.Parse"/>, <see cref="PartitionStrategy.Custom"/>): a new
    /// table is created with <paramref name="strategy"/> (null: unpartitioned); an existing one must already be laid out
    /// that way (null: its own layout, whatever it is).
    /// </summary>
    /// <exception cref="InvalidInputException">The table exists with another layout.</exception>
    public Task<WriteResult> WritePartitionedDataAsync(IAsyncEnumerable<RecordBatch> data, string tableName, PartitionStrategy? strategy,
        WriteMode mode = WriteMode.Append, WriteOptions? options = null, CancellationToken ct = default) =>
        WriteAsync(data, tableName, strategy?.DataType, mode, (options ?? new WriteOptions()) with { Strategy = strategy ?? options?.Strategy }, ct);

    /// <summary>
    /// Creates an empty table of <paramref name="schema"/> laid out by <paramref name="strategy"/> (null: unpartitioned;
    /// a strategy with a data type is that preset): one commit (version 0, operation CREATE TABLE) and no data files.
    /// Derived partition columns (year/month/...) and the write's metadata columns are added to the schema as a write would.
    /// </summary>
    /// <exception cref="TableAlreadyExistsException">The table exists.</exception>
    /// <exception cref="SchemaMismatchException">A partition or time column is not in the schema.</exception>
    public Task<WriteResult> CreateTableAsync(string tableName, Schema schema, PartitionStrategy? strategy = null,
        WriteOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(schema);
        // An empty batch carries the schema through the write path, so the new table is exactly what a first write creates.
        var empty = new RecordBatch(schema, schema.FieldsList.Select(f => Ecap.DataLake.Arrow.ArrowGather.Nulls(f.DataType, 0)), 0);
        options = (options ?? new WriteOptions()) with { Strategy = strategy ?? options?.Strategy, Operation = "CREATE TABLE" };
        return WriteAsync(new[] { empty }.ToAsyncEnumerable(), tableName, strategy?.DataType, WriteMode.ErrorIfExists, options, ct);
    }

    /// <summary>A write with a data type's preset, or (null) with <see cref="WriteOptions.Strategy"/> / unpartitioned.</summary>
    internal Task<WriteResult> WriteAsync(IAsyncEnumerable<RecordBatch> data, string tableName, DataType? dataType,
        WriteMode mode, WriteOptions? options, CancellationToken ct) =>
        Guard.RunAsync(new GuardedOperation("write", TableNames.ValidateWritable(tableName), Privilege.Write, new Dictionary<string, string?>
        {
            ["mode"] = mode.Name(), ["data_type"] = dataType?.ToName(), ["source"] = options?.SourceName,
        }), async scope =>
        {
            var result = await WriteCoreAsync(data, tableName, dataType, mode, options, ct);
            scope.Complete(result.RowsWritten, result.BytesWritten, result.Version);
            return result;
        }, ct);

    private async Task<WriteResult> WriteCoreAsync(IAsyncEnumerable<RecordBatch> data, string tableName, DataType? dataType,
        WriteMode mode, WriteOptions? options, CancellationToken ct)
    {
        var (result, _) = await new TableWriter(this).WriteAsync(data, tableName, dataType, mode, options, ct);
        return result; // the lake's post-commit hooks (catalog sync) ran inside the commit
    }

    /// <summary>The key provider of encrypted tables (<see cref="DataLakeStorageOptions.KeyProvider"/>, else from the environment).</summary>
    public Parquet.Encryption.IKeyProvider Keys => _keys ??= Options.KeyProvider ?? Parquet.Encryption.KeyProviders.FromEnvironment();

    private Parquet.Encryption.IKeyProvider? _keys;

    /// <summary>Table properties governance owns: constraints, encryption, residency.</summary>
    private static readonly string[] GovernancePrefixes = [TableConstraints.Prefix, "ecap.encryption.", "ecap.residency."];

    /// <summary><paramref name="configuration"/> with the governance properties of <paramref name="current"/> (replacing its own).</summary>
    internal static Dictionary<string, string> WithGovernance(IReadOnlyDictionary<string, string> configuration, Metadata current)
    {
        static bool Governed(string key) => GovernancePrefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));
        var result = configuration.Where(kv => !Governed(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        foreach (var (k, v) in current.Configuration.Where(kv => Governed(kv.Key))) result[k] = v;
        return result;
    }

    internal static string PartitionKey(IReadOnlyDictionary<string, string?> values, IEnumerable<string> columns) =>
        string.Join("\u0001", columns.Select(c => values.TryGetValue(c, out var v) && !string.IsNullOrEmpty(v) ? v : "\u0000")); // "" is null (protocol)

    // ------------------------------------------------------------------ row-level changes

    /// <summary>
    /// Deletes the rows matching <paramref name="where"/> (DELETE FROM ... WHERE): files the predicate cannot match (partitions,
    /// buckets, stats) are not opened; matched rows get a deletion vector when the table has them on, else their files are
    /// rewritten without them. Committed as operation DELETE with Delta's metrics; retried from the new snapshot on a conflict.
    /// </summary>
    public Task<Changes.ChangeResult> DeleteAsync(string tableName, Ecap.DataLake.Expressions.Predicate where, CancellationToken ct = default) =>
        Guard.RunAsync(ChangeOperation("delete", tableName, where), async scope =>
        {
            var result = await new Changes.RowChanges(this).DeleteAsync(tableName, where, ct);
            scope.Complete(rows: result.RowsDeleted, bytes: result.BytesWritten, version: result.Version);
            return result;
        }, ct);

    /// <summary>
    /// Sets columns to literal values on the rows matching <paramref name="where"/> (all rows when null): the old rows are deleted
    /// as by <see cref="DeleteAsync"/> and the new ones written into the table's partitions (a changed partition column moves them).
    /// </summary>
    public Task<Changes.ChangeResult> UpdateAsync(string tableName, IReadOnlyList<Changes.ColumnAssignment> assignments,
        Ecap.DataLake.Expressions.Predicate? where, CancellationToken ct = default) =>
        Guard.RunAsync(ChangeOperation("update", tableName, where, ("set", string.Join(",", assignments.Select(a => a.Column + "=" + (a.Literal ?? "NULL"))))), async scope =>
        {
            if (assignments.Count == 0) throw new InvalidInputException("UPDATE needs at least one assignment (--set COLUMN=VALUE).");
            var result = await new Changes.RowChanges(this).UpdateAsync(tableName, assignments, where, ct);
            scope.Complete(rows: result.RowsUpdated, bytes: result.BytesWritten, version: result.Version);
            return result;
        }, ct);

    /// <summary>
    /// Merges <paramref name="source"/> into the table by key (MERGE INTO ... ON keys WHEN MATCHED ... WHEN NOT MATCHED ...): only
    /// the files that may hold a source key are opened; matched rows are updated or deleted through deletion vectors, unmatched
    /// source rows inserted. The source is held in memory within <see cref="DataLakeStorageOptions.WriteBufferBytes"/>; a larger
    /// one is spilled to local disk in parts by key hash (each part merged in turn into the same commit).
    /// </summary>
    public Task<Changes.ChangeResult> MergeAsync(string tableName, IAsyncEnumerable<RecordBatch> source, Changes.MergeOptions options, CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation("merge", TableNames.ValidateWritable(tableName), Privilege.Write, new Dictionary<string, string?>
        {
            ["on"] = string.Join(",", options.On), ["when_matched"] = options.WhenMatched.ToString().ToLowerInvariant(),
            ["when_not_matched"] = options.WhenNotMatched.ToString().ToLowerInvariant(),
            ["when_not_matched_by_source"] = options.WhenNotMatchedBySource.ToString().ToLowerInvariant(),
            ["delete_when"] = options.DeleteWhen?.ToString(), ["source"] = options.SourceName,
        }), async scope =>
        {
            var result = await new Changes.RowChanges(this).MergeAsync(tableName, source, options, ct);
            scope.Complete(rows: result.RowsInserted + result.RowsUpdated + result.RowsDeleted, bytes: result.BytesWritten, version: result.Version);
            return result;
        }, ct);

    /// <summary>
    /// Erases the rows matching <paramref name="where"/> (right to erasure): deletes them and rewrites every file they were in,
    /// and every file the predicate could match that carries a deletion vector, so that no live file holds their bytes. Old
    /// versions still reference the old files until vacuum removes them (after the retention period).
    /// </summary>
    public Task<Changes.ChangeResult> EraseAsync(string tableName, Ecap.DataLake.Expressions.Predicate where, CancellationToken ct = default) =>
        Guard.RunAsync(ChangeOperation("erase", tableName, where), async scope =>
        {
            var result = await new Changes.RowChanges(this).EraseAsync(tableName, where, ct);
            scope.Complete(rows: result.RowsDeleted, bytes: result.BytesWritten, version: result.Version);
            return result;
        }, ct);

    /// <summary>
    /// Turns deletion vectors on for an existing table (<c>delta.enableDeletionVectors = true</c>, reader 3 / writer 7 feature
    /// <c>deletionVectors</c>): one metadata and protocol commit. Readers without the feature can no longer read the table.
    /// Returns the new version (the current one when they were on already).
    /// </summary>
    public Task<long> EnableDeletionVectorsAsync(string tableName, CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation("alter", TableNames.ValidateWritable(tableName), Privilege.Admin,
            new Dictionary<string, string?> { ["enable"] = "deletionVectors" }), async scope =>
        {
            var table = OpenTable(tableName);
            if (!await table.ExistsAsync(ct))
                throw new TableNotFoundException($"Table '{tableName}' does not exist in {_lake.Location} (no _delta_log).");
            var snapshot = await table.GetSnapshotAsync(ct);
            if (TableFeatures.DeletionVectorsEnabled(snapshot.Protocol, snapshot.Metadata))
            {
                scope.Complete(version: snapshot.Version);
                return snapshot.Version;
            }
            var configuration = snapshot.Metadata.Configuration.ToDictionary(kv => kv.Key, kv => kv.Value);
            configuration[TableFeatures.DeletionVectorsProperty] = "true";
            var tx = table.StartTransaction(snapshot, "SET TBLPROPERTIES");
            tx.SetMetadata(snapshot.Metadata with { Configuration = configuration });
            tx.OperationParameters["properties"] = "{\"" + TableFeatures.DeletionVectorsProperty + "\":\"true\"}";
            var commit = await tx.CommitAsync(ct);
            scope.Complete(version: commit.Version);
            return commit.Version;
        }, ct);

    private static GuardedOperation ChangeOperation(string name, string tableName, Ecap.DataLake.Expressions.Predicate? where, (string Key, string Value)? extra = null)
    {
        if (where is not null) Ecap.DataLake.Expressions.Predicate.EnsureDepth(where);
        var parameters = new Dictionary<string, string?> { ["where"] = where?.ToString() };
        if (extra is { } e) parameters[e.Key] = e.Value;
        return new(name, TableNames.ValidateWritable(tableName), Privilege.Write, parameters);
    }

    // ------------------------------------------------------------------ reads

    /// <summary>
    /// Plans a read: resolves the snapshot, prunes files; the batches stream from the returned scan. The audit record is
    /// written when the plan is made, so it names the version but not the rows: use the overload with a consumer to record them.
    /// </summary>
    public Task<TableScan> ReadPartitionedDataAsync(string tableName, ReadOptions? options = null, CancellationToken ct = default) =>
        Guard.RunAsync(ReadOperation(tableName, options), async scope =>
        {
            var scan = await PlanGuardedReadAsync(scope, tableName, options ?? new ReadOptions(), ct);
            scope.Complete(version: scan.Version);
            return scan;
        }, ct);

    /// <summary>
    /// Plans a read and hands the scan to <paramref name="consume"/> within one audited operation: the record carries the rows
    /// returned and the bytes scanned, and an error while the rows stream is audited as a failure.
    /// </summary>
    public Task<T> ReadPartitionedDataAsync<T>(string tableName, ReadOptions? options, Func<TableScan, Task<T>> consume, CancellationToken ct = default) =>
        Guard.RunAsync(ReadOperation(tableName, options), async scope =>
        {
            var scan = await PlanGuardedReadAsync(scope, tableName, options ?? new ReadOptions(), ct);
            var result = await consume(scan);
            scope.Complete(rows: scan.Metrics.RowsReturned, bytes: scan.Metrics.BytesScanned, version: scan.Version);
            return result;
        }, ct);

    private static GuardedOperation ReadOperation(string tableName, ReadOptions? options)
    {
        if (options?.Predicate is { } where) Ecap.DataLake.Expressions.Predicate.EnsureDepth(where); // before anything recurses over it
        return new("read", tableName, Privilege.Read, new Dictionary<string, string?>
        {
            ["columns"] = options?.Columns is { } c ? string.Join(",", c) : null,
            ["where"] = options?.Predicate?.ToString(),
            ["version"] = options?.Version?.ToString(CultureInfo.InvariantCulture),
            ["timestamp"] = options?.Timestamp?.ToString("O", CultureInfo.InvariantCulture),
        });
    }

    private async Task<TableScan> PlanGuardedReadAsync(GuardScope scope, string tableName, ReadOptions options, CancellationToken ct)
    {
        var masked = scope.MaskedColumns(tableName);
        var filtered = (options.Predicate?.Columns().Select(c => c.Split('.')[0]) ?? []).Concat(options.PartitionFilters.Select(f => f.Column))
            .Where(masked.Contains).Distinct().ToList();
        if (filtered.Count > 0)
            throw new AccessDeniedException($"access denied: {scope.Principal.Name} may not filter on excluded column(s) {string.Join(", ", filtered)} of table {tableName}.");
        var scan = await PlanReadAsync(tableName, options, ct);
        scan.Mask(masked);
        if (Parquet.Encryption.TableEncryption.Of(scan.Snapshot.Metadata.Configuration) is { } encryption)
        {
            encryption.EnsureKeys(Keys, tableName, scan.Schema.FieldsList.Select(f => f.Name));
            scan.DecryptionKeys = Keys;
        }
        return scan;
    }

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
            var encrypted = Parquet.Encryption.TableEncryption.Of(snapshot.Metadata.Configuration);
            encrypted?.EnsureKeys(Keys, tableName);
            var info = await TableInspector.InspectAsync(tableName, table.Store, snapshot, Options.TargetFileSizeBytes, ct, encrypted is null ? null : Keys, StatsLogger);
            scope.Complete(rows: info.RecordCount, version: snapshot.Version); // the count info shows, footers included
            var config = snapshot.Metadata.Configuration;
            return info with
            {
                AutoCompaction = new AutoCompactionInfo(TablePropertyKeys.AutoCompactEnabled(config), TablePropertyKeys.AutoCompactMinNumFilesOf(config),
                    TablePropertyKeys.AutoCompactMaxFileSizeOf(config), await AutoCompactionStatus.ReadAsync(table.Store, ct)),
                StoredClasses = await StoredClasses.ReadAsync(table.Store, snapshot, ct),
            };
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
            var store = _lake.Child(name);
            var snapshot = await new DeltaTable(store, _tableOptions).GetSnapshotAsync(ct); // any folder name, as listed
            var rows = await TableInspector.RowCountAsync(name, store, snapshot, StatsLogger, ct);
            result.Add(new TableSummary(name, snapshot.Version, rows, snapshot.TotalSize, snapshot.Files.Count));
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
    /// Renames, drops and adds top-level columns in one metadata-only commit (no data file is rewritten). A rename or
    /// drop turns on column mapping (mode name) first when the table has none, as Delta does; returns the new version.
    /// </summary>
    /// <param name="tableName">The table.</param>
    /// <param name="renames">Columns to rename, old name to new name.</param>
    /// <param name="drops">Columns to drop (not partition columns).</param>
    /// <param name="adds">Columns to add (nullable) with their Delta type names (long, string, decimal(10,2), ...).</param>
    /// <param name="ct">Cancels the operation.</param>
    public Task<long> AlterColumnsAsync(string tableName, IReadOnlyList<(string From, string To)> renames, IReadOnlyList<string> drops,
        IReadOnlyList<(string Name, string Type)> adds, CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation("alter", TableNames.ValidateWritable(tableName), Privilege.Admin, new Dictionary<string, string?>
        {
            ["rename"] = string.Join(",", renames.Select(r => r.From + "=" + r.To)),
            ["drop"] = string.Join(",", drops),
            ["add"] = string.Join(",", adds.Select(a => a.Name + ":" + a.Type)),
        }), async scope =>
        {
            var table = OpenTable(tableName);
            if (!await table.ExistsAsync(ct))
                throw new TableNotFoundException($"Table '{tableName}' does not exist in {_lake.Location} (no _delta_log).");
            var snapshot = await table.GetSnapshotAsync(ct);
            var (metadata, protocol, operation) = ColumnAlter.Apply(snapshot, tableName, renames, drops, adds);
            var tx = table.StartTransaction(snapshot, operation);
            tx.ColumnMappingAware = true; // metadata only: no file names anything
            tx.SetMetadata(metadata);
            if (protocol != snapshot.Protocol) tx.SetProtocol(protocol);
            if (renames.Count > 0) tx.OperationParameters["renamed"] = string.Join(",", renames.Select(r => r.From + "=" + r.To));
            if (drops.Count > 0) tx.OperationParameters["columns"] = string.Join(",", drops);
            if (adds.Count > 0) tx.OperationParameters["added"] = string.Join(",", adds.Select(a => a.Name + ":" + a.Type));
            var commit = await tx.CommitAsync(ct);
            scope.Complete(version: commit.Version);
            return commit.Version;
        }, ct);

    /// <summary>
    /// Sets (value) or removes (null) table properties with one metadata-only commit (<c>SET TBLPROPERTIES</c>). Keys in the
    /// <c>delta.</c> and <c>ecap.</c> namespaces must be ones this library honours, with valid values (<see cref="TablePropertyKeys"/>).
    /// </summary>
    public Task<long> SetTablePropertiesAsync(string tableName, IReadOnlyDictionary<string, string?> properties, CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation("set-properties", TableNames.ValidateWritable(tableName), Privilege.Admin, new Dictionary<string, string?>
        {
            ["properties"] = string.Join(",", properties.Select(p => p.Key + "=" + (p.Value ?? "(unset)"))),
        }), async scope =>
        {
            if (properties.Count == 0) throw new InvalidInputException("No table property to set.");
            foreach (var (key, value) in properties) TablePropertyKeys.Validate(key, value);
            var table = OpenTable(tableName);
            if (!await table.ExistsAsync(ct))
                throw new TableNotFoundException($"Table '{tableName}' does not exist in {_lake.Location} (no _delta_log).");
            var snapshot = await table.GetSnapshotAsync(ct);
            var configuration = new Dictionary<string, string>(snapshot.Metadata.Configuration, StringComparer.Ordinal);
            foreach (var (key, value) in properties)
                if (value is null) configuration.Remove(key);
                else configuration[key] = value;
            var tx = table.StartTransaction(snapshot, properties.Values.All(v => v is null) ? "UNSET TBLPROPERTIES" : "SET TBLPROPERTIES");
            tx.ColumnMappingAware = true; // properties only: no file names a column
            tx.SetMetadata(snapshot.Metadata with { Configuration = configuration });
            tx.OperationParameters["properties"] = System.Text.Json.JsonSerializer.Serialize(properties.ToDictionary(p => p.Key, p => p.Value));
            var commit = await tx.CommitAsync(ct);
            scope.Complete(version: commit.Version);
            return commit.Version;
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
        // Files are compared by path and deletion vector: the same file with another vector holds other rows.
        var now = current.Files.Select(f => f.Key).ToHashSet();
        var then = target.Files.Select(f => f.Key).ToHashSet();
        var toAdd = target.Files.Where(f => !now.Contains(f.Key)).ToList();
        var toRemove = current.Files.Where(f => !then.Contains(f.Key)).ToList();
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

    /// <summary>
    /// Run after every commit to a table of this lake (writes, restores, compaction, retention, constraints...), e.g. to keep
    /// the catalog current: the Delta layer's seam (<see cref="IPostCommitHook"/>); the table's lake name is <c>commit.Table.Name</c>.
    /// </summary>
    public IReadOnlyList<IPostCommitHook> PostCommitHooks { get; init; } = [];

    /// <summary>Snapshots kept across reads of this storage's tables (<see cref="SnapshotCache"/>); 0 turns the cache off.</summary>
    public int SnapshotCacheCapacity { get; init; } = SnapshotCache.DefaultCapacity;

    /// <summary>Told when a <see cref="PostCommitHooks"/> hook throws (table name, error; default: a warning in the log); the commit still stands.</summary>
    public Action<string, Exception>? PostCommitHookFailed { get; init; }

    /// <summary>Where the Delta layer logs (retries, failed checkpoints and hooks); null: nowhere.</summary>
    public Microsoft.Extensions.Logging.ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>The region the lake's storage is in, checked against tables' declared regions on writes (default: ECAP_LAKE_REGION).</summary>
    public string? Region { get; init; } = Residency.DataResidency.LakeRegionFromEnvironment();

    /// <summary>Keys of encrypted tables (null: <see cref="Parquet.Encryption.KeyProviders.FromEnvironment"/>: ECAP_KEY_FILE or ECAP_KEY_&lt;ID&gt;).</summary>
    public Parquet.Encryption.IKeyProvider? KeyProvider { get; init; }

    /// <summary>Access control and audit (null: <see cref="LakeGuard.ForLake"/>: grants in the lake's _catalog, audit in _ecap/audit, identity from the environment).</summary>
    public LakeGuard? Guard { get; init; }
}

public sealed record TableHistoryEntry(long Version, DateTimeOffset Timestamp, string Operation,
    IReadOnlyDictionary<string, string> Parameters, IReadOnlyDictionary<string, string> Metrics);

public sealed record RestoreResult(long RestoredVersion, long NewVersion, int FilesAdded, int FilesRemoved);
