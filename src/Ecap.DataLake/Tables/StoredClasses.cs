using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tables;

/// <summary>
/// Which storage class holds each live data file of a table, from one listing of the table's prefix (tiering moves files
/// in place and the log records no classes, so only the store knows). Null for stores without classes.
/// </summary>
internal static class StoredClasses
{
    public static async Task<IReadOnlyList<StoredClassBytes>?> ReadAsync(IObjectStore tableStore, Snapshot snapshot, CancellationToken ct)
    {
        if (tableStore is not IStorageClassStore classes) return null;
        var live = new Dictionary<string, long>(snapshot.Files.Count, StringComparer.Ordinal);
        foreach (var f in snapshot.Files) live[f.ObjectKey] = f.Size;
        var byClass = new Dictionary<string, (int Files, long Bytes)>(StringComparer.Ordinal);
        await foreach (var o in classes.ListStorageClassesAsync("", ct).ConfigureAwait(false))
        {
            if (!live.Remove(o.Key, out var size)) continue; // the log, checkpoints, files no longer in the table
            Add(o.StorageClass, size);
        }
        // A live file the listing did not show (listed before it was written): S3 stores new objects in STANDARD.
        foreach (var size in live.Values) Add("STANDARD", size);
        return byClass.OrderByDescending(c => c.Value.Bytes).ThenBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => new StoredClassBytes(c.Key, c.Value.Files, c.Value.Bytes)).ToList();

        void Add(string storageClass, long size)
        {
            var (files, bytes) = byClass.GetValueOrDefault(storageClass);
            byClass[storageClass] = (files + 1, bytes + size);
        }
    }
}
