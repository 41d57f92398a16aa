using Ecap.DataLake.Catalog;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Postgres.Catalog;

/// <summary>Picks the catalog store from a catalog location: PostgreSQL for a URL or connection string, else a folder.</summary>
public static class CatalogFactory
{
    /// <summary>
    /// The catalog at <paramref name="catalog"/>: null or empty is the lake's own <c>_catalog</c> folder; a
    /// <c>postgresql://</c> / <c>jdbc:postgresql://</c> URL or an Npgsql connection string is a
    /// <see cref="PostgresCatalogStore"/>; anything else is a folder (or s3:// prefix) holding a lake-style catalog.
    /// </summary>
    public static MetadataManager Open(string? catalog, IObjectStore lake)
    {
        if (string.IsNullOrWhiteSpace(catalog)) return new MetadataManager(lake);
        if (PostgresCatalogStore.IsPostgresLocation(catalog))
            return new MetadataManager(new PostgresCatalogStore(PostgresConnectionConfig.Parse(catalog)), lake);
        return new MetadataManager(new LakeCatalogStore(ObjectStoreFactory.Open(catalog)), lake);
    }
}
