using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Confluent.Kafka;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Ingestion.Streams;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.DataLake.Kafka;

/// <summary>
/// One run of a topic into a table (a batch run or a stream), exactly once without Kafka transactions:
/// <list type="bullet">
/// <item>each table commit carries one txn action per partition it covers (appId
/// <c>ecap-&lt;group&gt;-&lt;topic&gt;-&lt;partition&gt;</c>, version = next offset to read) and expects the table to
/// still hold the positions its records start at, so a partition taken over by another consumer is never written twice;</item>
/// <item>on every assignment the consumer starts each partition at the table's position (the beginning when none);</item>
/// <item>on revocation or a conflicting commit the pending records are dropped and re-read from the table's positions;</item>
/// <item>dead letters are committed to <c>&lt;table&gt;__dead_letters</c> before the data, with their own per-partition
/// txns, and only those past that table's positions, so a retried range never duplicates them;</item>
/// <item>Kafka's committed offsets follow the table commit, for lag tools only.</item>
/// </list>
/// The consuming loop runs on one thread; a commit is written in the background while the next records are consumed.
/// </summary>
internal sealed class KafkaIngestionRun : IDisposable
{
    private readonly DataLakeStorage _storage;
    private readonly string _topic;
    private readonly string _table;
    private readonly DataType _dataType;
    private readonly KafkaIngestionOptions _options;
    private readonly IConsumer<MessageSlice, MessageSlice> _consumer;
    private readonly ArenaDeserializers _bytes;
    private readonly ExactlyOnceCommit _commit;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private KafkaMessageConverter? _converter;

    // Per partition: where the table is (or will be once the commit in flight lands), and the next offset pending.
    private readonly Dictionary<int, long> _tablePositions = [];
    private readonly Dictionary<int, long> _handedOff = [];
    private readonly Dictionary<int, long> _pendingNext = [];
    private readonly HashSet<int> _assigned = [];
    private readonly HashSet<int> _atEnd = [];
    private bool _resyncKeptPartitions; // set by an incremental revocation, acted on outside the callback
    private Dictionary<int, long>? _endOffsets; // a batch run's end per partition (the high watermarks at its start)
    // Commits handed off, oldest first: each converts its messages at once and writes after the one before it landed.
    private readonly Queue<Task<CommitOutcome>> _inFlight = new();
    private const int MaxCommitsInFlight = 2;
    private KafkaIngestionReport _report;
    private long _recordsRead; // counted apart from the report: the per-message path allocates nothing of ours
    private long _lastReportedAt;

    public KafkaIngestionRun(DataLakeStorage storage, string topic, string table, DataType dataType, KafkaIngestionOptions options)
    {
        _storage = storage;
        _topic = topic;
        _table = table;
        _dataType = dataType;
        _options = options;
        Group = options.GroupId ?? "ecap-" + table;
        StreamId = options.StreamId ?? $"{table}-{Guid.NewGuid().ToString("N")[..6]}";
        _report = new KafkaIngestionReport { StreamId = StreamId, Topic = topic, Table = table, ConsumerGroup = Group };
        options.Validate();
        _commit = new ExactlyOnceCommit(storage, table, dataType, ExactlyOnceCommit.RetryPipeline(new IngestionOptions())) { Merge = MergeFor(options) };

        var config = new ConsumerConfig
        {
            BootstrapServers = options.BootstrapServers,
            GroupId = Group,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnablePartitionEof = true,
            // librdkafka waits this long before fetching again once its local queue is over its thresholds; at the
            // default 1000 ms a catch-up run drains the queue and then sits idle. Memory stays bounded by the same thresholds.
            FetchQueueBackoffMs = KafkaIngestionOptions.DefaultFetchQueueBackoffMs,
            // Headers and topic names are never used; timestamps only for the metadata columns. Each field left out is
            // native calls and allocations saved per message.
            ConsumeResultFields = options.IncludeMetadataColumns ? "timestamp" : "none",
        };
        foreach (var (k, v) in options.ConsumerProperties ?? new Dictionary<string, string>()) config.Set(k, v);
        // Debezium tombstones delete by their message key.
        _bytes = new ArenaDeserializers(keepKeys: options.IncludeMetadataColumns || options.Format == KafkaMessageFormat.Debezium);
        try
        {
            _consumer = new ConsumerBuilder<MessageSlice, MessageSlice>(config)
                .SetKeyDeserializer(_bytes.Keys)
                .SetValueDeserializer(_bytes.Values)
                .SetPartitionsAssignedHandler((_, partitions) => OnAssigned(partitions))
                .SetPartitionsRevokedHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
                .SetPartitionsLostHandler((_, partitions) => OnRevoked(partitions.Select(p => p.TopicPartition)))
                .Build();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KafkaException)
        {
            // librdkafka refuses an unknown or malformed consumer property (--consumer-property) when the consumer is built.
            throw new InvalidInputException($"The Kafka consumer configuration is not valid: {e.Message}");
        }
    }

    public string Group { get; }

    public string StreamId { get; }

    private static string AppId(string group, string topic, int partition) => KafkaIngestion.AppId(group, topic, partition);

    /// <summary>
    /// Change data: each commit merges by the keys, later messages of a key winning (messages are in offset order per
    /// partition, and a key's messages are in one partition); Debezium rows with op d delete their key, and the op is never written.
    /// </summary>
    internal static Tables.Changes.MergeOptions? MergeFor(KafkaIngestionOptions options) => options.MergeOn is not { Count: > 0 } keys ? null : new()
    {
        On = keys,
        LastDuplicateWins = true,
        DeleteWhen = options.Format == KafkaMessageFormat.Debezium
            ? new Expressions.Comparison(DebeziumEvents.OperationColumn, Expressions.ComparisonOp.Equal, "d") : null,
        SourceOnlyColumns = options.Format == KafkaMessageFormat.Debezium ? [DebeziumEvents.OperationColumn] : [],
    };

    /// <summary>
    /// Consumes until <paramref name="maxRecords"/> are read or (batch) every partition is at its end, or (stream) the
    /// token is cancelled or <paramref name="onTrigger"/> returns false; commits what is pending, then returns.
    /// A stream commits every <paramref name="trigger"/> and calls <paramref name="onTrigger"/> after each.
    /// </summary>
    public KafkaIngestionReport Run(long maxRecords, bool stopAtEnd, TimeSpan? trigger, Func<KafkaIngestionReport, bool>? onTrigger, CancellationToken ct)
    {
        // A batch run takes every partition itself (no group rebalance to wait for); a stream joins the group so
        // several streams split the partitions. Either way the table's positions decide where reading starts.
        if (stopAtEnd)
        {
            var partitions = TopicPartitions();
            _endOffsets = EndOffsets(partitions);
            _consumer.Assign(OnAssigned(partitions));
        }
        else _consumer.Subscribe(_topic);
        var lastTrigger = _clock.Elapsed;
        try
        {
            while (!ct.IsCancellationRequested && _recordsRead < maxRecords)
            {
                CollectFinishedCommit(wait: false);
                if (trigger is { } t && _clock.Elapsed - lastTrigger >= t)
                {
                    lastTrigger = _clock.Elapsed;
                    Flush();
                    if (onTrigger != null && !onTrigger(Snapshot("running"))) break;
                }
                ConsumeResult<MessageSlice, MessageSlice>? r;
                try
                {
                    r = _consumer.Consume(TimeSpan.FromMilliseconds(100));
                }
                catch (ConsumeException e) when (!e.Error.IsFatal)
                {
                    // librdkafka recovers from broker errors by itself; the error is shown in the status meanwhile.
                    _report = _report with { LastError = e.Error.Reason };
                    continue;
                }
                if (_resyncKeptPartitions)
                {
                    // An incremental revocation dropped what was pending of the partitions kept too: read them again
                    // from the table's positions (this message included), now that seeking is allowed.
                    _resyncKeptPartitions = false;
                    Resync();
                    continue;
                }
                ReportProgressEverySecond();
                if (r == null)
                {
                    if (stopAtEnd && _assigned.All(_atEnd.Contains)) break;
                    continue;
                }
                var p = r.Partition.Value;
                if (r.IsPartitionEOF)
                {
                    _atEnd.Add(p);
                    // Done as soon as the last partition reports its end, not one idle poll later.
                    if (stopAtEnd && _assigned.All(_atEnd.Contains)) break;
                    continue;
                }
                if (!_assigned.Contains(p)) continue;
                _converter!.Add(r);
                _pendingNext[p] = r.Offset.Value + 1;
                _recordsRead++;
                if (_converter.Count >= _options.BatchSize) Flush();
                if (!ReachedEnd(p, r.Offset.Value + 1)) _atEnd.Remove(p);
                else if (_assigned.All(_atEnd.Contains)) break;
            }
            Flush();
            CollectFinishedCommit(wait: true);
            return Snapshot("stopped");
        }
        finally
        {
            // Leaving the group (revocation waits for nothing now) lets another member take the partitions at once.
            try { _consumer.Close(); } catch (KafkaException) { }
        }
    }

    /// <summary>
    /// A batch run reads what the topic held when it started (as Spark's batch reads resolve "latest" at the start):
    /// each partition's high watermark then. Knowing the end saves waiting for librdkafka's end-of-partition event,
    /// which comes one fetch round trip after the last message. Empty when the cluster does not answer (the events decide then).
    /// </summary>
    private Dictionary<int, long> EndOffsets(List<TopicPartition> partitions)
    {
        var ends = new Dictionary<int, long>();
        try
        {
            foreach (var tp in partitions)
                if (_consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value is var high and >= 0) ends[tp.Partition.Value] = high;
        }
        catch (KafkaException)
        {
            ends.Clear();
        }
        return ends;
    }

    /// <summary>Whether a batch run has read partition <paramref name="partition"/> up to its end offset (marks it so).</summary>
    private bool ReachedEnd(int partition, long next)
    {
        if (_endOffsets == null || !_endOffsets.TryGetValue(partition, out var end) || next < end) return false;
        _atEnd.Add(partition);
        return true;
    }

    /// <summary>The topic's partitions, from the cluster's metadata.</summary>
    private List<TopicPartition> TopicPartitions()
    {
        using var admin = new DependentAdminClientBuilder(_consumer.Handle).Build();
        var deadline = _clock.Elapsed + _options.AssignmentTimeout;
        while (true)
        {
            var topic = admin.GetMetadata(_topic, TimeSpan.FromSeconds(10)).Topics.FirstOrDefault(t => t.Topic == _topic);
            if (topic is { Error.IsError: false, Partitions.Count: > 0 })
                return topic.Partitions.Select(p => new TopicPartition(_topic, p.PartitionId)).OrderBy(tp => tp.Partition.Value).ToList();
            // A topic that does not exist is a typo more often than a topic about to be created: say so soon.
            var unknown = topic?.Error.Code == ErrorCode.UnknownTopicOrPart && _clock.Elapsed > deadline - _options.AssignmentTimeout + TimeSpan.FromSeconds(5);
            if (_clock.Elapsed > deadline || unknown)
                throw new InvalidInputException(
                    $"Topic '{_topic}' was not found at {_options.BootstrapServers} within {_options.AssignmentTimeout.TotalSeconds:F0}s ({topic?.Error.Reason ?? "no metadata"}).");
            Thread.Sleep(500);
        }
    }

    public KafkaIngestionReport Snapshot(string state)
    {
        var lag = new Dictionary<int, long>();
        foreach (var p in _assigned)
        {
            var high = _consumer.GetWatermarkOffsets(new TopicPartition(_topic, p)).High;
            if (high.Value >= 0) lag[p] = Math.Max(0, high.Value - (_tablePositions.TryGetValue(p, out var pos) ? pos : 0));
        }
        return _report with { State = state, RecordsRead = _recordsRead, Duration = _clock.Elapsed, Positions = new Dictionary<int, long>(_tablePositions), Lag = lag };
    }

    private void ReportProgressEverySecond()
    {
        if (_options.Progress == null || _clock.ElapsedMilliseconds - _lastReportedAt < 1000) return;
        _lastReportedAt = _clock.ElapsedMilliseconds;
        _options.Progress.Report(Snapshot("running"));
    }

    private List<TopicPartitionOffset> OnAssigned(List<TopicPartition> partitions)
    {
        var snapshot = ReadSnapshot(_table);
        var canonical = CanonicalSchemas.For(_dataType);
        _converter ??= new KafkaMessageConverter(_options.Schema ?? (snapshot != null ? DataSchema(snapshot) : _options.InferSchema ? null : canonical),
            canonical, _topic, _options.IncludeMetadataColumns, _bytes, _options.Format, _options.MergeOn);
        var result = new List<TopicPartitionOffset>();
        foreach (var tp in partitions)
        {
            var position = snapshot?.GetTxnVersion(AppId(Group, _topic, tp.Partition.Value));
            _assigned.Add(tp.Partition.Value);
            _atEnd.Remove(tp.Partition.Value);
            _tablePositions[tp.Partition.Value] = position ?? 0;
            _handedOff[tp.Partition.Value] = position ?? 0;
            ReachedEnd(tp.Partition.Value, position ?? 0);
            result.Add(new TopicPartitionOffset(tp, position is { } v ? new Offset(v) : Offset.Beginning));
        }
        return result;
    }

    private void OnRevoked(IEnumerable<TopicPartition> partitions)
    {
        // What is pending of a revoked partition is another member's to read now, from the table's position.
        CollectFinishedCommit(wait: true, inRebalance: true);
        _converter?.Discard();
        _pendingNext.Clear();
        foreach (var tp in partitions)
        {
            _assigned.Remove(tp.Partition.Value);
            _atEnd.Remove(tp.Partition.Value);
        }
        // Eager rebalancing revokes everything and assigns anew from the table. Cooperative rebalancing revokes some
        // partitions only: the others keep fetching past the records just dropped, so they must be read again.
        if (_assigned.Count > 0) _resyncKeptPartitions = true;
    }

    /// <summary>
    /// Hands the pending records to a background commit and goes on consuming; it waits only when
    /// <see cref="MaxCommitsInFlight"/> commits are already on their way (memory stays bounded).
    /// </summary>
    private void Flush()
    {
        CollectFinishedCommit(wait: false);
        while (_inFlight.Count >= MaxCommitsInFlight) CollectOne();
        if (_pendingNext.Count == 0 || _converter == null) return;
        var messages = _converter.Take();
        var txns = new Dictionary<string, long>();
        var expected = new Dictionary<string, long>();
        foreach (var (p, next) in _pendingNext)
        {
            txns[AppId(Group, _topic, p)] = next;
            expected[AppId(Group, _topic, p)] = _handedOff[p];
            _handedOff[p] = next;
        }
        var positions = new Dictionary<int, long>(_pendingNext);
        _pendingNext.Clear();
        var previous = _inFlight.Count > 0 ? _inFlight.Last() : null;
        _inFlight.Enqueue(Task.Run(async () =>
        {
            var (rows, dead) = await messages.ConvertAsync();
            if (previous != null)
            {
                // Commits land in order: this one starts where the previous one ends.
                try { await previous; }
                catch (Exception e) { throw new ConcurrentModificationException("The commit before this one failed: " + e.Message); }
            }
            return await CommitAsync(rows, dead, txns, expected, positions);
        }));
    }

    /// <summary>
    /// Takes the results of finished commits (all of them when <paramref name="wait"/>): counts, Kafka offsets, or (on a
    /// conflict) a restart from the table's positions. Inside a rebalance callback neither Kafka offsets nor seeks are
    /// possible; the next assignment starts from the table anyway.
    /// </summary>
    private void CollectFinishedCommit(bool wait, bool inRebalance = false)
    {
        while (_inFlight.Count > 0 && (wait || _inFlight.Peek().IsCompleted)) CollectOne(inRebalance);
    }

    private void CollectOne(bool inRebalance = false)
    {
        var task = _inFlight.Dequeue();
        CommitOutcome outcome;
        try
        {
            outcome = task.GetAwaiter().GetResult();
        }
        catch (ConcurrentModificationException e)
        {
            // Another member moved one of our partitions on: everything pending builds on a stale position.
            _report = _report with { Conflicts = _report.Conflicts + 1, LastError = e.Message };
            if (!inRebalance) Resync();
            return;
        }
        foreach (var (p, next) in outcome.Positions) _tablePositions[p] = next;
        _report = _report with
        {
            RecordsWritten = _report.RecordsWritten + outcome.RowsWritten,
            RecordsDeadLettered = _report.RecordsDeadLettered + outcome.DeadLettered,
            Commits = _report.Commits + 1,
            LastVersion = outcome.Version,
        };
        if (inRebalance) return;
        try
        {
            _consumer.Commit(outcome.Positions.Where(kv => _assigned.Contains(kv.Key))
                .Select(kv => new TopicPartitionOffset(_topic, kv.Key, kv.Value)));
        }
        catch (KafkaException)
        {
            // Kafka's offsets are a convenience for lag tools; the table holds the truth.
        }
        _options.Progress?.Report(Snapshot("running"));
    }

    /// <summary>Drops pending records and restarts every assigned partition at the table's position.</summary>
    private void Resync()
    {
        CollectFinishedCommit(wait: true);
        _converter?.Discard();
        _pendingNext.Clear();
        _atEnd.Clear(); // the partitions are read again from the table's positions: their ends are ahead again
        var snapshot = ReadSnapshot(_table);
        foreach (var p in _assigned)
        {
            var position = snapshot?.GetTxnVersion(AppId(Group, _topic, p)) ?? 0;
            _tablePositions[p] = _handedOff[p] = position;
            ReachedEnd(p, position);
            _consumer.Seek(new TopicPartitionOffset(_topic, p, position == 0 ? Offset.Beginning : new Offset(position)));
        }
    }

    /// <summary>Each commit is one guarded, audited operation (write privilege on the table); inside a batch run's own call it is audited as that call.</summary>
    private Task<CommitOutcome> CommitAsync(IReadOnlyList<RecordBatch> rows, IReadOnlyList<KafkaDeadLetter> dead,
        Dictionary<string, long> txns, Dictionary<string, long> expected, Dictionary<int, long> positions) =>
        _storage.Guard.RunAsync(new Security.GuardedOperation("ingest-kafka", _table, Security.Privilege.Write, new Dictionary<string, string?>
        {
            ["topic"] = _topic, ["consumer_group"] = Group, ["stream_id"] = StreamId,
        }), async scope =>
        {
            var outcome = await CommitCoreAsync(rows, dead, txns, expected, positions);
            scope.Complete(outcome.RowsWritten, version: outcome.Version);
            return outcome;
        });

    private async Task<CommitOutcome> CommitCoreAsync(IReadOnlyList<RecordBatch> rows, IReadOnlyList<KafkaDeadLetter> dead,
        Dictionary<string, long> txns, Dictionary<string, long> expected, Dictionary<int, long> positions)
    {
        var options = new WriteOptions
        {
            Strategy = _options.Strategy,
            TimeColumn = _options.TimeColumn,
            SourceName = "kafka://" + _topic,
            Transactions = txns,
            ExpectedTransactions = expected,
            CommitParameters = new Dictionary<string, string>
            {
                [ExactlyOnceCommit.AppParameter] = $"ecap-{Group}-{_topic}",
                ["ecap.kafka.offsets"] = JsonSerializer.Serialize(positions.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value)),
            },
        };
        // A dead letter is in the dead-letter table once its partition's position there is past its offset.
        var letters = dead.Select(d => new PositionedDeadLetter(d.Letter, AppId(Group, _topic, d.Partition), d.Offset + 1)).ToList();
        var (result, deadLettered) = await _commit.CommitAsync(rows, letters, options);
        return new CommitOutcome(result?.Version ?? ReadSnapshot(_table)?.Version, result?.RowsWritten ?? rows.Sum(r => (long)r.Length), deadLettered, positions);
    }

    private Delta.Snapshot? ReadSnapshot(string table)
    {
        var t = _storage.OpenTable(table);
        return t.ExistsAsync().GetAwaiter().GetResult() ? t.GetSnapshotAsync().GetAwaiter().GetResult() : null;
    }

    /// <summary>The columns messages fill: the table's, without the ones the write derives (year/month/day) or this ingester adds (_kafka_*).</summary>
    private static Schema DataSchema(Delta.Snapshot table)
    {
        var layout = TableLayout.FromMetadata(table.Metadata);
        var derived = layout.DerivedColumns.Select(d => d.Name).Concat(layout.TruncateColumns.Select(t => t.Name)).ToHashSet(StringComparer.Ordinal);
        var builder = new Schema.Builder();
        foreach (var f in table.Schema.FieldsList.Where(f => !f.Name.StartsWith("_kafka_", StringComparison.Ordinal) && !derived.Contains(f.Name)
                     && f.Name is not "_ingested_at" and not "_source"))
            builder.Field(f);
        return builder.Build();
    }

    public void Dispose() => _consumer.Dispose();

    private sealed record CommitOutcome(long? Version, long RowsWritten, int DeadLettered, Dictionary<int, long> Positions);
}
