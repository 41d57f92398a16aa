using Ecap.DataLake.Storage;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Ingestion.Streams;
using Ecap.DataLake.Monitoring;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Kafka;

/// <summary>
/// Kafka sources of <see cref="DataLakeIngester"/>: a batch run (read what the topic holds past the table's
/// positions, up to a limit) and a stream (commit every trigger interval until stopped, with a heartbeat in the lake).
/// Both are exactly once through per-partition txn actions in the table's log (see <see cref="KafkaIngestionRun"/>).
/// </summary>
public static class KafkaIngestion
{
    /// <summary>The txn appId of a partition's position in a table: <c>ecap-&lt;group&gt;-&lt;topic&gt;-&lt;partition&gt;</c>.</summary>
    public static string AppId(string group, string topic, int partition) => $"ecap-{group}-{topic}-{partition}";

    /// <summary>
    /// Consumes up to <paramref name="maxBatches"/> x <paramref name="batchSize"/> records from where the table says this
    /// topic (and consumer group) was left, one commit per <paramref name="batchSize"/> records; stops earlier when every
    /// assigned partition is read to its end.
    /// </summary>
    public static Task<KafkaIngestionReport> IngestFromKafkaBatchAsync(this DataLakeIngester ingester, string topic, string tableName,
        DataType dataType, int batchSize, int maxBatches, KafkaIngestionOptions? options = null, CancellationToken ct = default)
    {
        if (batchSize < 1) throw new InvalidInputException("batchSize must be at least 1.");
        if (maxBatches < 1) throw new InvalidInputException("maxBatches must be at least 1.");
        options = (options ?? new KafkaIngestionOptions()) with { BatchSize = batchSize };
        options.Validate();
        var o = options;
        // One guarded, audited operation (write privilege on the table), checked before anything is read.
        return ingester.Storage.Guard.RunAsync(new Security.GuardedOperation("ingest-kafka", TableNames.ValidateWritable(tableName),
            Security.Privilege.Write, new Dictionary<string, string?>
            {
                ["topic"] = topic, ["consumer_group"] = o.GroupId, ["data_type"] = dataType.ToName(), ["batch_size"] = batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            }), async scope =>
        {
            var report = await Task.Factory.StartNew(() =>
            {
                using var run = new KafkaIngestionRun(ingester.Storage, topic, tableName, dataType, o);
                return run.Run((long)batchSize * maxBatches, stopAtEnd: true, trigger: null, onTrigger: null, ct);
            }, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            scope.Complete(report.RecordsWritten, version: report.LastVersion);
            return report;
        }, ct);
    }

    public static KafkaIngestionReport IngestFromKafkaBatch(this DataLakeIngester ingester, string topic, string tableName,
        DataType dataType, int batchSize, int maxBatches, KafkaIngestionOptions? options = null) =>
        ingester.IngestFromKafkaBatchAsync(topic, tableName, dataType, batchSize, maxBatches, options).GetAwaiter().GetResult();

    /// <summary>
    /// Runs a stream until <paramref name="ct"/> is cancelled or a stop request (<c>stream-stop</c>) arrives, then makes a
    /// last commit and returns. Commits every <paramref name="triggerInterval"/> (earlier when a batch is full) and writes
    /// the heartbeat <c>_ecap/streams/&lt;stream id&gt;.json</c> after each.
    /// </summary>
    public static Task<KafkaIngestionReport> IngestFromKafkaStreamingAsync(this DataLakeIngester ingester, string topic, string tableName,
        DataType dataType, TimeSpan triggerInterval, KafkaIngestionOptions? options = null, CancellationToken ct = default) =>
        ingester.IngestFromKafkaStreaming(topic, tableName, dataType, triggerInterval, options, ct).Completion;

    /// <summary>Starts a stream in the background and returns at once: its id, completion and a way to stop it.</summary>
    public static KafkaStream IngestFromKafkaStreaming(this DataLakeIngester ingester, string topic, string tableName,
        DataType dataType, TimeSpan triggerInterval, KafkaIngestionOptions? options = null, CancellationToken ct = default)
    {
        if (triggerInterval <= TimeSpan.Zero) throw new InvalidInputException("The trigger interval must be positive.");
        options ??= new KafkaIngestionOptions();
        options.Validate();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var run = new KafkaIngestionRun(ingester.Storage, topic, tableName, dataType, options);
        var statuses = new StreamStatusStore(ingester.Storage.Store);
        var startedAt = DateTimeOffset.UtcNow;
        long lastRecords = 0;
        var lastAt = DateTimeOffset.UtcNow;

        StreamHeartbeat Status(KafkaIngestionReport r, string state, bool stopRequested)
        {
            var now = DateTimeOffset.UtcNow;
            var rate = (now - lastAt).TotalSeconds > 0 ? (r.RecordsRead - lastRecords) / (now - lastAt).TotalSeconds : 0;
            lastRecords = r.RecordsRead;
            lastAt = now;
            return new StreamHeartbeat
            {
                StreamId = run.StreamId, Source = "kafka", Topic = topic, Table = tableName, ConsumerGroup = run.Group, State = state,
                TriggerIntervalSeconds = triggerInterval.TotalSeconds, StartedAt = startedAt, LastHeartbeat = now,
                RecordsTotal = r.RecordsRead, RecordsPerSecond = Math.Round(rate, 1), DeadLettersTotal = r.RecordsDeadLettered,
                Lag = r.Lag.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), kv => kv.Value),
                TotalLag = r.TotalLag, LastVersion = r.LastVersion, LastError = r.LastError, StopRequested = stopRequested,
            };
        }

        var completion = Task.Factory.StartNew(() =>
        {
            using var _ = run;
            using var __ = stop;
            statuses.ClearStopRequestAsync(run.StreamId).GetAwaiter().GetResult();
            statuses.WriteAsync(Status(run.Snapshot(StreamStatusStore.Running), StreamStatusStore.Running, false)).GetAwaiter().GetResult();
            var stopRequested = false;
            try
            {
                var report = run.Run(long.MaxValue, stopAtEnd: false, triggerInterval, r =>
                {
                    stopRequested = statuses.IsStopRequestedAsync(run.StreamId).GetAwaiter().GetResult();
                    statuses.WriteAsync(Status(r, stopRequested ? StreamStatusStore.Stopping : StreamStatusStore.Running, stopRequested)).GetAwaiter().GetResult();
                    return !stopRequested;
                }, stop.Token);
                statuses.WriteAsync(Status(report, StreamStatusStore.Stopped, stopRequested || stop.IsCancellationRequested)).GetAwaiter().GetResult();
                if (stopRequested) statuses.ClearStopRequestAsync(run.StreamId).GetAwaiter().GetResult();
                return report;
            }
            catch (Exception e)
            {
                try
                {
                    statuses.WriteAsync(Status(run.Snapshot(StreamStatusStore.Failed) with { LastError = e.Message }, StreamStatusStore.Failed, stopRequested))
                        .GetAwaiter().GetResult();
                }
                catch (Exception)
                {
                    // The lake itself may be what failed; the original error is what the caller needs.
                }
                throw;
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return new KafkaStream(run.StreamId, completion, stop);
    }
}

/// <summary>A running stream: its id (the heartbeat's name), its completion (the final report) and a way to stop it.</summary>
public sealed class KafkaStream : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop;

    internal KafkaStream(string streamId, Task<KafkaIngestionReport> completion, CancellationTokenSource stop)
    {
        StreamId = streamId;
        Completion = completion;
        _stop = stop;
    }

    public string StreamId { get; }

    /// <summary>The final report, after the last commit; faults with the error that stopped the stream.</summary>
    public Task<KafkaIngestionReport> Completion { get; }

    /// <summary>Asks the stream to stop: it commits what it has read and ends.</summary>
    public void Stop()
    {
        try { _stop.Cancel(); } catch (ObjectDisposedException) { }
    }

    public async ValueTask DisposeAsync()
    {
        Stop();
        try { await Completion; } catch (Exception) { }
    }
}
