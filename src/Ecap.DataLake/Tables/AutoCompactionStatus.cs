using System.Text.Json;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tables;

/// <summary>
/// What the last auto-compaction of a table did, at <c>&lt;table&gt;/_ecap/auto-compaction.json</c> (snake_case JSON, overwritten
/// by each run; vacuum and readers never look under <c>_ecap</c>): written by the compaction layer's hook, shown by
/// <c>storage info</c> and <c>monitor</c>. A status, not a record of truth: the log holds the commits (operation OPTIMIZE,
/// parameter <c>auto=true</c>).
/// </summary>
public sealed record AutoCompactionStatus
{
    public const string Key = "_ecap/auto-compaction.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>When the last run ended.</summary>
    public DateTimeOffset LastRunAt { get; init; }

    /// <summary>compacted, lost (a concurrent rewrite won), timeout or failed.</summary>
    public string Outcome { get; init; } = "";

    /// <summary>The commit that triggered the last run.</summary>
    public long TriggeredBy { get; init; }

    public int FilesRemoved { get; init; }
    public int FilesAdded { get; init; }
    public long DurationMs { get; init; }
    public string? Error { get; init; }

    /// <summary>The last run that committed (kept across runs that did not).</summary>
    public DateTimeOffset? LastCompactedAt { get; init; }
    public long? LastCompactedVersion { get; init; }

    public static async Task<AutoCompactionStatus?> ReadAsync(IObjectStore table, CancellationToken ct = default)
    {
        try
        {
            if (await table.HeadAsync(Key, ct) is null) return null;
            return JsonSerializer.Deserialize<AutoCompactionStatus>(await table.ReadAllAsync(Key, ct), Json);
        }
        catch (Exception e) when (e is JsonException or IOException or FileNotFoundException)
        {
            return null; // a torn or unreadable status says nothing
        }
    }

    public Task WriteAsync(IObjectStore table, CancellationToken ct = default) => table.WriteAsync(Key, JsonSerializer.SerializeToUtf8Bytes(this, Json), ct);
}
