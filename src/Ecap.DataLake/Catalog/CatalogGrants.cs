using Ecap.DataLake.Security;

namespace Ecap.DataLake.Catalog;

/// <summary>
/// How a catalog store keeps grants when it has no native place for them: the reserved catalog entry <c>_ecap.grants</c>,
/// edited through <see cref="ICatalogStore.UpdateAsync"/> so concurrent grant edits never lose one (the lake-folder
/// store's documents are the ones <see cref="LakeGrantStore"/> reads).
/// </summary>
internal static class CatalogGrants
{
    public static async Task<IReadOnlyList<Grant>> ReadAsync(ICatalogStore store, CancellationToken ct) =>
        (await store.GetAsync(LakeGrantStore.ReservedDatabase, LakeGrantStore.ReservedName, ct))?.Grants ?? [];

    public static async Task<IReadOnlyList<Grant>> UpdateAsync(ICatalogStore store, Func<IReadOnlyList<Grant>, IReadOnlyList<Grant>> edit, CancellationToken ct)
    {
        var entry = await store.UpdateAsync(LakeGrantStore.ReservedDatabase, LakeGrantStore.ReservedName, current =>
        {
            var before = current?.Grants ?? [];
            var after = edit(before);
            if (ReferenceEquals(after, before)) return current;
            var now = DateTimeOffset.UtcNow;
            return (current ?? new CatalogEntry { Name = LakeGrantStore.ReservedName, Database = LakeGrantStore.ReservedDatabase, Path = "_ecap/grants", CreatedAt = now }) with
            {
                Grants = after,
                UpdatedAt = now,
            };
        }, ct);
        return entry?.Grants ?? [];
    }
}
