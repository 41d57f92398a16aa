using Ecap.DataLake.Catalog;

namespace Ecap.DataLake.Security;

/// <summary>
/// The default way a catalog store keeps grants: one reserved catalog entry, <c>_ecap.grants</c>, whose
/// <see cref="CatalogEntry.Grants"/> hold them. Updates go through <see cref="ICatalogStore.UpdateAsync"/>,
/// so concurrent grant edits never lose one. Stores may override the interface methods with a native table.
/// </summary>
public static class GrantDocument
{
    public const string Database = "_ecap";
    public const string Name = "grants";

    public static async Task<IReadOnlyList<Grant>> ReadAsync(ICatalogStore store, CancellationToken ct) =>
        (await store.GetAsync(Database, Name, ct))?.Grants ?? [];

    public static async Task<IReadOnlyList<Grant>> UpdateAsync(ICatalogStore store, Func<IReadOnlyList<Grant>, IReadOnlyList<Grant>> edit, CancellationToken ct)
    {
        var entry = await store.UpdateAsync(Database, Name, current =>
        {
            var before = current?.Grants ?? [];
            var after = edit(before);
            if (ReferenceEquals(after, before)) return current;
            var now = DateTimeOffset.UtcNow;
            return (current ?? new CatalogEntry { Name = Name, Database = Database, Path = "_ecap/grants", CreatedAt = now }) with
            {
                Grants = after,
                UpdatedAt = now,
            };
        }, ct);
        return entry?.Grants ?? [];
    }
}
