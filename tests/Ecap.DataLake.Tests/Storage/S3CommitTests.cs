using System.Text;
using Amazon.Runtime;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Storage.S3;

namespace Ecap.DataLake.Tests.Storage;

/// <summary>How S3 commits stay atomic: capability detection, the refusal without a safe mechanism, single-writer mode.</summary>
public class S3ConditionalPutTests
{
    private static S3ObjectStore Open(FakeS3Server server, string location = "s3://bucket/lake") => S3ObjectStore.Open(location, new S3StoreOptions
    {
        Endpoint = server.Endpoint, Region = "us-east-1", PathStyle = true, Compat = true,
        Credentials = new BasicAWSCredentials("AKIAFAKE", "fake-secret"),
    });

    [Fact]
    public async Task A_store_that_enforces_if_none_match_gets_commits_by_conditional_put_with_one_winner_per_version()
    {
        using var server = new FakeS3Server(enforceIfNoneMatch: true);
        var store = Open(server);
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            store.PutIfAbsentAsync("t/_delta_log/00000000000000000000.json", Encoding.UTF8.GetBytes($"w{i}"))));

        Assert.Single(results, r => r == PutResult.Created);
        Assert.Equal(PutResult.Created, await store.PutIfAbsentAsync("t/_delta_log/00000000000000000001.json", "x"u8.ToArray()));
        // No coordinator was configured, yet commits worked: the server's own check made them atomic.
        Assert.Equal(9, server.ConditionalPuts["commit"]);
        // The capability was probed once (two conditional puts of the sentinel) and remembered for every later commit.
        Assert.Equal(2, server.ConditionalPuts["probe"]);
        Assert.DoesNotContain(server.Keys, k => k.Contains("probe", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_store_that_ignores_if_none_match_is_not_trusted_with_commits()
    {
        using var server = new FakeS3Server(enforceIfNoneMatch: false);
        var store = Open(server);
        var e = await Assert.ThrowsAsync<StoreNotConfiguredException>(() => store.PutIfAbsentAsync("_delta_log/00000000000000000000.json", "x"u8.ToArray()));
        Assert.Contains("--commit-coordinator", e.Message);
        Assert.DoesNotContain(server.Keys, k => k.EndsWith(".json", StringComparison.Ordinal));
    }

    [Fact]
    public void Secrets_do_not_appear_in_options_or_store_text()
    {
        var options = new S3StoreOptions
        {
            Credentials = new BasicAWSCredentials("AKIAVISIBLEID", "super-secret-key"), Endpoint = "http://127.0.0.1:1",
            CommitCoordinatorSetting = "jdbc:postgresql://db:5432/ecap?user=ecap&password=pg-secret",
        };
        var store = S3ObjectStore.Open("s3://b/p", options);
        Assert.DoesNotContain("super-secret-key", options.ToString());
        Assert.DoesNotContain("pg-secret", options.ToString());
        Assert.Contains("password=***", options.ToString());
        Assert.DoesNotContain("secret", new S3StoreOptions { CommitCoordinatorSetting = "postgresql://u:pg-secret@db/ecap" }.ToString());
        Assert.DoesNotContain("super-secret-key", store.Location);
    }
}

[Collection(S3Collection.Name)]
public class S3CommitCoordinatorTests(S3Lake lake)
{
    [Fact]
    public async Task Swift_without_a_coordinator_refuses_to_commit_and_says_how_to_fix_it()
    {
        var store = S3ObjectStore.Open(lake.S3.NewLocation(), lake.S3.Options());
        var e = await Assert.ThrowsAsync<StoreNotConfiguredException>(() => new DeltaTable(store).CreateAsync(Metadata.Create(Delta.DeltaTestHelpers.IdSchema)));
        Assert.Contains("does not enforce conditional writes", e.Message);
        Assert.Contains("ECAP_COMMIT_COORDINATOR", e.Message);
        Assert.DoesNotContain(S3TestServer.SecretKey, e.Message);
        Assert.Null(await store.HeadAsync("_delta_log/00000000000000000000.json"));
    }

    [Fact]
    public async Task A_declared_single_writer_commits_without_a_coordinator()
    {
        var store = S3ObjectStore.Open(lake.S3.NewLocation(), lake.S3.Options(coordinatorSetting: "single-writer"));
        var table = new DeltaTable(store);
        await table.CreateAsync(Metadata.Create(Delta.DeltaTestHelpers.IdSchema));
        Assert.Equal(1, (await Delta.DeltaTestHelpers.AppendAsync(table, Delta.DeltaTestHelpers.FakeAdd("a"))).Version);
        Assert.Equal(PutResult.AlreadyExists, await store.PutIfAbsentAsync("_delta_log/00000000000000000001.json", "x"u8.ToArray()));
    }

    /// <summary>Leaves the state a writer killed right after claiming leaves: its commit in a temp object, the claim incomplete.</summary>
    private async Task<CommitClaim> ClaimAndDieAsync(S3ObjectStore store, long version, byte[] commit, bool loseTempObject = false)
    {
        var target = store.Full(DeltaPaths.CommitKey(version));
        var temp = store.Full("_delta_log/_pending/dead-writer.tmp");
        await store.Connection.Client.PutObjectAsync(store.Connection.NewPut(temp, commit));
        var tableUri = $"s3://{store.Bucket}/{store.Full("x")[..^2]}";
        Assert.True(await lake.Coordinator.TryClaimAsync(tableUri, version, temp, target));
        if (loseTempObject) await store.Connection.Client.DeleteObjectAsync(store.Bucket, temp);
        return (await lake.Coordinator.GetAsync(tableUri, version))!;
    }

    [Fact]
    public async Task A_writer_killed_between_claim_and_complete_is_finished_by_readers_and_other_writers()
    {
        var store = (S3ObjectStore)lake.NewStore();
        var table = new DeltaTable(store);
        await table.CreateAsync(Metadata.Create(Delta.DeltaTestHelpers.IdSchema));
        await Delta.DeltaTestHelpers.AppendAsync(table, Delta.DeltaTestHelpers.FakeAdd("a"));

        // The dead writer's version 2 (an append of "dead") is claimed but was never copied into place.
        var dead = new StringBuilder()
            .Append("{\"commitInfo\":{\"timestamp\":").Append(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).Append(",\"operation\":\"WRITE\"}}\n")
            .Append("{\"add\":{\"path\":\"dead\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n").ToString();
        var claim = await ClaimAndDieAsync(store, 2, Encoding.UTF8.GetBytes(dead));
        Assert.False(claim.Complete);

        // A reader in another process (own store instance) sees the claimed version as committed.
        var reader = new DeltaTable(lake.Reopen(store));
        var snapshot = await reader.GetSnapshotAsync();
        Assert.Equal(2, snapshot.Version);
        Assert.Equal(["a", "dead"], snapshot.Files.Select(f => f.Path).Order());
        Assert.True((await lake.Coordinator.GetAsync(claim.TableUri, 2))!.Complete);

        // A writer that still believes the table is at version 1 rebases past the finished commit.
        var stale = new DeltaTable(lake.Reopen(store));
        var tx = stale.StartTransaction(await table.GetSnapshotAsync(1), "WRITE");
        tx.Add(Delta.DeltaTestHelpers.FakeAdd("b"));
        var result = await tx.CommitAsync();
        Assert.Equal(3, result.Version);
        Assert.Equal(["a", "b", "dead"], (await new DeltaTable(lake.Reopen(store)).GetSnapshotAsync()).Files.Select(f => f.Path).Order());
    }

    [Fact]
    public async Task A_writer_that_loses_the_claim_finishes_the_winners_commit_before_reading_it()
    {
        var store = (S3ObjectStore)lake.NewStore();
        var table = new DeltaTable(store);
        await table.CreateAsync(Metadata.Create(Delta.DeltaTestHelpers.IdSchema));
        var dead = "{\"commitInfo\":{\"timestamp\":1,\"operation\":\"WRITE\"}}\n{\"add\":{\"path\":\"dead\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}\n";
        var read = await table.GetSnapshotAsync();
        await ClaimAndDieAsync(store, 1, Encoding.UTF8.GetBytes(dead));

        // A transaction from the snapshot read before the claim: its put-if-absent of version 1 finds the claim,
        // finishes the copy, so the conflict check can read the winner, and the commit rebases to version 2.
        var tx = table.StartTransaction(read, "WRITE");
        tx.Add(Delta.DeltaTestHelpers.FakeAdd("b"));
        var result = await tx.CommitAsync();
        Assert.Equal(2, result.Version);
        Assert.Equal(2, result.Attempts);
        Assert.Equal(["b", "dead"], (await table.GetSnapshotAsync()).Files.Select(f => f.Path).Order());
    }

    [Fact]
    public async Task A_claim_whose_commit_object_is_lost_expires_and_the_version_is_taken_by_the_next_writer()
    {
        var store = (S3ObjectStore)lake.NewStore();
        var table = new DeltaTable(store);
        await table.CreateAsync(Metadata.Create(Delta.DeltaTestHelpers.IdSchema));
        await ClaimAndDieAsync(store, 1, "lost"u8.ToArray(), loseTempObject: true);

        var result = await Delta.DeltaTestHelpers.AppendAsync(table, Delta.DeltaTestHelpers.FakeAdd("b"));
        Assert.Equal(1, result.Version);
        var snapshot = await new DeltaTable(lake.Reopen(store)).GetSnapshotAsync();
        Assert.Equal(1, snapshot.Version);
        Assert.Equal(["b"], snapshot.Files.Select(f => f.Path));
    }

    [Fact]
    public async Task Completed_claims_are_forgotten_after_the_retention_while_incomplete_ones_and_other_tables_stay()
    {
        var a = $"s3://bucket/retention-{Guid.NewGuid():N}";
        var b = a + "-other";
        foreach (var (table, version) in new[] { (a, 1L), (a, 2L), (a, 3L), (b, 1L) })
            Assert.True(await lake.Coordinator.TryClaimAsync(table, version, $"t{version}", $"k{version}"));
        await lake.Coordinator.CompleteAsync(a, 1);
        await lake.Coordinator.CompleteAsync(b, 1);
        // Version 1 of both tables completed two days ago; version 3 of a was claimed then and never completed.
        using (var conn = lake.Postgres.Open())
            PostgresTestServer.Exec(conn, $"UPDATE {Ecap.DataLake.Postgres.PostgresCommitCoordinator.TableName} SET claimed_at = claimed_at - interval '2 days', " +
                                          $"completed_at = completed_at - interval '2 days' WHERE table_uri IN ('{a}', '{b}') AND version IN (1, 3)");

        await lake.Coordinator.CompleteAsync(a, 2);

        Assert.Null(await lake.Coordinator.GetAsync(a, 1));          // completed, older than a day, same table: gone
        Assert.True((await lake.Coordinator.GetAsync(a, 2))!.Complete); // just completed: kept
        Assert.False((await lake.Coordinator.GetAsync(a, 3))!.Complete); // incomplete: kept (readers may still finish it)
        Assert.NotNull(await lake.Coordinator.GetAsync(b, 1));       // another table's rows wait for that table's commits
    }

    [Fact]
    public async Task A_writer_that_claims_a_version_whose_claim_was_forgotten_gives_it_back_and_never_overwrites_the_commit()
    {
        // The race the retention opens: this writer saw no object at version 1, then (while it stalled) another writer
        // committed version 1 and its claim was forgotten; now this writer's claim succeeds.
        var location = lake.S3.NewLocation();
        S3ObjectStore? store = null;
        var racing = new RacingCoordinator(lake.Coordinator, async () =>
            await store!.Connection.Client.PutObjectAsync(store.Connection.NewPut(store.Full(DeltaPaths.CommitKey(1)), "winner"u8.ToArray())));
        store = S3ObjectStore.Open(location, lake.S3.Options(racing));

        Assert.Equal(PutResult.AlreadyExists, await store.PutIfAbsentAsync(DeltaPaths.CommitKey(1), "late writer"u8.ToArray()));
        Assert.Equal("winner", Encoding.UTF8.GetString(await store.ReadAllAsync(DeltaPaths.CommitKey(1))));
        Assert.Null(await lake.Coordinator.GetAsync(racing.LastTable!, 1)); // the claim was given back
    }

    /// <summary>A coordinator that lets something happen between a writer's first look at the target and its claim.</summary>
    private sealed class RacingCoordinator(ICommitCoordinator inner, Func<Task> beforeClaim) : ICommitCoordinator
    {
        public string? LastTable { get; private set; }
        public string Display => inner.Display;
        public async Task<bool> TryClaimAsync(string tableUri, long version, string tempKey, string targetKey, CancellationToken ct = default)
        {
            LastTable = tableUri;
            await beforeClaim();
            return await inner.TryClaimAsync(tableUri, version, tempKey, targetKey, ct);
        }
        public Task<CommitClaim?> GetAsync(string tableUri, long version, CancellationToken ct = default) => inner.GetAsync(tableUri, version, ct);
        public Task<IReadOnlyList<CommitClaim>> ListIncompleteAsync(string tableUri, CancellationToken ct = default) => inner.ListIncompleteAsync(tableUri, ct);
        public Task CompleteAsync(string tableUri, long version, CancellationToken ct = default) => inner.CompleteAsync(tableUri, version, ct);
        public Task ExpireAsync(string tableUri, long version, CancellationToken ct = default) => inner.ExpireAsync(tableUri, version, ct);
    }
}
