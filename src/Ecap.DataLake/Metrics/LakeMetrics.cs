using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Ecap.DataLake.Metrics;

/// <summary>
/// The lake's one meter, <c>Ecap.DataLake</c>: what writes, reads, commits and queries did. Any
/// <see cref="MeterListener"/> (or an OpenTelemetry MeterProvider adding this meter) observes it; with no
/// listener the instruments cost next to nothing. Every measurement carries <c>ecap.table</c>, the table's location.
/// </summary>
public static class LakeMetrics
{
    public const string MeterName = "Ecap.DataLake";
    public const string TableTag = "ecap.table";
    public const string OperationTag = "ecap.operation";

    private static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> RowsWritten = Meter.CreateCounter<long>("ecap.datalake.rows.written", "{row}", "Rows written to data files by committed writes");
    public static readonly Counter<long> BytesWritten = Meter.CreateCounter<long>("ecap.datalake.bytes.written", "By", "Bytes of data files written by committed writes");
    public static readonly Counter<long> RowsRead = Meter.CreateCounter<long>("ecap.datalake.rows.read", "{row}", "Rows returned by table reads");
    public static readonly Counter<long> BytesRead = Meter.CreateCounter<long>("ecap.datalake.bytes.read", "By", "Bytes of data files scanned by table reads");
    public static readonly Counter<long> FilesAdded = Meter.CreateCounter<long>("ecap.datalake.files.added", "{file}", "Data files added by commits");
    public static readonly Counter<long> FilesRemoved = Meter.CreateCounter<long>("ecap.datalake.files.removed", "{file}", "Data files removed (logically) by commits");
    public static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>("ecap.datalake.commit.duration", "s", "Time to commit a transaction, retries included");
    public static readonly Counter<long> CommitConflicts = Meter.CreateCounter<long>("ecap.datalake.commit.conflicts", "{commit}", "Commits abandoned because a concurrent commit conflicted");
    public static readonly Counter<long> CommitRetries = Meter.CreateCounter<long>("ecap.datalake.commit.retries", "{attempt}", "Extra commit attempts after losing a race without conflict");
    public static readonly Counter<long> FilesPruned = Meter.CreateCounter<long>("ecap.datalake.files.pruned", "{file}", "Files skipped by partition, bucket or stats pruning (reads and queries)");
    public static readonly Counter<long> FilesScanned = Meter.CreateCounter<long>("ecap.datalake.files.scanned", "{file}", "Files a read or query opened");
    public static readonly Histogram<double> QueryDuration = Meter.CreateHistogram<double>("ecap.datalake.query.duration", "s", "SQL query time, planning to last row");
    public static readonly Counter<long> ConstraintRowsChecked = Meter.CreateCounter<long>("ecap.datalake.quality.rows.checked", "{row}", "Rows checked against a table constraint (tag ecap.constraint)");
    public static readonly Counter<long> ConstraintRowsFailed = Meter.CreateCounter<long>("ecap.datalake.quality.rows.failed", "{row}", "Rows that violated a table constraint (tag ecap.constraint)");
    public static readonly Counter<long> QueryBytesScanned = Meter.CreateCounter<long>("ecap.datalake.query.bytes.scanned", "By", "Bytes of the data files SQL queries opened");

    public static readonly Histogram<double> CheckpointDuration = Meter.CreateHistogram<double>("ecap.datalake.checkpoint.duration", "s", "Time to write a checkpoint and _last_checkpoint");
    public static readonly Counter<long> SnapshotCacheHits = Meter.CreateCounter<long>("ecap.datalake.snapshot.cache.hits", "{snapshot}", "Snapshots served from the snapshot cache without replaying the log");
    public static readonly Counter<long> SnapshotCacheMisses = Meter.CreateCounter<long>("ecap.datalake.snapshot.cache.misses", "{snapshot}", "Snapshots the cache did not hold, loaded from the log");
    public static readonly Counter<long> IngestionRecords = Meter.CreateCounter<long>("ecap.datalake.ingestion.records", "{record}", "Source records an ingestion committed (good and dead-lettered); its rate is records/s");
    public static readonly Histogram<double> IngestionThroughput = Meter.CreateHistogram<double>("ecap.datalake.ingestion.throughput", "{record}/s", "Records per second of each ingestion run (or stream trigger)");
    public static readonly Counter<long> DeadLetters = Meter.CreateCounter<long>("ecap.datalake.ingestion.dead_letters", "{record}", "Records sent to a dead-letter table");
    public static readonly Counter<long> IngestionRetries = Meter.CreateCounter<long>("ecap.datalake.ingestion.retries", "{attempt}", "Ingestion steps retried after a transient failure (I/O, reconnects)");
    public static readonly Gauge<long> ConsumerLag = Meter.CreateGauge<long>("ecap.datalake.ingestion.consumer_lag", "{message}", "Messages a stream's consumer is behind the end of its source partition");
    public static readonly Counter<long> CompactionBytesRewritten = Meter.CreateCounter<long>("ecap.datalake.compaction.bytes.rewritten", "By", "Bytes of data files compaction read and wrote again");
    public static readonly Counter<long> AutoCompactions = Meter.CreateCounter<long>("ecap.datalake.compaction.auto", "{run}", "Auto-compactions after commits, by outcome (tag ecap.outcome: compacted, lost, busy, timeout, failed, cancelled)");

    public static readonly Counter<long> LineageEvents = Meter.CreateCounter<long>("ecap.datalake.lineage.events", "{event}", "OpenLineage events by outcome (tag ecap.outcome: sent, failed, timeout, dropped); failures never fail the operation");

    internal const string LineageSent = "sent";
    internal const string LineageFailed = "failed";
    internal const string LineageTimedOut = "timeout";
    internal const string LineageDropped = "dropped";

    public const string PartitionTag = "ecap.source.partition";

    private static TagList Table(string table) => new() { { TableTag, table } };

    /// <summary>A committed write: its rows and bytes.</summary>
    public static void RecordWrite(string table, long rows, long bytes)
    {
        var tags = Table(table);
        RowsWritten.Add(rows, tags);
        BytesWritten.Add(bytes, tags);
    }

    /// <summary>A successful commit after <paramref name="attempts"/> tries.</summary>
    public static void RecordCommit(string table, string operation, TimeSpan elapsed, int attempts, int filesAdded, int filesRemoved)
    {
        var tags = Table(table);
        FilesAdded.Add(filesAdded, tags);
        FilesRemoved.Add(filesRemoved, tags);
        if (attempts > 1) CommitRetries.Add(attempts - 1, tags);
        tags.Add(OperationTag, operation);
        CommitDuration.Record(elapsed.TotalSeconds, tags);
    }

    /// <summary>A read's plan: how many files pruning skipped.</summary>
    public static void RecordPruning(string table, int filesPruned)
    {
        if (filesPruned > 0) FilesPruned.Add(filesPruned, Table(table));
    }

    /// <summary>One file of a read, done: the rows it returned and the bytes it scanned.</summary>
    public static void RecordFileRead(string table, long rows, long bytes)
    {
        var tags = Table(table);
        FilesScanned.Add(1, tags);
        RowsRead.Add(rows, tags);
        BytesRead.Add(bytes, tags);
    }

    /// <summary>A finished SQL query over the lake.</summary>
    public static void RecordConstraintCheck(string table, string constraint, long rows, long failed)
    {
        var tags = new TagList { { TableTag, table }, { "ecap.constraint", constraint } };
        ConstraintRowsChecked.Add(rows, tags);
        if (failed > 0) ConstraintRowsFailed.Add(failed, tags);
    }

    public static void RecordQuery(string tables, TimeSpan elapsed, int filesScanned, int filesPruned, long bytesScanned)
    {
        var tags = Table(tables);
        QueryDuration.Record(elapsed.TotalSeconds, tags);
        if (filesScanned > 0) FilesScanned.Add(filesScanned, tags);
        if (filesPruned > 0) FilesPruned.Add(filesPruned, tags);
        QueryBytesScanned.Add(bytesScanned, tags);
    }

    /// <summary>A checkpoint written.</summary>
    public static void RecordCheckpoint(string table, TimeSpan elapsed) => CheckpointDuration.Record(elapsed.TotalSeconds, Table(table));

    /// <summary>A snapshot asked of the snapshot cache: found or not.</summary>
    public static void RecordSnapshotCache(string table, bool hit) => (hit ? SnapshotCacheHits : SnapshotCacheMisses).Add(1, Table(table));

    /// <summary>An ingestion commit: the source records it covered and how many of them were dead-lettered.</summary>
    public static void RecordIngestedBatch(string table, long records, long deadLetters)
    {
        var tags = Table(table);
        IngestionRecords.Add(records, tags);
        if (deadLetters > 0) DeadLetters.Add(deadLetters, tags);
    }

    /// <summary>The end of an ingestion run (or a stream trigger): its rate in records per second.</summary>
    public static void RecordIngestionRun(string table, long records, TimeSpan elapsed)
    {
        if (elapsed > TimeSpan.Zero) IngestionThroughput.Record(records / elapsed.TotalSeconds, Table(table));
    }

    /// <summary>One retried ingestion step.</summary>
    public static void RecordIngestionRetry(string table) => IngestionRetries.Add(1, Table(table));

    /// <summary>A stream's lag on one source partition (Kafka: end offset minus next offset to read).</summary>
    public static void RecordConsumerLag(string table, string partition, long lag)
    {
        var tags = Table(table);
        tags.Add(PartitionTag, partition);
        ConsumerLag.Record(lag, tags);
    }

    /// <summary>A compaction's rewritten bytes.</summary>
    public static void RecordCompaction(string table, long bytesRewritten) => CompactionBytesRewritten.Add(bytesRewritten, Table(table));

    /// <summary>An auto-compaction attempt and how it ended.</summary>
    public static void RecordAutoCompaction(string table, string outcome) => AutoCompactions.Add(1, new TagList { { TableTag, table }, { "ecap.outcome", outcome } });

    /// <summary>OpenLineage events sent, failed, timed out or dropped (queue full, or still queued when the lake was disposed).</summary>
    public static void RecordLineageEvent(string outcome, long count = 1) => LineageEvents.Add(count, new TagList { { "ecap.outcome", outcome } });
}
