using System.Collections.Concurrent;
using System.Threading.Channels;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Metrics;
using Ecap.DataLake.Security;
using Microsoft.Extensions.Logging;

namespace Ecap.DataLake.Lineage;

/// <summary>
/// Turns the lake's operations into OpenLineage runs: START when a guarded operation begins (<see cref="IOperationObserver"/>),
/// COMPLETE or FAIL when it ends, with the tables its commits wrote as outputs (each commit seen by the post-commit seam,
/// <see cref="IPostCommitHook"/>, and matched to its operation by the audit id every commit carries). The run id is the audit
/// id, so a run and its audit record name each other.
/// Events are queued and sent by one background task, each send bounded by <see cref="OpenLineageOptions.Timeout"/>: an
/// operation never waits for the backend, and a failed or dropped event is a warning and a metric, never a failed operation.
/// <see cref="DisposeAsync"/> waits (at most <see cref="OpenLineageOptions.FlushTimeout"/>) for the queue to drain.
/// </summary>
internal sealed class OpenLineageEmitter : IOperationObserver, IPostCommitHook, IAsyncDisposable
{
    private readonly OpenLineageOptions _options;
    private readonly string _lakeNamespace;
    private readonly ILogger? _logger;
    private readonly IReadOnlyList<ILineageTransport> _transports;
    private readonly ConcurrentDictionary<string, Run> _runs = new(StringComparer.Ordinal);
    private readonly Channel<byte[]> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _pump;
    private int _failing; // 1 while sends fail: one warning per outage, not one per event
    private long _dropped;
    private int _disposed;

    public OpenLineageEmitter(OpenLineageOptions options, string lakeLocation, ILogger? logger, IReadOnlyList<ILineageTransport>? transports = null)
    {
        _options = options;
        _lakeNamespace = DatasetNames.LakeNamespace(lakeLocation);
        _logger = logger;
        _transports = transports ?? Transports(options);
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(Math.Max(1, options.QueueCapacity))
        {
            SingleReader = true, FullMode = BoundedChannelFullMode.Wait, // Wait: TryWrite says no instead of dropping silently
        });
        _pump = Task.Run(PumpAsync);
    }

    private static List<ILineageTransport> Transports(OpenLineageOptions options)
    {
        var result = new List<ILineageTransport>();
        if (options.Url is { } url) result.Add(new HttpLineageTransport(url, options.Endpoint, options.ApiKey));
        if (options.FilePath is { } path) result.Add(new FileLineageTransport(path));
        return result;
    }

    // ------------------------------------------------------------------ the run of one operation

    private sealed class Run(OperationStart start, Guid runId, string jobName, IReadOnlyList<LineageDataset> inputs)
    {
        public OperationStart Start { get; } = start;
        public Guid RunId { get; } = runId;
        public string JobName { get; } = jobName;
        public IReadOnlyList<LineageDataset> Inputs { get; } = inputs;
        public Dictionary<string, TableOutput> Outputs { get; } = new(StringComparer.Ordinal); // lock on Outputs
    }

    // What the run's commits wrote to one table: data changes, and rewrites (compaction) counted apart, so the rows a write's
    // auto-compaction rewrites are not counted twice, while a compaction run still reports what it rewrote.
    private sealed class TableOutput
    {
        public IReadOnlyList<(string Name, string Type)>? Fields;
        public long DataRows, DataBytes, RewriteRows, RewriteBytes;
        public bool DataChanged;
    }

    public void OperationStarted(OperationStart operation)
    {
        if (!_options.Operations.Contains(operation.Operation)) return;
        var runId = Guid.TryParseExact(operation.AuditId, "N", out var id) ? id : Guid.NewGuid();
        var run = new Run(operation, runId, JobName(operation.Operation, operation.Table, operation.Parameters), Inputs(operation.Parameters));
        _runs[operation.AuditId] = run;
        Enqueue(RunEventJson.Write("START", operation.Time, _options.JobNamespace, run.JobName, runId, run.Inputs,
            TargetOutputs(operation.Operation, operation.Table, operation.Parameters), null));
    }

    public Task AfterCommitAsync(CommittedVersion commit, CancellationToken ct)
    {
        if (CommitAttribution.Current is not { } attribution || !_runs.TryGetValue(attribution.AuditId, out var run)) return Task.CompletedTask;
        var table = commit.Table.Name;
        if (table is null) return Task.CompletedTask;
        lock (run.Outputs)
        {
            if (!run.Outputs.TryGetValue(table, out var output)) run.Outputs[table] = output = new TableOutput();
            output.Fields = DatasetNames.Fields(commit.Metadata.SchemaString) ?? output.Fields;
            // A file removed and added again with a deletion vector (DELETE, UPDATE, MERGE) holds no new row: not written.
            var removed = commit.Removes.Select(r => r.Path).ToHashSet(StringComparer.Ordinal);
            foreach (var add in commit.Adds)
            {
                if (add.DeletionVector is not null && removed.Contains(add.Path)) continue;
                var rows = StatsRecordCount.Parse(add.Stats, out _) ?? 0;
                if (add.DataChange) { output.DataChanged = true; output.DataRows += rows; output.DataBytes += add.Size; }
                else { output.RewriteRows += rows; output.RewriteBytes += add.Size; }
            }
        }
        return Task.CompletedTask;
    }

    public void OperationEnded(AuditRecord record)
    {
        if (record.AuditId is null || !_runs.TryRemove(record.AuditId, out var run)) return;
        var failed = record.Outcome != AuditOutcome.Succeeded;
        var outputs = new List<LineageDataset>();
        lock (run.Outputs)
        {
            foreach (var (table, o) in run.Outputs)
                outputs.Add(DatasetNames.Table(_lakeNamespace, table) with
                {
                    Fields = o.Fields,
                    RowCount = o.DataChanged ? o.DataRows : o.RewriteRows,
                    Size = o.DataChanged ? o.DataBytes : o.RewriteBytes,
                });
        }
        foreach (var target in TargetOutputs(record.Operation, record.Table, record.Parameters))
        {
            if (outputs.Any(o => o.Namespace == target.Namespace && o.Name == target.Name)) continue;
            // A SQL export's file: the rows DuckDB wrote, its size on disk.
            outputs.Add(record.Operation == "query-export" && !failed
                ? target with { RowCount = record.Rows, Size = File.Exists(target.Name) ? new FileInfo(target.Name).Length : null }
                : target);
        }
        var inputs = run.Inputs;
        if (record.Operation == "query-export" && record.Table is { } read)
            inputs = [.. inputs, .. read.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(t => DatasetNames.Table(_lakeNamespace, t))];
        Enqueue(RunEventJson.Write(failed ? "FAIL" : "COMPLETE", record.Time, _options.JobNamespace, run.JobName, run.RunId, inputs, outputs,
            failed ? record.Error ?? record.Outcome : null));
    }

    // A job is what runs again and again: the operation on its table (write.transactions), a SQL export by its file.
    private static string JobName(string operation, string? table, IReadOnlyDictionary<string, string?> parameters) =>
        operation == "query-export" && parameters.GetValueOrDefault("out") is { } file ? $"{operation}.{Path.GetFileName(file)}"
        : table is null ? operation : $"{operation}.{table}";

    // What the operation reads from outside the lake: the file, database or topic it ingests, the file a write or MERGE takes rows from.
    private static IReadOnlyList<LineageDataset> Inputs(IReadOnlyDictionary<string, string?> parameters)
    {
        if (parameters.GetValueOrDefault("source") is { Length: > 0 } source) return [DatasetNames.External(source)];
        if (parameters.GetValueOrDefault("topic") is { Length: > 0 } topic) return [new LineageDataset("kafka", topic)];
        return [];
    }

    // What the operation writes, known before it runs: its table (a lake-level run such as optimize-all names its tables as it commits), or the export's file.
    private IReadOnlyList<LineageDataset> TargetOutputs(string operation, string? table, IReadOnlyDictionary<string, string?> parameters)
    {
        if (operation == "query-export")
            return parameters.GetValueOrDefault("out") is { Length: > 0 } file ? [DatasetNames.External(file)] : [];
        return table is null ? [] : [DatasetNames.Table(_lakeNamespace, table)];
    }

    // ------------------------------------------------------------------ sending

    private void Enqueue(byte[] json)
    {
        if (_queue.Writer.TryWrite(json)) return;
        LakeMetrics.RecordLineageEvent(LakeMetrics.LineageDropped);
        if (Interlocked.Increment(ref _dropped) == 1)
            Warn($"OpenLineage events are being dropped: {_options.QueueCapacity} are waiting for {Target}", null);
    }

    private string Target => string.Join(" and ", new[] { _options.Url is { } u ? HttpLineageTransport.TargetOf(u, _options.Endpoint).ToString() : null, _options.FilePath }.OfType<string>());

    private async Task PumpAsync()
    {
        try
        {
            await foreach (var json in _queue.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
                foreach (var transport in _transports)
                    await SendAsync(transport, json).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
    }

    private async Task SendAsync(ILineageTransport transport, byte[] json)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            await transport.SendAsync(json, timeout.Token).ConfigureAwait(false);
            LakeMetrics.RecordLineageEvent(LakeMetrics.LineageSent);
            Interlocked.Exchange(ref _failing, 0);
        }
        catch (Exception e) when (!_stop.IsCancellationRequested)
        {
            var timedOut = e is OperationCanceledException;
            LakeMetrics.RecordLineageEvent(timedOut ? LakeMetrics.LineageTimedOut : LakeMetrics.LineageFailed);
            if (Interlocked.Exchange(ref _failing, 1) == 0)
                Warn(timedOut
                    ? $"an OpenLineage event could not be sent to {Target} within {_options.Timeout.TotalSeconds:0.#} s; the operation itself is not affected"
                    : $"an OpenLineage event could not be sent to {Target} ({e.Message}); the operation itself is not affected", e);
        }
    }

    private void Warn(string message, Exception? error)
    {
        if (_options.OnSendFailure is { } report) report(message, error);
        else _logger?.LogWarning(error, "{Message}", message);
    }

    /// <summary>Sends what is queued (waiting at most <see cref="OpenLineageOptions.FlushTimeout"/>), then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        _queue.Writer.TryComplete();
        var finished = await Task.WhenAny(_pump, Task.Delay(_options.FlushTimeout)).ConfigureAwait(false) == _pump;
        if (!finished)
        {
            var left = _queue.Reader.Count;
            await _stop.CancelAsync().ConfigureAwait(false);
            LakeMetrics.RecordLineageEvent(LakeMetrics.LineageDropped, left + 1); // the queued ones and the one in flight
            Warn($"OpenLineage events not sent to {Target} within {_options.FlushTimeout.TotalSeconds:0.#} s are dropped ({left} queued, and the one in flight)", null);
        }
        await _pump.ConfigureAwait(false);
        foreach (var transport in _transports) transport.Dispose();
        _stop.Dispose();
    }
}
