namespace Ecap.DataLake.Catalog;

/// <summary>
/// Where catalog entries live. The seam between <see cref="MetadataManager"/> (what the catalog means)
/// and storage (how entries are kept consistent). Implementations: <see cref="LakeCatalogStore"/>
/// (versioned JSON documents in the lake); a PostgreSQL store can implement the same contract
/// (a row per entry with a version column, updated with <c>WHERE version = @read</c>).
/// </summary>
public interface ICatalogStore : Security.IGrantStore
{

    /// <summary>The latest version of an entry, or null when it is not registered.</summary>
    Task<CatalogEntry?> GetAsync(string database, string name, CancellationToken ct = default);

    /// <summary>
    /// Applies <paramref name="edit"/> to the latest version of an entry (null when absent) and stores the
    /// result as the next version, atomically: when another writer got there first, the edit is re-applied
    /// to the newer version, so no edit is lost. The edit must be a pure function of its input;
    /// returning the same instance (or null) means "no change" and writes nothing.
    /// </summary>
    Task<CatalogEntry?> UpdateAsync(string database, string name, Func<CatalogEntry?, CatalogEntry?> edit, CancellationToken ct = default);

    /// <summary>The databases that hold entries.</summary>
    Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken ct = default);

    /// <summary>The latest version of every entry (of one database when given), ordered by database and name.</summary>
    Task<IReadOnlyList<CatalogEntry>> ListAsync(string? database = null, CancellationToken ct = default);

    /// <summary>
    /// Default: grants kept in the reserved entry <c>_ecap.grants</c> through <see cref="GetAsync"/>, so every store holds
    /// them without extra code; a store with a native place overrides these.
    /// </summary>
    Task<IReadOnlyList<Security.Grant>> Security.IGrantStore.GetGrantsAsync(CancellationToken ct) => CatalogGrants.ReadAsync(this, ct);

    Task<IReadOnlyList<Security.Grant>> Security.IGrantStore.UpdateGrantsAsync(Func<IReadOnlyList<Security.Grant>, IReadOnlyList<Security.Grant>> edit, CancellationToken ct) =>
        CatalogGrants.UpdateAsync(this, edit, ct);
}
