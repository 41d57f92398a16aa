using Microsoft.Extensions.Logging;

namespace Ecap.DataLake.Delta;

/// <summary>Where commit timestamps (time travel, history) come from.</summary>
public enum CommitTimestampSource
{
    /// <summary>commitInfo.inCommitTimestamp, else commitInfo.timestamp (the writer's clock), else the file's modification time.</summary>
    CommitInfo,
    /// <summary>commitInfo.inCommitTimestamp, else the commit file's modification time (what Spark does without in-commit timestamps).</summary>
    FileModificationTime,
}

/// <summary>Options of a <see cref="DeltaTable"/>.</summary>
public sealed record DeltaTableOptions
{
    /// <summary>A checkpoint is written after every commit whose version is a multiple of this (table property delta.checkpointInterval wins).</summary>
    public int CheckpointInterval { get; init; } = 10;

    /// <summary>How many times a commit is tried before giving up with <see cref="ConcurrentModificationException"/>.</summary>
    public int MaxCommitAttempts { get; init; } = 20;

    /// <summary>Base delay of the jittered exponential backoff between commit attempts.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary>Upper bound of one backoff delay.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    public CommitTimestampSource TimestampSource { get; init; } = CommitTimestampSource.CommitInfo;

    /// <summary>commitInfo.engineInfo of our commits.</summary>
    public string EngineInfo { get; init; } = "ecap-data-lake/1.0";

    /// <summary>Tombstones older than this are left out of checkpoints (delta.deletedFileRetentionDuration is not parsed).</summary>
    public TimeSpan TombstoneRetention { get; init; } = TimeSpan.FromDays(7);

    public ILogger? Logger { get; init; }

    /// <summary>Snapshots shared with other instances of the same tables (null: this instance remembers only its latest).</summary>
    public SnapshotCache? SnapshotCache { get; init; }

    /// <summary>Called after every successful commit, in order (see <see cref="IPostCommitHook"/>).</summary>
    public IReadOnlyList<IPostCommitHook> PostCommitHooks { get; init; } = [];

    /// <summary>Told when a post-commit hook throws (the commit, the hook, the error); null: logged as a warning.</summary>
    public Action<CommittedVersion, IPostCommitHook, Exception>? OnPostCommitHookFailure { get; init; }

    /// <summary>Clock for commit timestamps (tests skew it).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
