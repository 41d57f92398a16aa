using System.Text.Json.Serialization;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Kafka;
using Ecap.DataLake.Monitoring;
using Ecap.DataLake.Quality;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;

using Ecap.DataLake.Server.Json;

namespace Ecap.Cli.Output;

// The CLI's JSON result records, serialized by CliJson (snake_case of the property names). They exist where a library
// record's names, units (TimeSpan -> ms), rounding or time format differ from the documented shape (README "JSON output").

internal sealed record WriteJson(string Table, long Version, long FilesWritten, long RowsWritten, long BytesWritten, long FilesRemoved,
    long DuplicatesDropped, bool Skipped, long DurationMs)
{
    public static WriteJson From(WriteResult r) => new(r.TableName, r.Version, r.FilesWritten, r.RowsWritten, r.BytesWritten, r.FilesRemoved,
        r.DuplicatesDropped, r.Skipped, CliJson.Ms(r.Duration));
}

/// <summary>The <c>stats</c> of <c>storage read --output json --stats</c>.</summary>
internal sealed record ReadStatsJson(long PartitionsTotal, long PartitionsPruned, long FilesTotal, long FilesRead, long FilesPrunedByPartition,
    long FilesPrunedByStats, long FilesPrunedByBucket, long RowGroupsTotal, long RowGroupsPruned, long BytesScanned, long RowsScanned,
    long RowsReturned, double ElapsedMs)
{
    public static ReadStatsJson From(ReadMetrics m, TimeSpan elapsed) => new(m.PartitionsTotal, m.PartitionsPruned, m.FilesTotal, m.FilesRead,
        m.FilesPrunedByPartition, m.FilesPrunedByStats, m.FilesPrunedByBucket, m.RowGroupsTotal, m.RowGroupsPruned, m.BytesScanned, m.RowsScanned,
        m.RowsReturned, Math.Round(elapsed.TotalMilliseconds, 1));
}

internal sealed record RestoreJson(long RestoredVersion, long Version, int FilesAdded, int FilesRemoved)
{
    public static RestoreJson From(RestoreResult r) => new(r.RestoredVersion, r.NewVersion, r.FilesAdded, r.FilesRemoved);
}

internal sealed record GenerateJson(long Rows, string Path);

// ---- query

internal sealed record QueryOutJson(string Out, long Rows);

// ---- compaction

internal sealed record AnalysisJson(string Table, long Version, long FileCount, long TotalSizeBytes, long AverageFileSizeBytes, long TargetFileSizeBytes,
    long SmallFileThresholdBytes, long SmallFileCount, long PartitionCount, long PartitionsOverSmallFileLimit, double PartitionSkew, long FilesWithoutStats,
    bool NeedsCompaction, string CompactionReason, long EstimatedFilesBefore, long EstimatedFilesAfter,
    IReadOnlyList<Ecap.DataLake.Compaction.FileSizeBucket> SizeHistogram, IEnumerable<AnalysisJson.SmallFilePartition> PartitionsWithSmallFiles,
    PartitionAdviceJson? PartitionAdvice)
{
    internal sealed record SmallFilePartition(IReadOnlyDictionary<string, string?> Values, long FileCount, long SmallFileCount, long SizeBytes);

    public static AnalysisJson From(TableFileAnalysis a) => new(a.TableName, a.Version, a.FileCount, a.TotalSizeBytes, a.AverageFileSizeBytes,
        a.TargetFileSizeBytes, a.SmallFileThresholdBytes, a.SmallFileCount, a.PartitionCount, a.PartitionsOverSmallFileLimit, Math.Round(a.PartitionSkew, 3),
        a.FilesWithoutStats, a.NeedsCompaction, a.CompactionReason, a.EstimatedFilesBefore, a.EstimatedFilesAfter, a.SizeHistogram,
        a.PartitionsWithSmallFiles.Select(p => new SmallFilePartition(p.Values, p.FileCount, p.SmallFileCount, p.SizeBytes)),
        PartitionAdviceJson.From(a.PartitionAdvice, a.TableName));
}

internal sealed record RestorePointJson(string Name, long Version,
    [property: JsonConverter(typeof(UtcTimestampConverter))] DateTimeOffset CreatedAt,
    [property: JsonConverter(typeof(UtcTimestampConverter))] DateTimeOffset ExpiresAt)
{
    public static RestorePointJson From(RestorePoint p) => new(p.Name, p.Version, p.CreatedAt, p.ExpiresAt);
}

internal sealed record CompactionJson(string Table, long ReadVersion, IReadOnlyList<long> CommitVersions, int PartitionGroupsCompacted,
    int PartitionGroupsSkipped, long FilesBefore, long FilesAfter, long BytesBefore, long BytesAfter, long FilesRemoved, long FilesAdded,
    long BytesRemoved, long BytesAdded, long RowsRewritten, RestorePointJson? RestorePoint, long DurationMs)
{
    public static CompactionJson From(CompactionResult r) => new(r.TableName, r.ReadVersion, r.CommitVersions.ToList(), r.PartitionGroupsCompacted,
        r.PartitionGroupsSkipped, r.FilesBefore, r.FilesAfter, r.BytesBefore, r.BytesAfter, r.FilesRemoved, r.FilesAdded, r.BytesRemoved, r.BytesAdded,
        r.RowsRewritten, r.RestorePoint is { } p ? RestorePointJson.From(p) : null, CliJson.Ms(r.Duration));
}

/// <summary><c>storage alter --partition-by/--sort-by</c> (with <c>--dry-run</c>: the plan, version and restore point null).</summary>
internal sealed record RepartitionJson(string Table, bool DryRun, long ReadVersion, long? Version, string OldLayout, string NewLayout,
    long FilesBefore, long PartitionsBefore, long BytesBefore, int? EstimatedPartitionsAfter, int? EstimatedFilesAfter,
    long FilesAdded, long PartitionsAfter, long BytesAfter, long RowsRewritten, RestorePointJson? RestorePoint, long DurationMs)
{
    public static RepartitionJson From(RepartitionResult r) => new(r.TableName, r.DryRun, r.ReadVersion, r.Version, r.OldPartitionBy, r.NewPartitionBy,
        r.FilesBefore, r.PartitionsBefore, r.BytesBefore, r.EstimatedPartitionsAfter, r.EstimatedFilesAfter, r.FilesAdded, r.PartitionsAfter,
        r.BytesAfter, r.RowsRewritten, r.RestorePoint is { } p ? RestorePointJson.From(p) : null, CliJson.Ms(r.Duration));
}

internal sealed record OptimizeJson(string Table, string Action, string Reason, string? Error, CompactionJson? Result)
{
    public static OptimizeJson From(TableOptimizeSummary s) => new(s.TableName, s.Action, s.Reason, s.Error, s.Result is { } r ? CompactionJson.From(r) : null);
}

internal sealed record VacuumJson(string Table, double RetentionHours, bool DryRun, int FilesDeleted, long BytesDeleted, long FilesKeptForRestorePoints,
    long ExpiredRestorePointsDeleted, IReadOnlyList<VacuumFile> Files)
{
    public static VacuumJson From(VacuumResult r) => new(r.TableName, Math.Round(r.Retention.TotalHours, 3), r.DryRun, r.Files.Count, r.BytesDeleted,
        r.FilesKeptForRestorePoints, r.ExpiredRestorePointsDeleted, r.Files);
}

internal sealed record ZOrderJson(string Table, IReadOnlyList<string> Columns, long? Version, int PartitionGroups, long FilesRemoved, long FilesAdded,
    long RowsRewritten, long DurationMs)
{
    public static ZOrderJson From(ZOrderResult r) => new(r.TableName, r.Columns.ToList(), r.Version, r.PartitionGroups, r.FilesRemoved, r.FilesAdded,
        r.RowsRewritten, CliJson.Ms(r.Duration));
}

internal sealed record RetentionJson(string Table, int RetentionDays, [property: JsonConverter(typeof(UtcTimestampConverter))] DateTimeOffset Cutoff,
    bool DryRun, long FilesRemoved, long RowsRemoved, long? Version, IReadOnlyList<IReadOnlyDictionary<string, string?>> PartitionsRemoved)
{
    public static RetentionJson From(RetentionResult r) => new(r.TableName, r.RetentionDays, r.Cutoff, r.DryRun, r.FilesRemoved, r.RowsRemoved, r.Version,
        r.PartitionsRemoved.Select(p => (IReadOnlyDictionary<string, string?>)p.ToDictionary(kv => kv.Key, kv => kv.Value)).ToList());
}

// ---- access, quality

internal sealed record GrantJson(string Grantee, Privilege Privilege, string? Table, IReadOnlyList<string> ExcludedColumns, string? GrantedBy, DateTimeOffset GrantedAt)
{
    public static GrantJson From(Grant g) => new(g.Grantee, g.Privilege, g.Table, g.ExcludedColumns, g.GrantedBy, g.GrantedAt);
}

internal sealed record WhoAmIJson(string Principal, IReadOnlyList<string> Groups, string Source);

internal sealed record IdentityJson(string Mode, string? Issuer, string? Audience, bool KeysPinned, string? SetBy, DateTimeOffset? SetAt);

internal sealed record AuditReconcileJson(int TablesScanned, int CommitsScanned, int CommitsAudited, int CommitsTooRecent, int RecordsRecovered, bool DryRun,
    IReadOnlyList<Ecap.DataLake.Security.AuditRecord> Recovered);

internal sealed record ConstraintJson(string Name, string Expression);

// ---- ingestion

/// <summary>Status: ok, completed_with_dead_letters (some records are in <see cref="DeadLetterTable"/>) or failed.</summary>
internal sealed record IngestionJson(string Table, string Source, string AppId, string Status,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Error,
    long RecordsRead, long RecordsWritten, long RecordsDeadLettered,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DeadLetterTable,
    long Batches, long Retries, long DurationMs, double RecordsPerSecond,
    long? LastVersion, long TxnVersion)
{
    /// <summary>The source's own counters (files: files_matched, ...; database: rows_read, ...) as top-level keys, sorted.</summary>
    [JsonExtensionData]
    public Dictionary<string, object> SourceCounters { get; init; } = [];

    public static IngestionJson From(IngestionReport r, string? error) => new(r.Table, r.Source, r.AppId,
        error != null ? "failed" : r.RecordsDeadLettered > 0 ? "completed_with_dead_letters" : "ok", error,
        r.RecordsRead, r.RecordsWritten, r.RecordsDeadLettered, r.RecordsDeadLettered > 0 ? Ecap.DataLake.Storage.TableNames.DeadLetterTable(r.Table) : null, r.Batches, r.Retries, CliJson.Ms(r.Duration), Math.Round(r.RecordsPerSecond, 1),
        r.LastVersion, r.TxnVersion)
    {
        SourceCounters = r.SourceCounters.OrderBy(k => k.Key, StringComparer.Ordinal).ToDictionary(k => k.Key, k => (object)k.Value),
    };
}

internal sealed record KafkaIngestionJson(string StreamId, string Topic, string Table, string ConsumerGroup, string State, long RecordsRead,
    long RecordsWritten, long RecordsDeadLettered, long Commits, long Conflicts, long DurationMs, double RecordsPerSecond, long? LastVersion,
    IReadOnlyDictionary<string, long> Positions, IReadOnlyDictionary<string, long> Lag, long TotalLag, string? LastError)
{
    public static KafkaIngestionJson From(KafkaIngestionReport r) => new(r.StreamId, r.Topic, r.Table, r.ConsumerGroup, r.State, r.RecordsRead,
        r.RecordsWritten, r.RecordsDeadLettered, r.Commits, r.Conflicts, CliJson.Ms(r.Duration), Math.Round(r.RecordsPerSecond, 1), r.LastVersion,
        ByPartition(r.Positions), ByPartition(r.Lag), r.TotalLag, r.LastError);

    private static SortedDictionary<string, long> ByPartition(IEnumerable<KeyValuePair<int, long>> values)
    {
        // Ordered by partition number, keyed by its text (JSON keys are strings).
        var sorted = new SortedDictionary<string, long>(Comparer<string>.Create((a, b) => int.Parse(a).CompareTo(int.Parse(b))));
        foreach (var (p, v) in values) sorted[p.ToString(System.Globalization.CultureInfo.InvariantCulture)] = v;
        return sorted;
    }
}

/// <summary><c>stream-status</c>: each heartbeat's keys as the stream wrote them, plus <c>stale</c>.</summary>
internal sealed record StreamStatusListJson(IEnumerable<System.Text.Json.Nodes.JsonObject> Streams);

internal sealed record StreamStopJson(string StreamId, bool StopRequested, string State);

internal sealed record DevKafkaJson(string BootstrapServers, IReadOnlyList<DevKafkaJson.Topic> Topics, int SampleMessages)
{
    internal sealed record Topic(string Name, int Partitions);
}
