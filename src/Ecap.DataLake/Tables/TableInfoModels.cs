namespace Ecap.DataLake.Tables;

/// <summary>Figures about a table at a version, from its log and its files' Parquet footers.</summary>
public sealed record TableInfo
{
    public required string Name { get; init; }
    public required string Location { get; init; }
    public required long Version { get; init; }
    public required DateTimeOffset LastModified { get; init; }
    public required long RecordCount { get; init; }
    public required int FileCount { get; init; }
    public required long TotalSizeBytes { get; init; }
    public required long AverageFileSizeBytes { get; init; }
    /// <summary>Files below the small-file threshold (a quarter of the target file size).</summary>
    public required int SmallFileCount { get; init; }
    public required long SmallFileThresholdBytes { get; init; }
    public required int PartitionCount { get; init; }
    public required IReadOnlyList<PartitionStats> Partitions { get; init; }
    /// <summary>Largest partition's bytes over the median partition's bytes (1 when even).</summary>
    public required double PartitionSkew { get; init; }
    /// <summary>Uncompressed over compressed bytes of the data pages, from the Parquet footers.</summary>
    public required double CompressionRatio { get; init; }
    public required IReadOnlyList<string> PartitionColumns { get; init; }
    public required IReadOnlyList<ColumnInfo> Schema { get; init; }
    /// <summary>Files by size, in buckets relative to the target file size (the small-file threshold is a bucket edge).</summary>
    public IReadOnlyList<FileSizeBucket> FileSizeHistogram { get; init; } = [];
    public string? DataType { get; init; }
    /// <summary>The table's auto-compaction settings and what its last run did.</summary>
    public AutoCompactionInfo? AutoCompaction { get; init; }
    /// <summary>Set when the partitions are too small for the target file size: the coarser layout to rewrite the table into.</summary>
    public PartitionAdvice? PartitionAdvice { get; init; }
    /// <summary>
    /// The live data files by the storage class the store reports for them (S3); null when the store has no classes (a
    /// local folder, Azure). What <see cref="StoragePricing.Estimate(TableInfo, string?)"/> prices when no class is given.
    /// </summary>
    public IReadOnlyList<StoredClassBytes>? StoredClasses { get; init; }
}

/// <summary>The live data files of a table that one storage class holds (<see cref="StorageClass"/> as the store names it).</summary>
public sealed record StoredClassBytes(string StorageClass, int FileCount, long Bytes);

/// <summary>
/// A table's partitions are too small for its target file size (median below 1/16 of it): the layout it has and a coarser one
/// (<c>--partition-by</c> text, empty for unpartitioned) with the partition count and median size it would give, from the
/// table's own partitions.
/// </summary>
public sealed record PartitionAdvice(string CurrentPartitionBy, string SuggestedPartitionBy, int PartitionCount, int SuggestedPartitionCount,
    long MedianPartitionBytes, long SuggestedMedianPartitionBytes, long TargetFileSizeBytes, string Message);

/// <summary>Auto-compaction as a table's properties set it, and the status its last run left (null: never ran).</summary>
public sealed record AutoCompactionInfo(bool Enabled, int MinNumFiles, long MaxFileSizeBytes, AutoCompactionStatus? Last);

public sealed record PartitionStats(IReadOnlyDictionary<string, string?> Values, int FileCount, long RecordCount, long SizeBytes);

/// <summary>Files of size in [<see cref="MinBytes"/>, <see cref="MaxBytes"/>) (no upper bound when null).</summary>
public sealed record FileSizeBucket(long MinBytes, long? MaxBytes, int FileCount, long SizeBytes);

public sealed record ColumnInfo(string Name, string Type, bool Nullable);

/// <summary>One table in a lake listing.</summary>
public sealed record TableSummary(string Name, long Version, long RecordCount, long TotalSizeBytes, int FileCount);
