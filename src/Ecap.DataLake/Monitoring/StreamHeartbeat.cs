using System.Text.Json;
using System.Text.Json.Serialization;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Monitoring;

/// <summary>
/// The status a running stream writes to <c>&lt;lake&gt;/_ecap/streams/&lt;stream_id&gt;.json</c> on every trigger (UTF-8 JSON,
/// snake_case keys): the contract between stream writers (Kafka) and <see cref="LakeMonitor"/>. A stop request is the
/// file <c>&lt;stream_id&gt;.stop</c> next to it.
/// </summary>
public sealed record StreamHeartbeat
{
    public const string Folder = "_ecap/streams/";

    /// <summary>The JSON form: snake_case, nulls kept (a reader sees every key of the format).</summary>
    public static JsonSerializerOptions Json { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    public static string Key(string streamId) => Folder + streamId + ".json";
    public static string StopKey(string streamId) => Folder + streamId + ".stop";

    public string StreamId { get; init; } = "";
    public string? Source { get; init; }
    public string? Topic { get; init; }
    public string? Table { get; init; }
    public string? ConsumerGroup { get; init; }
    /// <summary>running, stopping, stopped or failed.</summary>
    public string State { get; init; } = "running";
    public double TriggerIntervalSeconds { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? LastHeartbeat { get; init; }
    public long RecordsTotal { get; init; }
    public double RecordsPerSecond { get; init; }
    public long DeadLettersTotal { get; init; }
    /// <summary>Lag per source partition (Kafka: partition number as text).</summary>
    public IReadOnlyDictionary<string, long> Lag { get; init; } = new Dictionary<string, long>();
    public long TotalLag { get; init; }
    public long? LastVersion { get; init; }
    public string? LastError { get; init; }
    public bool StopRequested { get; init; }

    /// <summary>Silent for longer than three trigger intervals (at least 30 s) while saying it runs: probably dead.</summary>
    public bool IsStale(DateTimeOffset now) =>
        State == "running" && (LastHeartbeat is not { } beat || now - beat > StaleAfter);

    /// <summary>Writes (overwrites) this heartbeat at <see cref="Key"/> in the lake: what a stream does on every trigger.</summary>
    public Task WriteAsync(IObjectStore lake, CancellationToken ct = default) =>
        lake.WriteAsync(Key(StreamId), JsonSerializer.SerializeToUtf8Bytes(this, Json), ct);

    /// <summary>True when someone asked the stream to stop (the file <see cref="StopKey"/> exists).</summary>
    public static async Task<bool> IsStopRequestedAsync(IObjectStore lake, string streamId, CancellationToken ct = default) =>
        await lake.HeadAsync(StopKey(streamId), ct) is not null;

    /// <summary>How long a running stream may be silent before it counts as stale.</summary>
    [JsonIgnore]
    public TimeSpan StaleAfter => TimeSpan.FromSeconds(Math.Max(30, 3 * TriggerIntervalSeconds));

    public static StreamHeartbeat? Parse(byte[] json) => JsonSerializer.Deserialize<StreamHeartbeat>(json, Json);

    /// <summary>
    /// Every stream with a heartbeat in the lake, by id, judged at <paramref name="now"/>: stale, stop pending, or the
    /// reason its heartbeat could not be read (shown, never fatal). The one reader of the heartbeat folder.
    /// </summary>
    public static async Task<IReadOnlyList<StreamStatus>> ReadAllAsync(IObjectStore lake, DateTimeOffset now, CancellationToken ct = default)
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
                var beat = Parse(await lake.ReadAllAsync(Key(id), ct)) ?? throw new JsonException("empty document");
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
