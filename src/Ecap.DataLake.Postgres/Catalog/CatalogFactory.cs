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
    /// Grants stay in the lake's own <c>_catalog</c> folder whatever the catalog (a catalog elsewhere never turns access control off).
    /// </summary>
    public static DataLakeBuilder UseCatalogSetting(this DataLakeBuilder builder, string? catalog)
    {
        if (string.IsNullOrWhiteSpace(catalog)) return builder;
        if (PostgresCatalogStore.IsPostgresLocation(catalog))
            return builder.UseCatalog(new PostgresCatalogStore(PostgresConnectionConfig.Parse(catalog)));
        return builder.UseCatalogFolder(catalog);
    }

    /// <summary>The catalog at <paramref name="catalog"/> of a lake opened with default settings (see <see cref="UseCatalogSetting"/>).</summary>
    public static MetadataManager Open(string? catalog, IObjectStore lake) =>
        new DataLakeBuilder(lake).UseCatalogSetting(catalog).Build().Catalog;
}
