using System.Globalization;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Delta;

/// <summary>
/// What <c>_delta_log</c> holds: commit files by version and complete checkpoints (single or multi-part).
/// The listing is the truth; <c>_last_checkpoint</c> is only a hint other readers use. Temp files, .crc
/// files and sub-folders (<c>_sidecars/</c>, <c>_commits/</c>) are ignored. UUID-named V2 checkpoints
/// (<c>n.checkpoint.UUID.json|parquet</c>) are listed beside the classic ones.
/// </summary>
internal sealed class LogListing
{
    public SortedDictionary<long, ObjectInfo> Commits { get; } = new();

    /// <summary>Complete checkpoints, oldest first.</summary>
    public List<CheckpointRef> Checkpoints { get; } = new();

    public bool AnyLogFile { get; private set; }

    public long? LatestVersion =>
        Commits.Count == 0 && Checkpoints.Count == 0
            ? null
            : Math.Max(Commits.Count > 0 ? Commits.Keys.Last() : -1, Checkpoints.Count > 0 ? Checkpoints[^1].Version : -1);

    public static async Task<LogListing> ListAsync(IObjectStore store, CancellationToken ct)
    {
        // A concurrent writer's temp file can vanish between a store's directory enumeration and its stat of the
        // file (LocalObjectStore surfaces that as FileNotFoundException): list again.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await ListOnceAsync(store, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException && attempt < 10)
            {
                await Task.Delay(attempt, ct).ConfigureAwait(false);
            }
        }
    }

    private static async Task<LogListing> ListOnceAsync(IObjectStore store, CancellationToken ct)
    {
        var listing = new LogListing();
        var parts = new Dictionary<(long Version, int Parts), SortedDictionary<int, string>>();
        var uuidNamed = new List<CheckpointRef>();
        await foreach (var info in store.ListAsync(DeltaPaths.LogPrefix, ct))
        {
            var name = info.Key[DeltaPaths.LogPrefix.Length..];
            if (name.Contains('/')) continue; // _commits/, _sidecars/ and other sub-folders
            listing.AnyLogFile = true;
            if (name.Length < 21 || !long.TryParse(name.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out var version) || name[20] != '.')
                continue;
            var rest = name[21..];
            if (rest == "json")
                listing.Commits[version] = info;
            else if (rest == "checkpoint.parquet")
                parts[(version, 1)] = new SortedDictionary<int, string> { [1] = info.Key };
            else if (rest.StartsWith("checkpoint.", StringComparison.Ordinal) && rest.EndsWith(".parquet", StringComparison.Ordinal))
            {
                var pieces = rest.Split('.');
                // checkpoint.PART.PARTS.parquet, or checkpoint.UUID.parquet (V2)
                if (pieces.Length == 3 && Guid.TryParseExact(pieces[1], "D", out _))
                    uuidNamed.Add(new CheckpointRef(version, [info.Key], UuidNamed: true));
                else if (pieces.Length == 4 && pieces[1].Length == 10 && pieces[2].Length == 10 &&
                    int.TryParse(pieces[1], NumberStyles.None, CultureInfo.InvariantCulture, out var part) &&
                    int.TryParse(pieces[2], NumberStyles.None, CultureInfo.InvariantCulture, out var total) && part >= 1 && part <= total)
                {
                    if (!parts.TryGetValue((version, total), out var set)) parts[(version, total)] = set = new SortedDictionary<int, string>();
                    set[part] = info.Key;
                }
            }
            else if (rest.StartsWith("checkpoint.", StringComparison.Ordinal) && rest.EndsWith(".json", StringComparison.Ordinal) &&
                     rest.Split('.') is { Length: 3 } jp && Guid.TryParseExact(jp[1], "D", out _))
                uuidNamed.Add(new CheckpointRef(version, [info.Key], UuidNamed: true));
        }
        foreach (var ((version, total), set) in parts.OrderBy(p => p.Key.Version).ThenBy(p => p.Key.Parts))
        {
            if (set.Count != total) continue; // incomplete multi-part checkpoint: a crashed writer, ignored
            if (listing.Checkpoints.Count > 0 && listing.Checkpoints[^1].Version == version) continue;
            listing.Checkpoints.Add(new CheckpointRef(version, set.Values.ToList()));
        }
        // A version may have a classic and UUID-named checkpoints (the classic one for older readers): all are kept, UUID-named
        // last (tried first by replay, which walks newest to oldest and falls back to the next on a damaged one).
        if (uuidNamed.Count > 0)
        {
            var all = listing.Checkpoints.Concat(uuidNamed.OrderBy(c => c.PartKeys[0], StringComparer.Ordinal))
                .OrderBy(c => c.Version).ThenBy(c => c.UuidNamed).ToList(); // stable: classic before UUID-named per version
            listing.Checkpoints.Clear();
            listing.Checkpoints.AddRange(all);
        }
        return listing;
    }

    /// <summary>The first version missing in (from, to], or null when the commits are contiguous.</summary>
    public long? FirstMissingCommit(long fromExclusive, long toInclusive)
    {
        for (var v = fromExclusive + 1; v <= toInclusive; v++)
            if (!Commits.ContainsKey(v)) return v;
        return null;
    }
}

/// <summary>A complete checkpoint: its version and the keys of its parts in part order; a UUID-named (V2) one has one key, .json or .parquet.</summary>
internal sealed record CheckpointRef(long Version, IReadOnlyList<string> PartKeys, bool UuidNamed = false);
