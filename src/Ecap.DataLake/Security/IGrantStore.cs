using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Security;

/// <summary>
/// Where a lake's access grants are kept: the governance layer's one seam to storage. Implemented by the lake folder
/// (<see cref="LakeGrantStore"/>, the reserved document <c>_catalog/tables/_ecap/grants/</c>) and by every catalog store
/// (the PostgreSQL catalog keeps them in its own tables); <see cref="LakeGuard"/> reads them, <see cref="AccessControl"/> edits them.
/// </summary>
public interface IGrantStore
{
    /// <summary>Where the grants are, for messages.</summary>
    string Location { get; }

    /// <summary>The lake's access grants (empty: access control off).</summary>
    Task<IReadOnlyList<Grant>> GetGrantsAsync(CancellationToken ct = default);

    /// <summary>Applies a pure edit to the grants atomically (a concurrent edit is never lost); returns the new grants.</summary>
    Task<IReadOnlyList<Grant>> UpdateGrantsAsync(Func<IReadOnlyList<Grant>, IReadOnlyList<Grant>> edit, CancellationToken ct = default);
}

/// <summary>
/// The grants of a lake kept in its <c>_catalog</c> folder as the versioned document of the reserved entry <c>_ecap.grants</c>
/// (the format the lake-folder catalog has always used, so existing lakes keep their grants).
/// </summary>
internal sealed class LakeGrantStore : IGrantStore
{
    /// <summary>The folder under the lake root that holds the catalog and the grants.</summary>
    public const string CatalogFolder = "_catalog";

    /// <summary>The reserved catalog entry holding the grants: database <c>_ecap</c>, name <c>grants</c>.</summary>
    public const string ReservedDatabase = "_ecap";
    public const string ReservedName = "grants";

    private const string Prefix = "tables/" + ReservedDatabase + "/" + ReservedName + "/";

    private readonly VersionedDocuments<GrantsDocument> _documents;

    /// <param name="catalogFolder">The store rooted at the catalog folder (<c>lake.Child("_catalog")</c>).</param>
    /// <param name="pruneAge">Passed on to the versioned grants document (default 10 minutes).</param>
    public LakeGrantStore(IObjectStore catalogFolder, TimeSpan? pruneAge = null) =>
        _documents = new VersionedDocuments<GrantsDocument>(catalogFolder, pruneAge ?? VersionedDocuments<GrantsDocument>.DefaultPruneAge);

    /// <summary>The grants of the lake at <paramref name="lake"/> (its <c>_catalog</c> folder).</summary>
    public static LakeGrantStore ForLake(IObjectStore lake) => new(lake.Child(CatalogFolder));

    public string Location => _documents.Store.Location;

    public async Task<IReadOnlyList<Grant>> GetGrantsAsync(CancellationToken ct = default) =>
        (await _documents.LatestAsync(Prefix, ct)).Document?.Grants ?? [];

    public async Task<IReadOnlyList<Grant>> UpdateGrantsAsync(Func<IReadOnlyList<Grant>, IReadOnlyList<Grant>> edit, CancellationToken ct = default)
    {
        var document = await _documents.UpdateAsync(Prefix, current =>
        {
            var before = current?.Grants ?? [];
            var after = edit(before);
            if (ReferenceEquals(after, before)) return current;
            var now = DateTimeOffset.UtcNow;
            return (current ?? new GrantsDocument { CreatedAt = now }) with { Grants = after, UpdatedAt = now };
        }, $"Grants '{ReservedDatabase}.{ReservedName}'", ct);
        return document?.Grants ?? [];
    }

    // The reserved entry as the catalog reads it: a catalog entry whose only content is its grants.
    internal sealed record GrantsDocument
    {
        public string Name { get; init; } = ReservedName;
        public string Database { get; init; } = ReservedDatabase;
        public string Path { get; init; } = ReservedDatabase + "/" + ReservedName;
        public DateTimeOffset CreatedAt { get; init; }
        public DateTimeOffset UpdatedAt { get; init; }
        public IReadOnlyList<Grant>? Grants { get; init; }
    }
}
