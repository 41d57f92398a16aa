using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Compaction;

// Options and results of the DataCompactor operations. Sizes are bytes; a "group" is one partition
// (partition values) and, for bucketed tables, one bucket: compaction never mixes groups.

/// <summary>Options of <see cref="DataCompactor.AnalyzeTableFilesAsync"/>.</summary>
public sealed record AnalyzeOptions
{
    /// <summary>The file size the table aims for.</summary>
    public long TargetFileSizeBytes { get; init; } = DataCompactor.DefaultTargetFileSizeBytes;

    /// <summary>Files below this are small (default: a quarter of the target, as <c>storage info</c> counts them).</summary>
    public long? SmallFileThresholdBytes { get; init; }

    /// <summary>A partition holding more small files than this is reported as over the limit.</summary>
    public int SmallFileLimitPerPartition { get; init; } = 10;
}

/// <summary>How many files fall in one size range (<see cref="MaxBytes"/> null: no upper end).</summary>
public sealed record FileSizeBucket(string Label, long MinBytes, long? MaxBytes, int FileCount);

/// <summary>Files of one partition (all its buckets).</summary>
public sealed record PartitionFileStats(IReadOnlyDictionary<string, string?> Values, int FileCount, int SmallFileCount, long SizeBytes);

/// <summary>What <see cref="DataCompactor.AnalyzeTableFilesAsync"/> found, with a verdict a person can act on.</summary>
public sealed record TableFileAnalysis
{
    public required string TableName { get; init; }
    public required long Version { get; init; }
    public required int FileCount { get; init; }
    public required long TotalSizeBytes { get; init; }
    public required long AverageFileSizeBytes { get; init; }
    public required long TargetFileSizeBytes { get; init; }
    public required long SmallFileThresholdBytes { get; init; }
    public required int SmallFileCount { get; init; }
    public required IReadOnlyList<FileSizeBucket> SizeHistogram { get; init; }
    /// <summary>Partitions with at least one small file, most small files first.</summary>
    public required IReadOnlyList<PartitionFileStats> PartitionsWithSmallFiles { get; init; }
    public required int PartitionCount { get; init; }
    public required int PartitionsOverSmallFileLimit { get; init; }
    /// <summary>Largest partition's bytes over the median partition's bytes (1 when even or unpartitioned).</summary>
    public required double PartitionSkew { get; init; }
    public required int FilesWithoutStats { get; init; }
    public required bool NeedsCompaction { get; init; }
    public required string CompactionReason { get; init; }
    public required int EstimatedFilesBefore { get; init; }
    public required int EstimatedFilesAfter { get; init; }
    /// <summary>Set when the partitions are too small for the target file size: compaction cannot fix that, a coarser layout can.</summary>
    public PartitionAdvice? PartitionAdvice { get; init; }
}

/// <summary>Whether a compaction commits once per partition group (appends interleave; a crash keeps the groups done) or once per table.</summary>
public enum CompactionCommitMode
{
    PerPartition,
    PerTable,
}

/// <summary>Options of <see cref="DataCompactor.CompactTableAsync"/>.</summary>
public sealed record CompactOptions
{
    /// <summary>Output files roll at about this size; files below <see cref="MinFileSizeBytes"/> are rewritten.</summary>
    public long TargetFileSizeBytes { get; init; } = DataCompactor.DefaultTargetFileSizeBytes;

    /// <summary>Files below this size are compacted (default: a quarter of the target).</summary>
    public long? MinFileSizeBytes { get; init; }

    /// <summary>Record a restore point at the version before the compaction; vacuum keeps its files until it expires.</summary>
    public bool Backup { get; init; }

    /// <summary>The restore point's name (default <c>compaction-v&lt;version&gt;-&lt;utc time&gt;</c>).</summary>
    public string? RestorePointName { get; init; }

    /// <summary>How long the restore point protects its files from vacuum.</summary>
    public TimeSpan BackupRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Only partitions matching all of these are compacted.</summary>
    public IReadOnlyList<PartitionFilter> PartitionFilters { get; init; } = [];

    public CompactionCommitMode CommitMode { get; init; } = CompactionCommitMode.PerPartition;

    /// <summary>Partition groups rewritten at the same time (each holds one batch per input file).</summary>
    public int MaxParallelism { get; init; } = Math.Max(1, Math.Min(Environment.ProcessorCount, 4));

    /// <summary>
    /// At most this many input files overlapping in key range are open at once (each open input holds its decoded
    /// pages); a bin with more overlapping files is merged in levels through sorted runs in a local temp folder.
    /// </summary>
    public int MaxMergeFanIn { get; init; } = 128;

    /// <summary>Where sorted runs go when more files overlap than <see cref="MaxMergeFanIn"/> (default: the system temp folder).</summary>
    public string? TempDirectory { get; init; }

    /// <summary>Rows per batch read from each input file: memory is about inputs x this x row width per group.</summary>
    public int ReadBatchRows { get; init; } = 8192;

    public IProgress<CompactionProgress>? Progress { get; init; }

    /// <summary>An auto-compaction (post-commit): its commit carries <c>auto=true</c> in its operation parameters.</summary>
    internal bool Automatic { get; init; }

    /// <summary>Only groups whose partition key passes (auto-compaction: the partitions the commit touched).</summary>
    internal Func<string, bool>? GroupFilter { get; init; }

    /// <summary>At most this many small files of a group per compaction (auto-compaction's bound on work per commit).</summary>
    internal int? MaxFilesPerGroup { get; init; }
}

/// <summary>Progress of one table's compaction: partition groups and input bytes done so far.</summary>
public readonly record struct CompactionProgress(string TableName, int GroupsDone, int GroupsTotal, long BytesDone, long BytesTotal);

/// <summary>What a compaction did.</summary>
public sealed record CompactionResult
{
    public required string TableName { get; init; }
    /// <summary>The version the compaction read (and the restore point's version with backup).</summary>
    public required long ReadVersion { get; init; }
    /// <summary>The versions committed (one per partition group, or one).</summary>
    public required IReadOnlyList<long> CommitVersions { get; init; }
    public required int PartitionGroupsCompacted { get; init; }
    /// <summary>Groups not committed because a concurrent rewrite removed their input files first.</summary>
    public required int PartitionGroupsSkipped { get; init; }
    public required int FilesBefore { get; init; }
    public required int FilesAfter { get; init; }
    public required long BytesBefore { get; init; }
    public required long BytesAfter { get; init; }
    public required int FilesRemoved { get; init; }
    public required int FilesAdded { get; init; }
    public required long BytesRemoved { get; init; }
    public required long BytesAdded { get; init; }
    public required long RowsRewritten { get; init; }
    public RestorePoint? RestorePoint { get; init; }
    public required TimeSpan Duration { get; init; }
}

/// <summary>Options of <see cref="DataCompactor.OptimizeAllTablesAsync"/>.</summary>
public sealed record OptimizeAllOptions
{
    /// <summary>Tables with fewer files are left alone.</summary>
    public int MinFileCount { get; init; } = 10;

    public long TargetFileSizeBytes { get; init; } = DataCompactor.DefaultTargetFileSizeBytes;

    /// <summary>Tables compacted at the same time.</summary>
    public int MaxDegreeOfParallelism { get; init; } = 1;

    public bool Backup { get; init; }

    /// <summary>Progress of each table's compaction.</summary>
    public IProgress<CompactionProgress>? Progress { get; init; }
}

/// <summary>One table's outcome in an optimize-all run: <c>compacted</c>, <c>skipped</c>, <c>denied</c> (the caller may not write it) or <c>failed</c>.</summary>
public sealed record TableOptimizeSummary(string TableName, string Action, string Reason, CompactionResult? Result, string? Error);

/// <summary>Options of <see cref="DataCompactor.VacuumAsync"/>.</summary>
public sealed record VacuumOptions
{
    /// <summary>Files no snapshot of this recent past needs are deleted (and never-committed files this old).</summary>
    public TimeSpan Retention { get; init; } = DataCompactor.DefaultVacuumRetention;

    /// <summary>Allow a retention below <see cref="DataCompactor.DefaultVacuumRetention"/> (risky: a slow writer's files may go).</summary>
    public bool Force { get; init; }

    /// <summary>List what would be deleted, delete nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>"Now" (tests move it).</summary>
    public DateTimeOffset? Now { get; init; }
}

/// <summary>
/// One file vacuum deletes (or would): <c>removed</c> (tombstoned longer than the retention), <c>uncommitted</c> (never in the log)
/// or <c>temp</c> (a killed writer's write-beside temp file, e.g. of a commit).
/// </summary>
public sealed record VacuumFile(string Path, long SizeBytes, string Reason);

public sealed record VacuumResult(string TableName, TimeSpan Retention, bool DryRun, IReadOnlyList<VacuumFile> Files,
    long BytesDeleted, int FilesKeptForRestorePoints, int ExpiredRestorePointsDeleted);

/// <summary>A named earlier version of a table whose files vacuum keeps until <see cref="ExpiresAt"/>.</summary>
public sealed record RestorePoint(string Name, long Version, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, string? Operation);

/// <summary>Options of <see cref="DataCompactor.ApplyRetentionAsync"/>.</summary>
public sealed record RetentionOptions
{
    /// <summary>List the partitions that would go, change nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>With <see cref="DryRun"/>: preview this many days instead of the table's policy (the table is not changed).</summary>
    public int? Days { get; init; }

    /// <summary>"Now" (tests move it).</summary>
    public DateTimeOffset? Now { get; init; }
}

public sealed record RetentionResult(string TableName, int RetentionDays, DateTimeOffset Cutoff, bool DryRun,
    IReadOnlyList<IReadOnlyDictionary<string, string?>> PartitionsRemoved, int FilesRemoved, long RowsRemoved, long? Version);

/// <summary>Options of <see cref="DataCompactor.ZOrderAsync"/>.</summary>
public sealed record ZOrderOptions
{
    public long TargetFileSizeBytes { get; init; } = DataCompactor.DefaultTargetFileSizeBytes;

    public IReadOnlyList<PartitionFilter> PartitionFilters { get; init; } = [];

    /// <summary>Rows of a partition are clustered in chunks of at most this many in-memory bytes (memory bound).</summary>
    public long MaxChunkBytes { get; init; } = 512L * 1024 * 1024;

    public IProgress<CompactionProgress>? Progress { get; init; }
}

public sealed record ZOrderResult(string TableName, IReadOnlyList<string> Columns, long? Version, int PartitionGroups,
    int FilesRemoved, int FilesAdded, long RowsRewritten, TimeSpan Duration);

/// <summary>Options of <see cref="DataCompactor.TierAsync"/>.</summary>
public sealed record TieringOptions
{
    /// <summary>The class cold files move to (default: the table's <c>ecap.tiering.storageClass</c>, else STANDARD_IA).</summary>
    public string? StorageClass { get; init; }

    /// <summary>Files whose rows are all older than this many days are cold (default: the table's <c>ecap.tiering.coldAfterDays</c>).</summary>
    public int? ColdAfterDays { get; init; }

    /// <summary>Count what would move, move nothing (also works on stores without classes).</summary>
    public bool DryRun { get; init; }

    /// <summary>"Now" (tests move it).</summary>
    public DateTimeOffset? Now { get; init; }
}

/// <summary>
/// What tiering did: <c>FilesCold</c> files are older than the cutoff; of them <c>FilesMoved</c> changed class,
/// <c>FilesAlready</c> were in it, and <c>FilesIgnored</c> were copied but kept their class (the server ignores classes).
/// <c>Supported</c> is false on a store without classes (then only a dry run is possible); <c>Note</c> says why.
/// </summary>
public sealed record TieringResult(string TableName, string StorageClass, int ColdAfterDays, DateTimeOffset Cutoff, bool DryRun, bool Supported,
    int FilesCold, int FilesMoved, int FilesAlready, int FilesIgnored, long BytesMoved, string? Note);

/// <summary>Options of <see cref="DataCompactor.RepartitionAsync"/>.</summary>
public sealed record RepartitionOptions
{
    /// <summary>Output files roll at about this size (default: the lake's <see cref="DataLakeStorageOptions.TargetFileSizeBytes"/>).</summary>
    public long? TargetFileSizeBytes { get; init; }

    /// <summary>Plan only: the old and new layout and the estimated partitions and files; nothing is written.</summary>
    public bool DryRun { get; init; }

    /// <summary>The restore point made of the version read (default <c>repartition-v&lt;version&gt;-&lt;utc time&gt;</c>).</summary>
    public string? RestorePointName { get; init; }

    /// <summary>How long the restore point protects the old files from vacuum.</summary>
    public TimeSpan BackupRetention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Input bytes read so far (one group: the whole table).</summary>
    public IProgress<CompactionProgress>? Progress { get; init; }

    /// <summary>Runs after the new files are written, before the commit (tests put a concurrent commit there).</summary>
    internal Func<CancellationToken, Task>? BeforeCommit { get; init; }
}

/// <summary>
/// What a repartition did, or with <see cref="DryRun"/> would do: layouts as <c>--partition-by</c> text (with the sort), the
/// files and partitions before and after (estimates from the log: null when the new partitions cannot be told without reading rows).
/// </summary>
public sealed record RepartitionResult
{
    public required string TableName { get; init; }
    public required long ReadVersion { get; init; }
    /// <summary>The version committed (null on a dry run).</summary>
    public long? Version { get; init; }
    public required string OldPartitionBy { get; init; }
    public required string NewPartitionBy { get; init; }
    public required int FilesBefore { get; init; }
    public required int PartitionsBefore { get; init; }
    public required long BytesBefore { get; init; }
    public int? EstimatedPartitionsAfter { get; init; }
    public int? EstimatedFilesAfter { get; init; }
    public int FilesAdded { get; init; }
    public int PartitionsAfter { get; init; }
    public long BytesAfter { get; init; }
    public long RowsRewritten { get; init; }
    /// <summary>The restore point of <see cref="ReadVersion"/> (null on a dry run).</summary>
    public RestorePoint? RestorePoint { get; init; }
    public required bool DryRun { get; init; }
    public required TimeSpan Duration { get; init; }
}
