using System.Text.Json;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Catalog;

/// <summary>The JSON form of catalog documents (snake_case, enums as lower-case strings); also the CLI's --output json shape.</summary>
public static class CatalogJson
{
    public static JsonSerializerOptions Options => LakeJson.Documents;
}

/// <summary>
/// The default catalog store: JSON documents under <c>&lt;lake&gt;/_catalog/</c>, written through the
/// lake's object store so it works wherever the lake does. An entry is a sequence of immutable versions
/// <c>tables/&lt;database&gt;/&lt;name&gt;/&lt;version:D10&gt;.json</c>; an update reads the latest version N and
/// creates N+1 with put-if-absent (the same optimistic protocol as Delta commits), re-applying the edit on
/// conflict. Readers take the newest version, so a half-finished writer is never seen.
/// </summary>
internal sealed class LakeCatalogStore : ICatalogStore
{
    private const string TablesPrefix = "tables/";

    /// <summary>Versions kept per entry: the catalog syncs on every commit, so older ones are deleted to keep listings short.</summary>
    internal const int KeptVersions = VersionedDocuments<CatalogEntry>.KeptVersions;

    /// <summary>
    /// Old versions are deleted only once they are this old. A writer that read version K puts K+1; were K+1
    /// already pruned, the put would succeed into a hole and the edit would be lost. Edits take milliseconds,
    /// so a version older than this has no writer still based on its predecessor (Delta's log retention
    /// rests on the same argument).
    /// </summary>
    public static readonly TimeSpan DefaultPruneAge = VersionedDocuments<CatalogEntry>.DefaultPruneAge;

    private readonly IObjectStore _store;
    private readonly VersionedDocuments<CatalogEntry> _entries;
    private readonly LakeGrantStore _grants;

    /// <param name="catalogStore">The store rooted at the catalog folder (usually <c>lake.Child("_catalog")</c>).</param>
    /// <param name="pruneAge">Versions beyond the newest <see cref="KeptVersions"/> are deleted once this old (default <see cref="DefaultPruneAge"/>).</param>
    public LakeCatalogStore(IObjectStore catalogStore, TimeSpan? pruneAge = null)
    {
        _store = catalogStore;
        _entries = new VersionedDocuments<CatalogEntry>(catalogStore, pruneAge ?? DefaultPruneAge);
        _grants = new LakeGrantStore(catalogStore, pruneAge ?? DefaultPruneAge);
    }

    public string Location => _store.Location;

    public async Task<CatalogEntry?> GetAsync(string database, string name, CancellationToken ct = default) =>
        (await _entries.LatestAsync(EntryPrefix(database, name), ct)).Document;

    public Task<CatalogEntry?> UpdateAsync(string database, string name, Func<CatalogEntry?, CatalogEntry?> edit, CancellationToken ct = default) =>
        _entries.UpdateAsync(EntryPrefix(database, name), edit, $"Catalog entry '{database}.{name}'", ct);

    // The grants document sits among the entries (the reserved entry _ecap.grants); the governance layer reads it itself.
    public Task<IReadOnlyList<Grant>> GetGrantsAsync(CancellationToken ct = default) => _grants.GetGrantsAsync(ct);

    public Task<IReadOnlyList<Grant>> UpdateGrantsAsync(Func<IReadOnlyList<Grant>, IReadOnlyList<Grant>> edit, CancellationToken ct = default) =>
        _grants.UpdateGrantsAsync(edit, ct);

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
}
