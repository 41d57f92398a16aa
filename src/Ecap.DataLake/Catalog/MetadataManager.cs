using Ecap.DataLake.Delta;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Catalog;

/// <summary>
/// The catalog: what the lake's tables are, who owns them, how they relate, and how they look
/// (schema history, statistics). Entries live in an <see cref="ICatalogStore"/> and follow the Delta
/// log: <see cref="SyncFromLogAsync"/> (also the post-commit <see cref="CommitHook"/> from <see cref="WithCatalog"/>)
/// brings an entry up to the table's latest version. A facade: every public method is a guarded, audited operation whose
/// work is done by <see cref="CatalogSync"/>, <see cref="CatalogEntries"/>, <see cref="SchemaHistory"/>,
/// <see cref="TableStatisticsBuilder"/>, <see cref="CatalogSearch"/> and <see cref="CatalogLineage"/>.
/// </summary>
public sealed class MetadataManager
{
    public const string DefaultDatabase = "data_lake";
    public const string CatalogFolder = LakeGrantStore.CatalogFolder;

    /// <summary>Lineage names of external sources (ingested files, databases, topics) start with this.</summary>
    public const string SourcePrefix = "source:";

    private readonly CatalogEntries _entries;
    private readonly CatalogSync _sync;
    private readonly SchemaHistory _schemaHistory;
    private readonly TableStatisticsBuilder _statistics;
    private readonly CatalogSearch _search;
    private readonly CatalogLineage _lineage;

    /// <summary>A catalog in the lake's own <c>_catalog</c> folder.</summary>
    public MetadataManager(string lakePath) : this(ObjectStoreFactory.Open(lakePath)) { }

    public MetadataManager(IObjectStore lake) : this(new LakeCatalogStore(lake.Child(CatalogFolder)), lake) { }

    /// <param name="store">Where entries live.</param>
    /// <param name="lake">The lake whose tables <see cref="SyncFromLogAsync"/> registers by name (optional).</param>
    public MetadataManager(ICatalogStore store, IObjectStore? lake = null)
        : this(store, lake, lake is null ? new LakeGuard(store, null) : LakeGuard.ForLake(lake), null, null)
    {
    }

    /// <summary>The catalog of a lake built by <see cref="DataLakeBuilder"/>: its guard, its tables' shared snapshot cache, its store settings.</summary>
    internal MetadataManager(ICatalogStore store, IObjectStore? lake, LakeGuard guard, DataLakeStorage? storage, Func<string, IObjectStore>? openLocation)
    {
        Store = store;
        Guard = guard;
        var locations = new CatalogLocations(lake, storage, openLocation ?? (location => ObjectStoreFactory.Open(location)));
        _entries = new CatalogEntries(store);
        _sync = new CatalogSync(store, _entries, locations);
        // The parts read entries through GetTableAsync: a nested guarded operation, as before the split.
        _schemaHistory = new SchemaHistory(locations, GetTableAsync);
        _statistics = new TableStatisticsBuilder(store, locations, GetTableAsync);
        _search = new CatalogSearch(store);
        _lineage = new CatalogLineage(store, GetTableAsync);
        CommitHook = new CatalogSyncHook(_sync);
    }

    /// <summary>
    /// Keeps this catalog current after every commit to a lake table (the Delta layer's post-commit seam): registers a new
    /// table, then applies what each commit carried, reading the log only when the entry fell behind.
    /// </summary>
    public IPostCommitHook CommitHook { get; }

    public ICatalogStore Store { get; }

    /// <summary>Access control and audit of catalog operations; grants live in <see cref="Store"/> (replace it to change identity or audit).</summary>
    public LakeGuard Guard { get; init; }

    // A catalog name is "name" or "database.name"; grants are per table name.
    private Task<T> Guarded<T>(string operation, string? name, Privilege? privilege, Func<GuardScope, Task<T>> body,
        IReadOnlyDictionary<string, string?>? parameters = null, CancellationToken ct = default) =>
        Guard.RunAsync(new GuardedOperation(operation, name is null ? null : name.Contains('.') ? name[(name.IndexOf('.') + 1)..] : name, privilege, parameters), body, ct);

    /// <summary>Storage options whose writes keep this catalog current (registered on first write, synced on every commit).</summary>
    public DataLakeStorageOptions WithCatalog(DataLakeStorageOptions? options = null)
    {
        options ??= new DataLakeStorageOptions();
        return options with { PostCommitHooks = [.. options.PostCommitHooks, CommitHook] };
    }

    // The commit was authorized and is audited as the operation that made it: its catalog upkeep is not a second operation.
    private sealed class CatalogSyncHook(CatalogSync sync) : IPostCommitHook
    {
        public async Task AfterCommitAsync(CommittedVersion commit, CancellationToken ct)
        {
            if (commit.Table.Name is not { } name || name.StartsWith('_')) return; // reserved tables (_ecap/...) are not catalogued
            await sync.SyncAsync(name, ct, commit);
        }
    }

    // ------------------------------------------------------------------ registration and upkeep

    /// <summary>Registers (or, when already registered, updates) a table: checks the path is a Delta table and captures its schema.</summary>
    public Task<CatalogEntry> RegisterTableAsync(string name, string path, string? description = null, string? owner = null,
        IEnumerable<string>? tags = null, string database = DefaultDatabase, CancellationToken ct = default) =>
        Guarded("catalog-register", name, Privilege.Admin, _ => _sync.RegisterAsync(name, path, description, owner, tags, database, ct), new Dictionary<string, string?> { ["path"] = path, ["owner"] = owner, ["database"] = database }, ct);

    /// <summary>
    /// Brings a table's entry up to its latest Delta version (version, schema history, rows, size). A lake
    /// table that is not registered yet is registered in the default database.
    /// </summary>
    public Task<CatalogEntry> SyncFromLogAsync(string name, CancellationToken ct = default) =>
        Guarded("catalog-sync", name, Privilege.Write, _ => _sync.SyncAsync(name, ct), null, ct);

    public Task<CatalogEntry> GetTableAsync(string name, CancellationToken ct = default) =>
        Guarded("catalog-show", name, Privilege.Read, async scope => TableStatisticsBuilder.WithoutMaskedValues(await _entries.FindAsync(name, ct) ?? throw _entries.NotRegistered(name), scope), null, ct);

    /// <summary>
    /// What <c>catalog show</c> prints, as one read (one audit record): the entry brought up to the table's log, its schema
    /// history and its lineage; values of columns excluded for the caller are left out of the statistics.
    /// </summary>
    public Task<TableOverview> ShowTableAsync(string name, CancellationToken ct = default) =>
        Guarded("catalog-show", name, Privilege.Read, async scope =>
        {
            // Bringing the entry up to the log is catalog upkeep (what the post-commit hook does), not a write of the caller's.
            var entry = TableStatisticsBuilder.WithoutMaskedValues(await _sync.SyncAsync(name, ct), scope);
            return new TableOverview(entry, await _schemaHistory.GetAsync(name, ct), await _lineage.GetAsync(name, ct));
        }, null, ct);

    public Task<CatalogEntry> SetTableStatusAsync(string name, TableStatus status, CancellationToken ct = default) =>
        Guarded("catalog-set-status", name, Privilege.Admin, async _ => await _entries.SetStatusAsync(await GetTableAsync(name, ct), status, ct), new Dictionary<string, string?> { ["status"] = status.Name() }, ct);

    /// <summary>Adds tags to an entry (kept once, case-insensitively).</summary>
    public Task<CatalogEntry> AddTagsAsync(string name, IEnumerable<string> tags, CancellationToken ct = default) =>
        Guarded("catalog-add-tags", name, Privilege.Admin, async _ => await _entries.AddTagsAsync(await GetTableAsync(name, ct), tags, ct), null, ct);

    public Task<IReadOnlyList<CatalogEntry>> ListTablesAsync(string? database = null, TableStatus? status = null, CancellationToken ct = default) =>
        Guarded("catalog-list", null, null, async scope =>
            (IReadOnlyList<CatalogEntry>)(await _entries.ListAsync(database, status, ct)).Where(e => scope.CanRead(e.Name)).ToList(), null, ct);

    // ------------------------------------------------------------------ schema history

    /// <summary>Every schema the table had, read from its Delta log, with the columns added, removed and changed at each.</summary>
    public Task<IReadOnlyList<SchemaChange>> GetSchemaHistoryAsync(string name, CancellationToken ct = default) =>
        Guarded("catalog-schema-history", name, Privilege.Read, _ => _schemaHistory.GetAsync(name, ct), null, ct);

    // ------------------------------------------------------------------ statistics

    /// <summary>
    /// Computes table statistics at the latest version: counts from the log; per column null count and
    /// min/max from the file stats (or partition values) where they are exact; with
    /// <paramref name="computeColumnStats"/>, distinct counts (HyperLogLog), string lengths and top values
    /// from the first <paramref name="sampleSize"/> rows (streamed), which also fill in bounds the file stats lack.
    /// </summary>
    public Task<CatalogEntry> UpdateTableStatisticsAsync(string name, bool computeColumnStats = false, int sampleSize = 10_000,
        CancellationToken ct = default) =>
        Guarded("catalog-update-stats", name, Privilege.Write, _ => _statistics.UpdateAsync(name, computeColumnStats, sampleSize, Guard, ct), null, ct);

    // ------------------------------------------------------------------ search

    /// <summary>
    /// Tables matching <paramref name="term"/> (case-insensitive substring) in the given fields (default all:
    /// table_name, description, tags, columns, owner), best first: exact name, name prefix, name substring, other fields.
    /// </summary>
    public Task<IReadOnlyList<SearchResult>> SearchTablesAsync(string term, IEnumerable<string>? fields = null, CancellationToken ct = default) =>
        Guarded("catalog-search", null, null, async scope =>
            (IReadOnlyList<SearchResult>)(await _search.SearchAsync(term, fields, ct)).Where(r => scope.CanRead(r.Entry.Name)).ToList(),
            new Dictionary<string, string?> { ["term"] = term }, ct);

    // ------------------------------------------------------------------ lineage

    /// <summary>Records that <paramref name="table"/> is derived from <paramref name="upstream"/> and feeds <paramref name="downstream"/>. All tables must be registered.</summary>
    public Task<LineageGraph> AddTableLineageAsync(string table, IEnumerable<string>? upstream = null, IEnumerable<string>? downstream = null,
        CancellationToken ct = default) =>
        Guarded("catalog-lineage", table, Privilege.Admin, async _ =>
        {
            await _lineage.AddAsync(table, upstream, downstream, ct);
            return await GetLineageAsync(table, ct);
        }, null, ct);

    /// <summary>Direct and transitive upstream and downstream tables (cycles are walked once).</summary>
    public Task<LineageGraph> GetLineageAsync(string table, CancellationToken ct = default) =>
        Guarded("catalog-show-lineage", table, Privilege.Read, _ => _lineage.GetAsync(table, ct), null, ct);
}
