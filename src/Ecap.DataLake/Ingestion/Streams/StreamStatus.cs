using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Ingestion.Streams;

/// <summary>
/// The heartbeat of a running stream, <c>&lt;lake&gt;/_ecap/streams/&lt;stream_id&gt;.json</c>: rewritten every
/// trigger so anyone with the lake (stream-status, monitor) sees what each stream does without talking to it.
/// The JSON (snake_case keys) is a contract shared with other tools: add fields, never rename them.
/// </summary>
public sealed record StreamStatus
{
    public required string StreamId { get; init; }
    public required string Source { get; init; }
    public required string Topic { get; init; }
    public required string Table { get; init; }
    public required string ConsumerGroup { get; init; }

    /// <summary>running, stopping, stopped or failed.</summary>
    public required string State { get; init; }
    public double TriggerIntervalSeconds { get; init; }
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset LastHeartbeat { get; init; }
    public long RecordsTotal { get; init; }
    public double RecordsPerSecond { get; init; }
    public long DeadLettersTotal { get; init; }

    /// <summary>Consumer lag per partition (partition number as text -> messages behind the high watermark).</summary>
    public IReadOnlyDictionary<string, long> Lag { get; init; } = new Dictionary<string, long>();
    public long TotalLag { get; init; }
    public long? LastVersion { get; init; }
    public string? LastError { get; init; }
    public bool StopRequested { get; init; }

    public const string Running = "running";
    public const string Stopping = "stopping";
    public const string Stopped = "stopped";
    public const string Failed = "failed";

    /// <summary>Running but silent for more than 3 trigger intervals (at least 30 s): the process probably died.</summary>
    public bool IsStale(DateTimeOffset now) =>
        State == Running && now - LastHeartbeat > TimeSpan.FromSeconds(Math.Max(30, 3 * TriggerIntervalSeconds));
}

/// <summary>Reads and writes stream heartbeats and stop requests (<c>_ecap/streams/</c>) through the lake's object store.</summary>
public sealed class StreamStatusStore(IObjectStore lake)
{
    public const string Folder = "_ecap/streams/";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new UtcSecondsConverter() },
    };

    public static string StatusKey(string streamId) => Folder + Validate(streamId) + ".json";

    public static string StopKey(string streamId) => Folder + Validate(streamId) + ".stop";

    public Task WriteAsync(StreamStatus status, CancellationToken ct = default) =>
        lake.WriteAsync(StatusKey(status.StreamId), JsonSerializer.SerializeToUtf8Bytes(status, Json), ct);

    public async Task<StreamStatus?> ReadAsync(string streamId, CancellationToken ct = default)
    {
        var key = StatusKey(streamId);
        if (await lake.HeadAsync(key, ct) == null) return null;
        return Parse(await lake.ReadAllAsync(key, ct));
    }

    /// <summary>Every stream that ever wrote a heartbeat in this lake (unreadable files are skipped), by id.</summary>
    public async Task<IReadOnlyList<StreamStatus>> ListAsync(CancellationToken ct = default)
    {
        var result = new List<StreamStatus>();
        await foreach (var o in lake.ListAsync(Folder, ct))
        {
            if (!o.Key.EndsWith(".json", StringComparison.Ordinal)) continue;
            try
            {
                if (Parse(await lake.ReadAllAsync(o.Key, ct)) is { } s) result.Add(s);
            }
            catch (Exception e) when (e is JsonException or FileNotFoundException)
            {
                // A heartbeat being replaced or a foreign file: not a stream we can show.
            }
        }
        return result.OrderBy(s => s.StreamId, StringComparer.Ordinal).ToList();
    }

    /// <summary>Asks a stream to stop: it sees the request at its next trigger, commits what it has and stops.</summary>
    public Task RequestStopAsync(string streamId, CancellationToken ct = default) =>
        lake.WriteAsync(StopKey(streamId), Encoding.UTF8.GetBytes(DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)), ct);

    public async Task<bool> IsStopRequestedAsync(string streamId, CancellationToken ct = default) =>
        await lake.HeadAsync(StopKey(streamId), ct) != null;

    public Task ClearStopRequestAsync(string streamId, CancellationToken ct = default) => lake.DeleteAsync(StopKey(streamId), ct);

    public static StreamStatus? Parse(byte[] json) => JsonSerializer.Deserialize<StreamStatus>(json, Json);

    public static string ToJson(StreamStatus status) => JsonSerializer.Serialize(status, Json);

    private static string Validate(string streamId)
    {
        if (streamId.Length == 0 || streamId.Length > 200 || !streamId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || streamId.StartsWith('.'))
            throw new InvalidInputException($"'{streamId}' is not a stream id (letters, digits, '-', '_', '.').");
        return streamId;
    }

    /// <summary>Instants as "2026-12-01T14:05:00Z" (UTC, seconds), the heartbeat format.</summary>
    private sealed class UtcSecondsConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
    }
}
