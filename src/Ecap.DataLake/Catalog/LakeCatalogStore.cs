using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Catalog;

/// <summary>The JSON form of catalog documents (snake_case, enums as lower-case strings); also the CLI's --output json shape.</summary>
public static class CatalogJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>
/// The default catalog store: JSON documents under <c>&lt;lake&gt;/_catalog/</c>, written through the
/// lake's object store so it works wherever the lake does. An entry is a sequence of immutable versions
/// <c>tables/&lt;database&gt;/&lt;name&gt;/&lt;version:D10&gt;.json</c>; an update reads the latest version N and
/// creates N+1 with put-if-absent (the same optimistic protocol as Delta commits), re-applying the edit on
/// conflict. Readers take the newest version, so a half-finished writer is never seen.
/// </summary>
public sealed class LakeCatalogStore : ICatalogStore
{
    private const string TablesPrefix = "tables/";
    private const int MaxAttempts = 200;

    /// <summary>Versions kept per entry: the catalog syncs on every commit, so older ones are deleted to keep listings short.</summary>
    internal const int KeptVersions = 10;

    /// <summary>
    /// Old versions are deleted only once they are this old. A writer that read version K puts K+1; were K+1
    /// already pruned, the put would succeed into a hole and the edit would be lost. Edits take milliseconds,
    /// so a version older than this has no writer still based on its predecessor (Delta's log retention
    /// rests on the same argument).
    /// </summary>
    public static readonly TimeSpan DefaultPruneAge = TimeSpan.FromMinutes(10);

    private readonly TimeSpan _pruneAge;

    private static JsonSerializerOptions Json => CatalogJson.Options;

    private readonly IObjectStore _store;

    /// <param name="catalogStore">The store rooted at the catalog folder (usually <c>lake.Child("_catalog")</c>).</param>
    /// <param name="pruneAge">Versions beyond the newest <see cref="KeptVersions"/> are deleted once this old (default <see cref="DefaultPruneAge"/>).</param>
    public LakeCatalogStore(IObjectStore catalogStore, TimeSpan? pruneAge = null)
    {
        _store = catalogStore;
        _pruneAge = pruneAge ?? DefaultPruneAge;
    }

    public string Location => _store.Location;

    public async Task<CatalogEntry?> GetAsync(string database, string name, CancellationToken ct = default)
    {
        var (_, entry) = await LatestAsync(database, name, ct);
        return entry;
    }

    public async Task<CatalogEntry?> UpdateAsync(string database, string name, Func<CatalogEntry?, CatalogEntry?> edit, CancellationToken ct = default)
    {
        var prefix = EntryPrefix(database, name);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (version, current) = await LatestAsync(database, name, ct);
            var next = edit(current);
            if (next is null || ReferenceEquals(next, current)) return current;
            var bytes = JsonSerializer.SerializeToUtf8Bytes(next, Json);
            var key = prefix + (version + 1).ToString("D10", CultureInfo.InvariantCulture) + ".json";
            if (await _store.PutIfAbsentAsync(key, bytes, ct) == PutResult.Created)
            {
                await PruneAsync(prefix, version + 2 - KeptVersions, ct);
                return next;
            }
            // Someone else wrote version+1: back off a little (randomised so racers spread out) and re-apply.
            await Task.Delay(Random.Shared.Next(1, 5 + Math.Min(attempt, 20) * 2), ct);
        }
        throw new ConcurrentModificationException(
            $"Catalog entry '{database}.{name}' in {_store.Location} kept changing; gave up after {MaxAttempts} attempts.");
    }

    public async Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken ct = default)
    {
        var result = new List<string>();
        await foreach (var db in _store.ListPrefixesAsync(TablesPrefix, ct)) result.Add(Trim(db));
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    public async Task<IReadOnlyList<CatalogEntry>> ListAsync(string? database = null, CancellationToken ct = default)
    {
        var databases = database is null ? await ListDatabasesAsync(ct) : [database];
        var result = new List<CatalogEntry>();
        foreach (var db in databases)
        {
            var names = new List<string>();
            await foreach (var n in _store.ListPrefixesAsync(TablesPrefix + TableNames.Validate(db) + "/", ct)) names.Add(Trim(n));
            names.Sort(StringComparer.Ordinal);
            foreach (var n in names)
                if (await GetAsync(db, n, ct) is { } e) result.Add(e);
        }
        return result;
    }

    // ListPrefixesAsync may return bare names or full prefixes depending on the store: keep the last segment.
    private static string Trim(string prefix)
    {
        var p = prefix.TrimEnd('/');
        var slash = p.LastIndexOf('/');
        return slash < 0 ? p : p[(slash + 1)..];
    }

    private static string EntryPrefix(string database, string name) =>
        TablesPrefix + TableNames.Validate(database) + "/" + TableNames.Validate(name) + "/";

    private async Task<(long Version, CatalogEntry? Entry)> LatestAsync(string database, string name, CancellationToken ct, int attempt = 0)
    {
        var prefix = EntryPrefix(database, name);
        long latest = -1;
        await foreach (var o in _store.ListAsync(prefix, ct))
        {
            var file = o.Key[(o.Key.LastIndexOf('/') + 1)..];
            if (file.EndsWith(".json", StringComparison.Ordinal) && long.TryParse(file[..^5], NumberStyles.None, CultureInfo.InvariantCulture, out var v))
                latest = Math.Max(latest, v);
        }
        if (latest < 0) return (-1, null);
        var key = prefix + latest.ToString("D10", CultureInfo.InvariantCulture) + ".json";
        try
        {
            var entry = JsonSerializer.Deserialize<CatalogEntry>(await _store.ReadAllAsync(key, ct), Json)
                ?? throw new CorruptTableException($"Catalog document '{key}' in {_store.Location} is empty.");
            return (latest, entry);
        }
        catch (JsonException e)
        {
            throw new CorruptTableException($"Catalog document '{key}' in {_store.Location} is not valid: {e.Message}");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException && attempt < MaxAttempts)
        {
            // Pruned by a writer that went KeptVersions ahead between our listing and our read: list again.
            return await LatestAsync(database, name, ct, attempt + 1);
        }
    }

    private async Task PruneAsync(string prefix, long belowVersion, CancellationToken ct)
    {
        if (belowVersion <= 0) return;
        var old = new List<string>();
        await foreach (var o in _store.ListAsync(prefix, ct))
        {
            var file = o.Key[(o.Key.LastIndexOf('/') + 1)..];
            if (file.EndsWith(".json", StringComparison.Ordinal) && long.TryParse(file[..^5], NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                && v < belowVersion && DateTimeOffset.UtcNow - o.LastModified >= _pruneAge)
                old.Add(o.Key);
        }
        foreach (var key in old) await _store.DeleteAsync(key, ct);
    }
}
