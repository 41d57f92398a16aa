using System.Text.Json;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tables;

/// <summary>
/// What a running compaction daemon writes to <c>&lt;lake&gt;/_ecap/compaction-daemons/&lt;daemon_id&gt;.json</c> after every table
/// and pass (snake_case JSON): the contract between the daemon (Compaction) and <c>monitor</c> (Monitoring).
/// </summary>
public sealed record CompactionDaemonHeartbeat
{
    public const string Folder = "_ecap/compaction-daemons/";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static string Key(string daemonId) => Folder + daemonId + ".json";

    public string DaemonId { get; init; } = "";
    public string? Host { get; init; }
    public int ProcessId { get; init; }
    /// <summary>running (between or in passes), stopped or failed.</summary>
    public string State { get; init; } = "running";
    public double IntervalSeconds { get; init; }
    public int Parallelism { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset LastHeartbeat { get; init; }
    public int PassesCompleted { get; init; }
    public DateTimeOffset? LastPassStartedAt { get; init; }
    public DateTimeOffset? LastPassFinishedAt { get; init; }
    public int LastPassTables { get; init; }
    public int LastPassCompacted { get; init; }
    public int LastPassFailed { get; init; }
    /// <summary>The table being worked on now (null between passes).</summary>
    public string? CurrentTable { get; init; }
    public string? LastError { get; init; }

    /// <summary>Running but silent for more than three intervals (at least an hour: a pass may compact a large table).</summary>
    public bool IsStale(DateTimeOffset now) => State == "running" && now - LastHeartbeat > TimeSpan.FromSeconds(Math.Max(3600, 3 * IntervalSeconds));

    public Task WriteAsync(IObjectStore lake, CancellationToken ct = default) => lake.WriteAsync(Key(DaemonId), JsonSerializer.SerializeToUtf8Bytes(this, Json), ct);

    /// <summary>Every daemon heartbeat of the lake (unreadable ones skipped), newest first.</summary>
    public static async Task<IReadOnlyList<CompactionDaemonHeartbeat>> ReadAllAsync(IObjectStore lake, CancellationToken ct = default)
    {
        var beats = new List<CompactionDaemonHeartbeat>();
        await foreach (var o in lake.ListAsync(Folder, ct))
        {
            var file = o.Key[(o.Key.LastIndexOf('/') + 1)..];
            if (!file.EndsWith(".json", StringComparison.Ordinal)) continue;
            try
            {
                if (JsonSerializer.Deserialize<CompactionDaemonHeartbeat>(await lake.ReadAllAsync(Key(file[..^5]), ct), Json) is { } beat) beats.Add(beat);
            }
            catch (Exception e) when (e is JsonException or IOException)
            {
                // a torn or vanished heartbeat says nothing
            }
        }
        return beats.OrderByDescending(b => b.LastHeartbeat).ToList();
    }
}
