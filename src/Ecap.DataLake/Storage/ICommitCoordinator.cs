namespace Ecap.DataLake.Storage;

/// <summary>
/// A claim on version <see cref="Version"/> of a versioned object sequence (a table's <c>_delta_log</c>, a catalog
/// entry), identified by <see cref="TableUri"/>. The commit's bytes were written to <see cref="TempKey"/> before the
/// claim was made, so whoever finds an incomplete claim can finish it by copying them to <see cref="TargetKey"/>
/// (both keys of the same bucket).
/// </summary>
public sealed record CommitClaim(string TableUri, long Version, string TempKey, string TargetKey, DateTimeOffset ClaimedAt, bool Complete);

/// <summary>
/// The seam that makes put-if-absent atomic on object stores without conditional writes (S3-compatible servers
/// that answer <c>If-None-Match: *</c> with 501). It is the register of claims only; the protocol around it lives
/// with the store (<see cref="S3.CoordinatedCommit"/>): write the commit to a temp key, claim (table, version) here,
/// copy the temp key to the version's key, mark the claim complete. A claim is the commit point: whoever claims
/// first owns the version, and a writer or reader that finds a claimed-but-incomplete version finishes the copy.
/// Like Delta's DynamoDB log store; the PostgreSQL implementation is <c>Ecap.DataLake.Postgres.PostgresCommitCoordinator</c>.
/// </summary>
public interface ICommitCoordinator
{
    /// <summary>Where the claims live, without secrets (for messages).</summary>
    string Display { get; }

    /// <summary>Claims (table, version) for a commit written at <paramref name="tempKey"/>, to land at <paramref name="targetKey"/>; false when already claimed.</summary>
    Task<bool> TryClaimAsync(string tableUri, long version, string tempKey, string targetKey, CancellationToken ct = default);

    /// <summary>The claim of a version, or null when nobody claimed it.</summary>
    Task<CommitClaim?> GetAsync(string tableUri, long version, CancellationToken ct = default);

    /// <summary>Claims of a table that are not complete yet, oldest version first.</summary>
    Task<IReadOnlyList<CommitClaim>> ListIncompleteAsync(string tableUri, CancellationToken ct = default);

    /// <summary>Marks a claim complete: its object exists at the version's key.</summary>
    Task CompleteAsync(string tableUri, long version, CancellationToken ct = default);

    /// <summary>Drops an incomplete claim whose commit can no longer be finished (its temp object is gone), freeing the version.</summary>
    Task ExpireAsync(string tableUri, long version, CancellationToken ct = default);
}
