using Ecap.DataLake.Catalog;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Lineage;
using Ecap.DataLake.Monitoring;
using Ecap.DataLake.Parquet.Encryption;
using Ecap.DataLake.Quality;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Storage.S3;
using Ecap.DataLake.Tables;
using Microsoft.Extensions.Logging;

namespace Ecap.DataLake;

/// <summary>
/// Configures a lake once, then <see cref="Build"/>s the <see cref="DataLake"/> every operation goes through (in the spirit
/// of Npgsql's <c>NpgsqlDataSourceBuilder</c>): the object store (any registered scheme), S3 settings and commit coordinator,
/// the catalog store, where grants live, identity, encryption keys, logging, and the hooks run after every commit.
/// <code>var lake = new DataLakeBuilder("s3://bucket/lake").UseS3(s3).UseIdentity(identity).Build();
/// await lake.Storage.WritePartitionedDataAsync(batches, "transactions", DataType.Transactions);</code>
/// </summary>
public sealed class DataLakeBuilder
{
    private readonly string? _location;
    private readonly IObjectStore? _store;
    private ObjectStoreRegistry _stores = ObjectStoreRegistry.Default;
    private S3StoreOptions? _s3;
    private ICatalogStore? _catalog;
    private string? _catalogLocation;
    private IGrantStore? _grants;
    private IIdentityProvider? _identity;
    private Func<string, string?>? _claims;
    private LakeGuardOptions? _guardOptions;
    private bool _unguarded;
    private IKeyProvider? _keys;
    private ILoggerFactory? _loggerFactory;
    private bool _catalogSync = true;
    private bool _autoCompact = true;
    private readonly List<IPostCommitHook> _hooks = [];
    private OpenLineageOptions? _lineage;
    private Func<DataLakeStorageOptions, DataLakeStorageOptions> _configureStorage = o => o;

    /// <summary>A lake at a folder or URI (<c>file://</c>, <c>s3://</c>, <c>s3a://</c>, or any scheme registered with <see cref="UseObjectStores"/>).</summary>
    public DataLakeBuilder(string location)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        _location = location;
    }

    /// <summary>A lake on a store already opened.</summary>
    public DataLakeBuilder(IObjectStore store) => _store = store ?? throw new ArgumentNullException(nameof(store));

    /// <summary>The stores locations are opened with (default <see cref="ObjectStoreRegistry.Default"/>).</summary>
    public DataLakeBuilder UseObjectStores(ObjectStoreRegistry registry) { _stores = registry; return this; }

    /// <summary>The stores in effect, for extensions that add one (<c>UseAzure</c>).</summary>
    public ObjectStoreRegistry ObjectStores => _stores;

    /// <summary>S3 settings (endpoint, region, path style, commit coordinator); unset values come from the environment.</summary>
    public DataLakeBuilder UseS3(S3StoreOptions options) { _s3 = options; return this; }

    /// <summary>The catalog store (default: the lake's own <c>_catalog</c> folder).</summary>
    public DataLakeBuilder UseCatalog(ICatalogStore store) { _catalog = store; _catalogLocation = null; return this; }

    /// <summary>A lake-folder catalog at another location (opened with this lake's store settings).</summary>
    public DataLakeBuilder UseCatalogFolder(string location) { _catalogLocation = location; _catalog = null; return this; }

    /// <summary>Where grants live (default: the lake's own <c>_catalog</c> folder, whatever catalog is used).</summary>
    public DataLakeBuilder UseGrantStore(IGrantStore store) { _grants = store; return this; }

    /// <summary>Who is calling (default: the lake's identity mode, <see cref="IdentitySettings"/>, applied to the environment's claim).</summary>
    public DataLakeBuilder UseIdentity(IIdentityProvider identity) { _identity = identity; return this; }

    /// <summary>
    /// Where callers' claims (<c>ECAP_TOKEN</c>, <c>ECAP_PRINCIPAL</c>, <c>ECAP_GROUPS</c>) are read instead of the process
    /// environment, the lake's identity mode still deciding which it accepts: a server hands each request's bearer token.
    /// Ignored when <see cref="UseIdentity"/> names a provider.
    /// </summary>
    public DataLakeBuilder UseIdentityClaims(Func<string, string?> claims) { _claims = claims ?? throw new ArgumentNullException(nameof(claims)); return this; }

    public DataLakeBuilder UseGuardOptions(LakeGuardOptions options) { _guardOptions = options; return this; }

    /// <summary>No access control and no audit: for tools that must not leave traces (benchmarks); never for a shared lake.</summary>
    public DataLakeBuilder Unguarded() { _unguarded = true; return this; }

    /// <summary>Keys of encrypted tables (default: ECAP_KEY_FILE or ECAP_KEY_&lt;ID&gt;).</summary>
    public DataLakeBuilder UseKeyProvider(IKeyProvider keys) { _keys = keys; return this; }

    /// <summary>Where the lake's layers log (the Delta layer's retries, failed checkpoints and hooks).</summary>
    public DataLakeBuilder UseLoggerFactory(ILoggerFactory loggerFactory) { _loggerFactory = loggerFactory; return this; }

    /// <summary>Whether commits keep the catalog current (default true: the catalog's post-commit hook).</summary>
    public DataLakeBuilder KeepCatalogCurrent(bool enabled) { _catalogSync = enabled; return this; }

    /// <summary>
    /// Whether commits to tables with <c>delta.autoOptimize.autoCompact</c> on (and to the audit trail) compact the partitions
    /// they leave with many small files, in the committing call (default true).
    /// </summary>
    public DataLakeBuilder AutoCompact(bool enabled) { _autoCompact = enabled; return this; }

    /// <summary>A hook run after every commit to a table of this lake, after the catalog's.</summary>
    public DataLakeBuilder AddPostCommitHook(IPostCommitHook hook) { _hooks.Add(hook ?? throw new ArgumentNullException(nameof(hook))); return this; }

    /// <summary>
    /// Sends an OpenLineage run (START, then COMPLETE or FAIL) for every write, ingestion run, row change, compaction and SQL
    /// export (<see cref="OpenLineageOptions.Operations"/>) to an HTTP backend or a file; null: the options the environment
    /// gives (<see cref="OpenLineageOptions.FromEnvironment"/>: <c>OPENLINEAGE_URL</c>...), nothing when it gives none.
    /// Sending never fails nor slows an operation; dispose the lake (<see cref="DataLake.DisposeAsync"/>) to flush the last events.
    /// </summary>
    public DataLakeBuilder UseOpenLineage(OpenLineageOptions? options = null)
    {
        _lineage = options ?? OpenLineageOptions.FromEnvironment();
        return this;
    }

    /// <summary>Storage settings: write buffer, target file size, region, snapshot cache, how hook failures are reported.</summary>
    public DataLakeBuilder ConfigureStorage(Func<DataLakeStorageOptions, DataLakeStorageOptions> configure)
    {
        var previous = _configureStorage;
        _configureStorage = o => configure(previous(o));
        return this;
    }

    /// <summary>The S3 settings in effect (the environment filling what was left unset).</summary>
    public S3StoreOptions S3Options => (_s3 ?? new S3StoreOptions()).WithEnvironmentDefaults();

    /// <summary>Builds the lake: one store, one guard, one catalog, one snapshot cache shared by everything it hands out.</summary>
    public DataLake Build()
    {
        var settings = new ObjectStoreSettings { S3 = S3Options };
        IObjectStore Open(string location) => _stores.Open(location, settings);
        var store = _store ?? Open(_location!);
        var catalog = _catalog ?? new LakeCatalogStore(_catalogLocation is { } folder ? Open(folder) : store.Child(MetadataManager.CatalogFolder));
        // The audit trail (one small file per operation) compacts itself whether or not its table says so.
        var auditLog = _autoCompact ? new AuditLog(store, [new AutoCompaction(() => null, onWhenUnset: true)]) : new AuditLog(store);
        // Lineage hangs off the guard (a run per operation) and the post-commit seam (what each commit wrote).
        var lineage = !_unguarded && _lineage is { IsEnabled: true } lo
            ? new OpenLineageEmitter(lo, store.Location, _loggerFactory?.CreateLogger("Ecap.DataLake.Lineage")) : null;
        var guardOptions = (_guardOptions ?? new LakeGuardOptions()) is var g && g.Logger is null && _loggerFactory is not null
            ? g with { Logger = _loggerFactory.CreateLogger("Ecap.DataLake.Audit") } : g;
        if (lineage is not null) guardOptions = guardOptions with { Observers = [.. guardOptions.Observers, lineage] };
        var guard = _unguarded
            ? LakeGuard.Unguarded
            : new LakeGuard(_grants ?? LakeGrantStore.ForLake(store), auditLog, _identity ?? new LakeIdentity(store, _claims), guardOptions);

        // The catalog needs the storage (shared snapshot cache) and the storage the catalog's hook: the hook goes in after.
        var catalogHook = new DeferredHook();
        var configured = _configureStorage(new DataLakeStorageOptions());
        var hooks = new List<IPostCommitHook>();
        if (_catalogSync) hooks.Add(catalogHook);
        hooks.AddRange(configured.PostCommitHooks);
        hooks.AddRange(_hooks);
        if (lineage is not null) hooks.Add(lineage);
        DataLakeStorage? built = null;
        if (_autoCompact) hooks.Add(new AutoCompaction(() => built?.Keys));
        var storage = built = new DataLakeStorage(store, configured with
        {
            Guard = guard,
            KeyProvider = _keys ?? configured.KeyProvider,
            LoggerFactory = _loggerFactory ?? configured.LoggerFactory,
            PostCommitHooks = hooks,
        });
        var metadata = new MetadataManager(catalog, store, guard, storage, Open);
        catalogHook.Target = metadata.CommitHook;
        return new DataLake(store, storage, metadata, guard, Open, _loggerFactory, lineage);
    }

    private sealed class DeferredHook : IPostCommitHook
    {
        public IPostCommitHook? Target { get; set; }

        public Task AfterCommitAsync(CommittedVersion commit, CancellationToken ct) => Target?.AfterCommitAsync(commit, ct) ?? Task.CompletedTask;
    }
}

/// <summary>
/// A lake as <see cref="DataLakeBuilder"/> configured it: the entry points of every layer, all sharing one store, one guard
/// (grants, identity, audit), one catalog and one snapshot cache. Cheap to keep for the life of a process; thread-safe.
/// Dispose it when done: that flushes the OpenLineage events still queued (<see cref="DataLakeBuilder.UseOpenLineage"/>).
/// </summary>
public sealed class DataLake : IAsyncDisposable
{
    private readonly Func<string, IObjectStore> _open;
    private readonly OpenLineageEmitter? _lineage;

    internal DataLake(IObjectStore store, DataLakeStorage storage, MetadataManager catalog, LakeGuard guard, Func<string, IObjectStore> open, ILoggerFactory? loggerFactory,
        OpenLineageEmitter? lineage = null)
    {
        _lineage = lineage;
        Store = store;
        Storage = storage;
        Catalog = catalog;
        Guard = guard;
        _open = open;
        LoggerFactory = loggerFactory;
        Ingester = new DataLakeIngester(storage);
        Compactor = new DataCompactor(storage);
        Quality = new DataQuality(storage);
    }

    /// <summary>The lake's object store.</summary>
    public IObjectStore Store { get; }

    public string Location => Store.Location;

    /// <summary>Tables: write, read, inspect, restore.</summary>
    public DataLakeStorage Storage { get; }

    /// <summary>The catalog (entries, schema history, statistics, lineage), kept current by every commit.</summary>
    public MetadataManager Catalog { get; }

    /// <summary>Access control and audit of every operation.</summary>
    public LakeGuard Guard { get; }

    public DataLakeIngester Ingester { get; }

    public DataCompactor Compactor { get; }

    public DataQuality Quality { get; }

    public ILoggerFactory? LoggerFactory { get; }

    /// <summary>A look at the whole lake (tables, streams, recent commits), through this lake's storage and guard.</summary>
    public LakeMonitor Monitor() => new(Storage);

    /// <summary>Opens another location (a table registered elsewhere, a catalog folder) with this lake's store settings.</summary>
    public IObjectStore OpenLocation(string location) => _open(location);

    /// <summary>True when operations send OpenLineage events.</summary>
    public bool EmitsLineage => _lineage is not null;

    /// <summary>Sends the OpenLineage events still queued (waiting at most <see cref="OpenLineageOptions.FlushTimeout"/>); nothing else to release.</summary>
    public ValueTask DisposeAsync() => _lineage?.DisposeAsync() ?? ValueTask.CompletedTask;
}
