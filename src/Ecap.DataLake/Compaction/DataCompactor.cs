using System.Globalization;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// Maintenance of a lake's tables: analyze file sizes, compact small files (bin-packed per partition and
/// bucket, sort order kept, <c>dataChange=false</c>), optimize every table, vacuum unreferenced files, apply
/// retention policies, and Z-order. Every public method is one operation and the single entry point for it
/// (checks that apply to an operation, such as access control, go at its top). Build one per lake; it holds
/// no per-call state.
/// </summary>
public sealed class DataCompactor
{
    public const long DefaultTargetFileSizeBytes = 128L * 1024 * 1024;

    /// <summary>The shortest vacuum retention allowed without <see cref="VacuumOptions.Force"/> (Delta's default).</summary>
    public static readonly TimeSpan DefaultVacuumRetention = TimeSpan.FromDays(7);

    /// <summary>The table property holding a retention policy in days (partitions older than this are dropped by <see cref="ApplyRetentionAsync"/>).</summary>
    public const string RetentionDaysProperty = "ecap.retention.days";

    private readonly DataLakeStorage _storage;

    public DataCompactor(DataLakeStorage storage) => _storage = storage ?? throw new ArgumentNullException(nameof(storage));

    /// <summary>File count and sizes, small files per partition, skew, files without stats, and whether compaction is worth it and why.</summary>
    public Task<TableFileAnalysis> AnalyzeTableFilesAsync(string tableName, AnalyzeOptions? options = null, CancellationToken ct = default) =>
        Guarded("analyze", tableName, Privilege.Read, null, async scope =>
        {
            var snapshot = await LatestAsync(tableName, ct);
            scope.Complete(version: snapshot.Version);
            return FileAnalyzer.Analyze(tableName, snapshot, options ?? new AnalyzeOptions());
        }, ct);

    // Every public method is one guarded, audited operation (Security/LakeGuard): the check runs before any data is touched.
    private Task<T> Guarded<T>(string operation, string? table, Privilege? privilege, Dictionary<string, string?>? parameters,
        Func<GuardScope, Task<T>> body, CancellationToken ct) =>
        _storage.Guard.RunAsync(new GuardedOperation(operation, table is null ? null : TableNames.ValidateWritable(table), privilege, parameters), body, ct);

    /// <summary>
    /// Bin-packs each partition's small files into files of about the target size, keeping sort order and
    /// buckets, and commits the rewrite with <c>dataChange=false</c>. Concurrent appends are kept; a group whose
    /// files a concurrent rewrite already replaced is skipped (its new files deleted).
    /// </summary>
    public Task<CompactionResult> CompactTableAsync(string tableName, CompactOptions? options = null, CancellationToken ct = default) =>
        Guarded("compact", tableName, Privilege.Write, new() { ["target_file_size"] = (options ?? new CompactOptions()).TargetFileSizeBytes.ToString(CultureInfo.InvariantCulture) }, async scope =>
        {
            var result = await TableCompaction.RunAsync(_storage, tableName, options ?? new CompactOptions(), ct);
            scope.Complete(version: result.CommitVersions.Count > 0 ? result.CommitVersions[^1] : result.ReadVersion);
            return result;
        }, ct);

    /// <summary>
    /// Rewrites the files whose deletion vectors delete at least <paramref name="threshold"/> of their rows (0: every file with a
    /// vector) without those rows, committed with <c>dataChange=false</c> as Delta's REORG TABLE ... APPLY (PURGE): a later
    /// vacuum then removes the deleted rows' bytes for good.
    /// </summary>
    public Task<Ecap.DataLake.Tables.Changes.ChangeResult> PurgeDeletedRowsAsync(string tableName, double threshold = 0.1, CancellationToken ct = default) =>
        Guarded("purge", tableName, Privilege.Write, new() { ["threshold"] = threshold.ToString(CultureInfo.InvariantCulture) }, async scope =>
        {
            if (threshold is < 0 or > 1 || double.IsNaN(threshold)) throw new InvalidInputException($"The purge threshold {threshold} is not a fraction between 0 and 1.");
            var result = await new Ecap.DataLake.Tables.Changes.RowChanges(_storage).PurgeAsync(tableName, threshold, ct);
            scope.Complete(rows: result.RowsDeleted, bytes: result.BytesWritten, version: result.Version);
            return result;
        }, ct);

    /// <summary>Analyzes every table and compacts those that need it, a bounded number at a time; a failing table does not stop the others.</summary>
    public Task<IReadOnlyList<TableOptimizeSummary>> OptimizeAllTablesAsync(OptimizeAllOptions? options = null, CancellationToken ct = default) =>
        Guarded("optimize-all", null, null, null, async scope =>
        {
            var results = await OptimizeAllCoreAsync(scope, options ?? new OptimizeAllOptions(), ct);
            scope.SetParameter("compacted", results.Count(r => r.Action == "compacted").ToString(CultureInfo.InvariantCulture));
            scope.SetParameter("denied", results.Count(r => r.Action == "denied").ToString(CultureInfo.InvariantCulture));
            return results;
        }, ct);

    private async Task<IReadOnlyList<TableOptimizeSummary>> OptimizeAllCoreAsync(GuardScope scope, OptimizeAllOptions options, CancellationToken ct)
    {
        var tables = await _storage.ListTableNamesAsync(ct);
        var results = new TableOptimizeSummary[tables.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, tables.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.MaxDegreeOfParallelism), CancellationToken = ct },
            async (i, token) =>
            {
                var name = tables[i];
                try
                {
                    try { scope.Require(Privilege.Write, name); } // a table the caller may not write is reported as denied, the others go on
                    catch (AccessDeniedException denied)
                    {
                        scope.ReportItem(denied: true, denied.Message);
                        results[i] = new TableOptimizeSummary(name, "denied", "the caller may not write this table", null, denied.Message);
                        return;
                    }
                    scope.ReportItem(denied: false);
                    var analysis = FileAnalyzer.Analyze(name, await LatestAsync(name, token), new AnalyzeOptions { TargetFileSizeBytes = options.TargetFileSizeBytes });
                    if (analysis.FileCount < options.MinFileCount)
                        results[i] = new TableOptimizeSummary(name, "skipped", $"{analysis.FileCount} file(s), fewer than the minimum of {options.MinFileCount}.", null, null);
                    else if (!analysis.NeedsCompaction)
                        results[i] = new TableOptimizeSummary(name, "skipped", analysis.CompactionReason, null, null);
                    else
                    {
                        var result = await TableCompaction.RunAsync(_storage, name, new CompactOptions
                        {
                            TargetFileSizeBytes = options.TargetFileSizeBytes,
                            Backup = options.Backup,
                            Progress = options.Progress,
                        }, token);
                        results[i] = new TableOptimizeSummary(name, "compacted", analysis.CompactionReason, result, null);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    results[i] = new TableOptimizeSummary(name, "failed", "the table could not be analyzed or compacted", null, e.Message);
                }
            });
        return results;
    }

    /// <summary>
    /// Deletes the files no snapshot within the retention needs (removed longer ago than the retention, not kept by
    /// an unexpired restore point) and data files never committed that are older than the retention.
    /// </summary>
    public Task<VacuumResult> VacuumAsync(string tableName, VacuumOptions? options = null, CancellationToken ct = default) =>
        Guarded("vacuum", tableName, Privilege.Write, new() { ["dry_run"] = (options ?? new VacuumOptions()).DryRun.ToString() }, async scope =>
        {
            var result = await TableVacuum.RunAsync(await ExistingAsync(tableName, ct), tableName, options ?? new VacuumOptions(), ct);
            scope.Complete(bytes: result.BytesDeleted);
            return result;
        }, ct);

    /// <summary>The table's restore points (unexpired and expired ones vacuum has not cleaned up yet), oldest first.</summary>
    public Task<IReadOnlyList<RestorePoint>> ListRestorePointsAsync(string tableName, CancellationToken ct = default) =>
        Guarded("restore-points", tableName, Privilege.Read, null, async _ => await RestorePoints.ListAsync((await ExistingAsync(tableName, ct)).Store, ct), ct);

    /// <summary>Returns the table to a restore point's version with a new commit (fails clearly if vacuum already deleted its files).</summary>
    public Task<RestoreResult> RestoreAsync(string tableName, string restorePointName, CancellationToken ct = default) =>
        Guarded("restore-point", tableName, Privilege.Write, new() { ["restore_point"] = restorePointName }, async scope =>
        {
            var table = await ExistingAsync(tableName, ct);
            var point = await RestorePoints.GetAsync(table.Store, restorePointName, ct);
            var result = await _storage.RestoreAsync(tableName, point.Version, ct);
            scope.Complete(version: result.NewVersion);
            return result;
        }, ct);

    /// <summary>Sets (or with null clears) the table's retention policy: <see cref="RetentionDaysProperty"/> in its Delta configuration.</summary>
    public Task<long> SetRetentionPolicyAsync(string tableName, int? retentionDays, CancellationToken ct = default) =>
        Guarded("retention-set", tableName, Privilege.Admin, new() { ["days"] = retentionDays?.ToString(CultureInfo.InvariantCulture) }, async scope =>
        {
            var version = await TableRetention.SetPolicyAsync(_storage, tableName, retentionDays, ct);
            scope.Complete(version: version);
            return version;
        }, ct);

    /// <summary>Removes, in one commit, the partitions (or files) whose rows are all older than the table's retention policy.</summary>
    public Task<RetentionResult> ApplyRetentionAsync(string tableName, RetentionOptions? options = null, CancellationToken ct = default) =>
        Guarded("retention-apply", tableName, Privilege.Write, null, async scope =>
        {
            var result = await TableRetention.ApplyAsync(_storage, tableName, options ?? new RetentionOptions(), ct);
            scope.Complete(rows: result.RowsRemoved, version: result.Version);
            scope.SetParameter("retention_days", result.RetentionDays.ToString(CultureInfo.InvariantCulture));
            scope.SetParameter("dry_run", result.DryRun.ToString());
            return result;
        }, ct);

    /// <summary>
    /// Moves the data files of partitions older than the table's <c>ecap.tiering.coldAfterDays</c> to a colder storage class in
    /// place (same keys: readers need nothing). Needs a store with classes (S3); elsewhere only a dry run, which says so.
    /// </summary>
    public Task<TieringResult> TierAsync(string tableName, TieringOptions? options = null, CancellationToken ct = default) =>
        Guarded("tier", tableName, Privilege.Write, new() { ["storage_class"] = options?.StorageClass, ["dry_run"] = (options?.DryRun ?? false).ToString() }, async scope =>
        {
            var result = await TableTiering.RunAsync(_storage, tableName, options ?? new TieringOptions(), ct);
            scope.Complete(bytes: result.BytesMoved);
            return result;
        }, ct);

    /// <summary>Rewrites each partition clustered by the interleaved bits of the columns' ranks, so stats on any of them prune files.</summary>
    public Task<ZOrderResult> ZOrderAsync(string tableName, IReadOnlyList<string> columns, ZOrderOptions? options = null, CancellationToken ct = default) =>
        Guarded("zorder", tableName, Privilege.Write, new() { ["columns"] = string.Join(",", columns) }, async scope =>
        {
            var result = await ZOrderRewrite.RunAsync(_storage, tableName, columns, options ?? new ZOrderOptions(), ct);
            scope.Complete(rows: result.RowsRewritten, version: result.Version);
            return result;
        }, ct);

    /// <summary>
    /// Rewrites the table into <paramref name="layout"/> (partitions, buckets, sort) in one commit, rows unchanged
    /// (<c>dataChange=false</c>, deleted rows stay deleted), after a restore point of the version read; a commit that lands
    /// meanwhile makes it fail with <see cref="ConcurrentModificationException"/> and nothing changed.
    /// </summary>
    public Task<RepartitionResult> RepartitionAsync(string tableName, Ecap.DataLake.Tables.Partitioning.PartitionStrategy layout, RepartitionOptions? options = null,
        CancellationToken ct = default) =>
        Guarded("repartition", tableName, Privilege.Admin, new()
        {
            ["layout"] = Ecap.DataLake.Tables.Partitioning.PartitionSpec.Format(layout ?? throw new ArgumentNullException(nameof(layout))),
            ["dry_run"] = (options?.DryRun ?? false).ToString(),
        }, async scope =>
        {
            var result = await TableRepartition.RunAsync(_storage, tableName, layout, options ?? new RepartitionOptions(), ct);
            scope.Complete(rows: result.RowsRewritten, bytes: result.BytesAfter, version: result.Version ?? result.ReadVersion);
            return result;
        }, ct);

    private Task<DeltaTable> ExistingAsync(string tableName, CancellationToken ct) => OpenExistingAsync(_storage, tableName, ct);

    private async Task<Snapshot> LatestAsync(string tableName, CancellationToken ct) => await (await ExistingAsync(tableName, ct)).GetSnapshotAsync(ct);

    internal static async Task<DeltaTable> OpenExistingAsync(DataLakeStorage storage, string tableName, CancellationToken ct)
    {
        var table = storage.OpenTable(tableName);
        if (!await table.ExistsAsync(ct))
            throw new TableNotFoundException($"Table '{tableName}' does not exist in {storage.Location} (no _delta_log).");
        return table;
    }
}
