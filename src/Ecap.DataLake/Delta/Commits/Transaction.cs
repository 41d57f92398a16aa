using System.Buffers;
using Microsoft.Extensions.Logging;

namespace Ecap.DataLake.Delta;

/// <summary>The outcome of a commit: the version written and how many put-if-absent attempts it took.</summary>
public sealed record CommitResult(long Version, int Attempts);

/// <summary>
/// An optimistic transaction: started from a snapshot at version N, it collects actions and commits them by
/// creating <c>_delta_log/{N+1}.json</c> with put-if-absent (the store guarantees at most one writer creates a
/// version). When another writer got there first, the winners' commits are read and checked by
/// <see cref="ConflictChecker"/>; without conflict the transaction is rebased onto the newest version and
/// retried after a jittered exponential backoff, up to <see cref="DeltaTableOptions.MaxCommitAttempts"/> times.
/// A transaction without a read snapshot creates the table (version 0, protocol + metaData).
/// After a successful commit, a checkpoint is written every <see cref="DeltaTableOptions.CheckpointInterval"/>
/// versions; a failing checkpoint is logged and never fails the commit.
/// </summary>
public sealed class Transaction
{
    private readonly DeltaTable _table;
    private readonly List<AddFile> _adds = new();
    private readonly List<RemoveFile> _removes = new();
    private readonly Dictionary<string, SetTransaction> _txns = new(StringComparer.Ordinal);
    private Metadata? _metadata;
    private Protocol? _protocol;
    private bool _committed;

    internal Transaction(DeltaTable table, Snapshot? readSnapshot, string operation)
    {
        _table = table;
        ReadSnapshot = readSnapshot;
        Operation = operation;
    }

    /// <summary>The snapshot this transaction read (null when it creates the table).</summary>
    public Snapshot? ReadSnapshot { get; }

    /// <summary>commitInfo.operation: WRITE, CREATE TABLE, OPTIMIZE, DELETE, STREAMING UPDATE...</summary>
    public string Operation { get; }

    public IDictionary<string, string> OperationParameters { get; } = new Dictionary<string, string>();

    public IDictionary<string, string> OperationMetrics { get; } = new Dictionary<string, string>();

    /// <summary>
    /// Set when the transaction's result depends on all data of the table (an overwrite of everything, a
    /// delete by predicate): any concurrent data change is then a conflict.
    /// </summary>
    public bool ReadWholeTable { get; set; }

    /// <summary>Only adds (with dataChange) and txns, nothing read: never conflicts with other appends.</summary>
    public bool IsBlindAppend => _removes.Count == 0 && _metadata is null && _protocol is null && !ReadWholeTable && _adds.All(a => a.DataChange);

    /// <summary>
    /// The files (path and vector) whose rows this transaction read to decide what to change (DELETE, UPDATE, MERGE): a
    /// winner that removed one of them (a delete, an update, a compaction) changed what was read, so this one conflicts.
    /// </summary>
    public ISet<(string ObjectKey, string? DeletionVector)> ReadFiles { get; } = new HashSet<(string, string?)>();

    /// <summary>
    /// When set, a winner's data-changing add for which it answers true conflicts: the added file could hold rows this
    /// transaction's read would have matched (Serializable for those rows; MERGE uses it so that two merges never both
    /// insert the same key). Null: concurrent appends never conflict (WriteSerializable, Delta's default).
    /// </summary>
    public Func<AddFile, bool>? ConflictsWithAppend { get; set; }

    internal IReadOnlyDictionary<string, SetTransaction> Txns => _txns;

    internal HashSet<FileKey> RemovedKeys => _removes.Select(r => r.Key).ToHashSet();

    internal bool ChangesMetadataOrProtocol => _metadata is not null || _protocol is not null;

    /// <summary>
    /// Set by writers whose files and adds use physical names (column mapping): only such commits may go to a mapped
    /// table. Removes are written with the log's own (physical) partition values and stats whatever the caller passed.
    /// </summary>
    internal bool ColumnMappingAware { get; set; }

    public IReadOnlyList<AddFile> Adds => _adds;

    public IReadOnlyList<RemoveFile> Removes => _removes;

    public void Add(AddFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        _adds.Add(file);
    }

    public void AddRange(IEnumerable<AddFile> files)
    {
        foreach (var f in files) Add(f);
    }

    public void Remove(RemoveFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        _removes.Add(file);
    }

    /// <summary>Removes a live file of the read snapshot (dataChange=false for a rewrite such as compaction).</summary>
    public void Remove(AddFile file, bool dataChange = true) => Remove(RemoveFile.For(file, dataChange, _table.Options.Clock.GetUtcNow()));

    public void SetMetadata(Metadata metadata) => _metadata = metadata ?? throw new ArgumentNullException(nameof(metadata));

    public void SetProtocol(Protocol protocol) => _protocol = protocol ?? throw new ArgumentNullException(nameof(protocol));

    /// <summary>Records that application <paramref name="appId"/> has committed up to <paramref name="version"/> (in this commit).</summary>
    public void SetTxn(string appId, long version)
    {
        ArgumentException.ThrowIfNullOrEmpty(appId);
        _txns[appId] = new SetTransaction(appId, version, _table.Options.Clock.GetUtcNow().ToUnixTimeMilliseconds());
    }

    public async Task<CommitResult> CommitAsync(CancellationToken ct = default)
    {
        if (_committed) throw new InvalidOperationException("This transaction has already been committed; start a new one.");
        var (protocol, metadata) = Validate();
        var options = _table.Options;
        var version = (ReadSnapshot?.Version ?? -1) + 1;
        var previousTimestamp = ReadSnapshot?.CommitInfoTimestamp ?? 0;
        // In-commit timestamps (PROTOCOL.md "In-Commit Timestamps"): one more than the previous commit's, which is its
        // inCommitTimestamp, or (the commit enabling them) the file time of the previous commit.
        var inCommitTimestamps = TableFeatures.InCommitTimestampsEnabled(metadata);
        if (inCommitTimestamps && ReadSnapshot is not null)
        {
            previousTimestamp = Math.Max(previousTimestamp, ReadSnapshot.Timestamp.ToUnixTimeMilliseconds());
            if (!TableFeatures.InCommitTimestampsEnabled(ReadSnapshot.Metadata) &&
                await _table.Store.HeadAsync(DeltaPaths.CommitKey(ReadSnapshot.Version), ct).ConfigureAwait(false) is { } previous)
                previousTimestamp = Math.Max(previousTimestamp, previous.LastModified.ToUnixTimeMilliseconds());
        }
        var txnId = Guid.NewGuid().ToString();
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            var timestamp = Math.Max(previousTimestamp + 1, options.Clock.GetUtcNow().ToUnixTimeMilliseconds());
            var actions = BuildActions(timestamp, txnId, version, inCommitTimestamps);
            var buffer = new ArrayBufferWriter<byte>(4096 + 512 * actions.Count);
            ActionSerializer.Write(actions, buffer);
            var key = DeltaPaths.CommitKey(version);
            var put = await _table.Store.PutIfAbsentAsync(key, buffer.WrittenMemory, ct).ConfigureAwait(false);
            if (put == Storage.PutResult.Created)
                return await CommittedAsync(version, actions, protocol, metadata, started, attempt, ct).ConfigureAwait(false);

            if (ReadSnapshot is null)
                throw new TableAlreadyExistsException(
                    $"Table '{_table.Location}' already exists (version 0 of its log is taken); it was not overwritten. " +
                    "Open the existing table, or choose another location.");

            // Lost the race: check every commit that won since, then rebase onto the newest.
            var firstWinner = version;
            while (await ReadWinnerAsync(version, ct).ConfigureAwait(false) is { } winner)
            {
                // Our own commit: the put landed although the store answered otherwise (a request retried after its
                // response was lost). It is committed; redoing it would conflict with ourselves.
                if (winner.Count > 0 && winner[0].CommitInfo?.TxnId == txnId)
                    return await CommittedAsync(version, winner, protocol, metadata, started, attempt, ct).ConfigureAwait(false);
                if (ConflictChecker.FindConflict(this, version, winner) is { } reason)
                {
                    Metrics.LakeMetrics.CommitConflicts.Add(1, new KeyValuePair<string, object?>(Metrics.LakeMetrics.TableTag, _table.Location));
                    throw new ConcurrentModificationException(
                        $"Commit of '{Operation}' to table '{_table.Location}' (read at version {ReadSnapshot.Version}) conflicts with a concurrent commit: " +
                        $"{reason}. Nothing was committed; start a new transaction from the latest snapshot and redo the change.");
                }
                foreach (var ci in winner.Select(a => a.CommitInfo).OfType<CommitInfo>())
                    previousTimestamp = Math.Max(previousTimestamp, Math.Max(ci.Timestamp ?? 0, ci.InCommitTimestamp ?? 0));
                version++;
            }
            _table.Logger?.LogDebug("Commit of {Operation} to {Table} rebased from version {From} to {To}", Operation, _table.Location, firstWinner, version);

            if (attempt >= options.MaxCommitAttempts)
                throw new ConcurrentModificationException(
                    $"Commit of '{Operation}' to table '{_table.Location}' gave up after {attempt} attempts: other writers kept committing first " +
                    $"(read at version {ReadSnapshot.Version}, last tried version {firstWinner}, the log is now at {version - 1}). " +
                    "No conflict was found, so retrying later (or raising MaxCommitAttempts) will succeed.");
            await Task.Delay(Backoff(attempt, options), ct).ConfigureAwait(false);
        }
    }

    private static TimeSpan Backoff(int attempt, DeltaTableOptions options)
    {
        var max = Math.Min(options.RetryMaxDelay.TotalMilliseconds, options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 16)));
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * max);
    }

    private async Task<List<DeltaAction>?> ReadWinnerAsync(long version, CancellationToken ct)
    {
        var key = DeltaPaths.CommitKey(version);
        Stream stream;
        try
        {
            stream = await _table.Store.OpenReadAsync(key, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        var actions = new List<DeltaAction>();
        await using (stream)
        {
            await foreach (var a in ActionSerializer.ReadCommitAsync(stream, key, ct).ConfigureAwait(false))
                actions.Add(a);
        }
        return actions;
    }

    private (Protocol Protocol, Metadata Metadata) Validate()
    {
        var location = _table.Location;
        Metadata metadata;
        Protocol protocol;
        if (ReadSnapshot is null)
        {
            metadata = _metadata ?? throw new InvalidOperationException("Creating a table needs its metadata: call SetMetadata first.");
            protocol = _protocol ?? TableFeatures.ProtocolFor(DeltaSchema.ToArrowSchema(metadata.SchemaString));
        }
        else
        {
            metadata = _metadata ?? ReadSnapshot.Metadata;
            protocol = _protocol ?? ReadSnapshot.Protocol;
            TableFeatures.EnsureWritable(ReadSnapshot.Protocol, ReadSnapshot.Metadata, location, ColumnMappingAware);
        }
        // Table properties that need a feature (in-commit timestamps, V2 checkpoints, change data feed) bring it into the protocol.
        var configured = TableFeatures.WithConfiguredFeatures(protocol, metadata);
        if (!ReferenceEquals(configured, protocol)) _protocol = protocol = configured;
        TableFeatures.EnsureWritable(protocol, metadata, location, ColumnMappingAware);
        TableFeatures.EnsureCommitAllowed(metadata, _adds, _removes, location);

        var schema = DeltaSchema.ToArrowSchema(metadata.SchemaString);
        foreach (var column in metadata.PartitionColumns)
            if (schema.GetFieldIndex(column) < 0)
                throw new SchemaMismatchException($"Partition column '{column}' is not a column of the table schema.");
        if (_metadata is not null && ReadSnapshot is not null && ReadSnapshot.Metadata.Id != _metadata.Id)
            throw new CommitValidationException("New metadata must keep the table id.");

        // Under column mapping add.partitionValues is keyed by the partition columns' physical names.
        var partitionColumns = (ColumnMapping.IsMapped(metadata)
            ? metadata.PartitionColumns.Select(c => ColumnMapping.PhysicalName(schema.GetFieldByName(c)))
            : metadata.PartitionColumns).ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var vectors = protocol.MinWriterVersion == 7 && (protocol.WriterFeatures ?? []).Contains("deletionVectors", StringComparer.Ordinal);
        foreach (var add in _adds)
        {
            if (add.DeletionVector is not null && !vectors)
                throw new CommitValidationException(
                    $"File '{add.Path}' carries a deletion vector but table '{location}' does not have the deletionVectors feature; enable it first (storage alter --enable-deletion-vectors).");
            var key = add.ObjectKey;
            Storage.ObjectKeys.Validate(key);
            if (key.StartsWith(DeltaPaths.LogPrefix, StringComparison.Ordinal))
                throw new InvalidPathException($"Data file '{add.Path}' cannot live inside _delta_log.");
            if (!seen.Add(key))
                throw new CommitValidationException($"File '{add.Path}' is added twice in one transaction.");
            if (!add.PartitionValues.Keys.ToHashSet(StringComparer.Ordinal).SetEquals(partitionColumns))
                throw new CommitValidationException(
                    $"File '{add.Path}' has partition values for [{string.Join(", ", add.PartitionValues.Keys)}] but the table is partitioned by " +
                    $"[{string.Join(", ", metadata.PartitionColumns)}].");
        }
        if (TableFeatures.IsAppendOnly(metadata) && _removes.Any(r => r.DataChange))
            throw new CommitValidationException($"Table '{location}' is append-only (delta.appendOnly = true): files cannot be removed with dataChange = true.");
        return (protocol, metadata);
    }

    private List<DeltaAction> BuildActions(long timestamp, string txnId, long version, bool inCommitTimestamps)
    {
        var attribution = CommitAttribution.Current;
        var metadata = _metadata;
        if (inCommitTimestamps && ReadSnapshot is not null && metadata is not null && !TableFeatures.InCommitTimestampsEnabled(ReadSnapshot.Metadata))
        {
            // Enabled on a table with older commits: readers learn from these where in-commit timestamps start.
            var configuration = new Dictionary<string, string>(metadata.Configuration)
            {
                ["delta.inCommitTimestampEnablementVersion"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["delta.inCommitTimestampEnablementTimestamp"] = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            metadata = metadata with { Configuration = configuration };
        }
        var actions = new List<DeltaAction>(4 + _adds.Count + _removes.Count + _txns.Count)
        {
            new(CommitInfo: new CommitInfo
            {
                Timestamp = timestamp,
                InCommitTimestamp = inCommitTimestamps ? timestamp : null,
                Operation = Operation,
                OperationParameters = new Dictionary<string, string>(OperationParameters),
                OperationMetrics = new Dictionary<string, string>(OperationMetrics),
                ReadVersion = ReadSnapshot?.Version,
                IsolationLevel = "Serializable",
                IsBlindAppend = IsBlindAppend,
                EngineInfo = _table.Options.EngineInfo,
                TxnId = txnId,
                UserName = attribution?.Principal,
                Attribution = attribution?.ToCommitInfo(),
            }),
        };
        if (ReadSnapshot is null)
        {
            actions.Add(new(Protocol: _protocol ?? TableFeatures.ProtocolFor(DeltaSchema.ToArrowSchema(_metadata!.SchemaString))));
            actions.Add(new(Metadata: metadata));
        }
        else
        {
            if (_protocol is not null) actions.Add(new(Protocol: _protocol));
            if (metadata is not null) actions.Add(new(Metadata: metadata));
        }
        foreach (var t in _txns.Values) actions.Add(new(Txn: t));
        var physical = ReadSnapshot is not null && ColumnMapping.IsMapped(ReadSnapshot.Metadata) ? ReadSnapshot.FileMap : null;
        foreach (var r in _removes)
            actions.Add(new(Remove: physical is not null && physical.TryGetValue(r.Key, out var add) ? r with { PartitionValues = add.PartitionValues, Stats = r.Stats is null ? null : add.Stats } : r));
        foreach (var a in _adds) actions.Add(new(Add: a));
        return actions;
    }

    private async Task<CommitResult> CommittedAsync(long version, List<DeltaAction> actions, Protocol protocol, Metadata metadata, long started, int attempt,
        CancellationToken ct)
    {
        _committed = true;
        CommitAttribution.RecordCommit();
        var snapshot = await AfterCommitAsync(version, actions, metadata, ct).ConfigureAwait(false);
        Metrics.LakeMetrics.RecordCommit(_table.Location, Operation, System.Diagnostics.Stopwatch.GetElapsedTime(started), attempt,
            actions.Count(a => a.Add != null), actions.Count(a => a.Remove != null));
        await RunHooksAsync(new CommittedVersion(_table, version, actions, protocol, metadata, snapshot), ct).ConfigureAwait(false);
        return new CommitResult(version, attempt);
    }

    // The commit is durable: a failing hook is logged and never fails it (nor stops the next hook).
    private async Task RunHooksAsync(CommittedVersion commit, CancellationToken ct)
    {
        foreach (var hook in _table.Options.PostCommitHooks)
        {
            try { await hook.AfterCommitAsync(commit, ct).ConfigureAwait(false); }
            catch (Exception e)
            {
                if (_table.Options.OnPostCommitHookFailure is { } report) report(commit, hook, e);
                else _table.Logger?.LogWarning(e, "Version {Version} of {Table} committed, but post-commit hook {Hook} failed", commit.Version, _table.Location, hook.GetType().Name);
            }
        }
    }

    /// <summary>Remembers the new snapshot when it can be built from what we hold, and checkpoints; returns that snapshot (null if not built).</summary>
    private async Task<Snapshot?> AfterCommitAsync(long version, List<DeltaAction> actions, Metadata metadata, CancellationToken ct)
    {
        // The new snapshot is the read snapshot plus our actions when nobody committed in between: keep it, so the
        // next refresh reads nothing.
        Snapshot? snapshot = null;
        try
        {
            var read = ReadSnapshot;
            if (read is null || read.Version == version - 1)
            {
                var state = read is null ? new ReplayState { TableRoot = _table.Location } : new ReplayState(read);
                foreach (var a in actions) state.Apply(a);
                var info = await _table.Store.HeadAsync(DeltaPaths.CommitKey(version), ct).ConfigureAwait(false);
                var ci = actions[0].CommitInfo;
                snapshot = new Snapshot(version, state, _table.ResolveTimestamp(ci, info?.LastModified ?? _table.Options.Clock.GetUtcNow()),
                    ci!.Timestamp!.Value, new SnapshotLoadInfo(null, 0, read?.Version), _table.Location);
                _table.Remember(snapshot);
            }

            var interval = _table.Options.CheckpointInterval;
            if (metadata.Configuration.TryGetValue("delta.checkpointInterval", out var configured) && int.TryParse(configured, out var parsed) && parsed > 0)
                interval = parsed;
            if (interval > 0 && version > 0 && version % interval == 0)
            {
                snapshot ??= await _table.GetSnapshotAsync(version, ct).ConfigureAwait(false);
                await CheckpointWriter.WriteAsync(_table.Store, snapshot, _table.Options, ct).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            // The commit is durable; a missing checkpoint only makes the next full load read more JSON.
            _table.Logger?.LogWarning(e, "Version {Version} of {Table} committed, but writing its checkpoint failed", version, _table.Location);
        }
        return snapshot;
    }
}
