using Ecap.DataLake.Storage;
using Microsoft.Extensions.Logging;

namespace Ecap.DataLake.Delta;

/// <summary>One entry of a table's history: a commit and what its commitInfo says.</summary>
public sealed record CommitHistoryEntry(
    long Version,
    DateTimeOffset Timestamp,
    string? Operation,
    IReadOnlyDictionary<string, string> OperationParameters,
    IReadOnlyDictionary<string, string> OperationMetrics,
    bool? IsBlindAppend,
    long? ReadVersion,
    string? EngineInfo);

/// <summary>A commit's commitInfo and metaData (each null when the commit has none), from <see cref="DeltaTable.ReadCommitsAsync"/>.</summary>
public sealed record CommitHeader(long Version, CommitInfo? CommitInfo, Metadata? Metadata);

/// <summary>
/// A Delta table over an object store rooted at the table folder. Reads snapshots by log replay (from the
/// newest readable checkpoint, then the JSON commits after it), keeps the latest snapshot so refreshing reads
/// only the commits after it, travels in time by version or timestamp, lists history, and starts
/// optimistic transactions (see <see cref="Transaction"/>). Thread-safe; cheap to create.
/// </summary>
public sealed class DeltaTable
{
    private readonly object _gate = new();
    private Snapshot? _latest;

    public DeltaTable(IObjectStore tableStore, DeltaTableOptions? options = null)
    {
        Store = tableStore ?? throw new ArgumentNullException(nameof(tableStore));
        Options = options ?? new DeltaTableOptions();
    }

    /// <summary>Opens the table at a folder, file:// or s3:// location.</summary>
    public static DeltaTable Open(string location, DeltaTableOptions? options = null) => new(ObjectStoreFactory.Open(location), options);

    public IObjectStore Store { get; }

    public DeltaTableOptions Options { get; }

    public string Location => Store.Location;

    /// <summary>The name the lake knows this table by (null for a table opened by location); post-commit hooks key on it.</summary>
    public string? Name { get; init; }

    internal ILogger? Logger => Options.Logger;

    /// <summary>True when the folder holds a Delta log with at least one commit or checkpoint.</summary>
    public async Task<bool> ExistsAsync(CancellationToken ct = default) =>
        (await LogListing.ListAsync(Store, ct).ConfigureAwait(false)).LatestVersion is not null;

    /// <summary>
    /// The latest snapshot. Refreshes incrementally from the last one this instance loaded: it probes for the
    /// commits after it (one existence check per new commit plus one) and reads only those, without listing the log.
    /// </summary>
    public async Task<Snapshot> GetSnapshotAsync(CancellationToken ct = default)
    {
        var snapshot = _latest is { } cached
            ? await RefreshAsync(cached, ct).ConfigureAwait(false)
            : await FromSharedCacheAsync(ct).ConfigureAwait(false) is { } shared
                ? await RefreshAsync(shared, ct).ConfigureAwait(false)
                : await LoadAsync(null, null, ct).ConfigureAwait(false);
        Remember(snapshot);
        return snapshot;
    }

    /// <summary>The snapshot at a version (time travel).</summary>
    public async Task<Snapshot> GetSnapshotAsync(long version, CancellationToken ct = default)
    {
        var latest = _latest;
        if (latest is not null && latest.Version == version) return latest;
        if (Options.SnapshotCache is { } cache)
        {
            var hit = cache.Get(Location, version);
            Metrics.LakeMetrics.RecordSnapshotCache(Location, hit is not null);
            if (hit is not null) return hit;
        }
        var snapshot = await LoadAsync(version, latest is not null && latest.Version < version ? latest : null, ct).ConfigureAwait(false);
        Remember(snapshot);
        return snapshot;
    }

    /// <summary>
    /// The newest snapshot of this table in the shared <see cref="DeltaTableOptions.SnapshotCache"/>, when its commit is still
    /// there (a table deleted and written again starts over: its cached snapshots are forgotten).
    /// </summary>
    private async Task<Snapshot?> FromSharedCacheAsync(CancellationToken ct)
    {
        if (Options.SnapshotCache is not { } cache) return null;
        var newest = cache.Newest(Location);
        if (newest is not null && await Store.HeadAsync(DeltaPaths.CommitKey(newest.Version), ct).ConfigureAwait(false) is null)
        {
            cache.Forget(Location);
            newest = null;
        }
        Metrics.LakeMetrics.RecordSnapshotCache(Location, newest is not null);
        return newest;
    }

    /// <summary>The snapshot of the latest version committed at or before <paramref name="timestamp"/>.</summary>
    public async Task<Snapshot> GetSnapshotAtAsync(DateTimeOffset timestamp, CancellationToken ct = default)
    {
        var listing = await LogListing.ListAsync(Store, ct).ConfigureAwait(false);
        var latest = listing.LatestVersion ?? throw NotATable();
        var earliest = EarliestReconstructable(listing);
        var versions = listing.Commits.Keys.Where(v => v >= earliest).ToList();
        if (versions.Count == 0) return await GetSnapshotAsync(latest, ct).ConfigureAwait(false);
        // In-commit timestamps enabled at version E, time T (PROTOCOL.md "In-Commit Timestamps"): a time at or after T is
        // looked up among versions from E on (their inCommitTimestamps), an earlier one among the versions before E.
        var configuration = (await GetSnapshotAsync(latest, ct).ConfigureAwait(false)).Metadata.Configuration;
        if (configuration.TryGetValue("delta.inCommitTimestampEnablementVersion", out var ev) && long.TryParse(ev, out var enabledAt) &&
            configuration.TryGetValue("delta.inCommitTimestampEnablementTimestamp", out var et) && long.TryParse(et, out var enabledTime))
        {
            var part = versions.Where(v => timestamp.ToUnixTimeMilliseconds() >= enabledTime ? v >= enabledAt : v < enabledAt).ToList();
            if (part.Count > 0) versions = part;
        }
        var firstTs = await CommitTimestampAsync(listing, versions[0], ct).ConfigureAwait(false);
        if (timestamp < firstTs)
            throw new VersionNotAvailableException(
                $"Table '{Location}' has no version at or before {timestamp:O}: the earliest available version is {versions[0]}, " +
                $"committed at {firstTs:O}.", versions[0], latest);
        // Commit timestamps are monotonic (writers take max(previous + 1 ms, now)): binary search the last <= timestamp.
        int lo = 0, hi = versions.Count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (await CommitTimestampAsync(listing, versions[mid], ct).ConfigureAwait(false) <= timestamp) lo = mid;
            else hi = mid - 1;
        }
        return await GetSnapshotAsync(versions[lo], ct).ConfigureAwait(false);
    }

    /// <summary>The commits, newest first (at most <paramref name="limit"/>).</summary>
    public async Task<IReadOnlyList<CommitHistoryEntry>> GetHistoryAsync(int? limit = null, CancellationToken ct = default)
    {
        var listing = await LogListing.ListAsync(Store, ct).ConfigureAwait(false);
        if (listing.LatestVersion is null) throw NotATable();
        var result = new List<CommitHistoryEntry>();
        foreach (var (version, info) in listing.Commits.Reverse())
        {
            if (limit is { } l && result.Count >= l) break;
            var ci = await ReadCommitInfoAsync(info.Key, ct).ConfigureAwait(false);
            result.Add(new CommitHistoryEntry(version, ResolveTimestamp(ci, info.LastModified), ci?.Operation,
                ci?.OperationParameters ?? new Dictionary<string, string>(), ci?.OperationMetrics ?? new Dictionary<string, string>(),
                ci?.IsBlindAppend, ci?.ReadVersion, ci?.EngineInfo));
        }
        return result;
    }

    /// <summary>
    /// Starts a transaction that reads <paramref name="readSnapshot"/> (null: create the table, committing version 0).
    /// </summary>
    public Transaction StartTransaction(Snapshot? readSnapshot, string operation) => new(this, readSnapshot, operation);

    /// <summary>Starts a transaction on the latest snapshot.</summary>
    public async Task<Transaction> StartTransactionAsync(string operation, CancellationToken ct = default) =>
        new(this, await GetSnapshotAsync(ct).ConfigureAwait(false), operation);

    /// <summary>Creates the table (version 0: protocol + metaData). <see cref="TableAlreadyExistsException"/> if it exists.</summary>
    public Task<CommitResult> CreateAsync(Metadata metadata, CancellationToken ct = default)
    {
        var tx = StartTransaction(null, "CREATE TABLE");
        tx.SetMetadata(metadata);
        return tx.CommitAsync(ct);
    }

    /// <summary>
    /// The physical row indexes (0-based over the whole file, sorted, distinct) that the file's deletion vector deletes;
    /// empty when it has none. For readers outside this library (SQL) that must skip them as the library's readers do.
    /// </summary>
    public async Task<long[]> ReadDeletedRowsAsync(AddFile file, CancellationToken ct = default) =>
        file.DeletionVector is { } dv ? await DeletionVectors.LoadAsync(Store, dv, ct).ConfigureAwait(false) : [];

    /// <summary>The live files of a snapshot whose data file does not exist (vacuumed or lost): reading them would fail.</summary>
    public async Task<IReadOnlyList<AddFile>> FindMissingFilesAsync(Snapshot snapshot, CancellationToken ct = default)
    {
        var missing = new List<AddFile>();
        foreach (var file in snapshot.Files)
            if (await Store.HeadAsync(file.ObjectKey, ct).ConfigureAwait(false) is null) missing.Add(file);
        return missing;
    }

    /// <summary>Writes a checkpoint of a snapshot (default: the latest) and points _last_checkpoint at it.</summary>
    public async Task<long> CheckpointAsync(Snapshot? snapshot = null, CancellationToken ct = default)
    {
        snapshot ??= await GetSnapshotAsync(ct).ConfigureAwait(false);
        await CheckpointWriter.WriteAsync(Store, snapshot, Options, ct).ConfigureAwait(false);
        return snapshot.Version;
    }

    // ---------------------------------------------------------------- loading

    internal void Remember(Snapshot snapshot)
    {
        lock (_gate)
        {
            if (_latest is null || snapshot.Version > _latest.Version) _latest = snapshot;
        }
        Options.SnapshotCache?.Add(snapshot);
    }

    internal Snapshot? CachedLatest => _latest;

    private TableNotFoundException NotATable() => new(
        $"'{Location}' is not a Delta table: there is no _delta_log folder with commits in it. " +
        "Plain Parquet files must be imported into a Delta table before they can be read as one.");

    private static long EarliestReconstructable(LogListing listing)
    {
        if (listing.Commits.ContainsKey(0)) return 0;
        return listing.Checkpoints.Count > 0 ? listing.Checkpoints[0].Version : listing.Commits.Keys.FirstOrDefault();
    }

    /// <summary>Builds the snapshot at <paramref name="target"/> (null: latest), incrementally from <paramref name="from"/> when it can.</summary>
    internal async Task<Snapshot> LoadAsync(long? target, Snapshot? from, CancellationToken ct)
    {
        var listing = await LogListing.ListAsync(Store, ct).ConfigureAwait(false);
        var latest = listing.LatestVersion ?? throw NotATable();
        var version = target ?? latest;
        if (version > latest || version < 0)
            throw new VersionNotAvailableException(
                $"Table '{Location}' has no version {version}: versions {EarliestReconstructable(listing)} to {latest} are available.",
                EarliestReconstructable(listing), latest);

        if (from is not null && from.Version <= version && listing.FirstMissingCommit(from.Version, version) is null)
        {
            if (from.Version == version) return from;
            var state = new ReplayState(from);
            var (ci, info, read) = await ReplayCommitsAsync(listing.Commits, from.Version + 1, version, state, ct).ConfigureAwait(false);
            return Build(version, state, ci, info, new SnapshotLoadInfo(null, read, from.Version));
        }

        CorruptTableException? checkpointError = null;
        for (var i = listing.Checkpoints.Count - 1; i >= 0; i--)
        {
            var cp = listing.Checkpoints[i];
            if (cp.Version > version) continue;
            if (listing.FirstMissingCommit(cp.Version, version) is { } gap) throw Gap(listing, gap);
            var state = new ReplayState { TableRoot = Location };
            try
            {
                await CheckHintedSizeAsync(cp, ct).ConfigureAwait(false);
                await CheckpointReader.ReadAsync(Store, cp, state, ct).ConfigureAwait(false);
            }
            catch (DataLakeException e) when (e is CorruptTableException || (e is not UnsupportedProtocolException && CanReplayWithout(listing, cp, version)))
            {
                // A damaged checkpoint (a crashed writer, a truncated upload, garbage that decodes into a bad schema):
                // fall back to an older one or to the commits, as delta-rs and Spark do. Only the checkpoint: a damaged
                // commit after it is the table's damage, whichever checkpoint the replay starts from.
                Logger?.LogWarning(e, "Ignoring unreadable checkpoint {Version} of {Table}", cp.Version, Location);
                checkpointError = e as CorruptTableException ?? new CorruptTableException($"Checkpoint {cp.Version} of '{Location}' is damaged: {e.Message}", e);
                continue;
            }
            var (ci, info, read) = await ReplayCommitsAsync(listing.Commits, cp.Version + 1, version, state, ct).ConfigureAwait(false);
            if (read == 0 && listing.Commits.TryGetValue(cp.Version, out var cpCommit))
            {
                ci = await ReadCommitInfoAsync(cpCommit.Key, ct).ConfigureAwait(false);
                info = cpCommit;
            }
            return Build(version, state, ci, info, new SnapshotLoadInfo(cp.Version, read, null));
        }

        if (!listing.Commits.ContainsKey(0))
        {
            var earliest = listing.Commits.Count > 0 ? listing.Commits.Keys.First() : latest;
            var message = $"Table '{Location}' cannot be read at version {version}: commit 0 is missing and no readable checkpoint " +
                          $"at or before version {version} exists (the earliest commit is {earliest}).";
            if (checkpointError is not null) throw new CorruptTableException(message + " " + checkpointError.Message, checkpointError);
            throw new VersionNotAvailableException(message, earliest, latest);
        }
        if (listing.FirstMissingCommit(-1, version) is { } missing) throw Gap(listing, missing);
        var full = new ReplayState { TableRoot = Location };
        var (lastCi, lastInfo, count) = await ReplayCommitsAsync(listing.Commits, 0, version, full, ct).ConfigureAwait(false);
        return Build(version, full, lastCi, lastInfo, new SnapshotLoadInfo(null, count, null));
    }

    /// <summary>True when an older checkpoint or the commits from 0 can rebuild <paramref name="version"/> without <paramref name="cp"/>.</summary>
    private static bool CanReplayWithout(LogListing listing, CheckpointRef cp, long version) =>
        listing.Checkpoints.Any(c => c.Version < cp.Version) || (listing.Commits.ContainsKey(0) && listing.FirstMissingCommit(-1, version) is null);

    /// <summary>
    /// A checkpoint that failed half-way (truncated, or cut short by a crash) often still opens; <c>_last_checkpoint</c>
    /// names its size in bytes: a part of another size is damaged. The hint is optional and only ever makes a check stricter.
    /// </summary>
    private async Task CheckHintedSizeAsync(CheckpointRef cp, CancellationToken ct)
    {
        if (cp.PartKeys.Count != 1) return;
        long? hinted = null;
        try
        {
            var bytes = await Store.ReadAllAsync(DeltaPaths.LastCheckpointKey, ct).ConfigureAwait(false);
            using var doc = System.Text.Json.JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            if (root.TryGetProperty("version", out var v) && v.TryGetInt64(out var hv) && hv == cp.Version)
            {
                // With V2 checkpoints, sizeInBytes counts the sidecars too; v2Checkpoint names the top-level file and its own size.
                var name = cp.PartKeys[0][DeltaPaths.LogPrefix.Length..];
                if (root.TryGetProperty("v2Checkpoint", out var v2) && v2.ValueKind == System.Text.Json.JsonValueKind.Object)
                {
                    if (v2.TryGetProperty("path", out var p) && p.ValueKind == System.Text.Json.JsonValueKind.String && p.GetString() == name &&
                        v2.TryGetProperty("sizeInBytes", out var vs) && vs.TryGetInt64(out var v2Size))
                        hinted = v2Size;
                }
                else if (!cp.UuidNamed && root.TryGetProperty("sizeInBytes", out var sb) && sb.TryGetInt64(out var size))
                    hinted = size;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return; // no hint, or an unreadable one: the listing is the truth
        }
        if (hinted is not { } expected) return;
        var actual = (await Store.HeadAsync(cp.PartKeys[0], ct).ConfigureAwait(false))?.Size;
        if (actual is { } a && a != expected)
            throw new CorruptTableException(
                $"Checkpoint file '{cp.PartKeys[0]}' is {a} bytes but _last_checkpoint says {expected}: the checkpoint did not finish writing.");
    }

    /// <summary>How many new commits a refresh probes for before it lists the log (and maybe uses a checkpoint) instead.</summary>
    private const int MaxProbedCommits = 100;

    private async Task<Snapshot> RefreshAsync(Snapshot from, CancellationToken ct)
    {
        var found = new SortedDictionary<long, ObjectInfo>();
        for (var v = from.Version + 1; ; v++)
        {
            if (found.Count >= MaxProbedCommits) return await LoadAsync(null, from, ct).ConfigureAwait(false);
            if (await Store.HeadAsync(DeltaPaths.CommitKey(v), ct).ConfigureAwait(false) is not { } info) break;
            found[v] = info;
        }
        if (found.Count == 0) return from;
        var state = new ReplayState(from);
        var last = found.Keys.Last();
        var (ci, lastInfo, read) = await ReplayCommitsAsync(found, from.Version + 1, last, state, ct).ConfigureAwait(false);
        return Build(last, state, ci, lastInfo, new SnapshotLoadInfo(null, read, from.Version));
    }

    private CorruptTableException Gap(LogListing listing, long missing)
    {
        var before = listing.Commits.Keys.Where(v => v < missing).DefaultIfEmpty(-1).Max();
        var after = listing.Commits.Keys.Where(v => v > missing).DefaultIfEmpty(-1).Min();
        return new CorruptTableException(
            $"The Delta log of table '{Location}' is not contiguous: version {missing} is missing " +
            $"(no {DeltaPaths.CommitKey(missing)}; found versions {before} and {after}). The table cannot be read past version {before}.");
    }

    private Snapshot Build(long version, ReplayState state, CommitInfo? lastCommitInfo, ObjectInfo? lastFile, SnapshotLoadInfo loadInfo)
    {
        var mtime = lastFile?.LastModified ?? DateTimeOffset.UnixEpoch;
        var snapshot = new Snapshot(version, state, ResolveTimestamp(lastCommitInfo, mtime),
            lastCommitInfo?.Timestamp ?? mtime.ToUnixTimeMilliseconds(), loadInfo, Location);
        TableFeatures.EnsureReadable(snapshot.Protocol, snapshot.Metadata, Location);
        return snapshot;
    }

    private async Task<(CommitInfo? LastCommitInfo, ObjectInfo? LastFile, int Read)> ReplayCommitsAsync(
        IReadOnlyDictionary<long, ObjectInfo> commits, long fromInclusive, long toInclusive, ReplayState state, CancellationToken ct)
    {
        CommitInfo? ci = null;
        ObjectInfo? last = null;
        var read = 0;
        for (var v = fromInclusive; v <= toInclusive; v++)
        {
            var info = commits[v];
            ci = null;
            await using (var stream = await OpenCommitAsync(info.Key, ct).ConfigureAwait(false))
            {
                await foreach (var action in ActionSerializer.ReadCommitAsync(stream, info.Key, ct).ConfigureAwait(false))
                {
                    if (action.CommitInfo is { } c) ci = c;
                    state.Apply(action);
                }
            }
            last = info;
            read++;
        }
        return (ci, last, read);
    }

    private async Task<Stream> OpenCommitAsync(string key, CancellationToken ct)
    {
        try
        {
            return await Store.OpenReadAsync(key, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CorruptTableException($"Commit file '{key}' of table '{Location}' disappeared while it was being read (log cleanup?).", e);
        }
    }

    internal DateTimeOffset ResolveTimestamp(CommitInfo? ci, DateTimeOffset fileModified)
    {
        if (ci?.InCommitTimestamp is { } ict) return DateTimeOffset.FromUnixTimeMilliseconds(ict);
        if (Options.TimestampSource == CommitTimestampSource.CommitInfo && ci?.Timestamp is { } ts)
            return DateTimeOffset.FromUnixTimeMilliseconds(ts);
        return DateTimeOffset.FromUnixTimeMilliseconds(fileModified.ToUnixTimeMilliseconds());
    }

    private async Task<DateTimeOffset> CommitTimestampAsync(LogListing listing, long version, CancellationToken ct)
    {
        var info = listing.Commits[version];
        CommitInfo? ci = null;
        ci = await ReadCommitInfoAsync(info.Key, ct).ConfigureAwait(false);
        return ResolveTimestamp(ci, info.LastModified);
    }

    /// <summary>
    /// The commitInfo and metaData of each JSON commit in (<paramref name="afterVersion"/>, <paramref name="upToVersion"/>], oldest
    /// first, for readers of schema changes and commit parameters: only those two lines of a commit are parsed (add/remove lines
    /// are skipped by their prefix). Commits no longer in the log (checkpointed and cleaned up) are not returned.
    /// </summary>
    public async IAsyncEnumerable<CommitHeader> ReadCommitsAsync(long afterVersion, long upToVersion,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        var listing = await LogListing.ListAsync(Store, ct).ConfigureAwait(false);
        foreach (var (version, info) in listing.Commits)
        {
            if (version <= afterVersion) continue;
            if (version > upToVersion) break;
            CommitInfo? commitInfo = null;
            Metadata? metadata = null;
            await foreach (var action in ReadLinesAsync(info.Key, ct, "{\"commitInfo\"", "{\"metaData\"").ConfigureAwait(false))
            {
                commitInfo = action.CommitInfo ?? commitInfo;
                metadata = action.Metadata ?? metadata;
            }
            yield return new CommitHeader(version, commitInfo, metadata);
        }
    }

    /// <summary>The commitInfo of a commit file (only its line is parsed), or null when it has none.</summary>
    internal async Task<CommitInfo?> ReadCommitInfoAsync(string key, CancellationToken ct)
    {
        await foreach (var action in ReadLinesAsync(key, ct, "{\"commitInfo\"").ConfigureAwait(false))
            return action.CommitInfo;
        return null;
    }

    // The actions of a commit file whose lines start with one of the prefixes; other lines are not parsed.
    private async IAsyncEnumerable<DeltaAction> ReadLinesAsync(string key,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct, params string[] prefixes)
    {
        await using var stream = await OpenCommitAsync(key, ct).ConfigureAwait(false);
        using var reader = new StreamReader(stream);
        var lineNumber = 0;
        var empty = true;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            lineNumber++;
            if (empty && !string.IsNullOrWhiteSpace(line)) empty = false;
            if (!prefixes.Any(p => line.StartsWith(p, StringComparison.Ordinal))) continue;
            yield return ActionSerializer.ParseLine(line, key, lineNumber);
        }
        if (empty) throw ActionSerializer.EmptyCommit(key);
    }
}
