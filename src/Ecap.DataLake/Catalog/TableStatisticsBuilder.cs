using Ecap.DataLake.Parquet;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Catalog;

/// <summary>
/// Table statistics at the latest version: counts from the snapshot, per-column bounds and null counts from the file stats,
/// optionally a streamed sample (<see cref="ColumnAccumulator"/>); and the masking of statistic values a caller may not read.
/// </summary>
internal sealed class TableStatisticsBuilder(ICatalogStore store, CatalogLocations locations, Func<string, CancellationToken, Task<CatalogEntry>> getTable)
{
    /// <summary>
    /// Computes table statistics at the latest version: counts from the log; per column null count and
    /// min/max from the file stats (or partition values) where they are exact; with
    /// <paramref name="computeColumnStats"/>, distinct counts (HyperLogLog), string lengths and top values
    /// from the first <paramref name="sampleSize"/> rows (streamed), which also fill in bounds the file stats lack.
    /// </summary>
    /// <param name="name">The table's name.</param>
    /// <param name="computeColumnStats">Whether to also compute the sampled column statistics.</param>
    /// <param name="sampleSize">How many rows the sampled statistics read.</param>
    /// <param name="guard">The guard the sample is read under (the operation's own: checked as the caller, audited once).</param>
    /// <param name="ct">Cancels the update.</param>
    public async Task<CatalogEntry> UpdateAsync(string name, bool computeColumnStats, int sampleSize, LakeGuard guard, CancellationToken ct)
    {
        if (sampleSize <= 0) throw new InvalidInputException($"Sample size must be positive, got {sampleSize}.");
        var entry = await getTable(name, ct);
        // Statistics are the table's values (min, max, top values): the grants of the table itself decide, whatever the entry's name.
        await locations.RequireReadOfDataAsync(name, entry.Path, guard.Current, ct);
        var table = await locations.OpenDeltaAsync(entry.Path, ct);
        var log = await SchemaHistory.ReadLogAsync(table, entry.TableVersion, ct);
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
            var storage = new DataLakeStorage(locations.Open(path[..slash]), (locations.Storage?.Options ?? new DataLakeStorageOptions()) with { Guard = guard, PostCommitHooks = [] });
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
        return (await store.UpdateAsync(entry.Database, entry.Name, current =>
            current is null ? null : (current.TableVersion > log.Snapshot.Version ? current : CatalogSync.Apply(current, log)) with { Statistics = statistics, UpdatedAt = DateTimeOffset.UtcNow }, ct))!;
    }

    // Statistics must not reveal what reads hide: values (min, max, top values) of columns excluded for the caller go.
    public static CatalogEntry WithoutMaskedValues(CatalogEntry entry, GuardScope scope)
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
}
