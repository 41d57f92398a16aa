using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Security;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Catalog;

/// <summary>
/// The catalog: what the lake's tables are, who owns them, how they relate, and how they look
/// (schema history, statistics). Entries live in an <see cref="ICatalogStore"/> and follow the Delta
/// log: <see cref="SyncFromLogAsync"/> (also the <see cref="DataLakeStorageOptions.AfterCommit"/> hook
/// from <see cref="WithCatalog"/>) brings an entry up to the table's latest version.
/// </summary>
public sealed class MetadataManager
{
    public const string DefaultDatabase = "data_lake";
    public const string CatalogFolder = LakeGrantStore.CatalogFolder;

    /// <summary>Sample values beyond this many distinct ones make a column "high cardinality" (no top values).</summary>
    private const int LowCardinalityLimit = 50;
    private const int TopValueCount = 10;

    private static readonly string[] SearchFields = ["table_name", "description", "tags", "columns", "owner"];

    private readonly IObjectStore? _lake;

    /// <summary>A catalog in the lake's own <c>_catalog</c> folder.</summary>
    public MetadataManager(string lakePath) : this(ObjectStoreFactory.Open(lakePath)) { }

    public MetadataManager(IObjectStore lake) : this(new LakeCatalogStore(lake.Child(CatalogFolder)), lake) { }

    /// <param name="store">Where entries live.</param>
    /// <param name="lake">The lake whose tables <see cref="SyncFromLogAsync"/> registers by name (optional).</param>
    public MetadataManager(ICatalogStore store, IObjectStore? lake = null)
        : this(store, lake, new LakeGuard(store, lake is null ? null : new AuditLog(lake)), null, null)
    {
    }

    /// <summary>The catalog of a lake built by <see cref="DataLakeBuilder"/>: its guard, its tables' shared snapshot cache, its store settings.</summary>
    internal MetadataManager(ICatalogStore store, IObjectStore? lake, LakeGuard guard, DataLakeStorage? storage, Func<string, IObjectStore>? openLocation)
    {
        Store = store;
        _lake = lake;
        Guard = guard;
        _storage = storage;
        _openLocation = openLocation ?? (location => ObjectStoreFactory.Open(location));
        CommitHook = new CatalogSyncHook(this);
    }

    private readonly DataLakeStorage? _storage;
    private readonly Func<string, IObjectStore> _openLocation;

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
    private sealed class CatalogSyncHook(MetadataManager catalog) : IPostCommitHook
    {
        public async Task AfterCommitAsync(CommittedVersion commit, CancellationToken ct)
        {
            if (commit.Table.Name is not { } name || name.StartsWith('_')) return; // reserved tables (_ecap/...) are not catalogued
            await catalog.SyncFromLogCoreAsync(name, ct, commit);
        }
    }

    // ------------------------------------------------------------------ registration and upkeep

    /// <summary>Registers (or, when already registered, updates) a table: checks the path is a Delta table and captures its schema.</summary>
    public Task<CatalogEntry> RegisterTableAsync(string name, string path, string? description = null, string? owner = null,
        IEnumerable<string>? tags = null, string database = DefaultDatabase, CancellationToken ct = default) =>
        Guarded("catalog-register", name, Privilege.Admin, _ => RegisterTableCoreAsync(name, path, description, owner, tags, database, ct), new Dictionary<string, string?> { ["path"] = path, ["owner"] = owner, ["database"] = database }, ct);

    private async Task<CatalogEntry> RegisterTableCoreAsync(string name, string path, string? description, string? owner,
        IEnumerable<string>? tags, string database, CancellationToken ct, CommittedVersion? commit = null)
    {
        TableNames.Validate(name);
        TableNames.Validate(database);
        var location = NormalizePath(path);
        var tagList = tags?.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => t.Trim()).ToList() ?? [];
        var existing = await Store.GetAsync(database, name, ct);
        var after = existing?.Path == location ? existing.TableVersion : -1;
        var log = FromCommit(commit, after) ?? await ReadLogAsync(await OpenDeltaAsync(location, ct), after, ct);
        var now = DateTimeOffset.UtcNow;
        return (await Store.UpdateAsync(database, name, current =>
        {
            var baseEntry = current is not null && current.Path == location
                ? current
                : new CatalogEntry { Name = name, Database = database, Path = location, CreatedAt = current?.CreatedAt ?? now, Upstream = current?.Upstream ?? [], Tags = current?.Tags ?? [] };
            // A concurrent sync may already have recorded a newer version: never move the entry back.
            var synced = baseEntry.TableVersion > log.Snapshot.Version ? baseEntry : Apply(baseEntry, log);
            return synced with
            {
                Description = description ?? baseEntry.Description,
                Owner = owner ?? baseEntry.Owner,
                Tags = baseEntry.Tags.Concat(tagList).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
                UpdatedAt = now,
            };
        }, ct))!;
    }

    /// <summary>
    /// Brings a table's entry up to its latest Delta version (version, schema history, rows, size). A lake
    /// table that is not registered yet is registered in the default database.
    /// </summary>
    public Task<CatalogEntry> SyncFromLogAsync(string name, CancellationToken ct = default) =>
        Guarded("catalog-sync", name, Privilege.Write, _ => SyncFromLogCoreAsync(name, ct), null, ct);

    /// <param name="commit">The commit that triggered the sync (post-commit hook), whose actions are applied when the entry is at the version before it.</param>
    private async Task<CatalogEntry> SyncFromLogCoreAsync(string name, CancellationToken ct, CommittedVersion? commit = null)
    {
        var entry = await FindAsync(name, ct);
        if (entry is null)
        {
            // Only a table that really is in the lake is registered on the fly; anything else is unknown.
            if (_lake is null || !TableNamesValid(name) || (commit is null && !await new DeltaTable(_lake.Child(name)).ExistsAsync(ct))) throw NotRegistered(name);
            return await RegisterTableCoreAsync(name, _lake.Child(name).Location, null, null, null, DefaultDatabase, ct, commit);
        }
        var log = (entry.Path == commit?.Table.Location || entry.Path == NormalizedLocation(commit) ? FromCommit(commit, entry.TableVersion) : null)
            ?? await ReadLogAsync(await OpenDeltaAsync(entry.Path, ct), entry.TableVersion, ct);
        return (await Store.UpdateAsync(entry.Database, entry.Name, current =>
            current is null || current.TableVersion >= log.Snapshot.Version ? current : Apply(current, log) with { UpdatedAt = DateTimeOffset.UtcNow }, ct))!;
    }

    public Task<CatalogEntry> GetTableAsync(string name, CancellationToken ct = default) =>
        Guarded("catalog-show", name, Privilege.Read, async scope => WithoutMaskedValues(await FindAsync(name, ct) ?? throw NotRegistered(name), scope), null, ct);

    // Statistics must not reveal what reads hide: values (min, max, top values) of columns excluded for the caller go.
    private static CatalogEntry WithoutMaskedValues(CatalogEntry entry, GuardScope scope)
    {
        if (entry.Statistics is not { } stats || scope.IsNested) return entry;
        var masked = scope.MaskedColumns(entry.Name);
        if (masked.Count == 0) return entry;
        return entry with
        {
            Statistics = stats with
            {
                Columns = stats.Columns.Select(c => masked.Contains(c.Name) ? c with { Min = null, Max = null, TopValues = null, MinMaxSource = null } : c).ToList(),
            },
        };
    }

    public Task<CatalogEntry> SetTableStatusAsync(string name, TableStatus status, CancellationToken ct = default) =>
        Guarded("catalog-set-status", name, Privilege.Admin, _ => SetTableStatusCoreAsync(name, status, ct), new Dictionary<string, string?> { ["status"] = status.Name() }, ct);

    private async Task<CatalogEntry> SetTableStatusCoreAsync(string name, TableStatus status, CancellationToken ct)
    {
        var entry = await GetTableAsync(name, ct);
        return (await Store.UpdateAsync(entry.Database, entry.Name, current =>
            current is null || current.Status == status ? current : current with { Status = status, UpdatedAt = DateTimeOffset.UtcNow }, ct))!;
    }

    /// <summary>Adds tags to an entry (kept once, case-insensitively).</summary>
    public Task<CatalogEntry> AddTagsAsync(string name, IEnumerable<string> tags, CancellationToken ct = default) =>
        Guarded("catalog-add-tags", name, Privilege.Admin, _ => AddTagsCoreAsync(name, tags, ct), null, ct);

    private async Task<CatalogEntry> AddTagsCoreAsync(string name, IEnumerable<string> tags, CancellationToken ct)
    {
        var entry = await GetTableAsync(name, ct);
        var add = tags.ToList();
        return (await Store.UpdateAsync(entry.Database, entry.Name, current =>
        {
            if (current is null) return null;
            var merged = current.Tags.Concat(add).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            return merged.Count == current.Tags.Count ? current : current with { Tags = merged, UpdatedAt = DateTimeOffset.UtcNow };
        }, ct))!;
    }

    public Task<IReadOnlyList<CatalogEntry>> ListTablesAsync(string? database = null, TableStatus? status = null, CancellationToken ct = default) =>
        Guarded("catalog-list", null, null, async scope =>
            (IReadOnlyList<CatalogEntry>)(await ListTablesCoreAsync(database, status, ct)).Where(e => scope.CanRead(e.Name)).ToList(), null, ct);

    private async Task<IReadOnlyList<CatalogEntry>> ListTablesCoreAsync(string? database, TableStatus? status, CancellationToken ct)
    {
        var all = await Store.ListAsync(database is null ? null : TableNames.Validate(database), ct);
        return all.Where(e => !e.IsReserved && (status is null || e.Status == status)).ToList();
    }

    // ------------------------------------------------------------------ schema history

    /// <summary>Every schema the table had, read from its Delta log, with the columns added, removed and changed at each.</summary>
    public Task<IReadOnlyList<SchemaChange>> GetSchemaHistoryAsync(string name, CancellationToken ct = default) =>
        Guarded("catalog-schema-history", name, Privilege.Read, _ => GetSchemaHistoryCoreAsync(name, ct), null, ct);

    private async Task<IReadOnlyList<SchemaChange>> GetSchemaHistoryCoreAsync(string name, CancellationToken ct)
    {
        var entry = await GetTableAsync(name, ct);
        var log = await ReadLogAsync(await OpenDeltaAsync(entry.Path, ct), -1, ct);
        return Diff(log.Schemas);
    }

    internal static IReadOnlyList<SchemaChange> Diff(IReadOnlyList<SchemaVersion> history)
    {
        var result = new List<SchemaChange>();
        IReadOnlyList<CatalogColumn> previous = [];
        foreach (var s in history)
        {
            var before = previous.ToDictionary(c => c.Name, StringComparer.Ordinal);
            var after = s.Columns.ToDictionary(c => c.Name, StringComparer.Ordinal);
            result.Add(new SchemaChange(s.Version, s.Timestamp, s.Columns,
                s.Columns.Where(c => !before.ContainsKey(c.Name)).Select(c => c.Name).ToList(),
                previous.Where(c => !after.ContainsKey(c.Name)).Select(c => c.Name).ToList(),
                s.Columns.Where(c => before.TryGetValue(c.Name, out var b) && b != c).Select(c => c.Name).ToList()));
            previous = s.Columns;
        }
        return result;
    }

    /// <param name="Sources">The <c>source</c> operation parameters of the commits read (files, databases, topics), oldest first.</param>
    private sealed record LogState(Snapshot Snapshot, IReadOnlyList<SchemaVersion> Schemas, IReadOnlyList<string> Sources);

    /// <summary>Lineage names of external sources (ingested files, databases, topics) start with this.</summary>
    public const string SourcePrefix = "source:";

    // An entry keeps its newest external sources only: a table fed file by file would otherwise grow without bound.
    private const int MaxSources = 20;

    /// <summary>The latest snapshot and the schemas that appeared in commits after <paramref name="afterVersion"/>.</summary>
    private static async Task<LogState> ReadLogAsync(DeltaTable table, long afterVersion, CancellationToken ct)
    {
        var snapshot = await table.GetSnapshotAsync(ct);
        var schemas = new List<SchemaVersion>();
        var sources = new List<string>();
        var commits = new List<(long Version, string Key)>();
        await foreach (var o in table.Store.ListAsync("_delta_log/", ct))
        {
            var file = o.Key[(o.Key.LastIndexOf('/') + 1)..];
            if (file.Length == 25 && file.EndsWith(".json", StringComparison.Ordinal)
                && long.TryParse(file[..20], NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > afterVersion && v <= snapshot.Version)
                commits.Add((v, o.Key));
        }
        foreach (var (version, key) in commits.OrderBy(c => c.Version))
        {
            string? schemaString = null;
            DateTimeOffset? timestamp = null;
            var text = System.Text.Encoding.UTF8.GetString(await table.Store.ReadAllAsync(key, ct));
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                // Only metaData and commitInfo matter here; skip add/remove lines without parsing them.
                if (!line.StartsWith("{\"metaData\"", StringComparison.Ordinal) && !line.StartsWith("{\"commitInfo\"", StringComparison.Ordinal)) continue;
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("metaData", out var md) && md.TryGetProperty("schemaString", out var ss))
                    schemaString = ss.GetString();
                if (doc.RootElement.TryGetProperty("commitInfo", out var ci) && ci.TryGetProperty("timestamp", out var ts) && ts.TryGetInt64(out var ms))
                    timestamp = DateTimeOffset.FromUnixTimeMilliseconds(ms);
                if (ci.ValueKind == JsonValueKind.Object && ci.TryGetProperty("operationParameters", out var op) && op.ValueKind == JsonValueKind.Object
                    && op.TryGetProperty("source", out var src) && src.ValueKind == JsonValueKind.String && src.GetString() is { Length: > 0 } source)
                    sources.Add(source);
            }
            if (schemaString != null) schemas.Add(new SchemaVersion(version, timestamp, Columns(DeltaSchema.ToArrowSchema(schemaString))));
        }
        return new LogState(snapshot, schemas, sources);
    }

    /// <summary>
    /// The log state an entry at <paramref name="afterVersion"/> needs, from the commit alone: only when the commit is the very
    /// next version and its writer had the new snapshot in hand (else the log is read: the entry fell behind).
    /// </summary>
    private static LogState? FromCommit(CommittedVersion? commit, long afterVersion)
    {
        if (commit?.Snapshot is not { } snapshot || commit.Version != afterVersion + 1) return null;
        var timestamp = commit.CommitInfo.Timestamp is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
        var schemas = commit.Actions.Where(a => a.Metadata is not null)
            .Select(a => new SchemaVersion(commit.Version, timestamp, Columns(DeltaSchema.ToArrowSchema(a.Metadata!.SchemaString)))).Take(1).ToList();
        var sources = commit.CommitInfo.OperationParameters is { } p && p.TryGetValue("source", out var source) && source is { Length: > 0 } ? [source] : new List<string>();
        return new LogState(snapshot, schemas, sources);
    }

    private static string? NormalizedLocation(CommittedVersion? commit) =>
        commit is null ? null : NormalizePath(commit.Table.Location);

    private static List<CatalogColumn> Columns(Schema schema) =>
        schema.FieldsList.Select(f => new CatalogColumn(f.Name, DeltaSchema.TypeName(f.DataType), f.IsNullable)).ToList();

    /// <summary>An entry updated with a log state: schema history merged by version, unchanged schemas dropped.</summary>
    private static CatalogEntry Apply(CatalogEntry entry, LogState log)
    {
        var snapshot = log.Snapshot;
        var columns = Columns(snapshot.Schema);
        var history = new List<SchemaVersion>();
        foreach (var s in entry.SchemaHistory.Concat(log.Schemas).Where(s => s.Version <= snapshot.Version).OrderBy(s => s.Version))
        {
            if (history.Count > 0 && history[^1].Version == s.Version) continue;
            if (history.Count > 0 && history[^1].Columns.SequenceEqual(s.Columns)) continue;
            history.Add(s);
        }
        // Commits cleaned from the log (or never seen): the current schema still appears, at the current version.
        if (history.Count == 0 || !history[^1].Columns.SequenceEqual(columns))
            history.Add(new SchemaVersion(snapshot.Version, snapshot.Timestamp, columns));
        // Sources written into the table become upstream lineage (newest last, each once, the newest MaxSources kept).
        var upstream = entry.Upstream.ToList();
        foreach (var source in log.Sources.Select(s => SourcePrefix + s))
        {
            upstream.Remove(source);
            upstream.Add(source);
        }
        var external = upstream.Where(u => u.StartsWith(SourcePrefix, StringComparison.Ordinal)).ToList();
        foreach (var old in external.Take(Math.Max(0, external.Count - MaxSources))) upstream.Remove(old);
        return entry with
        {
            Upstream = upstream,
            TableVersion = snapshot.Version,
            RowCount = TableInspector.RowCount(snapshot),
            SizeBytes = snapshot.TotalSize,
            FileCount = snapshot.Files.Count,
            PartitionColumns = snapshot.PartitionColumns.ToList(),
            Columns = columns,
            SchemaHistory = history,
        };
    }

    // ------------------------------------------------------------------ statistics

    /// <summary>
    /// Computes table statistics at the latest version: counts from the log; per column null count and
    /// min/max from the file stats (or partition values) where they are exact; with
    /// <paramref name="computeColumnStats"/>, distinct counts (HyperLogLog), string lengths and top values
    /// from the first <paramref name="sampleSize"/> rows (streamed), which also fill in bounds the file stats lack.
    /// </summary>
    public Task<CatalogEntry> UpdateTableStatisticsAsync(string name, bool computeColumnStats = false, int sampleSize = 10_000,
        CancellationToken ct = default) =>
        Guarded("catalog-update-stats", name, Privilege.Write, _ => UpdateTableStatisticsCoreAsync(name, computeColumnStats, sampleSize, ct), null, ct);

    private async Task<CatalogEntry> UpdateTableStatisticsCoreAsync(string name, bool computeColumnStats, int sampleSize,
        CancellationToken ct)
    {
        if (sampleSize <= 0) throw new InvalidInputException($"Sample size must be positive, got {sampleSize}.");
        var entry = await GetTableAsync(name, ct);
        var table = await OpenDeltaAsync(entry.Path, ct);
        var log = await ReadLogAsync(table, entry.TableVersion, ct);
        var snapshot = log.Snapshot;
        var schema = snapshot.Schema;
        var accumulators = schema.FieldsList.Select(f => new ColumnAccumulator(f, snapshot.PartitionColumns.Contains(f.Name))).ToList();

        foreach (var file in snapshot.Files)
        {
            var rows = TableInspector.NumRecords(file);
            DataFileStats.TryParse(file.Stats, schema, out var stats);
            foreach (var a in accumulators) a.AddFile(file, rows, stats);
        }

        long sampled = 0;
        if (computeColumnStats && snapshot.Files.Count > 0)
        {
            var path = entry.Path.TrimEnd('/', '\\');
            var slash = path.LastIndexOfAny(['/', '\\']);
            if (slash <= 0) throw new InvalidInputException($"Cannot sample '{entry.Path}': the table folder has no parent.");
            // Sampled under this operation's guard (checked as the caller, audited once), with the lake's settings.
            var storage = new DataLakeStorage(OpenLocation(path[..slash]), (_storage?.Options ?? new DataLakeStorageOptions()) with { Guard = Guard, PostCommitHooks = [] });
            var scan = await storage.ReadPartitionedDataAsync(path[(slash + 1)..],
                new ReadOptions { Version = snapshot.Version, Limit = sampleSize }, ct);
            await foreach (var batch in scan.ReadBatchesAsync(ct))
            {
                using (batch)
                {
                    for (var c = 0; c < batch.ColumnCount; c++)
                        accumulators.FirstOrDefault(a => a.Field.Name == batch.Schema.FieldsList[c].Name)?.AddSample(batch.Column(c));
                    sampled += batch.Length;
                }
            }
        }

        var statistics = new TableStatistics
        {
            Version = snapshot.Version,
            ComputedAt = DateTimeOffset.UtcNow,
            RowCount = TableInspector.RowCount(snapshot),
            SizeBytes = snapshot.TotalSize,
            FileCount = snapshot.Files.Count,
            PartitionCount = snapshot.PartitionColumns.Count == 0 ? 0
                : snapshot.Files.Select(f => DataLakeStorage.PartitionKey(f.PartitionValues, snapshot.PartitionColumns)).Distinct().Count(),
            SampledRows = sampled,
            Columns = accumulators.Select(a => a.Result(computeColumnStats)).ToList(),
        };
        return (await Store.UpdateAsync(entry.Database, entry.Name, current =>
            current is null ? null : (current.TableVersion > log.Snapshot.Version ? current : Apply(current, log)) with { Statistics = statistics, UpdatedAt = DateTimeOffset.UtcNow }, ct))!;
    }

    private sealed class ColumnAccumulator(Field field, bool isPartition)
    {
        public Field Field { get; } = field;
        private readonly bool _bounded = ValueDomain.IsSupported(field.DataType);
        private long? _nulls = 0;
        private object? _min, _max;
        private bool _boundsExact = true;
        private long _nonNullRows;
        // sample
        private readonly HyperLogLog _hll = new();
        private long _sampleValues, _sampleNulls, _lengthSum;
        private int _maxLength = -1;
        private object? _sampleMin, _sampleMax;
        private Dictionary<string, long>? _counts = new(StringComparer.Ordinal);

        public void AddFile(AddFile file, long? rows, DataFileStats? stats)
        {
            if (isPartition)
            {
                var value = file.PartitionValues.GetValueOrDefault(Field.Name);
                if (rows is null) { _nulls = null; _boundsExact = false; return; }
                if (value is null) { _nulls += rows; return; }
                _nonNullRows += rows.Value;
                if (_bounded) Widen(ValueDomain.Coerce(value, Field.DataType, Field.Name));
                return;
            }
            var b = stats?.GetBounds(Field.Name);
            if (b is null || rows is null) { _nulls = null; _boundsExact = false; return; }
            _nulls = b.NullCount is { } n ? _nulls + n : null;
            var nonNull = rows.Value - (b.NullCount ?? 0);
            if (nonNull <= 0) return;
            _nonNullRows += nonNull;
            // String bounds are cut at 32 characters (max bumped): only shorter ones are the real values.
            if (b.Min is null || b.Max is null || b.Min is string { Length: >= DataFileStats.StringPrefixLength } || b.Max is string { Length: >= DataFileStats.StringPrefixLength })
            {
                _boundsExact = false;
                return;
            }
            Widen(b.Min);
            Widen(b.Max);
        }

        private void Widen(object? v)
        {
            if (v is null) return;
            if (_min is null || ValueDomain.Compare(v, _min) < 0) _min = v;
            if (_max is null || ValueDomain.Compare(v, _max) > 0) _max = v;
        }

        public void AddSample(IArrowArray array)
        {
            for (var i = 0; i < array.Length; i++)
            {
                var value = ArrowValues.Get(array, i);
                if (value is null) { _sampleNulls++; continue; }
                _sampleValues++;
                switch (value)
                {
                    case sbyte or byte or short or ushort or int or uint or long: _hll.Add(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
                    case double d: _hll.Add(BitConverter.DoubleToInt64Bits(d)); break;
                    case string s:
                        _hll.Add(s);
                        _lengthSum += s.Length;
                        _maxLength = Math.Max(_maxLength, s.Length);
                        break;
                    default: _hll.Add(ArrowValues.Format(value) ?? ""); break;
                }
                if (_counts != null)
                {
                    var key = ArrowValues.Format(value) ?? "";
                    _counts[key] = _counts.GetValueOrDefault(key) + 1;
                    if (_counts.Count > LowCardinalityLimit) _counts = null;
                }
                if (_bounded && !(_boundsExact && _nulls is not null))
                {
                    var c = ValueDomain.Coerce(value, Field.DataType, Field.Name);
                    if (c is not null)
                    {
                        if (_sampleMin is null || ValueDomain.Compare(c, _sampleMin) < 0) _sampleMin = c;
                        if (_sampleMax is null || ValueDomain.Compare(c, _sampleMax) > 0) _sampleMax = c;
                    }
                }
            }
        }

        public ColumnStatistics Result(bool sampled)
        {
            var fromFiles = _bounded && _boundsExact && _nulls is not null && (_min is not null || _nonNullRows == 0);
            var isString = Field.DataType.TypeId is ArrowTypeId.String or ArrowTypeId.LargeString;
            return new ColumnStatistics
            {
                Name = Field.Name,
                Type = DeltaSchema.TypeName(Field.DataType),
                NullCount = _nulls,
                Min = fromFiles ? FormatBound(_min) : FormatBound(_sampleMin),
                Max = fromFiles ? FormatBound(_max) : FormatBound(_sampleMax),
                MinMaxSource = fromFiles ? (_min is null ? null : isPartition ? "partition_values" : TimestampStats ? "file_stats_ms" : "file_stats") : _sampleMin is null ? null : "sample",
                DistinctCount = sampled ? _hll.Estimate() : null,
                AvgLength = sampled && isString && _sampleValues > 0 ? Math.Round((double)_lengthSum / _sampleValues, 2) : null,
                MaxLength = sampled && isString && _maxLength >= 0 ? _maxLength : null,
                TopValues = sampled && _counts is { Count: > 0 }
                    ? _counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(TopValueCount)
                        .Select(kv => new ValueCount(kv.Key, kv.Value)).ToList()
                    : null,
            };
        }

        // Delta stats keep timestamps to the millisecond (min floored, max rounded up): bounds, not exact values.
        private bool TimestampStats => !isPartition && Field.DataType.TypeId == ArrowTypeId.Timestamp;

        // Canonical domain -> text: dates are days, timestamps microseconds since the epoch.
        private string? FormatBound(object? v) => v switch
        {
            null => null,
            long days when Field.DataType.TypeId == ArrowTypeId.Date32 => DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + (int)days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            long micros when Field.DataType.TypeId == ArrowTypeId.Timestamp => ArrowValues.Format(new DateTimeOffset(DateTime.UnixEpoch.AddTicks(micros * 10), TimeSpan.Zero)),
            _ => ArrowValues.Format(v),
        };
    }

    // ------------------------------------------------------------------ search

    /// <summary>
    /// Tables matching <paramref name="term"/> (case-insensitive substring) in the given fields (default all:
    /// table_name, description, tags, columns, owner), best first: exact name, name prefix, name substring, other fields.
    /// </summary>
    public Task<IReadOnlyList<SearchResult>> SearchTablesAsync(string term, IEnumerable<string>? fields = null, CancellationToken ct = default) =>
        Guarded("catalog-search", null, null, async scope =>
            (IReadOnlyList<SearchResult>)(await SearchTablesCoreAsync(term, fields, ct)).Where(r => scope.CanRead(r.Entry.Name)).ToList(),
            new Dictionary<string, string?> { ["term"] = term }, ct);

    private async Task<IReadOnlyList<SearchResult>> SearchTablesCoreAsync(string term, IEnumerable<string>? fields, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(term)) throw new InvalidInputException("Search term must not be empty.");
        term = term.Trim();
        var selected = (fields ?? []).Select(f => f.Trim().ToLowerInvariant()).ToHashSet();
        foreach (var f in selected)
            if (!SearchFields.Contains(f))
                throw new InvalidInputException($"Unknown search field '{f}'. Valid fields: {string.Join(", ", SearchFields)}.");
        if (selected.Count == 0) selected = SearchFields.ToHashSet();

        var results = new List<SearchResult>();
        foreach (var e in (await Store.ListAsync(ct: ct)).Where(e => !e.IsReserved))
        {
            var matched = new List<string>();
            var rank = int.MaxValue;
            if (selected.Contains("table_name"))
            {
                var r = e.Name.Equals(term, StringComparison.OrdinalIgnoreCase) ? 0
                    : e.Name.StartsWith(term, StringComparison.OrdinalIgnoreCase) ? 1
                    : Has(e.Name, term) ? 2 : int.MaxValue;
                if (r != int.MaxValue) { rank = r; matched.Add("table_name"); }
            }
            if (selected.Contains("description") && Has(e.Description, term)) matched.Add("description");
            if (selected.Contains("tags") && e.Tags.Any(t => Has(t, term))) matched.Add("tags");
            if (selected.Contains("columns") && e.Columns.Any(c => Has(c.Name, term))) matched.Add("columns");
            if (selected.Contains("owner") && Has(e.Owner, term)) matched.Add("owner");
            if (matched.Count == 0) continue;
            results.Add(new SearchResult(e, Math.Min(rank, 3), matched));
        }
        return results.OrderBy(r => r.Rank).ThenBy(r => r.Entry.Name, StringComparer.OrdinalIgnoreCase).ToList();
    }

    private static bool Has(string? text, string term) => text?.Contains(term, StringComparison.OrdinalIgnoreCase) == true;

    // ------------------------------------------------------------------ lineage

    /// <summary>Records that <paramref name="table"/> is derived from <paramref name="upstream"/> and feeds <paramref name="downstream"/>. All tables must be registered.</summary>
    public Task<LineageGraph> AddTableLineageAsync(string table, IEnumerable<string>? upstream = null, IEnumerable<string>? downstream = null,
        CancellationToken ct = default) =>
        Guarded("catalog-lineage", table, Privilege.Admin, _ => AddTableLineageCoreAsync(table, upstream, downstream, ct), null, ct);

    private async Task<LineageGraph> AddTableLineageCoreAsync(string table, IEnumerable<string>? upstream, IEnumerable<string>? downstream,
        CancellationToken ct)
    {
        var self = await GetTableAsync(table, ct);
        var ups = new List<CatalogEntry>();
        foreach (var u in upstream ?? []) ups.Add(await GetTableAsync(u, ct));
        var downs = new List<CatalogEntry>();
        foreach (var d in downstream ?? []) downs.Add(await GetTableAsync(d, ct));
        if (ups.Concat(downs).Any(e => e.QualifiedName == self.QualifiedName))
            throw new InvalidInputException($"A table cannot be its own upstream or downstream ('{self.QualifiedName}').");

        if (ups.Count > 0)
            await AddUpstreamAsync(self, ups.Select(u => u.QualifiedName), ct);
        foreach (var d in downs)
            await AddUpstreamAsync(d, [self.QualifiedName], ct);
        return await GetLineageAsync(table, ct);
    }

    private Task<CatalogEntry?> AddUpstreamAsync(CatalogEntry entry, IEnumerable<string> names, CancellationToken ct)
    {
        var add = names.ToList();
        return Store.UpdateAsync(entry.Database, entry.Name, current =>
        {
            if (current is null) return null;
            var merged = current.Upstream.Concat(add).Distinct(StringComparer.Ordinal).ToList();
            return merged.Count == current.Upstream.Count ? current : current with { Upstream = merged, UpdatedAt = DateTimeOffset.UtcNow };
        }, ct);
    }

    /// <summary>Direct and transitive upstream and downstream tables (cycles are walked once).</summary>
    public Task<LineageGraph> GetLineageAsync(string table, CancellationToken ct = default) =>
        Guarded("catalog-show-lineage", table, Privilege.Read, _ => GetLineageCoreAsync(table, ct), null, ct);

    private async Task<LineageGraph> GetLineageCoreAsync(string table, CancellationToken ct)
    {
        var self = await GetTableAsync(table, ct);
        var all = await Store.ListAsync(ct: ct);
        var up = all.ToDictionary(e => e.QualifiedName, e => e.Upstream, StringComparer.Ordinal);
        var down = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var e in all)
            foreach (var u in e.Upstream)
            {
                if (!down.TryGetValue(u, out var list)) down[u] = list = [];
                list.Add(e.QualifiedName);
            }
        IReadOnlyList<string> Next(Dictionary<string, IReadOnlyList<string>> map, string n) => map.GetValueOrDefault(n) ?? [];
        var upMap = up;
        var downMap = down.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal);
        var edges = new HashSet<LineageEdge>();
        var allUp = Walk(self.QualifiedName, n => Next(upMap, n), (from, to) => edges.Add(new LineageEdge(to, from)));
        var allDown = Walk(self.QualifiedName, n => Next(downMap, n), (from, to) => edges.Add(new LineageEdge(from, to)));
        return new LineageGraph(self.QualifiedName, Next(upMap, self.QualifiedName).Order(StringComparer.Ordinal).ToList(),
            Next(downMap, self.QualifiedName).Order(StringComparer.Ordinal).ToList(), allUp, allDown,
            edges.OrderBy(e => e.Upstream, StringComparer.Ordinal).ThenBy(e => e.Downstream, StringComparer.Ordinal).ToList());
    }

    private static List<string> Walk(string start, Func<string, IReadOnlyList<string>> next, Action<string, string> edge)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { start };
        var order = new List<string>();
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            var n = queue.Dequeue();
            foreach (var m in next(n))
            {
                edge(n, m);
                if (!seen.Add(m)) continue; // already visited: a cycle or a diamond
                order.Add(m);
                queue.Enqueue(m);
            }
        }
        return order;
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>An entry by name: "database.name" when it names one, else the name in the default database, then in any database.</summary>
    private async Task<CatalogEntry?> FindAsync(string name, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new InvalidInputException("Table name must not be empty.");
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && await TryGetAsync(name[..dot], name[(dot + 1)..], ct) is { } qualified) return qualified;
        if (await TryGetAsync(DefaultDatabase, name, ct) is { } e) return e;
        foreach (var db in await Store.ListDatabasesAsync(ct))
            if (db != DefaultDatabase && db != LakeGrantStore.ReservedDatabase && await TryGetAsync(db, name, ct) is { } other) return other;
        return null;
    }

    private async Task<CatalogEntry?> TryGetAsync(string database, string name, CancellationToken ct)
    {
        try { TableNames.Validate(database); TableNames.Validate(name); }
        catch (InvalidPathException) { return null; }
        return await Store.GetAsync(database, name, ct);
    }

    private static bool TableNamesValid(string name)
    {
        try { TableNames.Validate(name); return true; }
        catch (InvalidPathException) { return false; }
    }

    private TableNotFoundException NotRegistered(string name) =>
        new($"Table '{name}' is not registered in the catalog at {Store.Location}; register it with `ecap data-lake catalog register {name} PATH`.");

    private static string NormalizePath(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidInputException("Table path must not be empty.");
        return path.Contains("://", StringComparison.Ordinal) ? path : Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
    }

    /// <summary>
    /// The store of a location: inside the lake, a child of the lake's own store (so an S3 lake's settings and
    /// commit coordinator apply); elsewhere, opened from the location (S3 settings from the environment).
    /// </summary>
    private IObjectStore OpenLocation(string location)
    {
        if (_lake is not null)
        {
            var root = _lake.Location.TrimEnd('/');
            var trimmed = location.TrimEnd('/');
            if (trimmed == root) return _lake;
            if (trimmed.StartsWith(root + "/", StringComparison.Ordinal)) return _lake.Child(trimmed[(root.Length + 1)..]);
        }
        return _openLocation(location);
    }

    private async Task<DeltaTable> OpenDeltaAsync(string location, CancellationToken ct)
    {
        // The lake's tables share its snapshot cache (a sync right after a commit reads nothing again).
        var table = new DeltaTable(OpenLocation(location), _storage?.TableOptions);
        if (!await table.ExistsAsync(ct))
            throw new InvalidInputException($"'{location}' is not a Delta table (no _delta_log with commits).");
        return table;
    }
}
