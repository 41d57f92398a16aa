using Ecap.DataLake.Delta;
using Ecap.TestSupport;
using Xunit;
using static Ecap.DataLake.Tests.Delta.DeltaTestHelpers;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>A writer can die at any point; readers then see the last committed version, and bad logs fail clearly without changes.</summary>
public class CrashSafetyTests
{
    private static async Task<(TempDir Tmp, DeltaTable Table)> TableWithCommitsAsync(int appends)
    {
        var tmp = new TempDir();
        var table = await CreateIdTableAsync(tmp.Path);
        for (var i = 0; i < appends; i++) await AppendAsync(table, FakeAdd($"f{i}"));
        return (tmp, table);
    }

    [Fact]
    public async Task LeftoverTempCommitFile_IsIgnored()
    {
        var (tmp, _) = await TableWithCommitsAsync(2);
        using var _tmp = tmp;
        await File.WriteAllTextAsync(Path.Combine(tmp.Path, "_delta_log", $".{3:D20}.json.0123abcd.tmp"), "{\"add\":{\"path\":\"half");
        var snapshot = await At(tmp.Path).GetSnapshotAsync();
        Assert.Equal(2, snapshot.Version);
        Assert.Equal(2, snapshot.Files.Count);
        // and the next commit still gets version 3
        Assert.Equal(3, (await AppendAsync(At(tmp.Path), FakeAdd("g"))).Version);
    }

    [Fact]
    public async Task DataFileWrittenButNotCommitted_IsNotPartOfTheTable()
    {
        using var tmp = new TempDir();
        var table = await CreateIdTableAsync(tmp.Path);
        await AppendAsync(table, WriteIds(table, "committed.parquet", 1));
        WriteIds(table, "orphan.parquet", 2);
        var snapshot = await At(tmp.Path).GetSnapshotAsync();
        Assert.Equal(["committed.parquet"], snapshot.Files.Select(f => f.Path));
    }

    [Fact]
    public async Task PartiallyWrittenCheckpoint_FallsBackToTheCommits()
    {
        var (tmp, _) = await TableWithCommitsAsync(12);
        using var _tmp = tmp;
        var cp = Path.Combine(tmp.Path, "_delta_log", $"{10:D20}.checkpoint.parquet");
        Assert.True(File.Exists(cp));
        var bytes = await File.ReadAllBytesAsync(cp);
        await File.WriteAllBytesAsync(cp, bytes[..(bytes.Length / 2)]);
        var snapshot = await At(tmp.Path).GetSnapshotAsync();
        Assert.Equal(12, snapshot.Version);
        Assert.Equal(12, snapshot.Files.Count);
        Assert.Null(snapshot.LoadInfo.CheckpointVersion);
    }

    [Fact]
    public async Task IncompleteMultiPartCheckpoint_IsIgnored()
    {
        var (tmp, _) = await TableWithCommitsAsync(3);
        using var _tmp = tmp;
        await File.WriteAllTextAsync(Path.Combine(tmp.Path, "_delta_log", $"{2:D20}.checkpoint.{1:D10}.{2:D10}.parquet"), "garbage");
        var snapshot = await At(tmp.Path).GetSnapshotAsync();
        Assert.Equal(3, snapshot.Version);
        Assert.Null(snapshot.LoadInfo.CheckpointVersion);
    }

    [Fact]
    public async Task LastCheckpointPointingToAMissingCheckpoint_IsIgnored()
    {
        var (tmp, _) = await TableWithCommitsAsync(4);
        using var _tmp = tmp;
        await File.WriteAllTextAsync(Path.Combine(tmp.Path, "_delta_log", "_last_checkpoint"), "{\"version\":3,\"size\":7}");
        var snapshot = await At(tmp.Path).GetSnapshotAsync();
        Assert.Equal(4, snapshot.Version);
        Assert.Equal(4, snapshot.Files.Count);
    }

    [Fact]
    public async Task CheckpointWriteFailure_NeverFailsTheCommit()
    {
        using var tmp = new TempDir();
        var table = await CreateIdTableAsync(tmp.Path);
        for (var i = 0; i < 9; i++) await AppendAsync(table, FakeAdd($"f{i}"));
        // a directory where the checkpoint file should go makes its write fail
        Directory.CreateDirectory(Path.Combine(tmp.Path, "_delta_log", $"{10:D20}.checkpoint.parquet"));
        var result = await AppendAsync(table, FakeAdd("f9"));
        Assert.Equal(10, result.Version);
        var snapshot = await At(tmp.Path).GetSnapshotAsync();
        Assert.Equal(10, snapshot.Version);
        Assert.Equal(10, snapshot.Files.Count);
    }

    [Fact]
    public async Task CorruptCommitJson_FailsNamingFileAndLine_AndKeepsTheLastGoodSnapshot()
    {
        var (tmp, table) = await TableWithCommitsAsync(2);
        using var _tmp = tmp;
        var good = await table.GetSnapshotAsync();
        await File.WriteAllTextAsync(LogFile(tmp.Path, 3), "{\"commitInfo\":{}}\n{\"add\":{\"path\":\"x\", oops}\n");
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => table.GetSnapshotAsync());
        Assert.Contains($"{3:D20}.json", e.Message);
        Assert.Contains("line 2", e.Message);
        Assert.Equal(2, (await table.GetSnapshotAsync(2)).Version);
        Assert.Equal(good.Files.Count, (await table.GetSnapshotAsync(2)).Files.Count);
        Assert.Equal(2, (await At(tmp.Path).GetSnapshotAsync(2)).Version);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    public async Task EmptyCommitFile_IsCorrupt_ForReadsHistoryAndWriters(string content)
    {
        var (tmp, table) = await TableWithCommitsAsync(2);
        using var _tmp = tmp;
        await File.WriteAllTextAsync(LogFile(tmp.Path, 1), content); // `: > _delta_log/00000000000000000001.json`
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => At(tmp.Path).GetSnapshotAsync());
        Assert.Contains($"{1:D20}.json", e.Message);
        Assert.Contains("empty", e.Message);
        await Assert.ThrowsAsync<CorruptTableException>(() => At(tmp.Path).GetHistoryAsync());
        // a writer does not build on it
        await Assert.ThrowsAsync<CorruptTableException>(() => AppendAsync(At(tmp.Path), FakeAdd("z")));
        Assert.False(File.Exists(LogFile(tmp.Path, 3)));
    }

    [Fact]
    public async Task MissingCommitInTheMiddle_FailsNamingTheGap()
    {
        var (tmp, _) = await TableWithCommitsAsync(4);
        using var _tmp = tmp;
        File.Delete(LogFile(tmp.Path, 2));
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => At(tmp.Path).GetSnapshotAsync());
        Assert.Contains("version 2 is missing", e.Message);
    }

    [Fact]
    public async Task UnknownAction_FailsNamingFileAndAction_AndWritersDoNotBuildOnIt()
    {
        var (tmp, table) = await TableWithCommitsAsync(1);
        using var _tmp = tmp;
        await File.WriteAllTextAsync(LogFile(tmp.Path, 2), "{\"commitInfo\":{}}\n{\"mystery\":{\"x\":1}}\n");
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => At(tmp.Path).GetSnapshotAsync());
        Assert.Contains("'mystery'", e.Message);
        Assert.Contains($"{2:D20}.json", e.Message);
        // a writer whose commit loses to the bad file does not commit over it either
        var tx = table.StartTransaction(await table.GetSnapshotAsync(1), "WRITE");
        tx.Add(FakeAdd("z"));
        await Assert.ThrowsAsync<CorruptTableException>(() => tx.CommitAsync());
        Assert.False(File.Exists(LogFile(tmp.Path, 3)));
    }

    [Fact]
    public async Task CommitsCleanedUpBehindACheckpoint_OldVersionsAreUnavailable_LatestReads()
    {
        var (tmp, _) = await TableWithCommitsAsync(12);
        using var _tmp = tmp;
        for (var v = 0; v < 10; v++) File.Delete(LogFile(tmp.Path, v));
        var table = At(tmp.Path);
        Assert.Equal(12, (await table.GetSnapshotAsync()).Files.Count);
        var e = await Assert.ThrowsAsync<VersionNotAvailableException>(() => table.GetSnapshotAsync(5));
        Assert.Equal(10, e.EarliestVersion);
    }
}
