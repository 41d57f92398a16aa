using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tests.Storage;
using Ecap.TestSupport;
using Xunit;
using static Ecap.DataLake.Tests.Delta.DeltaTestHelpers;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>
/// Optimistic concurrency: several writers race for the same versions; put-if-absent lets exactly one win
/// each, the others check the winners for conflicts and rebase.
/// </summary>
public abstract class ConcurrencyTests
{
    /// <summary>Where the tables live: a local folder or the S3 server (with its commit coordinator).</summary>
    protected abstract IStoreSource Stores { get; }

    /// <summary>
    /// Options of the four racing writers. What is pinned is that every commit lands exactly once; how many races one
    /// writer may lose in a row depends on scheduling (on a loaded 2-core machine the default 20 ran out once), so the
    /// bound is generous here; running out of retries is tested by RetriesRunOut_ConcurrentModificationSaysWhatHappened.
    /// </summary>
    protected virtual DeltaTableOptions RacingWriterOptions => new() { MaxCommitAttempts = 100 };

    private async Task<bool> LogHasAsync(IObjectStore store, long version) =>
        await Stores.Reopen(store).HeadAsync(DeltaPaths.CommitKey(version)) is not null;

    [Fact]
    public async Task FourWriters_25CommitsEach_EveryCommitLandsExactlyOnce_VersionsContiguous()
    {
        var store = Stores.NewStore();
        await CreateIdTableAsync(store);
        const int writers = 4, commits = 25;
        var options = RacingWriterOptions;
        var results = await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            // no shared state: each writer has its own store and table instance
            var table = new DeltaTable(Stores.Reopen(store), options);
            var versions = new List<long>();
            for (var i = 0; i < commits; i++)
            {
                var tx = await table.StartTransactionAsync("WRITE");
                tx.Add(WriteIds(table, $"w{w}/part-{i:D3}.parquet", w * 1000 + i));
                tx.SetTxn($"writer-{w}", i + 1);
                versions.Add((await tx.CommitAsync()).Version);
            }
            return versions;
        })));

        var all = results.SelectMany(v => v).Order().ToList();
        Assert.Equal(Enumerable.Range(1, writers * commits).Select(v => (long)v), all);
        var logFiles = new List<string>();
        await foreach (var o in Stores.Reopen(store).ListAsync("_delta_log/")) logFiles.Add(o.Key);
        // Exactly one commit file per version, and nothing but commits and checkpoints (no temp objects left behind).
        Assert.Equal(Enumerable.Range(0, writers * commits + 1).Select(v => $"_delta_log/{v:D20}.json"), logFiles.Where(k => k.EndsWith(".json")));
        Assert.All(logFiles.Where(k => !k.EndsWith(".json")), k => Assert.True(k.EndsWith(".checkpoint.parquet") || k.EndsWith("/_last_checkpoint"), k));

        var reader = At(Stores.Reopen(store));
        var snapshot = await reader.GetSnapshotAsync();
        Assert.Equal(writers * commits, snapshot.Version);
        Assert.Equal(writers * commits, snapshot.Files.Count);
        Assert.Empty(await reader.FindMissingFilesAsync(snapshot));
        var expectedIds = Enumerable.Range(0, writers).SelectMany(w => Enumerable.Range(0, commits).Select(i => (long)(w * 1000 + i))).Order();
        Assert.Equal(expectedIds, Longs(ReadRows(reader, snapshot), "id"));
        for (var w = 0; w < writers; w++) Assert.Equal(commits, snapshot.GetTxnVersion($"writer-{w}"));
    }

    [Fact]
    public async Task BlindAppends_FromAStaleSnapshot_RebaseOntoTheWinners()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        var stale = await table.GetSnapshotAsync();
        var other = At(Stores.Reopen(store));
        await AppendAsync(other, FakeAdd("a"));
        await AppendAsync(other, FakeAdd("b"));

        var tx = table.StartTransaction(stale, "WRITE");
        tx.Add(FakeAdd("c"));
        var result = await tx.CommitAsync();
        Assert.Equal(3, result.Version);
        Assert.Equal(2, result.Attempts);
        Assert.Equal(["a", "b", "c"], (await At(Stores.Reopen(store)).GetSnapshotAsync()).Files.Select(f => f.Path).Order());
    }

    [Fact]
    public async Task TwoRemovesOfTheSameFile_TheSecondConflicts_AndCommitsNothing()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        await AppendAsync(table, FakeAdd("a"), FakeAdd("b"));
        var read = await table.GetSnapshotAsync();
        var file = read.Files.Single(f => f.Path == "a");

        var first = table.StartTransaction(read, "OPTIMIZE");
        first.Remove(file, dataChange: false);
        first.Add(FakeAdd("a2") with { DataChange = false });
        var second = table.StartTransaction(read, "DELETE");
        second.Remove(file);

        Assert.Equal(2, (await first.CommitAsync()).Version);
        var e = await Assert.ThrowsAsync<ConcurrentModificationException>(() => second.CommitAsync());
        Assert.Contains("removed file 'a'", e.Message);
        Assert.Contains("version 2 (OPTIMIZE)", e.Message);
        Assert.False(await LogHasAsync(store, 3));
    }

    [Fact]
    public async Task Compaction_DoesNotConflictWithConcurrentAppends()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        await AppendAsync(table, FakeAdd("a"), FakeAdd("b"));
        var read = await table.GetSnapshotAsync();
        var compaction = table.StartTransaction(read, "OPTIMIZE");
        foreach (var f in read.Files) compaction.Remove(f, dataChange: false);
        compaction.Add(FakeAdd("ab") with { DataChange = false });

        await AppendAsync(At(Stores.Reopen(store)), FakeAdd("c"));
        Assert.Equal(3, (await compaction.CommitAsync()).Version);
        Assert.Equal(["ab", "c"], (await At(Stores.Reopen(store)).GetSnapshotAsync()).Files.Select(f => f.Path).Order());
    }

    [Fact]
    public async Task Overwrite_ThatReadTheWholeTable_ConflictsWithAConcurrentAppend()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        await AppendAsync(table, FakeAdd("a"));
        var read = await table.GetSnapshotAsync();
        var overwrite = table.StartTransaction(read, "WRITE");
        overwrite.ReadWholeTable = true;
        foreach (var f in read.Files) overwrite.Remove(f);
        overwrite.Add(FakeAdd("z"));

        await AppendAsync(At(Stores.Reopen(store)), FakeAdd("c"));
        var e = await Assert.ThrowsAsync<ConcurrentModificationException>(() => overwrite.CommitAsync());
        Assert.Contains("added file 'c'", e.Message);
    }

    [Fact]
    public async Task SameTxnAppId_CommittedConcurrently_Conflicts()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        var read = await table.GetSnapshotAsync();
        var a = table.StartTransaction(read, "STREAMING UPDATE");
        a.Add(FakeAdd("a"));
        a.SetTxn("ecap-g-topic-0", 100);
        var b = table.StartTransaction(read, "STREAMING UPDATE");
        b.Add(FakeAdd("b"));
        b.SetTxn("ecap-g-topic-0", 100);
        await a.CommitAsync();
        var e = await Assert.ThrowsAsync<ConcurrentModificationException>(() => b.CommitAsync());
        Assert.Contains("ecap-g-topic-0", e.Message);
        var snapshot = await At(Stores.Reopen(store)).GetSnapshotAsync();
        Assert.Equal(100, snapshot.GetTxnVersion("ecap-g-topic-0"));
        Assert.Equal(["a"], snapshot.Files.Select(f => f.Path));
    }

    [Fact]
    public async Task MetadataChangeByAWinner_ConflictsWithAnOverwrite_ButNotWithABlindAppendWhenSchemaIsUnchanged()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        await AppendAsync(table, FakeAdd("a"));
        var read = await table.GetSnapshotAsync();
        var append = table.StartTransaction(read, "WRITE");
        append.Add(FakeAdd("b"));
        var delete = table.StartTransaction(read, "DELETE");
        delete.Remove(read.Files.Single());

        var props = table.StartTransaction(read, "SET TBLPROPERTIES");
        props.SetMetadata(read.Metadata with { Configuration = new Dictionary<string, string> { ["owner"] = "x" } });
        await props.CommitAsync();

        Assert.Equal(3, (await append.CommitAsync()).Version);
        var e = await Assert.ThrowsAsync<ConcurrentModificationException>(() => delete.CommitAsync());
        Assert.Contains("metadata", e.Message);
    }

    [Fact]
    public async Task RetriesRunOut_ConcurrentModificationSaysWhatHappened()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store, new DeltaTableOptions { MaxCommitAttempts = 1 });
        var stale = await table.GetSnapshotAsync();
        await AppendAsync(At(Stores.Reopen(store)), FakeAdd("a"));
        var tx = table.StartTransaction(stale, "WRITE");
        tx.Add(FakeAdd("b"));
        var e = await Assert.ThrowsAsync<ConcurrentModificationException>(() => tx.CommitAsync());
        Assert.Contains("gave up after 1 attempts", e.Message);
    }

    [Fact]
    public async Task ATransactionCommitsOnlyOnce()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        var tx = await table.StartTransactionAsync("WRITE");
        tx.Add(FakeAdd("a"));
        await tx.CommitAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => tx.CommitAsync());
    }
}

public sealed class LocalConcurrencyTests(LocalStores stores) : ConcurrencyTests, IClassFixture<LocalStores>
{
    protected override IStoreSource Stores => stores;
}

/// <summary>The same races on the S3 server, whose commits go through the PostgreSQL coordinator.</summary>
[Collection(S3Collection.Name)]
public sealed class S3ConcurrencyTests(S3Lake lake) : ConcurrencyTests
{
    protected override IStoreSource Stores => lake;
}

/// <summary>Writers in separate processes (dotnet fsi running MultiProcessWriter.fsx) racing on one table.</summary>
public abstract class MultiProcessConcurrencyTests
{
    protected abstract IStoreSource Stores { get; }

    /// <summary>Environment the writer processes need to reach the store (and its coordinator).</summary>
    protected virtual IReadOnlyDictionary<string, string> WriterEnvironment => new Dictionary<string, string>();

    [Fact]
    public async Task FourProcesses_AppendingConcurrently_EveryCommitLandsExactlyOnce()
    {
        using var tmp = new TempDir();
        var store = Stores.NewStore();
        await CreateIdTableAsync(store);
        var script = tmp.Sub("writer.fsx");
        var source = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "tests", "Ecap.DataLake.Tests", "Delta", "MultiProcessWriter.fsx"));
        await File.WriteAllTextAsync(script, source.Replace("BIN_DIR", AppContext.BaseDirectory.TrimEnd('/')));

        const int processes = 4, commits = 15;
        var runs = Enumerable.Range(0, processes).Select(p =>
        {
            var psi = new System.Diagnostics.ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var (k, v) in WriterEnvironment) psi.Environment[k] = v;
            foreach (var a in new[] { "fsi", "--quiet", script, store.Location, $"proc-{p}", commits.ToString() }) psi.ArgumentList.Add(a);
            var process = System.Diagnostics.Process.Start(psi)!;
            return (process, stdout: process.StandardOutput.ReadToEndAsync(), stderr: process.StandardError.ReadToEndAsync());
        }).ToList();
        foreach (var (process, stdout, stderr) in runs)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync(cts.Token);
            Assert.True(process.ExitCode == 0, $"writer process failed: {await stdout}\n{await stderr}");
            process.Dispose();
        }

        var reader = Stores.Reopen(store);
        var snapshot = await At(reader).GetSnapshotAsync();
        Assert.Equal(processes * commits, snapshot.Version);
        Assert.Equal(
            Enumerable.Range(0, processes).SelectMany(p => Enumerable.Range(0, commits).Select(i => $"proc-{p}/part-{i:D3}")).Order(StringComparer.Ordinal),
            snapshot.Files.Select(f => f.Path).Order(StringComparer.Ordinal));
        for (var p = 0; p < processes; p++) Assert.Equal(commits, snapshot.GetTxnVersion($"proc-{p}"));
        var logFiles = 0;
        await foreach (var o in reader.ListAsync("_delta_log/")) if (o.Key.EndsWith(".json")) logFiles++;
        Assert.Equal(processes * commits + 1, logFiles);
    }
}

public sealed class LocalMultiProcessConcurrencyTests(LocalStores stores) : MultiProcessConcurrencyTests, IClassFixture<LocalStores>
{
    protected override IStoreSource Stores => stores;
}

/// <summary>Four writer processes on one S3 table, each with its own S3 client and PostgreSQL coordinator connection.</summary>
[Collection(S3Collection.Name)]
public sealed class S3MultiProcessConcurrencyTests(S3Lake lake) : MultiProcessConcurrencyTests
{
    protected override IStoreSource Stores => lake;

    protected override IReadOnlyDictionary<string, string> WriterEnvironment =>
        new Dictionary<string, string>(lake.S3.Environment) { ["ECAP_COMMIT_COORDINATOR"] = lake.CoordinatorUrl };
}

/// <summary>The same races on Azure Blob Storage (Azurite), where put-if-absent is the service's If-None-Match: *.</summary>
[Collection(AzureCollection.Name)]
public sealed class AzureConcurrencyTests(AzureLake lake) : ConcurrencyTests
{
    protected override IStoreSource Stores => lake;
}

/// <summary>Four writer processes on one Azure table, each with its own client.</summary>
[Collection(AzureCollection.Name)]
public sealed class AzureMultiProcessConcurrencyTests(AzureLake lake) : MultiProcessConcurrencyTests
{
    protected override IStoreSource Stores => lake;

    protected override IReadOnlyDictionary<string, string> WriterEnvironment => lake.Azurite.Environment;
}
