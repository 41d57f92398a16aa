using Ecap.DataLake.Catalog;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Tests.Security;

/// <summary>One lake folder seen by several principals: each gets its own storage, catalog and guard, as separate processes would.</summary>
internal sealed class GovernedLake(string path)
{
    public string Path { get; } = path;

    public IObjectStore Store => ObjectStoreFactory.Open(Path);

    public LakeGuard Guard(string principal, params string[] groups) => LakeGuard.ForLake(Store, new StaticIdentity(principal, groups));

    public DataLakeStorage As(string principal, params string[] groups) =>
        new(Path, new DataLakeStorageOptions { Guard = Guard(principal, groups) });

    public MetadataManager CatalogAs(string principal, params string[] groups) =>
        new(new LakeCatalogStore(Store.Child(MetadataManager.CatalogFolder)), Store) { Guard = Guard(principal, groups) };

    public AccessControl AccessAs(string principal, params string[] groups) => new(Guard(principal, groups));

    public AuditLog Audit => new(Store);

    public async Task<List<AuditRecord>> AuditRecordsAsync(AuditFilter? filter = null)
    {
        var list = new List<AuditRecord>();
        await foreach (var r in Audit.ReadAsync(filter)) list.Add(r);
        return list.OrderBy(r => r.Time).ToList();
    }
}
