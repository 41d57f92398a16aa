using System.Text;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tests.Storage;
using Ecap.TestSupport;
using Xunit;
using static Ecap.DataLake.Tests.Delta.DeltaTestHelpers;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>Creating tables, committing, checkpoints, refresh, history and time travel of tables this library writes.</summary>
public abstract class TableWriteTests : IDisposable
{
    /// <summary>Where the tables live: a local folder or the S3 server (with its commit coordinator).</summary>
    protected abstract IStoreSource Stores { get; }

    private readonly TempDir _downloads = new();

    public void Dispose() => _downloads.Dispose();

    private static async Task<string> LogTextAsync(IObjectStore store, long version) =>
        Encoding.UTF8.GetString(await store.ReadAllAsync(DeltaPaths.CommitKey(version)));

    /// <summary>A local file DuckDB can open: the object itself on a folder store, a downloaded copy otherwise.</summary>
    private async Task<string> LocalFileAsync(IObjectStore store, string key)
    {
        if (store.TryGetLocalPath(key) is { } local) return local;
        var path = _downloads.Sub(Guid.NewGuid().ToString("N") + Path.GetExtension(key));
        await File.WriteAllBytesAsync(path, await store.ReadAllAsync(key));
        return path;
    }

    [Fact]
    public async Task CreateTable_CommitsVersion0WithProtocol1_2AndMetadata()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        var lines = (await LogTextAsync(store, 0)).Split('\n');
        Assert.StartsWith("{\"commitInfo\":", lines[0]);
        Assert.Equal("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}", lines[1]);
        Assert.StartsWith("{\"metaData\":{\"id\":", lines[2]);
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(0, snapshot.Version);
        Assert.Equal(["id"], snapshot.Schema.FieldsList.Select(f => f.Name));
        Assert.Empty(snapshot.Files);
    }

    [Fact]
    public async Task CreateTable_WhenVersion0Exists_ReportsTableExistsAndKeepsIt()
    {
        var store = Stores.NewStore();
        await CreateIdTableAsync(store);
        var before = await store.ReadAllAsync(DeltaPaths.CommitKey(0));
        var e = await Assert.ThrowsAsync<TableAlreadyExistsException>(() => CreateIdTableAsync(store));
        Assert.Contains("already exists", e.Message);
        Assert.Equal(before, await store.ReadAllAsync(DeltaPaths.CommitKey(0)));
    }

    [Fact]
    public async Task Append_AddsFiles_AndDuckDbReadsTheData()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        await AppendAsync(table, WriteIds(table, "part-0.parquet", 1, 2, 3));
        await AppendAsync(table, WriteIds(table, "part-1.parquet", 4, 5));
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(2, snapshot.Version);
        Assert.Equal(new long[] { 1, 2, 3, 4, 5 }, Longs(ReadRows(table, snapshot), "id"));
        using var duck = new DuckDbReader();
        var files = new List<string>();
        foreach (var f in snapshot.Files) files.Add(await LocalFileAsync(table.Store, f.ObjectKey));
        Assert.Equal(15L, Convert.ToInt64(duck.Scalar($"SELECT CAST(sum(id) AS BIGINT) FROM read_parquet({DuckDbReader.FileList(files)})")));
    }

    [Fact]
    public async Task PartitionValues_MustMatchPartitionColumns_NullIsJsonNull()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store, partitioned: true);
        await Assert.ThrowsAsync<CommitValidationException>(() => AppendAsync(table, FakeAdd("f0")));
        await AppendAsync(table, FakeAdd("part=__HIVE_DEFAULT_PARTITION__/f1", new Dictionary<string, string?> { ["part"] = null }));
        Assert.Contains("\"partitionValues\":{\"part\":null}", await LogTextAsync(store, 1));
        var file = Assert.Single((await table.GetSnapshotAsync()).Files);
        Assert.Null(file.PartitionValues["part"]);
    }

    [Fact]
    public async Task OverwriteRemovesFiles_AndOldVersionsStillShowThem()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        await AppendAsync(table, FakeAdd("a"), FakeAdd("b"));
        var tx = await table.StartTransactionAsync("WRITE");
        tx.OperationParameters["mode"] = "Overwrite";
        tx.ReadWholeTable = true;
        foreach (var f in tx.ReadSnapshot!.Files) tx.Remove(f);
        tx.Add(FakeAdd("c"));
        Assert.Equal(2, (await tx.CommitAsync()).Version);
        Assert.Equal(["c"], (await table.GetSnapshotAsync()).Files.Select(f => f.Path));
        Assert.Equal(["a", "b"], (await table.GetSnapshotAsync(1)).Files.Select(f => f.Path).Order());
        Assert.Equal(["a", "b"], (await At(Stores.Reopen(store)).GetSnapshotAsync()).Tombstones.Select(t => t.Path).Order());
    }

    [Fact]
    public async Task Checkpoint_WrittenEvery10Commits_LoadsLikeFullReplay_AndDuckDbReadsIt()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store, partitioned: true);
        for (var i = 1; i <= 23; i++)
        {
            var tx = await table.StartTransactionAsync("WRITE");
            tx.Add(FakeAdd($"part={i % 3}/f{i}", new Dictionary<string, string?> { ["part"] = i % 4 == 0 ? null : (i % 3).ToString() }) with
            {
                Stats = $"{{\"numRecords\":{i}}}",
                Tags = new Dictionary<string, string?> { ["bucket"] = (i % 10).ToString() },
            });
            if (i % 5 == 0) tx.Remove(tx.ReadSnapshot!.Files.OrderBy(f => f.Path).First());
            tx.SetTxn("app-1", i);
            await tx.CommitAsync();
        }
        Assert.NotNull(await store.HeadAsync($"_delta_log/{10:D20}.checkpoint.parquet"));
        Assert.NotNull(await store.HeadAsync($"_delta_log/{20:D20}.checkpoint.parquet"));
        Assert.Contains("\"version\":20", Encoding.UTF8.GetString(await store.ReadAllAsync("_delta_log/_last_checkpoint")));

        var fromCheckpoint = await At(Stores.Reopen(store)).GetSnapshotAsync();
        Assert.Equal(20, fromCheckpoint.LoadInfo.CheckpointVersion);
        Assert.Equal(3, fromCheckpoint.LoadInfo.CommitFilesRead);

        // Full replay of the same version: a copy of the table without its checkpoints.
        var copy = Stores.NewStore();
        await foreach (var o in store.ListAsync(""))
            if (!o.Key.EndsWith(".checkpoint.parquet", StringComparison.Ordinal)) await copy.WriteAsync(o.Key, await store.ReadAllAsync(o.Key));
        var replayed = await At(copy).GetSnapshotAsync();
        Assert.Null(replayed.LoadInfo.CheckpointVersion);

        Assert.Equal(replayed.Version, fromCheckpoint.Version);
        Assert.Equal(Describe(replayed), Describe(fromCheckpoint));
        Assert.Equal(replayed.Metadata.SchemaString, fromCheckpoint.Metadata.SchemaString);
        Assert.Equal(replayed.Metadata.PartitionColumns, fromCheckpoint.Metadata.PartitionColumns);
        Assert.Equal(replayed.Protocol.MinWriterVersion, fromCheckpoint.Protocol.MinWriterVersion);
        Assert.Equal(23, fromCheckpoint.GetTxnVersion("app-1"));
        Assert.Equal(replayed.Tombstones.Select(t => t.Path).Order(), fromCheckpoint.Tombstones.Select(t => t.Path).Order());

        using var duck = new DuckDbReader();
        var cpFile = (await LocalFileAsync(store, $"_delta_log/{20:D20}.checkpoint.parquet")).Replace("'", "''");
        var liveAt20 = (await table.GetSnapshotAsync(20)).Files.Count;
        Assert.Equal((long)liveAt20, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{cpFile}') WHERE add IS NOT NULL")));
        Assert.Equal(1L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{cpFile}') WHERE metaData IS NOT NULL")));
        Assert.Equal(1L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{cpFile}') WHERE protocol.minReaderVersion = 1")));
        Assert.Equal(20L, Convert.ToInt64(duck.Scalar($"SELECT txn.version FROM read_parquet('{cpFile}') WHERE txn IS NOT NULL")));
        Assert.Equal("3", duck.Scalar($"SELECT add.tags['bucket'] FROM read_parquet('{cpFile}') WHERE add.path = 'part=1/f13'")?.ToString());
    }

    [Fact]
    public async Task V2Checkpoint_WithSidecars_LoadsLikeFullReplay_AndDuckDbReadsTheSidecars()
    {
        var store = Stores.NewStore();
        var table = At(Stores.Reopen(store));
        await table.CreateAsync(Metadata.Create(IdSchema, configuration: new Dictionary<string, string> { ["delta.checkpointPolicy"] = "v2" }));
        for (var i = 1; i <= 10; i++) await AppendAsync(table, FakeAdd($"f{i}") with { Stats = $"{{\"numRecords\":{i}}}" });
        // Version 10 is checkpointed by the commit; as a V2 checkpoint, since the table has the feature.
        Assert.Null(await store.HeadAsync($"_delta_log/{10:D20}.checkpoint.parquet"));
        var keys = new List<string>();
        await foreach (var o in store.ListAsync("_delta_log/")) keys.Add(o.Key);
        var checkpoint = Assert.Single(keys, k => k.StartsWith($"_delta_log/{10:D20}.checkpoint.", StringComparison.Ordinal));
        var sidecar = Assert.Single(keys, k => k.StartsWith("_delta_log/_sidecars/", StringComparison.Ordinal));

        var fromCheckpoint = await At(Stores.Reopen(store)).GetSnapshotAsync();
        Assert.Equal(10, fromCheckpoint.LoadInfo.CheckpointVersion);
        var copy = Stores.NewStore();
        await foreach (var o in store.ListAsync(""))
            if (!o.Key.Contains(".checkpoint.", StringComparison.Ordinal)) await copy.WriteAsync(o.Key, await store.ReadAllAsync(o.Key));
        var replayed = await At(copy).GetSnapshotAsync();
        Assert.Null(replayed.LoadInfo.CheckpointVersion);
        Assert.Equal(Describe(replayed), Describe(fromCheckpoint));
        Assert.Equal(replayed.Protocol.WriterFeatures, fromCheckpoint.Protocol.WriterFeatures);

        using var duck = new DuckDbReader();
        var sidecarFile = (await LocalFileAsync(store, sidecar)).Replace("'", "''");
        var checkpointFile = (await LocalFileAsync(store, checkpoint)).Replace("'", "''");
        Assert.Equal(10L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{sidecarFile}') WHERE add IS NOT NULL")));
        Assert.Equal(sidecar["_delta_log/_sidecars/".Length..], duck.Scalar($"SELECT sidecar.path FROM read_parquet('{checkpointFile}') WHERE sidecar IS NOT NULL"));
    }

    private static List<string> Describe(Snapshot s) => s.Files
        .Select(f => $"{f.Path}|{string.Join(",", f.PartitionValues.Select(p => p.Key + "=" + (p.Value ?? "<null>")))}|{f.Size}|{f.ModificationTime}|{f.DataChange}|{f.Stats}|{string.Join(",", f.Tags?.Select(t => t.Key + "=" + t.Value) ?? [])}")
        .Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task Refresh_IsIncremental_ReadsOnlyNewCommits()
    {
        var store = Stores.NewStore();
        var writer = await CreateIdTableAsync(store);
        for (var i = 0; i < 5; i++) await AppendAsync(writer, FakeAdd($"f{i}"));
        var reader = At(Stores.Reopen(store));
        var first = await reader.GetSnapshotAsync();
        Assert.Equal(6, first.LoadInfo.CommitFilesRead);
        await AppendAsync(writer, FakeAdd("g1"));
        await AppendAsync(writer, FakeAdd("g2"));
        var second = await reader.GetSnapshotAsync();
        Assert.Equal(7, second.Version);
        Assert.Equal(5, second.LoadInfo.IncrementalFromVersion);
        Assert.Equal(2, second.LoadInfo.CommitFilesRead);
        Assert.Equal(7, second.Files.Count);
        Assert.Same(second, await reader.GetSnapshotAsync());
        Assert.Equal(5, first.Files.Count); // older snapshots are unchanged
    }

    [Fact]
    public async Task Refresh_NeitherListsTheLogNorRereadsOldCommits()
    {
        var store = Stores.NewStore();
        var writer = await CreateIdTableAsync(store);
        for (var i = 0; i < 12; i++) await AppendAsync(writer, FakeAdd($"f{i}"));
        var counting = new CountingObjectStore(Stores.Reopen(store));
        var reader = new DeltaTable(counting);
        await reader.GetSnapshotAsync();
        // _last_checkpoint (its size hint tells a checkpoint cut short), the checkpoint (opened natively through its local path,
        // or read whole from S3) plus the commits after it
        Assert.Equal([DeltaPaths.LastCheckpointKey, DeltaPaths.CommitKey(11), DeltaPaths.CommitKey(12)], counting.Opened.Where(k => !k.EndsWith(".checkpoint.parquet")));

        counting.Reset();
        await AppendAsync(writer, FakeAdd("g"));
        var refreshed = await reader.GetSnapshotAsync();
        Assert.Equal(13, refreshed.Version);
        Assert.Empty(counting.Listed);
        Assert.Equal([DeltaPaths.CommitKey(13)], counting.Opened);

        counting.Reset();
        Assert.Same(refreshed, await reader.GetSnapshotAsync());
        Assert.Empty(counting.Opened);
    }

    [Fact]
    public async Task Writer_KeepsItsOwnCommitAsLatestSnapshot_WithoutRereading()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        await AppendAsync(table, FakeAdd("a"));
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(1, snapshot.Version);
        Assert.Equal(0, snapshot.LoadInfo.CommitFilesRead);
    }

    [Fact]
    public async Task History_NewestFirst_WithOperationParametersAndMetrics()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        var tx = await table.StartTransactionAsync("WRITE");
        tx.OperationParameters["mode"] = "Append";
        tx.OperationMetrics["numFiles"] = "1";
        tx.Add(FakeAdd("a"));
        await tx.CommitAsync();
        var tx2 = await table.StartTransactionAsync("OPTIMIZE");
        tx2.Remove(tx2.ReadSnapshot!.Files.Single(), dataChange: false);
        tx2.Add(FakeAdd("b") with { DataChange = false });
        await tx2.CommitAsync();

        var history = await table.GetHistoryAsync();
        Assert.Equal([2L, 1L, 0L], history.Select(h => h.Version));
        Assert.Equal(["OPTIMIZE", "WRITE", "CREATE TABLE"], history.Select(h => h.Operation));
        Assert.Equal("Append", history[1].OperationParameters["mode"]);
        Assert.Equal("1", history[1].OperationMetrics["numFiles"]);
        Assert.True(history[1].IsBlindAppend);
        Assert.False(history[0].IsBlindAppend);
        Assert.Equal(1, history[0].ReadVersion);
        Assert.Single(await table.GetHistoryAsync(limit: 1));
    }

    [Fact]
    public async Task ReadCommits_GivesCommitInfoAndMetadataOfTheRange_WithoutParsingOtherLines()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        await AppendAsync(table, FakeAdd("a"));
        var tx = await table.StartTransactionAsync("SET TBLPROPERTIES");
        tx.SetMetadata(tx.ReadSnapshot!.Metadata with { Description = "v2" });
        await tx.CommitAsync();
        // A line that is neither commitInfo nor metaData is skipped unparsed (a reader of schemas never pays for the adds).
        await store.WriteAsync(DeltaPaths.CommitKey(3), Encoding.UTF8.GetBytes("{\"commitInfo\":{\"operation\":\"WRITE\",\"timestamp\":5}}\n{\"add\": not json\n"));

        var all = await table.ReadCommitsAsync(-1, 3).ToListAsync();
        Assert.Equal([0L, 1L, 2L, 3L], all.Select(c => c.Version));
        Assert.Equal(["CREATE TABLE", "WRITE", "SET TBLPROPERTIES", "WRITE"], all.Select(c => c.CommitInfo?.Operation));
        Assert.Equal([true, false, true, false], all.Select(c => c.Metadata is not null));
        Assert.Equal("v2", all[2].Metadata!.Description);
        Assert.Equal(5, all[3].CommitInfo!.Timestamp);

        Assert.Equal([1L, 2L], (await table.ReadCommitsAsync(0, 2).ToListAsync()).Select(c => c.Version));
        Assert.Empty(await table.ReadCommitsAsync(3, 3).ToListAsync());
    }

    [Fact]
    public async Task CommitTimestamps_StayMonotonic_WhenTheClockGoesBack()
    {
        var store = Stores.NewStore();
        var clock = new SteppedClock(DateTimeOffset.FromUnixTimeMilliseconds(2_000_000_000_000));
        var options = new DeltaTableOptions { Clock = clock };
        var table = await CreateIdTableAsync(store, options);
        clock.Now = clock.Now.AddHours(-1);
        await AppendAsync(table, FakeAdd("a"));
        clock.Now = clock.Now.AddHours(-1);
        await AppendAsync(table, FakeAdd("b"));
        var history = (await At(Stores.Reopen(store), options).GetHistoryAsync()).OrderBy(h => h.Version).ToList();
        Assert.Equal(2_000_000_000_000, history[0].Timestamp.ToUnixTimeMilliseconds());
        Assert.Equal(2_000_000_000_001, history[1].Timestamp.ToUnixTimeMilliseconds());
        Assert.Equal(2_000_000_000_002, history[2].Timestamp.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task TimeTravelByTimestamp_UsesCommitInfoTimestamps()
    {
        var store = Stores.NewStore();
        var t0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        var clock = new SteppedClock(t0);
        var options = new DeltaTableOptions { Clock = clock };
        var table = await CreateIdTableAsync(store, options);
        clock.Now = t0.AddMinutes(10);
        await AppendAsync(table, FakeAdd("a"));
        clock.Now = t0.AddMinutes(20);
        await AppendAsync(table, FakeAdd("b"));

        var reader = At(Stores.Reopen(store));
        Assert.Equal(0, (await reader.GetSnapshotAtAsync(t0.AddMinutes(5))).Version);
        Assert.Equal(1, (await reader.GetSnapshotAtAsync(t0.AddMinutes(10))).Version);
        Assert.Equal(2, (await reader.GetSnapshotAtAsync(t0.AddMinutes(25))).Version);
        Assert.Equal(t0.AddMinutes(10), (await reader.GetSnapshotAsync(1)).Timestamp);
        var e = await Assert.ThrowsAsync<VersionNotAvailableException>(() => reader.GetSnapshotAtAsync(t0.AddSeconds(-1)));
        Assert.Equal(0, e.EarliestVersion);
    }

    [Fact]
    public async Task SnapshotAtMissingVersion_SaysWhichVersionsExist()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        var e = await Assert.ThrowsAsync<VersionNotAvailableException>(() => table.GetSnapshotAsync(5));
        Assert.Contains("versions 0 to 0", e.Message);
    }

    [Fact]
    public async Task UnsupportedWriterProtocol_IsRefusedForWrites()
    {
        var store = Stores.NewStore();
        var table = await CreateIdTableAsync(store);
        var tx = await table.StartTransactionAsync("UPGRADE");
        tx.SetProtocol(new Protocol(1, 4));
        var e = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => tx.CommitAsync());
        Assert.Contains("writer version 4", e.Message);

        var tx2 = await table.StartTransactionAsync("UPGRADE");
        tx2.SetProtocol(new Protocol(3, 7, ["someFutureFeature"], ["someFutureFeature"]));
        var e2 = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => tx2.CommitAsync());
        Assert.Contains("someFutureFeature", e2.Message);
        Assert.Equal(0, (await At(Stores.Reopen(store)).GetSnapshotAsync()).Version);
    }

    [Fact]
    public async Task ColumnMappingTables_AreRead_WritersThatAreNotMappingAwareAndUnknownModesAreRefused()
    {
        var store = Stores.NewStore();
        var table = At(Stores.Reopen(store));
        var tx = table.StartTransaction(null, "CREATE TABLE");
        tx.SetMetadata(Metadata.Create(IdSchema) with { Configuration = new Dictionary<string, string> { ["delta.columnMapping.mode"] = "name" } });
        tx.SetProtocol(new Protocol(2, 5));
        // A transaction whose writer does not say it writes physical names cannot commit to a mapped table.
        var refused = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => tx.CommitAsync());
        Assert.Contains("column mapping", refused.Message);
        await store.WriteAsync(DeltaPaths.CommitKey(0), Encoding.UTF8.GetBytes(
            "{\"protocol\":{\"minReaderVersion\":2,\"minWriterVersion\":5}}\n" +
            "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\",\"partitionColumns\":[],\"configuration\":{\"delta.columnMapping.mode\":\"name\"}}}\n"));
        Assert.Equal(0, (await At(Stores.Reopen(store)).GetSnapshotAsync()).Version);

        var other = Stores.NewStore();
        await other.WriteAsync(DeltaPaths.CommitKey(0), Encoding.UTF8.GetBytes(
            "{\"protocol\":{\"minReaderVersion\":2,\"minWriterVersion\":5}}\n" +
            "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\",\"partitionColumns\":[],\"configuration\":{\"delta.columnMapping.mode\":\"banana\"}}}\n"));
        var e = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => At(Stores.Reopen(other)).GetSnapshotAsync());
        Assert.Contains("banana", e.Message);
    }

    [Fact]
    public async Task AppendOnlyTables_RefuseDataChangingRemoves()
    {
        var store = Stores.NewStore();
        var table = At(Stores.Reopen(store));
        await table.CreateAsync(Metadata.Create(IdSchema, configuration: new Dictionary<string, string> { ["delta.appendOnly"] = "true" }));
        await AppendAsync(table, FakeAdd("a"));
        var tx = await table.StartTransactionAsync("DELETE");
        tx.Remove(tx.ReadSnapshot!.Files.Single());
        await Assert.ThrowsAsync<CommitValidationException>(() => tx.CommitAsync());
    }

    internal sealed class SteppedClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }
}

public sealed class LocalTableWriteTests(LocalStores stores) : TableWriteTests, IClassFixture<LocalStores>
{
    protected override IStoreSource Stores => stores;
}

/// <summary>The same table-core behaviour on the S3 server, commits through the PostgreSQL coordinator.</summary>
[Collection(S3Collection.Name)]
public sealed class S3TableWriteTests(S3Lake lake) : TableWriteTests
{
    protected override IStoreSource Stores => lake;
}

/// <summary>The same table-core behaviour on Azure Blob Storage (Azurite), commits by conditional put.</summary>
[Collection(AzureCollection.Name)]
public sealed class AzureTableWriteTests(AzureLake lake) : TableWriteTests
{
    protected override IStoreSource Stores => lake;
}
