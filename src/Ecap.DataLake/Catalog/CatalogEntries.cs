using Ecap.DataLake.Storage;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Catalog;

/// <summary>Entries by name, listings, and the edits that only touch an entry (status, tags).</summary>
internal sealed class CatalogEntries(ICatalogStore store)
{
    /// <summary>An entry by name: "database.name" when it names one, else the name in the default database, then in any database.</summary>
    public async Task<CatalogEntry?> FindAsync(string name, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new InvalidInputException("Table name must not be empty.");
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && await TryGetAsync(name[..dot], name[(dot + 1)..], ct) is { } qualified) return qualified;
        if (await TryGetAsync(MetadataManager.DefaultDatabase, name, ct) is { } e) return e;
        foreach (var db in await store.ListDatabasesAsync(ct))
            if (db != MetadataManager.DefaultDatabase && db != LakeGrantStore.ReservedDatabase && await TryGetAsync(db, name, ct) is { } other) return other;
        return null;
    }

    private async Task<CatalogEntry?> TryGetAsync(string database, string name, CancellationToken ct) =>
        IsValidName(database) && IsValidName(name) ? await store.GetAsync(database, name, ct) : null;

    public static bool IsValidName(string name)
    {
        try { TableNames.Validate(name); return true; }
        catch (InvalidPathException) { return false; }
    }

    public TableNotFoundException NotRegistered(string name) =>
        new($"Table '{name}' is not registered in the catalog at {store.Location}; register it with `ecap data-lake catalog register {name} PATH`.");

    public async Task<IReadOnlyList<CatalogEntry>> ListAsync(string? database, TableStatus? status, CancellationToken ct)
    {
        var all = await store.ListAsync(database is null ? null : TableNames.Validate(database), ct);
        return all.Where(e => !e.IsReserved && (status is null || e.Status == status)).ToList();
    }

    public async Task<CatalogEntry> SetStatusAsync(CatalogEntry entry, TableStatus status, CancellationToken ct) =>
        (await store.UpdateAsync(entry.Database, entry.Name, current =>
            current is null || current.Status == status ? current : current with { Status = status, UpdatedAt = DateTimeOffset.UtcNow }, ct))!;

    /// <summary>Adds tags to an entry (kept once, case-insensitively).</summary>
    public async Task<CatalogEntry> AddTagsAsync(CatalogEntry entry, IEnumerable<string> tags, CancellationToken ct)
    {
        var add = tags.ToList();
        return (await store.UpdateAsync(entry.Database, entry.Name, current =>
        {
            if (current is null) return null;
            var merged = current.Tags.Concat(add).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            return merged.Count == current.Tags.Count ? current : current with { Tags = merged, UpdatedAt = DateTimeOffset.UtcNow };
        }, ct))!;
    }
}
