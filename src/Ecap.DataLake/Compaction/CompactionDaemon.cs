using System.Globalization;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ecap.DataLake.Compaction;

/// <summary>Options of <see cref="CompactionDaemon"/>.</summary>
public sealed record CompactionDaemonOptions
{
    /// <summary>Time between the start of one pass and the next.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Tables maintained at the same time.</summary>
    public int MaxDegreeOfParallelism { get; init; } = 1;

    /// <summary>Vacuum keeps what any version of this recent past needs (at least <see cref="DataCompactor.DefaultVacuumRetention"/>).</summary>
    public TimeSpan VacuumRetention { get; init; } = DataCompactor.DefaultVacuumRetention;

    /// <summary>Its heartbeat's name (default: host-pid).</summary>
    public string? DaemonId { get; init; }

    /// <summary>Told about each table as it is done.</summary>
    public IProgress<DaemonTableResult>? Progress { get; init; }
}

/// <summary>
/// One table's maintenance in a daemon pass: <c>Compaction</c> is compacted, skipped (no need, or auto-compaction off) or
/// failed; vacuum and retention report what they removed (retention only runs with <c>ecap.retention.days</c>).
/// </summary>
public sealed record DaemonTableResult(string Table, string Compaction, string Reason, int FilesRemoved, int FilesAdded,
    int FilesVacuumed, int? RetentionFilesRemoved, string? Error)
{
    /// <summary>Files moved to a colder storage class (null: no <c>ecap.tiering.coldAfterDays</c>, or a store without classes).</summary>
    public int? FilesTiered { get; init; }
}

/// <summary>One pass over every table of the lake.</summary>
public sealed record DaemonPass(DateTimeOffset StartedAt, DateTimeOffset FinishedAt, IReadOnlyList<DaemonTableResult> Tables);

/// <summary>
/// Keeps every table of a lake maintained by its properties, one table at a time or a few in parallel: compaction
/// when its files need it (unless <see cref="TablePropertyKeys.AutoCompact"/> is <c>false</c>; target
/// <see cref="TablePropertyKeys.AutoCompactMaxFileSize"/>), vacuum with the daemon's retention, and the retention policy
/// (<see cref="TablePropertyKeys.RetentionDays"/>) where one is set, and tiering (<see cref="TablePropertyKeys.TieringColdAfterDays"/>)
/// where set on a store with storage classes. Each step is the <see cref="DataCompactor"/>
/// operation (guarded and audited as the daemon's principal); a failing table is reported and the others go on. A
/// heartbeat (<see cref="CompactionDaemonHeartbeat"/>) under <c>_ecap/</c> says it is alive and what its last pass did.
/// </summary>
public sealed class CompactionDaemon
{
    private readonly DataLakeStorage _storage;
    private readonly DataCompactor _compactor;
    private readonly CompactionDaemonOptions _options;
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;
    private CompactionDaemonHeartbeat _beat;
    private readonly SemaphoreSlim _beatGate = new(1, 1);

    public CompactionDaemon(DataLakeStorage storage, CompactionDaemonOptions? options = null)
    {
        _storage = storage ?? throw new ArgumentNullException(nameof(storage));
        _compactor = new DataCompactor(storage);
        _options = options ?? new CompactionDaemonOptions();
        if (_options.Interval <= TimeSpan.Zero) throw new InvalidInputException($"The daemon's interval must be positive (got {_options.Interval}).");
        if (_options.MaxDegreeOfParallelism < 1) throw new InvalidInputException($"The daemon's parallelism must be at least 1 (got {_options.MaxDegreeOfParallelism}).");
        if (_options.VacuumRetention < DataCompactor.DefaultVacuumRetention)
            throw new InvalidInputException($"The daemon vacuums with a retention of at least {DataCompactor.DefaultVacuumRetention.TotalHours:F0} hours (got {_options.VacuumRetention.TotalHours:F0}).");
        var id = _options.DaemonId ?? $"{Environment.MachineName}-{Environment.ProcessId}";
        Storage.TableNames.Validate(id); // a file name under _ecap/
        _beat = new CompactionDaemonHeartbeat
        {
            DaemonId = id, Host = Environment.MachineName, ProcessId = Environment.ProcessId, IntervalSeconds = _options.Interval.TotalSeconds,
            Parallelism = _options.MaxDegreeOfParallelism, StartedAt = _started, LastHeartbeat = _started,
        };
    }

    public string DaemonId => _beat.DaemonId;

    /// <summary>Passes every <see cref="CompactionDaemonOptions.Interval"/> until cancelled; the heartbeat then says stopped.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var started = DateTimeOffset.UtcNow;
                await RunOnceCoreAsync(ct);
                var wait = _options.Interval - (DateTimeOffset.UtcNow - started);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        await BeatAsync(b => b with { State = "stopped", CurrentTable = null }, CancellationToken.None);
    }

    /// <summary>One pass over every table, then a heartbeat that says stopped (what <c>--once</c> runs).</summary>
    public async Task<DaemonPass> RunOnceAsync(CancellationToken ct = default)
    {
        var pass = await RunOnceCoreAsync(ct);
        await BeatAsync(b => b with { State = "stopped" }, CancellationToken.None);
        return pass;
    }

    private async Task<DaemonPass> RunOnceCoreAsync(CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        await BeatAsync(b => b with { State = "running", LastPassStartedAt = started }, ct);
        IReadOnlyList<string> tables;
        try
        {
            tables = await _storage.ListTableNamesAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await BeatAsync(b => b with { LastError = e.Message }, ct);
            throw;
        }
        var results = new DaemonTableResult[tables.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, tables.Count),
            new ParallelOptions { MaxDegreeOfParallelism = _options.MaxDegreeOfParallelism, CancellationToken = ct }, async (i, token) =>
            {
                await BeatAsync(b => b with { CurrentTable = tables[i] }, token);
                results[i] = await MaintainAsync(tables[i], token);
                _options.Progress?.Report(results[i]);
            });
        var finished = DateTimeOffset.UtcNow;
        var failed = results.Where(r => r.Error is not null).ToList();
        await BeatAsync(b => b with
        {
            PassesCompleted = b.PassesCompleted + 1, LastPassFinishedAt = finished, LastPassTables = results.Length,
            LastPassCompacted = results.Count(r => r.Compaction == "compacted"), LastPassFailed = failed.Count, CurrentTable = null,
            LastError = failed.Count > 0 ? $"{failed[0].Table}: {failed[0].Error}" : null,
        }, ct);
        return new DaemonPass(started, finished, results);
    }

    private async Task<DaemonTableResult> MaintainAsync(string name, CancellationToken ct)
    {
        var compaction = "skipped";
        var reason = "";
        int removed = 0, added = 0, vacuumed = 0;
        int? retention = null;
        try
        {
            var snapshot = await _storage.OpenTable(name).GetSnapshotAsync(ct);
            var config = snapshot.Metadata.Configuration;
            var target = TablePropertyKeys.AutoCompactMaxFileSizeOf(config);
            if (config.TryGetValue(TablePropertyKeys.AutoCompact, out var auto) && string.Equals(auto, "false", StringComparison.OrdinalIgnoreCase))
                reason = $"{TablePropertyKeys.AutoCompact} is false";
            else
            {
                var analysis = await _compactor.AnalyzeTableFilesAsync(name, new AnalyzeOptions { TargetFileSizeBytes = target }, ct);
                reason = analysis.CompactionReason;
                if (analysis.NeedsCompaction)
                {
                    var result = await _compactor.CompactTableAsync(name, new CompactOptions { TargetFileSizeBytes = target, MaxParallelism = 1 }, ct);
                    compaction = "compacted";
                    (removed, added) = (result.FilesRemoved, result.FilesAdded);
                }
            }
            if (config.ContainsKey(TablePropertyKeys.RetentionDays))
                retention = (await _compactor.ApplyRetentionAsync(name, null, ct)).FilesRemoved;
            vacuumed = (await _compactor.VacuumAsync(name, new VacuumOptions { Retention = _options.VacuumRetention }, ct)).Files.Count;
            int? tiered = null;
            if (config.ContainsKey(TablePropertyKeys.TieringColdAfterDays) && _storage.Store is Storage.IStorageClassStore)
            {
                try { tiered = (await _compactor.TierAsync(name, null, ct)).FilesMoved; }
                catch (InvalidInputException e)
                {
                    // The server refuses the class: a setting of the store, not a failure of the table.
                    _storage.Options.LoggerFactory?.CreateLogger("Ecap.DataLake.Compaction").LogWarning("Compaction daemon: tiering {Table}: {Message}", name, e.Message);
                }
            }
            return new DaemonTableResult(name, compaction, reason, removed, added, vacuumed, retention, null) { FilesTiered = tiered };
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _storage.Options.LoggerFactory?.CreateLogger("Ecap.DataLake.Compaction").LogWarning(e, "Compaction daemon: maintaining {Table} failed", name);
            return new DaemonTableResult(name, compaction == "compacted" ? compaction : "failed", reason, removed, added, vacuumed, retention, e.Message);
        }
    }

    private async Task BeatAsync(Func<CompactionDaemonHeartbeat, CompactionDaemonHeartbeat> change, CancellationToken ct)
    {
        await _beatGate.WaitAsync(ct);
        try
        {
            _beat = change(_beat) with { LastHeartbeat = DateTimeOffset.UtcNow };
            try { await _beat.WriteAsync(_storage.Store, ct); }
            catch (IOException e) { _storage.Options.LoggerFactory?.CreateLogger("Ecap.DataLake.Compaction").LogWarning(e, "Could not write the daemon heartbeat"); }
        }
        finally
        {
            _beatGate.Release();
        }
    }
}

/// <summary>The compaction daemon as a hosted service (<c>services.AddHostedService(...)</c>): passes until the host stops.</summary>
public sealed class CompactionDaemonService(CompactionDaemon daemon) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => daemon.RunAsync(stoppingToken);
}
