using Apache.Arrow;
using Ecap.DataLake.Tables.Partitioning;
using Polly;

namespace Ecap.DataLake.Ingestion;

/// <summary>
/// A source of records: yields Arrow batches, each with the position it reaches, and turns the positions of
/// the batches of one commit into commitInfo parameters. On start it gets the parameters of every commit it
/// made to the table before, so it resumes exactly after the last committed position.
/// </summary>
public interface IIngestionSource
{
    /// <summary>The txn appId of the source in the table's log (stable across runs: e.g. <c>ecap-files-&lt;hash of the path&gt;</c>).</summary>
    string AppId { get; }

    /// <summary>What the rows come from, for commits, dead letters and reports.</summary>
    string Name { get; }

    IAsyncEnumerable<SourceBatch> ReadAsync(IngestionContext context, CancellationToken ct);

    /// <summary>The commitInfo operationParameters that record the positions the batches of one commit reach.</summary>
    IReadOnlyDictionary<string, string> CommitParameters(IReadOnlyList<SourceBatch> unit);

    /// <summary>Source-specific counts for the report (e.g. files_read, files_skipped).</summary>
    IReadOnlyDictionary<string, long> Counters { get; }
}

/// <summary>What a source is told when it starts: its earlier commits (oldest first), the table's schema, and the retry pipeline for transient failures.</summary>
public sealed record IngestionContext(
    IReadOnlyList<IReadOnlyDictionary<string, string>> CommittedPositions,
    Schema? TableSchema,
    ResiliencePipeline Retry)
{
    /// <summary>
    /// When the table does not exist yet: the columns it is to get, the data type's canonical schema
    /// (<see cref="Tables.SampleData.CanonicalSchemas"/>). Sources convert to these types instead of inferring them.
    /// </summary>
    public Schema? NewTableSchema { get; init; }
}

/// <summary>
/// Records of a source: the good ones as <see cref="Rows"/> (null or empty when none), the bad ones as dead
/// letters, how many records these are in all, and the position after them (source-defined).
/// </summary>
public sealed record SourceBatch(RecordBatch? Rows, IReadOnlyList<DeadLetter> DeadLetters, long RecordsRead, object Position);

/// <summary>A record that failed to parse or convert, as stored in <c>&lt;table&gt;__dead_letters</c>.</summary>
public sealed record DeadLetter(string Source, string Position, string? Raw, string Error);

public sealed record IngestionOptions
{
    /// <summary>A commit holds at most about this many records (memory: the records of one commit are held until it commits).</summary>
    public long MaxRecordsPerCommit { get; init; } = 1_000_000;

    /// <summary>A commit holds at most about this many bytes of Arrow data.</summary>
    public long MaxBytesPerCommit { get; init; } = 256L * 1024 * 1024;

    /// <summary>
    /// Fail when dead letters / records read exceeds this (0..1). Checked before each commit on the run's
    /// totals: the commit that would cross it is not made (neither its rows nor its dead letters), so what is
    /// committed stays under the threshold and a rerun resumes at that commit. Null: never fail.
    /// </summary>
    public double? MaxBadRatio { get; init; }

    /// <summary>Retries of a transient failure (an I/O error other than a missing file) before giving up.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>The first retry's delay; later ones back off exponentially (with jitter).</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The table's strategy when the ingestion creates it (default: the data type's).</summary>
    public PartitionStrategy? Strategy { get; init; }

    public string? TimeColumn { get; init; }

    /// <summary>Add new nullable columns of the input to the table.</summary>
    public bool MergeSchema { get; init; }

    public IProgress<IngestionReport>? Progress { get; init; }

    /// <summary>Change data: merge each commit's rows into the table by key (upserts and deletes) instead of appending them.</summary>
    public Tables.Changes.MergeOptions? Merge { get; init; }
}

/// <summary>What a run did. Counts are of this run; <see cref="TxnVersion"/> is the source's position in the table's log.</summary>
public sealed record IngestionReport
{
    public required string Table { get; init; }
    public required string Source { get; init; }
    public required string AppId { get; init; }
    public long RecordsRead { get; init; }
    public long RecordsWritten { get; init; }
    public long RecordsDeadLettered { get; init; }
    /// <summary>Commits made to the table (each a group of source batches with its position).</summary>
    public int Batches { get; init; }
    public int Retries { get; init; }
    public TimeSpan Duration { get; init; }
    public double RecordsPerSecond => Duration.TotalSeconds > 0 ? RecordsRead / Duration.TotalSeconds : 0;
    /// <summary>The table version of the last commit of this run (null: nothing committed).</summary>
    public long? LastVersion { get; init; }
    /// <summary>The txn version of the source after this run (0: nothing ever committed).</summary>
    public long TxnVersion { get; init; }
    public IReadOnlyDictionary<string, long> SourceCounters { get; init; } = new Dictionary<string, long>();
}

/// <summary>The bad-record ratio went over <see cref="IngestionOptions.MaxBadRatio"/>; <see cref="Report"/> says what was committed.</summary>
public sealed class IngestionThresholdExceededException(string message, IngestionReport report) : DataLakeException(message)
{
    public IngestionReport Report { get; } = report;
}
