using Ecap.DataLake.Postgres;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Storage.S3;

namespace Ecap.DataLake.Tests.Storage;

/// <summary>Where a parametrized suite gets fresh, empty stores: local temp folders, or prefixes on the Swift test server.</summary>
public interface IStoreSource
{
    /// <summary>A new, empty store.</summary>
    IObjectStore NewStore();

    /// <summary>Another, independent instance over the same location (another writer: nothing shared but the objects).</summary>
    IObjectStore Reopen(IObjectStore store);
}

public sealed class LocalStores : IStoreSource, IDisposable
{
    private readonly TempDir _dir = new();

    public IObjectStore NewStore() => new LocalObjectStore(_dir.Sub(Guid.NewGuid().ToString("N")[..12]));

    public IObjectStore Reopen(IObjectStore store) => new LocalObjectStore(store.Location);

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// The real S3-compatible server (Swift with s3api, which answers conditional puts with 501) and a real PostgreSQL
/// commit coordinator: the configuration multi-writer lakes on such servers use. One per test run ("s3" collection).
/// </summary>
public sealed class S3Lake : IStoreSource, IDisposable
{
    public S3TestServer S3 { get; }

    public PostgresTestServer Postgres { get; }

    /// <summary>The coordinator setting (ECAP_COMMIT_COORDINATOR) for this server: a JDBC URL with the test credentials.</summary>
    public string CoordinatorUrl => Postgres.Url + "?user=ecap&password=ecap";

    public PostgresCommitCoordinator NewCoordinator() => PostgresCommitCoordinator.Open(CoordinatorUrl);

    private readonly Lazy<PostgresCommitCoordinator> _coordinator;

    public S3Lake()
    {
        S3 = new S3TestServer();
        try { Postgres = new PostgresTestServer(); }
        catch { S3.Dispose(); throw; } // a fixture whose constructor fails is not disposed
        _coordinator = new(NewCoordinator);
    }

    public PostgresCommitCoordinator Coordinator => _coordinator.Value;

    public IObjectStore NewStore() => S3ObjectStore.Open(S3.NewLocation(), S3.Options(Coordinator));

    public IObjectStore Reopen(IObjectStore store) => S3ObjectStore.Open(store.Location, S3.Options(Coordinator));

    public void Dispose()
    {
        if (_coordinator.IsValueCreated) _coordinator.Value.Dispose();
        S3.Dispose();
        Postgres.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class S3Collection : ICollectionFixture<S3Lake>
{
    public const string Name = "s3 server";
}

/// <summary>
/// The Azure Blob Storage emulator (Azurite), which enforces conditional puts (<c>If-None-Match: *</c>), so commits need no
/// coordinator. One per test run ("azure" collection).
/// </summary>
public sealed class AzureLake : IStoreSource, IDisposable
{
    public AzuriteTestServer Azurite { get; } = new();

    public Ecap.DataLake.Azure.AzureStoreOptions Options => new() { ConnectionString = Azurite.ConnectionString };

    public IObjectStore NewStore() => Ecap.DataLake.Azure.AzureBlobObjectStore.Open(Azurite.NewLocation(), Options);

    public IObjectStore Reopen(IObjectStore store) => Ecap.DataLake.Azure.AzureBlobObjectStore.Open(store.Location, Options);

    public void Dispose() => Azurite.Dispose();
}

[CollectionDefinition(Name)]
public sealed class AzureCollection : ICollectionFixture<AzureLake>
{
    public const string Name = "azure emulator";
}
