using System.Globalization;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// Storage tiering: the data files whose rows are all older than <see cref="TablePropertyKeys.TieringColdAfterDays"/>
/// (by the time partition, else the time column's stats, as retention judges) are copied onto their own keys with a colder
/// storage class, so readers need nothing. No commit: the log does not record classes. A store without classes says so.
/// </summary>
internal static class TableTiering
{
    /// <summary>The files that are cold at <paramref name="now"/> (the planning, on any store).</summary>
    public static List<AddFile> Plan(Snapshot snapshot, int coldAfterDays, DateTimeOffset now, out DateTimeOffset cutoff)
    {
        cutoff = now - TimeSpan.FromDays(coldAfterDays);
        var strategy = TableLayout.FromMetadata(snapshot.Metadata);
        if (strategy.TimeColumn is not { } timeColumn) return [];
        var c = cutoff;
        return snapshot.Files.Where(f => TableRetention.AllRowsBefore(f, strategy, timeColumn, snapshot.Schema, c)).ToList();
    }

    public static async Task<TieringResult> RunAsync(DataLakeStorage storage, string tableName, TieringOptions options, CancellationToken ct)
    {
        var table = await DataCompactor.OpenExistingAsync(storage, tableName, ct);
        var snapshot = await table.GetSnapshotAsync(ct);
        var config = snapshot.Metadata.Configuration;
        var days = options.ColdAfterDays ?? (config.TryGetValue(TablePropertyKeys.TieringColdAfterDays, out var text) &&
                                             int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var d) ? d : (int?)null)
            ?? throw new InvalidInputException($"Table '{tableName}' has no {TablePropertyKeys.TieringColdAfterDays}: set it (storage alter --set-property) or give the days.");
        if (days <= 0) throw new InvalidInputException($"Tiering needs a positive number of days (got {days}).");
        var storageClass = TablePropertyKeys.ValidateStorageClass(options.StorageClass ?? config.GetValueOrDefault(TablePropertyKeys.TieringStorageClass) ?? TablePropertyKeys.DefaultTieringStorageClass);
        if (TableLayout.FromMetadata(snapshot.Metadata).TimeColumn is null)
            throw new InvalidInputException($"Table '{tableName}' has no time column in its partition strategy, so tiering cannot tell old files.");
        var cold = Plan(snapshot, days, options.Now ?? DateTimeOffset.UtcNow, out var cutoff);
        var classes = table.Store as IStorageClassStore;
        var supported = classes is not null;
        string? note = supported ? null : $"The lake's store ({Describe(table.Store)}) has no storage classes: tiering needs S3. Nothing was moved.";
        if (!supported && !options.DryRun) throw new InvalidInputException(note!);

        int moved = 0, already = 0, ignored = 0;
        long bytes = 0;
        if (supported)
            foreach (var f in cold)
            {
                ct.ThrowIfCancellationRequested();
                var current = await classes!.GetStorageClassAsync(f.ObjectKey, ct);
                if (string.Equals(current, storageClass, StringComparison.Ordinal)) { already++; continue; }
                if (options.DryRun) continue;
                try
                {
                    await classes.SetStorageClassAsync(f.ObjectKey, storageClass, ct);
                }
                catch (NotSupportedException e)
                {
                    throw new InvalidInputException($"{e.Message} It does not support storage classes: tiering of '{tableName}' moved {moved} file(s) before it refused.");
                }
                // A server may accept the copy and keep the class (it ignores the header): look, and say so.
                if (!string.Equals(await classes.GetStorageClassAsync(f.ObjectKey, ct), storageClass, StringComparison.Ordinal)) { ignored++; continue; }
                moved++;
                bytes += f.Size;
            }
        if (ignored > 0)
            note = $"The server accepted {ignored} copies with storage class {storageClass} but kept their class: it does not support storage classes.";
        return new TieringResult(tableName, storageClass, days, cutoff, options.DryRun, supported, cold.Count, moved, already, ignored, bytes, note);
    }

    private static string Describe(IObjectStore store) => store is LocalObjectStore ? "a local folder" : store.Location;
}
