using System.Collections.Concurrent;
using System.Diagnostics;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;
using Microsoft.Extensions.Logging;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// Auto-compaction (<see cref="TablePropertyKeys.AutoCompact"/>): a post-commit hook that, after a commit adding data to a
/// table with the property on, compacts each partition the commit touched that now holds at least
/// <see cref="TablePropertyKeys.AutoCompactMinNumFiles"/> small files (below a quarter of
/// <see cref="TablePropertyKeys.AutoCompactMaxFileSize"/>, which is also the size it writes). It runs in the committing call
/// after the commit is durable, as its own <c>OPTIMIZE</c> commit (<c>dataChange=false</c>, operation parameter <c>auto=true</c>),
/// so it never fails or undoes the write; an error or the time budget running out is logged and counted
/// (<c>ecap.datalake.compaction.auto</c>, outcome tag) and its new files are deleted. Concurrent appends always land: the
/// rewrite passes appends, and against another rewrite of the same files it is the one that gives up.
/// </summary>
internal sealed class AutoCompaction(Func<Parquet.Encryption.IKeyProvider?> keys, bool onWhenUnset = false) : IPostCommitHook
{
    /// <summary>Per auto-compaction: the work after one commit is cut off here (its files deleted, nothing committed).</summary>
    public TimeSpan TimeBudget { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Small files of a partition merged per auto-compaction: what is left waits for the next commit.</summary>
    public int MaxFilesPerPartition { get; init; } = 1000;

    // One auto-compaction per table at a time in this process: a commit arriving while one runs does not start another.
    private static readonly ConcurrentDictionary<string, byte> s_running = new(StringComparer.Ordinal);

    public async Task AfterCommitAsync(CommittedVersion commit, CancellationToken ct)
    {
        if (commit.Operation is "OPTIMIZE") return; // our own commit, or a manual compaction/Z-order
        if (!TablePropertyKeys.AutoCompactEnabled(commit.Metadata.Configuration, onWhenUnset)) return;
        var added = commit.Adds.Where(a => a.DataChange).Select(a => a.Path).ToHashSet(StringComparer.Ordinal);
        if (added.Count == 0) return;
        var table = commit.Table;
        var name = table.Name ?? table.Location;
        if (!s_running.TryAdd(table.Location, 0)) { Record(table, "busy"); return; }
        var clock = Stopwatch.StartNew();
        try
        {
            var snapshot = await commit.GetSnapshotAsync(ct).ConfigureAwait(false);
            var target = TablePropertyKeys.AutoCompactMaxFileSizeOf(commit.Metadata.Configuration);
            var minFiles = TablePropertyKeys.AutoCompactMinNumFilesOf(commit.Metadata.Configuration);
            var small = target / 4;
            var columns = snapshot.PartitionColumns;
            var touched = snapshot.Files.Where(f => added.Contains(f.Path))
                .Select(f => DataLakeStorage.PartitionKey(f.PartitionValues, columns)).ToHashSet(StringComparer.Ordinal);
            var due = snapshot.Files.Where(f => f.Size < small)
                .GroupBy(f => DataLakeStorage.PartitionKey(f.PartitionValues, columns), StringComparer.Ordinal)
                .Where(g => touched.Contains(g.Key) && g.Count() >= minFiles).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
            if (due.Count == 0) return;

            using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
            budget.CancelAfter(TimeBudget);
            try
            {
                // Bounded memory: one group at a time, at most 32 inputs open (more overlapping ones go through sorted runs).
                var result = await TableCompaction.RunAsync(table, name, keys(), new CompactOptions
                {
                    TargetFileSizeBytes = target,
                    MaxParallelism = 1,
                    MaxMergeFanIn = 32,
                    Automatic = true,
                    GroupFilter = due.Contains,
                    MaxFilesPerGroup = MaxFilesPerPartition,
                }, budget.Token).ConfigureAwait(false);
                var outcome = result.CommitVersions.Count > 0 ? "compacted" : "lost";
                Record(table, outcome);
                await WriteStatusAsync(table, commit.Version, outcome, result, clock.Elapsed, null).ConfigureAwait(false);
                table.Logger?.LogInformation("Auto-compaction of {Table} after v{Version}: {Removed} files into {Added} in {Seconds:F1}s (v{Versions})",
                    name, commit.Version, result.FilesRemoved, result.FilesAdded, clock.Elapsed.TotalSeconds, string.Join(",", result.CommitVersions));
            }
            catch (OperationCanceledException) when (budget.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                Record(table, "timeout");
                await WriteStatusAsync(table, commit.Version, "timeout", null, clock.Elapsed, $"stopped at its {TimeBudget} budget").ConfigureAwait(false);
                table.Logger?.LogWarning("Auto-compaction of {Table} after v{Version} stopped at its {Budget} budget; nothing was committed", name, commit.Version, TimeBudget);
            }
        }
        catch (Exception e)
        {
            // The write's commit stands whatever happens here: say so and let the next commit try again.
            Record(table, ct.IsCancellationRequested ? "cancelled" : "failed");
            if (!ct.IsCancellationRequested) await WriteStatusAsync(table, commit.Version, "failed", null, clock.Elapsed, e.Message).ConfigureAwait(false);
            table.Logger?.LogWarning(e, "Version {Version} of {Table} committed, but its auto-compaction failed", commit.Version, name);
        }
        finally
        {
            s_running.TryRemove(table.Location, out _);
        }
    }

    // Best effort: the status is for people (storage info, monitor); failing to write it changes nothing.
    private static async Task WriteStatusAsync(DeltaTable table, long trigger, string outcome, CompactionResult? result, TimeSpan elapsed, string? error)
    {
        try
        {
            var now = DateTimeOffset.UtcNow;
            var committed = result is { CommitVersions.Count: > 0 };
            var previous = committed ? null : await AutoCompactionStatus.ReadAsync(table.Store, CancellationToken.None).ConfigureAwait(false);
            await new AutoCompactionStatus
            {
                LastRunAt = now,
                Outcome = outcome,
                TriggeredBy = trigger,
                FilesRemoved = result?.FilesRemoved ?? 0,
                FilesAdded = result?.FilesAdded ?? 0,
                DurationMs = (long)elapsed.TotalMilliseconds,
                Error = error,
                LastCompactedAt = committed ? now : previous?.LastCompactedAt,
                LastCompactedVersion = committed ? result!.CommitVersions[^1] : previous?.LastCompactedVersion,
            }.WriteAsync(table.Store, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            table.Logger?.LogDebug(e, "Could not write the auto-compaction status of {Table}", table.Location);
        }
    }

    private static void Record(DeltaTable table, string outcome) => Metrics.LakeMetrics.RecordAutoCompaction(table.Location, outcome);
}
