using Ecap.DataLake.Storage;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Catalog;

/// <summary>
/// Registration and upkeep: registers a table, brings an entry to its table's newest version, and applies what a commit
/// carried (post-commit hook) when the entry is at the version before it; an entry that fell behind reads the log.
/// </summary>
internal sealed class CatalogSync(ICatalogStore store, CatalogEntries entries, CatalogLocations locations)
{
    /// <summary>Registers (or, when already registered, updates) a table: checks the path is a Delta table and captures its schema.</summary>
    public async Task<CatalogEntry> RegisterAsync(string name, string path, string? description, string? owner,
        IEnumerable<string>? tags, string database, CancellationToken ct, CommittedVersion? commit = null)
    {
        TableNames.Validate(name);
        TableNames.Validate(database);
        var location = CatalogLocations.NormalizePath(path);
        var tagList = tags?.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => t.Trim()).ToList() ?? [];
        var existing = await store.GetAsync(database, name, ct);
        var after = existing?.Path == location ? existing.TableVersion : -1;
        var log = SchemaHistory.FromCommit(commit, after) ?? await SchemaHistory.ReadLogAsync(await locations.OpenDeltaAsync(location, ct), after, ct);
        var now = DateTimeOffset.UtcNow;
        return (await store.UpdateAsync(database, name, current =>
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
    /// <param name="name">The table's name.</param>
    /// <param name="ct">Cancels the sync.</param>
    /// <param name="commit">The commit that triggered the sync (post-commit hook), whose actions are applied when the entry is at the version before it.</param>
    public async Task<CatalogEntry> SyncAsync(string name, CancellationToken ct, CommittedVersion? commit = null)
    {
        var entry = await entries.FindAsync(name, ct);
        if (entry is null)
        {
            // Only a table that really is in the lake is registered on the fly; anything else is unknown.
            var lake = locations.Lake;
            if (lake is null || !CatalogEntries.IsValidName(name) || (commit is null && !await new DeltaTable(lake.Child(name)).ExistsAsync(ct))) throw entries.NotRegistered(name);
            return await RegisterAsync(name, lake.Child(name).Location, null, null, null, MetadataManager.DefaultDatabase, ct, commit);
        }
        // The commit applies only to the entry of the table it was made to (an entry may name the same table by another path).
        var log = (commit is not null && entry.Path == CatalogLocations.NormalizePath(commit.Table.Location) ? SchemaHistory.FromCommit(commit, entry.TableVersion) : null)
            ?? await SchemaHistory.ReadLogAsync(await locations.OpenDeltaAsync(entry.Path, ct), entry.TableVersion, ct);
        return (await store.UpdateAsync(entry.Database, entry.Name, current =>
            current is null || current.TableVersion >= log.Snapshot.Version ? current : Apply(current, log) with { UpdatedAt = DateTimeOffset.UtcNow }, ct))!;
    }

    /// <summary>An entry updated with a log state: schema history merged by version, sources added to lineage, counts from the snapshot.</summary>
    public static CatalogEntry Apply(CatalogEntry entry, LogState log)
    {
        var snapshot = log.Snapshot;
        var columns = SchemaHistory.Columns(snapshot.Schema);
        return entry with
        {
            Upstream = CatalogLineage.WithSources(entry.Upstream, log.Sources),
            TableVersion = snapshot.Version,
            RowCount = TableInspector.RowCount(snapshot),
            SizeBytes = snapshot.TotalSize,
            FileCount = snapshot.Files.Count,
            PartitionColumns = snapshot.PartitionColumns.ToList(),
            Columns = columns,
            SchemaHistory = SchemaHistory.Merge(entry.SchemaHistory, log.Schemas, snapshot, columns),
        };
    }
}
