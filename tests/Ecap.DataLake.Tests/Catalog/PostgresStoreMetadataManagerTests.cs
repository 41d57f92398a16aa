using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Ecap.DataLake.Catalog;
using Ecap.DataLake.Postgres;
using Ecap.DataLake.Postgres.Catalog;
using Ecap.DataLake.Storage;
using Npgsql;

namespace Ecap.DataLake.Tests.Catalog;

/// <summary>
/// The suite on the PostgreSQL store, against a real throwaway server. Each lake gets its own schema, so tests
/// run side by side on one server.
/// </summary>
public sealed class PostgresStoreMetadataManagerTests(PostgresTestServer server) : MetadataManagerTests, IClassFixture<PostgresTestServer>, IAsyncLifetime
{
    private readonly ConcurrentBag<PostgresCatalogStore> _stores = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var store in _stores) await store.DisposeAsync();
    }

    private PostgresConnectionConfig Config => PostgresConnectionConfig.Parse(server.Url, "ecap", "ecap");

    /// <summary>One schema per lake folder, named from a hash of its path.</summary>
    private static string SchemaOf(TempDir dir) =>
        "lake_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dir.Path)))[..16];

    protected override MetadataManager OpenCatalog(TempDir dir)
    {
        var store = new PostgresCatalogStore(Config, SchemaOf(dir));
        _stores.Add(store);
        return new MetadataManager(store, new LocalObjectStore(dir.Path));
    }

    protected override void AssertStoredVersions(TempDir dir, string table, int versions)
    {
        // One row per entry; its version column counts the edits (0 for the first).
        using var conn = server.Open();
        using var cmd = new NpgsqlCommand($"SELECT version FROM \"{SchemaOf(dir)}\".catalog_entries WHERE database = 'data_lake' AND name = @n", conn);
        cmd.Parameters.AddWithValue("n", table);
        Assert.Equal((long)(versions - 1), (long)cmd.ExecuteScalar()!);
        // Nothing is written into the lake folder.
        Assert.False(Directory.Exists(Path.Combine(dir.Path, MetadataManager.CatalogFolder)));
    }

    [Fact]
    public async Task The_schema_is_created_and_migrated_once_and_records_its_version()
    {
        using var dir = new TempDir();
        var schema = SchemaOf(dir);
        // Several stores starting at once (as processes would) migrate exactly once.
        var stores = Enumerable.Range(0, 4).Select(_ => new PostgresCatalogStore(Config, schema)).ToList();
        foreach (var s in stores) _stores.Add(s);
        var versions = await Task.WhenAll(stores.Select(s => s.MigrateAsync()));
        Assert.All(versions, v => Assert.Equal(1, v));

        using var conn = server.Open();
        Assert.Equal(1, PostgresTestServer.Exec(conn, $"SELECT count(*) FROM \"{schema}\".schema_migrations"));
        Assert.Equal(1, PostgresTestServer.Exec(conn, $"SELECT max(version) FROM \"{schema}\".schema_migrations"));
        Assert.Equal(0, PostgresTestServer.Exec(conn, $"SELECT count(*) FROM \"{schema}\".catalog_entries"));

        // A schema migrated by a newer build is refused rather than misread.
        PostgresTestServer.Exec(conn, $"INSERT INTO \"{schema}\".schema_migrations (version, description) VALUES (99, 'from the future')");
        var newer = new PostgresCatalogStore(Config, schema);
        _stores.Add(newer);
        var e = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => newer.ListAsync());
        Assert.Contains("version 99", e.Message);
    }

    [Fact]
    public void Catalog_locations_pick_the_store_by_their_form()
    {
        using var dir = new TempDir();
        var lake = new LocalObjectStore(dir.Path);
        Assert.IsType<LakeCatalogStore>(CatalogFactory.Open(null, lake).Store);
        Assert.IsType<LakeCatalogStore>(CatalogFactory.Open(dir.Sub("elsewhere"), lake).Store);
        foreach (var url in new[] { server.Url + "?user=ecap&password=ecap", $"postgresql://ecap:ecap@127.0.0.1:{server.Port}/ecap", server.ConnectionString })
        {
            var store = Assert.IsType<PostgresCatalogStore>(CatalogFactory.Open(url, lake).Store);
            _stores.Add(store);
            Assert.Equal($"postgresql://ecap@127.0.0.1:{server.Port}/ecap#ecap_catalog", store.Location);   // never the password
        }
        Assert.Throws<InvalidInputException>(() => new PostgresCatalogStore(Config, "Bad-Schema"));
    }
}
