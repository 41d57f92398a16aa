using System.Text.Json;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Monitoring;

/// <summary>One table's health: size, files, how many are small, when it was last written.</summary>
public sealed record TableHealth(string Name, long Version, long RecordCount, long SizeBytes, int FileCount,
    int SmallFileCount, double SmallFileRatio, DateTimeOffset LastWrite);

/// <summary>A stream as its heartbeat tells it, judged now (stale, stop pending), or the reason its heartbeat could not be read.</summary>
public sealed record StreamStatus(string StreamId, StreamHeartbeat? Heartbeat, bool Stale, bool StopPending, double? HeartbeatAgeSeconds, string? Error);

/// <summary>A commit of some table, with its operation and metrics.</summary>
public sealed record RecentCommit(string Table, long Version, DateTimeOffset Timestamp, string Operation, IReadOnlyDictionary<string, string> Metrics);

/// <summary>The lake at one moment: what <c>ecap data-lake monitor</c> shows.</summary>
public sealed record LakeOverview(string Lake, DateTimeOffset GeneratedAt, IReadOnlyList<TableHealth> Tables,
    IReadOnlyList<StreamStatus> Streams, IReadOnlyList<RecentCommit> RecentCommits);

/// <summary>
/// Looks at a whole lake: every table's size and small-file ratio from its snapshot (no data or footers read),
/// every stream from its heartbeat, and the most recent commits across tables. Keep one instance for repeated
/// looks: its storage's snapshot cache makes a refresh probe only for new commits.
/// </summary>
public sealed class LakeMonitor(IObjectStore lake, DataLakeStorageOptions? options = null)
{
    private readonly DataLakeStorage _storage = new(lake, options);

    /// <param name="recentCommits">How many commits (newest first, all tables together) to include.</param>
    public async Task<LakeOverview> LookAsync(int recentCommits = 10, DateTimeOffset? now = null, CancellationToken ct = default)
    {
        var at = now ?? DateTimeOffset.UtcNow;
        var tables = new List<TableHealth>();
        var commits = new List<RecentCommit>();
        var smallBelow = _storage.Options.TargetFileSizeBytes / 4;
        foreach (var summary in await _storage.ListTablesAsync(ct))
        {
            var snapshot = await _storage.OpenTable(summary.Name).GetSnapshotAsync(ct);
            var small = snapshot.Files.Count(f => f.Size < smallBelow);
            tables.Add(new TableHealth(summary.Name, snapshot.Version, summary.RecordCount, snapshot.TotalSize, snapshot.Files.Count,
                small, snapshot.Files.Count == 0 ? 0 : (double)small / snapshot.Files.Count, snapshot.Timestamp));
            if (recentCommits > 0)
                foreach (var h in await _storage.GetHistoryAsync(summary.Name, recentCommits, ct))
                    commits.Add(new RecentCommit(summary.Name, h.Version, h.Timestamp, h.Operation, h.Metrics));
        }
        var recent = commits.OrderByDescending(c => c.Timestamp).ThenBy(c => c.Table, StringComparer.Ordinal).Take(recentCommits).ToList();
        return new LakeOverview(lake.Location, at, tables, await ReadStreamsAsync(at, ct), recent);
    }

    private async Task<IReadOnlyList<StreamStatus>> ReadStreamsAsync(DateTimeOffset now, CancellationToken ct)
    {
        var files = new List<string>();
        var stops = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var o in lake.ListAsync(StreamHeartbeat.Folder, ct))
        {
            var file = o.Key[(o.Key.LastIndexOf('/') + 1)..];
            if (file.EndsWith(".json", StringComparison.Ordinal)) files.Add(file[..^5]);
            else if (file.EndsWith(".stop", StringComparison.Ordinal)) stops.Add(file[..^5]);
        }
        files.Sort(StringComparer.Ordinal);
        var result = new List<StreamStatus>();
        foreach (var id in files)
        {
            try
            {
                var beat = JsonSerializer.Deserialize<StreamHeartbeat>(await lake.ReadAllAsync(StreamHeartbeat.Key(id), ct), StreamHeartbeat.Json)
                    ?? throw new JsonException("empty document");
                var age = beat.LastHeartbeat is { } t ? (now - t).TotalSeconds : (double?)null;
                result.Add(new StreamStatus(id, beat, beat.IsStale(now), stops.Contains(id), age, null));
            }
            catch (Exception e) when (e is JsonException or FileNotFoundException or DirectoryNotFoundException)
            {
                // A heartbeat being rewritten or removed, or a foreign file: shown, not fatal.
                result.Add(new StreamStatus(id, null, false, stops.Contains(id), null, $"heartbeat unreadable: {e.Message}"));
            }
        }
        return result;
    }
}
