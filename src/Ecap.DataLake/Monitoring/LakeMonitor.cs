using Ecap.DataLake.Security;
using System.Text.Json;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Monitoring;

/// <summary>One table's health: size, files, how many are small, when it was last written.</summary>
public sealed record TableHealth(string Name, long Version, long RecordCount, long SizeBytes, int FileCount,
    int SmallFileCount, double SmallFileRatio, DateTimeOffset LastWrite)
{
    /// <summary>Whether the table has auto-compaction on (<see cref="TablePropertyKeys.AutoCompact"/>).</summary>
    public bool AutoCompact { get; init; }

    /// <summary>What its last auto-compaction did (null: none ran, or its status could not be read).</summary>
    public AutoCompactionStatus? LastAutoCompaction { get; init; }
}

/// <summary>A stream as its heartbeat tells it, judged now (stale, stop pending), or the reason its heartbeat could not be read.</summary>
public sealed record StreamStatus(string StreamId, StreamHeartbeat? Heartbeat, bool Stale, bool StopPending, double? HeartbeatAgeSeconds, string? Error);

/// <summary>A commit of some table, with its operation and metrics.</summary>
public sealed record RecentCommit(string Table, long Version, DateTimeOffset Timestamp, string Operation, IReadOnlyDictionary<string, string> Metrics);

/// <summary>The lake at one moment: what <c>ecap data-lake monitor</c> shows.</summary>
public sealed record LakeOverview(string Lake, DateTimeOffset GeneratedAt, IReadOnlyList<TableHealth> Tables,
    IReadOnlyList<StreamStatus> Streams, IReadOnlyList<RecentCommit> RecentCommits)
{
    /// <summary>Compaction daemons by their heartbeats (newest first).</summary>
    public IReadOnlyList<CompactionDaemonHeartbeat> CompactionDaemons { get; init; } = [];
}

/// <summary>
/// Looks at a whole lake: every table's size and small-file ratio from its snapshot (no data or footers read),
/// every stream from its heartbeat, and the most recent commits across tables. Keep one instance for repeated
/// looks: its storage's snapshot cache makes a refresh probe only for new commits.
/// </summary>
public sealed class LakeMonitor
{
    private readonly DataLakeStorage _storage;

    public LakeMonitor(IObjectStore lake, DataLakeStorageOptions? options = null) : this(new DataLakeStorage(lake, options)) { }

    /// <summary>Looks through a lake's storage (its guard and snapshot cache).</summary>
    public LakeMonitor(DataLakeStorage storage) => _storage = storage;

    /// <param name="recentCommits">How many commits (newest first, all tables together) to include.</param>
    /// <param name="now">The time the look is taken at (defaults to the current time).</param>
    /// <param name="ct">Cancels the look.</param>
    /// <remarks>One look is one audited operation ("monitor"): the list and history reads inside it are checked
    /// against the caller's grants but not audited one by one, so a live view adds one audit record per refresh.</remarks>
    public Task<LakeOverview> LookAsync(int recentCommits = 10, DateTimeOffset? now = null, CancellationToken ct = default) =>
        _storage.Guard.RunAsync(new GuardedOperation("monitor", null, null), async scope =>
        {
            var overview = await LookCoreAsync(recentCommits, now, ct);
            scope.Complete(rows: overview.Tables.Count);
            return overview;
        }, ct);

    private async Task<LakeOverview> LookCoreAsync(int recentCommits, DateTimeOffset? now, CancellationToken ct)
    {
        var at = now ?? DateTimeOffset.UtcNow;
        var tables = new List<TableHealth>();
        var commits = new List<RecentCommit>();
        var smallBelow = _storage.Options.TargetFileSizeBytes / 4;
        foreach (var summary in await _storage.ListTablesAsync(ct))
        {
            var snapshot = await _storage.OpenTable(summary.Name).GetSnapshotAsync(ct);
            var small = snapshot.Files.Count(f => f.Size < smallBelow);
            var auto = TablePropertyKeys.AutoCompactEnabled(snapshot.Metadata.Configuration);
            tables.Add(new TableHealth(summary.Name, snapshot.Version, summary.RecordCount, snapshot.TotalSize, snapshot.Files.Count,
                small, snapshot.Files.Count == 0 ? 0 : (double)small / snapshot.Files.Count, snapshot.Timestamp)
            {
                AutoCompact = auto,
                LastAutoCompaction = await AutoCompactionStatus.ReadAsync(_storage.OpenTable(summary.Name).Store, ct),
            });
            if (recentCommits > 0)
                foreach (var h in await _storage.GetHistoryAsync(summary.Name, recentCommits, ct))
                    commits.Add(new RecentCommit(summary.Name, h.Version, h.Timestamp, h.Operation, h.Metrics));
        }
        var recent = commits.OrderByDescending(c => c.Timestamp).ThenBy(c => c.Table, StringComparer.Ordinal).Take(recentCommits).ToList();
        return new LakeOverview(_storage.Location, at, tables, await StreamHeartbeat.ReadAllAsync(_storage.Store, at, ct), recent)
        {
            CompactionDaemons = await CompactionDaemonHeartbeat.ReadAllAsync(_storage.Store, ct),
        };
    }
}
