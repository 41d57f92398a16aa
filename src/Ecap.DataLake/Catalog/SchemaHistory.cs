using Apache.Arrow;
using Ecap.DataLake.Delta;

namespace Ecap.DataLake.Catalog;

/// <summary>What the log says after an entry's version: the latest snapshot, the schemas and the <c>source</c> parameters of the commits read.</summary>
/// <param name="Snapshot">The latest snapshot.</param>
/// <param name="Schemas">The schemas of the commits read.</param>
/// <param name="Sources">The <c>source</c> operation parameters of the commits read (files, databases, topics), oldest first.</param>
internal sealed record LogState(Snapshot Snapshot, IReadOnlyList<SchemaVersion> Schemas, IReadOnlyList<string> Sources);

/// <summary>
/// Schema history: the <c>metaData</c> of the log's commits (through <see cref="DeltaTable.ReadCommitsAsync"/>), or of the
/// commit a post-commit hook carries, merged into an entry's history and diffed column by column.
/// </summary>
internal sealed class SchemaHistory(CatalogLocations locations, Func<string, CancellationToken, Task<CatalogEntry>> getTable)
{
    /// <summary>Every schema the table had, read from its Delta log, with the columns added, removed and changed at each.</summary>
    public async Task<IReadOnlyList<SchemaChange>> GetAsync(string name, CancellationToken ct)
    {
        var entry = await getTable(name, ct);
        var log = await ReadLogAsync(await locations.OpenDeltaAsync(entry.Path, ct), -1, ct);
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
            // Column mapping: the same physical name under another name is a rename, not a drop and an add (the first
            // rename of a table turns mapping on with physical names equal to the names before).
            var beforeByPhysical = new Dictionary<string, CatalogColumn>(StringComparer.Ordinal);
            foreach (var c in previous) beforeByPhysical.TryAdd(c.PhysicalName ?? c.Name, c);
            var renamed = s.Columns.Where(c => c.PhysicalName is { } p && beforeByPhysical.TryGetValue(p, out var b) && b.Name != c.Name && !after.ContainsKey(b.Name))
                .Select(c => new ColumnRename(beforeByPhysical[c.PhysicalName!].Name, c.Name)).ToList();
            var from = renamed.Select(r => r.From).ToHashSet(StringComparer.Ordinal);
            var to = renamed.Select(r => r.To).ToHashSet(StringComparer.Ordinal);
            result.Add(new SchemaChange(s.Version, s.Timestamp, s.Columns,
                s.Columns.Where(c => !before.ContainsKey(c.Name) && !to.Contains(c.Name)).Select(c => c.Name).ToList(),
                previous.Where(c => !after.ContainsKey(c.Name) && !from.Contains(c.Name)).Select(c => c.Name).ToList(),
                // Physical names assigned when column mapping is turned on change nothing a reader sees.
                s.Columns.Where(c => before.TryGetValue(c.Name, out var b) && b with { PhysicalName = c.PhysicalName } != c).Select(c => c.Name).ToList())
            {
                Renamed = renamed,
            });
            previous = s.Columns;
        }
        return result;
    }

    /// <summary>The latest snapshot and the schemas that appeared in commits after <paramref name="afterVersion"/>.</summary>
    public static async Task<LogState> ReadLogAsync(DeltaTable table, long afterVersion, CancellationToken ct)
    {
        var snapshot = await table.GetSnapshotAsync(ct);
        var schemas = new List<SchemaVersion>();
        var sources = new List<string>();
        await foreach (var commit in table.ReadCommitsAsync(afterVersion, snapshot.Version, ct))
        {
            if (Source(commit.CommitInfo) is { } source) sources.Add(source);
            if (commit.Metadata is { } metadata) schemas.Add(Schema(commit.Version, commit.CommitInfo, metadata));
        }
        return new LogState(snapshot, schemas, sources);
    }

    /// <summary>
    /// The log state an entry at <paramref name="afterVersion"/> needs, from the commit alone: only when the commit is the very
    /// next version and its writer had the new snapshot in hand (else the log is read: the entry fell behind).
    /// </summary>
    public static LogState? FromCommit(CommittedVersion? commit, long afterVersion)
    {
        if (commit?.Snapshot is not { } snapshot || commit.Version != afterVersion + 1) return null;
        var schemas = commit.Actions.Where(a => a.Metadata is not null)
            .Select(a => Schema(commit.Version, commit.CommitInfo, a.Metadata!)).Take(1).ToList();
        var sources = Source(commit.CommitInfo) is { } source ? [source] : new List<string>();
        return new LogState(snapshot, schemas, sources);
    }

    private static SchemaVersion Schema(long version, CommitInfo? commitInfo, Metadata metadata) =>
        new(version, commitInfo?.Timestamp is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
            Columns(DeltaSchema.ToArrowSchema(metadata.SchemaString)));

    // The file, database or topic a commit's writer read (WriteOptions.SourceName).
    private static string? Source(CommitInfo? commitInfo) =>
        commitInfo?.OperationParameters is { } p && p.TryGetValue("source", out var source) && source is { Length: > 0 } ? source : null;

    public static List<CatalogColumn> Columns(Schema schema) =>
        schema.FieldsList.Select(f => new CatalogColumn(f.Name, DeltaSchema.TypeName(f.DataType), f.IsNullable) { PhysicalName = f.HasMetadata ? f.Metadata.GetValueOrDefault(ColumnMapping.PhysicalNameKey) : null }).ToList();

    /// <summary>An entry's history merged with newly read schemas by version (unchanged schemas dropped), ending at the snapshot's schema.</summary>
    public static List<SchemaVersion> Merge(IEnumerable<SchemaVersion> history, IEnumerable<SchemaVersion> read, Snapshot snapshot, IReadOnlyList<CatalogColumn> columns)
    {
        var merged = new List<SchemaVersion>();
        foreach (var s in history.Concat(read).Where(s => s.Version <= snapshot.Version).OrderBy(s => s.Version))
        {
            if (merged.Count > 0 && merged[^1].Version == s.Version) continue;
            if (merged.Count > 0 && merged[^1].Columns.SequenceEqual(s.Columns)) continue;
            merged.Add(s);
        }
        // Commits cleaned from the log (or never seen): the current schema still appears, at the current version.
        if (merged.Count == 0 || !merged[^1].Columns.SequenceEqual(columns))
            merged.Add(new SchemaVersion(snapshot.Version, snapshot.Timestamp, columns));
        return merged;
    }
}
