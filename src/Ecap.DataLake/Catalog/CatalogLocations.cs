using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Catalog;

/// <summary>Where a catalog entry's table lives: its normalized path, the store of that path, and its Delta table.</summary>
/// <param name="lake">The lake whose tables sync registers by name (optional); locations inside it are children of its store.</param>
/// <param name="storage">The lake's storage when built by <see cref="DataLakeBuilder"/>: its tables' snapshot cache and settings.</param>
/// <param name="openLocation">Opens the store of a location outside the lake.</param>
internal sealed class CatalogLocations(IObjectStore? lake, DataLakeStorage? storage, Func<string, IObjectStore> openLocation)
{
    public IObjectStore? Lake => lake;

    public DataLakeStorage? Storage => storage;

    public static string NormalizePath(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidInputException("Table path must not be empty.");
        return path.Contains("://", StringComparison.Ordinal) ? path : Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar);
    }

    /// <summary>
    /// The store of a location: inside the lake, a child of the lake's own store (so an S3 lake's settings and
    /// commit coordinator apply); elsewhere, opened from the location (S3 settings from the environment).
    /// </summary>
    public IObjectStore Open(string location) => InLake(location) switch
    {
        "" => lake!,
        { } relative => lake!.Child(relative),
        null => openLocation(location),
    };

    /// <summary>The location's path inside the lake ("" for the root), or null when it lies outside.</summary>
    public string? InLake(string location)
    {
        if (lake is null) return null;
        var root = lake.Location.TrimEnd('/');
        var trimmed = location.TrimEnd('/');
        if (trimmed == root) return "";
        return trimmed.StartsWith(root + "/", StringComparison.Ordinal) ? trimmed[(root.Length + 1)..] : null;
    }

    /// <summary>
    /// Checks that reading the data of the table at <paramref name="location"/> (its statistics, a sample) is the caller's
    /// right under the grants that govern that table, not only under the name the catalog gives it: inside the lake, read on
    /// the table's own name; outside, the table's own lake must not be governed (its grants are not this lake's to apply).
    /// </summary>
    public async Task RequireReadOfDataAsync(string entryName, string location, Security.GuardScope? scope, CancellationToken ct)
    {
        if (InLake(location) is { } relative)
        {
            if (relative.Length > 0 && !relative.Contains('/')) scope?.Require(Security.Privilege.Read, relative);
            return;
        }
        var path = location.TrimEnd('/', '\\');
        var slash = path.LastIndexOfAny(['/', '\\']);
        if (slash <= 0) return;
        var parent = path[..slash];
        if ((await Security.LakeGrantStore.ForLake(openLocation(parent)).GetGrantsAsync(ct)).Count > 0)
            throw new Security.AccessDeniedException(
                $"access denied: '{entryName}' is the table {location} of another lake ({parent}) that has its own grants; " +
                $"this lake cannot apply them. Run the command against that lake (--lake {parent}).");
    }

    public async Task<DeltaTable> OpenDeltaAsync(string location, CancellationToken ct)
    {
        // The lake's tables share its snapshot cache (a sync right after a commit reads nothing again).
        var table = new DeltaTable(Open(location), storage?.TableOptions);
        if (!await table.ExistsAsync(ct))
            throw new InvalidInputException($"'{location}' is not a Delta table (no _delta_log with commits).");
        return table;
    }
}
