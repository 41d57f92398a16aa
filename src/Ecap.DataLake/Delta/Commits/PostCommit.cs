namespace Ecap.DataLake.Delta;

/// <summary>
/// A commit that has just landed, as <see cref="IPostCommitHook"/>s see it: what the writer had in hand, so a hook
/// (catalog sync, auto-compaction, audit) never has to list or read the log to learn it.
/// </summary>
/// <param name="Table">The table committed to (its <see cref="DeltaTable.Name"/> is the lake's name for it, when it has one).</param>
/// <param name="Version">The version this commit created.</param>
/// <param name="Actions">Every action of the commit, commitInfo first.</param>
/// <param name="Protocol">The table's protocol after the commit.</param>
/// <param name="Metadata">The table's metadata after the commit.</param>
/// <param name="Snapshot">The snapshot at <paramref name="Version"/> when the writer could build it without reading
/// (nobody committed between its read and its commit); null otherwise: load it with <see cref="DeltaTable.GetSnapshotAsync(long, CancellationToken)"/>.</param>
public sealed record CommittedVersion(DeltaTable Table, long Version, IReadOnlyList<DeltaAction> Actions, Protocol Protocol, Metadata Metadata, Snapshot? Snapshot)
{
    public CommitInfo CommitInfo => Actions[0].CommitInfo!;

    public string? Operation => CommitInfo.Operation;

    /// <summary>True when this commit wrote a metaData action (schema, partitioning or properties changed, or the table was created).</summary>
    public bool ChangedMetadata => Actions.Any(a => a.Metadata is not null);

    public IEnumerable<AddFile> Adds => Actions.Where(a => a.Add is not null).Select(a => a.Add!);

    public IEnumerable<RemoveFile> Removes => Actions.Where(a => a.Remove is not null).Select(a => a.Remove!);

    /// <summary>The snapshot at <see cref="Version"/>: the one in hand, else loaded (a concurrent writer committed in between).</summary>
    public async Task<Snapshot> GetSnapshotAsync(CancellationToken ct = default) =>
        Snapshot ?? await Table.GetSnapshotAsync(Version, ct).ConfigureAwait(false);
}

/// <summary>
/// Runs after every successful commit of a table opened with the <see cref="DeltaTableOptions"/> that hold it, in the
/// committing call, after the checkpoint. The commit is durable before any hook runs, so a hook never fails or undoes it:
/// an exception from a hook is logged (<see cref="DeltaTableOptions.Logger"/>) and the next hook still runs.
/// </summary>
public interface IPostCommitHook
{
    Task AfterCommitAsync(CommittedVersion commit, CancellationToken ct);
}
