using System.Globalization;
using System.Text;
using System.Text.Json;
using Ecap.DataLake.Monitoring;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Ingestion.Streams;

/// <summary>
/// What a stream writer needs of the heartbeat contract (<see cref="StreamHeartbeat"/>, <c>_ecap/streams/&lt;id&gt;.json</c>,
/// read by <c>monitor</c> and <c>stream-status</c>): write, read and list heartbeats, and ask, check and clear stop requests
/// (<c>_ecap/streams/&lt;id&gt;.stop</c>), all through the lake's object store.
/// </summary>
public sealed class StreamStatusStore(IObjectStore lake)
{
    public const string Running = "running";
    public const string Stopping = "stopping";
    public const string Stopped = "stopped";
    public const string Failed = "failed";

    public Task WriteAsync(StreamHeartbeat status, CancellationToken ct = default)
    {
        Validate(status.StreamId);
        return status.WriteAsync(lake, ct);
    }

    public async Task<StreamHeartbeat?> ReadAsync(string streamId, CancellationToken ct = default)
    {
        var key = StreamHeartbeat.Key(Validate(streamId));
        if (await lake.HeadAsync(key, ct) == null) return null;
        return StreamHeartbeat.Parse(await lake.ReadAllAsync(key, ct));
    }

    /// <summary>Every stream that wrote a readable heartbeat in this lake, by id.</summary>
    public async Task<IReadOnlyList<StreamHeartbeat>> ListAsync(CancellationToken ct = default) =>
        (await StreamHeartbeat.ReadAllAsync(lake, DateTimeOffset.UtcNow, ct)).Select(s => s.Heartbeat).OfType<StreamHeartbeat>().ToList();

    /// <summary>Asks a stream to stop: it sees the request at its next trigger, commits what it has and stops.</summary>
    public Task RequestStopAsync(string streamId, CancellationToken ct = default) =>
        lake.WriteAsync(StreamHeartbeat.StopKey(Validate(streamId)), Encoding.UTF8.GetBytes(DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)), ct);

    public Task<bool> IsStopRequestedAsync(string streamId, CancellationToken ct = default) =>
        StreamHeartbeat.IsStopRequestedAsync(lake, Validate(streamId), ct);

    public Task ClearStopRequestAsync(string streamId, CancellationToken ct = default) => lake.DeleteAsync(StreamHeartbeat.StopKey(Validate(streamId)), ct);

    public static StreamHeartbeat? Parse(byte[] json) => StreamHeartbeat.Parse(json);

    public static string ToJson(StreamHeartbeat status) => JsonSerializer.Serialize(status, StreamHeartbeat.Json);

    private static string Validate(string streamId)
    {
        if (streamId.Length == 0 || streamId.Length > 200 || !streamId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.') || streamId.StartsWith('.'))
            throw new InvalidInputException($"'{streamId}' is not a stream id (letters, digits, '-', '_', '.').");
        return streamId;
    }
}
