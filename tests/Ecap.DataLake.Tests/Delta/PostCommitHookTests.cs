using Ecap.DataLake.Delta;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Delta.DeltaTestHelpers;

namespace Ecap.DataLake.Tests.Delta;

public class PostCommitHookTests
{
    private sealed class Recorder : IPostCommitHook
    {
        public List<CommittedVersion> Seen { get; } = [];

        public Task AfterCommitAsync(CommittedVersion commit, CancellationToken ct)
        {
            Seen.Add(commit);
            return Task.CompletedTask;
        }
    }

    private sealed class Failing : IPostCommitHook
    {
        public Task AfterCommitAsync(CommittedVersion commit, CancellationToken ct) => throw new InvalidOperationException("hook down");
    }

    [Fact]
    public async Task Hooks_see_every_commit_with_its_actions_and_the_new_snapshot()
    {
        using var dir = new TempDir();
        var recorder = new Recorder();
        var table = await CreateIdTableAsync(dir.Path, new DeltaTableOptions { PostCommitHooks = [recorder] });
        await AppendAsync(table, FakeAdd("a.parquet"), FakeAdd("b.parquet"));

        Assert.Equal([0L, 1L], recorder.Seen.Select(c => c.Version));
        var create = recorder.Seen[0];
        Assert.True(create.ChangedMetadata);
        Assert.Equal("CREATE TABLE", create.Operation);
        var append = recorder.Seen[1];
        Assert.False(append.ChangedMetadata);
        Assert.Equal(["a.parquet", "b.parquet"], append.Adds.Select(a => a.Path).Order());
        Assert.NotNull(append.Snapshot);
        Assert.Equal(1, append.Snapshot!.Version);
        Assert.Equal(2, append.Snapshot.Files.Count);
        Assert.Same(table, append.Table);
    }

    [Fact]
    public async Task A_rebased_commit_hands_no_snapshot_but_loads_the_right_one()
    {
        using var dir = new TempDir();
        var recorder = new Recorder();
        var table = await CreateIdTableAsync(dir.Path, new DeltaTableOptions { PostCommitHooks = [recorder] });
        var stale = await table.GetSnapshotAsync();
        await AppendAsync(At(dir.Path), FakeAdd("other.parquet")); // another writer takes version 1
        var tx = table.StartTransaction(stale, "WRITE");
        tx.Add(FakeAdd("mine.parquet"));
        var result = await tx.CommitAsync();

        Assert.Equal(2, result.Version);
        var commit = recorder.Seen[^1];
        Assert.Equal(2, commit.Version);
        Assert.Null(commit.Snapshot); // built from a snapshot that missed version 1: not in hand
        var loaded = await commit.GetSnapshotAsync();
        Assert.Equal(2, loaded.Version);
        Assert.Equal(["mine.parquet", "other.parquet"], loaded.Files.Select(f => f.Path).Order());
    }

    [Fact]
    public async Task A_failing_hook_is_reported_the_commit_stands_and_later_hooks_still_run()
    {
        using var dir = new TempDir();
        var recorder = new Recorder();
        var failures = new List<string>();
        var table = await CreateIdTableAsync(dir.Path, new DeltaTableOptions
        {
            PostCommitHooks = [new Failing(), recorder],
            OnPostCommitHookFailure = (commit, hook, e) => failures.Add($"{commit.Version} {hook.GetType().Name}: {e.Message}"),
        });
        var result = await AppendAsync(table, FakeAdd("a.parquet"));

        Assert.Equal(1, result.Version);
        Assert.Equal(["0 Failing: hook down", "1 Failing: hook down"], failures);
        Assert.Equal([0L, 1L], recorder.Seen.Select(c => c.Version));
        Assert.Equal(1, (await At(dir.Path).GetSnapshotAsync()).Version);
    }
}
