using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ecap.DataLake.Storage;

/// <summary>The JSON form of the lake's own documents (catalog entries, grants): snake_case, enums as lower-case strings.</summary>
internal static class LakeJson
{
    public static JsonSerializerOptions Documents { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>
/// A document kept as a sequence of immutable versions <c>&lt;prefix&gt;&lt;version:D10&gt;.json</c> in an object store:
/// an update reads the latest version N and creates N+1 with put-if-absent (the optimistic protocol of Delta commits),
/// re-applying the edit on conflict, so no edit is lost; readers take the newest version, so a half-finished writer is
/// never seen. Old versions beyond <see cref="KeptVersions"/> are deleted once older than the prune age: a writer that
/// read version K puts K+1, and were K+1 already pruned the put would land in a hole (edits take milliseconds).
/// The catalog's entries and the lake's grants are kept this way.
/// </summary>
internal sealed class VersionedDocuments<T>(IObjectStore store, TimeSpan pruneAge) where T : class
{
    public const int KeptVersions = 10;

    /// <summary>How old a version must be before it is pruned (see the class summary for why it must not be sooner).</summary>
    public static readonly TimeSpan DefaultPruneAge = TimeSpan.FromMinutes(10);
    private const int MaxAttempts = 200;

    public IObjectStore Store => store;

    public async Task<(long Version, T? Document)> LatestAsync(string prefix, CancellationToken ct, int attempt = 0)
    {
        long latest = -1;
        await foreach (var o in store.ListAsync(prefix, ct))
            if (VersionOf(o.Key) is { } v) latest = Math.Max(latest, v);
        if (latest < 0) return (-1, null);
        var key = Key(prefix, latest);
        try
        {
            var document = JsonSerializer.Deserialize<T>(await store.ReadAllAsync(key, ct), LakeJson.Documents)
                ?? throw new CorruptTableException($"Document '{key}' in {store.Location} is empty.");
            return (latest, document);
        }
        catch (JsonException e)
        {
            throw new CorruptTableException($"Document '{key}' in {store.Location} is not valid: {e.Message}");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException && attempt < MaxAttempts)
        {
            // Pruned by a writer that went KeptVersions ahead between our listing and our read: list again.
            return await LatestAsync(prefix, ct, attempt + 1);
        }
    }

    /// <summary>Applies a pure edit to the latest version (null when absent); returning the same instance or null writes nothing.</summary>
    public async Task<T?> UpdateAsync(string prefix, Func<T?, T?> edit, string what, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (version, current) = await LatestAsync(prefix, ct);
            var next = edit(current);
            if (next is null || ReferenceEquals(next, current)) return current;
            var bytes = JsonSerializer.SerializeToUtf8Bytes(next, LakeJson.Documents);
            if (await store.PutIfAbsentAsync(Key(prefix, version + 1), bytes, ct) == PutResult.Created)
            {
                await PruneAsync(prefix, version + 2 - KeptVersions, ct);
                return next;
            }
            // Someone else wrote version+1: back off a little (randomised so racers spread out) and re-apply.
            await Task.Delay(Random.Shared.Next(1, 5 + Math.Min(attempt, 20) * 2), ct);
        }
        throw new ConcurrentModificationException($"{what} in {store.Location} kept changing; gave up after {MaxAttempts} attempts.");
    }

    private async Task PruneAsync(string prefix, long belowVersion, CancellationToken ct)
    {
        if (belowVersion <= 0) return;
        var old = new List<string>();
        await foreach (var o in store.ListAsync(prefix, ct))
            if (VersionOf(o.Key) is { } v && v < belowVersion && DateTimeOffset.UtcNow - o.LastModified >= pruneAge)
                old.Add(o.Key);
        foreach (var key in old) await store.DeleteAsync(key, ct);
    }

    private static string Key(string prefix, long version) => prefix + version.ToString("D10", CultureInfo.InvariantCulture) + ".json";

    private static long? VersionOf(string key)
    {
        var file = key[(key.LastIndexOf('/') + 1)..];
        return file.EndsWith(".json", StringComparison.Ordinal) && long.TryParse(file[..^5], NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;
    }
}
