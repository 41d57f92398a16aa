using System.Globalization;
using System.Net;
using Amazon.S3;

namespace Ecap.DataLake.Storage.S3;

/// <summary>
/// Put-if-absent for versioned objects on S3 servers without conditional writes, through an
/// <see cref="ICommitCoordinator"/>: (1) write the commit to a unique temp key, (2) claim (table, version) in the
/// coordinator (the commit point: a primary-key insert, so one claimer wins), (3) server-side copy the temp key to
/// the version's key, (4) mark the claim complete, (5) delete the temp key. Because the bytes exist before the claim,
/// anyone who finds an incomplete claim (a writer that lost the claim, a reader listing the log) can finish it with
/// the same copy; a claim whose temp object is gone and whose target never appeared is expired, freeing the version.
/// The target is checked before writing the temp object and again after claiming, so a coordinator may forget
/// completed claims (<c>PostgresCommitCoordinator.CompletedRetention</c>) without a stalled writer overwriting a commit.
/// </summary>
internal sealed class CoordinatedCommit(S3Connection connection, ICommitCoordinator coordinator)
{
    /// <summary>The folder beside the versions where temp objects wait; readers of the log skip sub-folders.</summary>
    internal const string PendingFolder = "_pending";

    public async Task<PutResult> PutIfAbsentAsync((string TableUri, long Version) id, string targetKey, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (await ExistsAsync(targetKey, ct).ConfigureAwait(false)) return PutResult.AlreadyExists;
        var slash = targetKey.LastIndexOf('/');
        var tempKey = (slash < 0 ? "" : targetKey[..(slash + 1)]) + PendingFolder + "/" + targetKey[(slash + 1)..] + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await connection.Client.PutObjectAsync(connection.NewPut(tempKey, data), ct).ConfigureAwait(false);
        try
        {
            if (!await coordinator.TryClaimAsync(id.TableUri, id.Version, tempKey, targetKey, ct).ConfigureAwait(false))
            {
                // Someone else owns this version: make sure it is in place before the caller reads it as the winner.
                if (await coordinator.GetAsync(id.TableUri, id.Version, ct).ConfigureAwait(false) is { } winner)
                    await FinishAsync(winner, ct).ConfigureAwait(false);
                return PutResult.AlreadyExists;
            }
            // A coordinator forgets completed claims after a while (a day for PostgreSQL). A writer that checked the
            // target before another one committed this version, then stalled past that, could claim it again: the
            // object is there then, and copying would overwrite a commit. Give the claim back instead.
            if (await ExistsAsync(targetKey, ct).ConfigureAwait(false))
            {
                await coordinator.ExpireAsync(id.TableUri, id.Version, ct).ConfigureAwait(false);
                return PutResult.AlreadyExists;
            }
            await CopyAsync(tempKey, targetKey, ct).ConfigureAwait(false);
            await coordinator.CompleteAsync(id.TableUri, id.Version, ct).ConfigureAwait(false);
            return PutResult.Created;
        }
        finally
        {
            try { await connection.Client.DeleteObjectAsync(connection.Bucket, tempKey, CancellationToken.None).ConfigureAwait(false); }
            catch (AmazonS3Exception) { /* an orphan temp object is harmless; vacuum can remove it */ }
        }
    }

    /// <summary>Completes a claim: copies its temp object into place if that has not happened, then marks it complete.</summary>
    public async Task FinishAsync(CommitClaim claim, CancellationToken ct)
    {
        if (claim.Complete) return;
        if (!await ExistsAsync(claim.TargetKey, ct).ConfigureAwait(false))
        {
            try
            {
                await CopyAsync(claim.TempKey, claim.TargetKey, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                // The owner finished and deleted the temp object meanwhile (then the target exists), or it is lost.
                if (!await ExistsAsync(claim.TargetKey, ct).ConfigureAwait(false))
                {
                    await coordinator.ExpireAsync(claim.TableUri, claim.Version, ct).ConfigureAwait(false);
                    return;
                }
            }
        }
        await coordinator.CompleteAsync(claim.TableUri, claim.Version, ct).ConfigureAwait(false);
    }

    private Task CopyAsync(string source, string target, CancellationToken ct) =>
        connection.Client.CopyObjectAsync(connection.Bucket, source, connection.Bucket, target, ct);

    private async Task<bool> ExistsAsync(string key, CancellationToken ct)
    {
        try
        {
            await connection.Client.GetObjectMetadataAsync(connection.Bucket, key, ct).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>
    /// The (table, version) a key claims when it names a version (<c>&lt;digits&gt;.json</c>), else null. The table is
    /// the key's folder as an <c>s3://</c> URI (s3a:// names the same objects), without a trailing <c>_delta_log</c>.
    /// </summary>
    public static (string TableUri, long Version)? TryParse(S3ObjectStore store, string key)
    {
        var slash = key.LastIndexOf('/');
        var name = key[(slash + 1)..];
        if (name.Length <= 5 || !name.EndsWith(".json", StringComparison.Ordinal)) return null;
        if (!long.TryParse(name.AsSpan(0, name.Length - 5), NumberStyles.None, CultureInfo.InvariantCulture, out var version)) return null;
        return (TableUriOf(store, slash < 0 ? "" : key[..slash]), version);
    }

    public static string TableUriOf(S3ObjectStore store, string folderKey)
    {
        var full = folderKey.Length == 0 ? store.Full("x")[..^1].TrimEnd('/') : store.Full(folderKey);
        if (full == "_delta_log") full = "";
        else if (full.EndsWith("/_delta_log", StringComparison.Ordinal)) full = full[..^"/_delta_log".Length];
        return $"s3://{store.Bucket}/{full}";
    }
}
