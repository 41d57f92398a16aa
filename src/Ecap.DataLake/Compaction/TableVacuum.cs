using Ecap.DataLake.Delta;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// Vacuum: a file under the table folder is kept when the latest snapshot reads it, when it was removed less
/// than the retention ago (a reader of a recent version may still need it), when an unexpired restore point's
/// version reads it, or when it was written less than the retention ago (a writer may be about to commit it).
/// Everything else outside hidden folders (<c>_delta_log</c>, <c>_ecap</c>, names starting with '_' or '.')
/// is deleted: tombstoned files and files no commit ever added. Write-beside temp files older than the retention are deleted
/// wherever they are (a killed writer's). Expired restore points are deleted too.
/// </summary>
internal static class TableVacuum
{
    public static async Task<VacuumResult> RunAsync(DeltaTable table, string tableName, VacuumOptions options, CancellationToken ct)
    {
        if (options.Retention < TimeSpan.Zero)
            throw new InvalidInputException($"The vacuum retention cannot be negative (got {options.Retention}).");
        if (options.Retention < DataCompactor.DefaultVacuumRetention && !options.Force)
            throw new InvalidInputException(
                $"A vacuum retention of {options.Retention.TotalHours:0.##} hours is below the {DataCompactor.DefaultVacuumRetention.TotalHours:0} hour minimum: " +
                "readers of recent versions and writers still committing could lose files. Force it (--force) only when no one else uses the table.");
        var now = options.Now ?? DateTimeOffset.UtcNow;
        var cutoff = now - options.Retention;
        var cutoffMs = cutoff.ToUnixTimeMilliseconds();
        var snapshot = await table.GetSnapshotAsync(ct);
        // Vacuum deletes what it does not know to be referenced: a table with a writer feature this library does not write
        // (deletion vector files, say) could lose files it needs. vacuumProtocolCheck makes this check a rule; it is done always.
        TableFeatures.EnsureVacuumable(snapshot.Protocol, table.Location);

        // FileMap, not Files: vacuum needs keys and vectors only, not a column-mapped table's logical stats per file.
        var keep = snapshot.FileMap.Values.Select(f => f.ObjectKey).ToHashSet(StringComparer.Ordinal);
        // A deletion vector file is kept with every kept file that points at it (deletionVectors feature).
        bool KeepVector(DeletionVectorDescriptor? dv) => DeletionVectorKey(dv, table.Store.Location) is { } key && keep.Add(key);
        foreach (var f in snapshot.FileMap.Values) KeepVector(f.DeletionVector);
        foreach (var t in snapshot.Tombstones)
            if ((t.DeletionTimestamp ?? long.MaxValue) >= cutoffMs)
            {
                keep.Add(t.ObjectKey);
                KeepVector(t.DeletionVector);
            }
        var tombstoned = snapshot.Tombstones.Select(t => t.ObjectKey).ToHashSet(StringComparer.Ordinal);

        var keptForPoints = 0;
        var expired = new List<RestorePoint>();
        foreach (var point in await RestorePoints.ListAsync(table.Store, ct))
        {
            if (point.ExpiresAt <= now)
            {
                expired.Add(point);
                continue;
            }
            Snapshot then;
            try { then = await table.GetSnapshotAsync(point.Version, ct); }
            catch (VersionNotAvailableException) { continue; }
            foreach (var f in then.FileMap.Values)
            {
                if (keep.Add(f.ObjectKey)) keptForPoints++;
                if (KeepVector(f.DeletionVector)) keptForPoints++;
            }
        }

        var files = new List<VacuumFile>();
        await foreach (var obj in table.Store.ListAsync("", ct))
        {
            if (keep.Contains(obj.Key) || obj.LastModified > cutoff) continue;
            if (IsStaleTemp(obj.Key)) files.Add(new VacuumFile(obj.Key, obj.Size, "temp")); // even in _delta_log: a killed writer's leftover
            else if (!IsHidden(obj.Key)) files.Add(new VacuumFile(obj.Key, obj.Size, tombstoned.Contains(obj.Key) ? "removed" : "uncommitted"));
        }
        // Tombstoned files no longer in the snapshot's tombstones (dropped from checkpoints) show as uncommitted: still unreferenced.
        if (!options.DryRun)
        {
            foreach (var f in files) await table.Store.DeleteAsync(f.Path, ct);
            foreach (var p in expired) await RestorePoints.DeleteAsync(table.Store, p.Name, ct);
        }
        return new VacuumResult(tableName, options.Retention, options.DryRun, files, files.Sum(f => f.SizeBytes), keptForPoints,
            options.DryRun ? 0 : expired.Count);
    }

    /// <summary>The key of a deletion vector's file inside the table; null for inline vectors and for 'p' paths outside the table.</summary>
    private static string? DeletionVectorKey(DeletionVectorDescriptor? dv, string location)
    {
        if (dv is null) return null;
        try { return DeletionVectors.ObjectKey(dv, location); }
        catch (UnsupportedProtocolException) { return null; } // outside the table: not under the folder vacuum lists
    }

    /// <summary>
    /// A local store's write-beside temp file (<c>.NAME.GUID.tmp</c>, e.g. <c>_delta_log/.00000000000000000003.json.GUID.tmp</c>):
    /// renamed into place or deleted by its writer, so one older than the retention belongs to a writer that was killed.
    /// </summary>
    internal static bool IsStaleTemp(string key)
    {
        var name = key[(key.LastIndexOf('/') + 1)..];
        if (name.Length < 40 || name[0] != '.' || !name.EndsWith(".tmp", StringComparison.Ordinal)) return false;
        var guid = name.AsSpan(name.Length - 4 - 32, 32);
        return name[name.Length - 4 - 33] == '.' && guid.IndexOfAnyExcept("0123456789abcdef") < 0;
    }

    /// <summary>Names starting with '_' or '.' are not data (the log, side files, temp files), except partition folders (<c>col=value</c>).</summary>
    internal static bool IsHidden(string key)
    {
        foreach (var segment in key.Split('/'))
            if (segment.Length > 0 && (segment[0] == '_' || segment[0] == '.') && !segment.Contains('=', StringComparison.Ordinal)) return true;
        return false;
    }
}
