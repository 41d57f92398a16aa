namespace Ecap.DataLake.Tables;

/// <summary>What a write does when the table already holds data.</summary>
public enum WriteMode
{
    /// <summary>Add the rows to the table (creating it if needed).</summary>
    Append,
    /// <summary>Replace every row of the table.</summary>
    Overwrite,
    /// <summary>Replace only the partitions present in the input; other partitions keep their rows.</summary>
    OverwritePartitions,
    /// <summary>Fail if the table exists.</summary>
    ErrorIfExists,
    /// <summary>Do nothing if the table exists.</summary>
    Ignore,
}

public static class WriteModes
{
    public static WriteMode Parse(string text) => text.Trim().ToLowerInvariant().Replace('_', '-') switch
    {
        "append" => WriteMode.Append,
        "overwrite" => WriteMode.Overwrite,
        "overwrite-partitions" or "dynamic-overwrite" => WriteMode.OverwritePartitions,
        "error-if-exists" or "error" or "errorifexists" => WriteMode.ErrorIfExists,
        "ignore" => WriteMode.Ignore,
        _ => throw new InvalidInputException(
            $"Unknown write mode '{text}'. Valid modes: append, overwrite, overwrite-partitions, error-if-exists, ignore."),
    };

    public static string Name(this WriteMode mode) => mode switch
    {
        WriteMode.Append => "append",
        WriteMode.Overwrite => "overwrite",
        WriteMode.OverwritePartitions => "overwrite-partitions",
        WriteMode.ErrorIfExists => "error-if-exists",
        _ => "ignore",
    };
}

/// <summary>Options of <see cref="DataLakeStorage.WritePartitionedDataAsync(IAsyncEnumerable{Apache.Arrow.RecordBatch}, string, Partitioning.DataType, WriteMode, WriteOptions?, CancellationToken)"/>.</summary>
public sealed record WriteOptions
{
    /// <summary>The column the year/month/day partitions derive from (defaults per data type).</summary>
    public string? TimeColumn { get; init; }

    /// <summary>Add new nullable columns of the input to the table schema instead of failing.</summary>
    public bool MergeSchema { get; init; }

    /// <summary>With <see cref="WriteMode.Overwrite"/>: replace the schema with the input's.</summary>
    public bool OverwriteSchema { get; init; }

    /// <summary>The commit's operation name instead of WRITE / CREATE TABLE AS SELECT (CreateTableAsync's CREATE TABLE).</summary>
    internal string? Operation { get; init; }

    /// <summary>An explicit strategy instead of the data type's built-in one (used when the table is created).</summary>
    public Partitioning.PartitionStrategy? Strategy { get; init; }

    /// <summary>The region(s) a table this write creates must stay in (table property ecap.residency.region; comma-separated).</summary>
    public string? Region { get; init; }

    /// <summary>
    /// A new table gets deletion vectors (<c>delta.enableDeletionVectors</c>, reader 3 / writer 7 feature <c>deletionVectors</c>):
    /// DELETE, UPDATE and MERGE then mark rows deleted instead of rewriting files. False: changes copy files on write.
    /// </summary>
    public bool DeletionVectors { get; init; } = true;

    /// <summary>Encrypt the data files of a table this write creates (Parquet modular encryption; keys from <see cref="DataLakeStorageOptions.KeyProvider"/>).</summary>
    public Parquet.Encryption.TableEncryption? Encryption { get; init; }

    /// <summary>Turn auto-compaction on for a table this write creates (table property <see cref="TablePropertyKeys.AutoCompact"/>; default true).</summary>
    public bool AutoCompact { get; init; } = true;

    /// <summary>Parquet codec: snappy (default), zstd, gzip, none.</summary>
    public string Compression { get; init; } = "snappy";

    /// <summary>Data files roll over to a new file at about this size.</summary>
    public long TargetFileSizeBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>Drop rows whose key repeats within the input, keeping the last by <see cref="DeduplicateOrderBy"/>.</summary>
    public IReadOnlyList<string>? DeduplicateKeys { get; init; }

    /// <summary>The column that decides which duplicate is "last" (input order when null).</summary>
    public string? DeduplicateOrderBy { get; init; }

    /// <summary>
    /// With <see cref="DeduplicateKeys"/>: also drop input rows whose key is already in the table, in the partitions
    /// this write touches (only those partitions' key columns are read, so the check costs what they hold).
    /// </summary>
    public bool SkipExistingKeys { get; init; }

    /// <summary>Add the metadata columns <c>_ingested_at</c> (write time, UTC) and, when <see cref="SourceName"/> is set, <c>_source</c>.</summary>
    public bool AddMetadataColumns { get; init; }

    /// <summary>Where the rows come from (a file, a topic); recorded in the commit and in <c>_source</c>.</summary>
    public string? SourceName { get; init; }

    /// <summary>txn actions committed with the data (appId -> version): a source's position, exactly-once with the rows.</summary>
    public IReadOnlyDictionary<string, long>? Transactions { get; init; }

    /// <summary>
    /// txn versions the table must hold when the write reads it (appId -> version; 0: no txn yet), else the write fails
    /// with <see cref="ConcurrentModificationException"/> before writing anything. With the commit's txn conflict check,
    /// a source's position then only moves on from the position the writer started at (e.g. a Kafka partition taken over
    /// by another consumer is never written twice).
    /// </summary>
    public IReadOnlyDictionary<string, long>? ExpectedTransactions { get; init; }

    /// <summary>Extra commitInfo operationParameters (e.g. which source files this commit completes).</summary>
    public IReadOnlyDictionary<string, string>? CommitParameters { get; init; }

    /// <summary>Reported while writing (rows and files so far).</summary>
    public IProgress<WriteProgress>? Progress { get; init; }
}

public readonly record struct WriteProgress(long RowsWritten, int FilesWritten, long BytesWritten);

/// <summary>What a write committed.</summary>
public sealed record WriteResult(
    string TableName,
    long Version,
    int FilesWritten,
    long RowsWritten,
    long BytesWritten,
    int FilesRemoved,
    long DuplicatesDropped,
    bool Skipped,
    TimeSpan Duration);
