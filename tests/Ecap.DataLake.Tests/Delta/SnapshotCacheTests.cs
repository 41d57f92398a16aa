using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tests.Metrics;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>The snapshot cache shared by the tables of one DataLakeStorage: repeated reads do not replay the log.</summary>
public class SnapshotCacheTests
{
    [Fact]
    public async Task Repeated_reads_are_served_from_the_cache_and_new_commits_are_picked_up_incrementally()
    {
        using var dir = new TempDir();
        using var rec = new LakeMetricsTests.Recorder(dir.Path);
        var writer = new DataLakeStorage(dir.Path, new DataLakeStorageOptions { SnapshotCacheCapacity = 0 });
        await writer.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 2), "tx", DataType.Transactions);
        await writer.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, seed: 2, days: 2), "tx", DataType.Transactions);
        Assert.Equal(0, rec.Sum("ecap.datalake.snapshot.cache.misses"));   // cache off: not asked

        var lake = new DataLakeStorage(dir.Path);
        var first = await lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal(1, rec.Sum("ecap.datalake.snapshot.cache.misses"));
        Assert.Equal(2, first.LoadInfo.CommitFilesRead);                       // replayed the log

        // A new DeltaTable instance (each read opens one) gets the very same snapshot: nothing replayed.
        var again = await lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Same(first, again);
        Assert.Equal(1, rec.Sum("ecap.datalake.snapshot.cache.hits"));

        // Another process commits: the cached snapshot is refreshed with that one commit only.
        await writer.WritePartitionedDataAsync(Generate(DataType.Transactions, 50, seed: 3, days: 2), "tx", DataType.Transactions);
        var latest = await lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal(2, latest.Version);
        Assert.Equal(1, latest.LoadInfo.CommitFilesRead);
        Assert.Equal(1, latest.LoadInfo.IncrementalFromVersion);
        Assert.Equal((await writer.OpenTable("tx").GetSnapshotAsync()).Files.Select(f => f.Path).Order(), latest.Files.Select(f => f.Path).Order());
        Assert.Equal(2, rec.Sum("ecap.datalake.snapshot.cache.hits"));

        // Time travel: an older version is loaded once, then served from the cache.
        var v0 = await lake.OpenTable("tx").GetSnapshotAsync(0);
        Assert.Same(v0, await lake.OpenTable("tx").GetSnapshotAsync(0));
        Assert.Same(first, await lake.OpenTable("tx").GetSnapshotAsync(1));
        Assert.Equal(2, rec.Sum("ecap.datalake.snapshot.cache.misses"));
        Assert.Equal(4, rec.Sum("ecap.datalake.snapshot.cache.hits"));

        // Reads agree with an uncached storage.
        long rows = 0;
        await foreach (var b in (await lake.ReadPartitionedDataAsync("tx")).ReadBatchesAsync()) rows += b.Length;
        Assert.Equal(250, rows);
    }

    [Fact]
    public async Task A_table_deleted_and_written_again_is_not_served_from_its_old_snapshots()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        for (var i = 0; i < 3; i++) await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, seed: i, days: 1), "tx", DataType.Transactions);
        Assert.Equal(2, (await lake.OpenTable("tx").GetSnapshotAsync()).Version);

        Directory.Delete(dir.Sub("tx"), recursive: true);
        await new DataLakeStorage(dir.Path).WritePartitionedDataAsync(Generate(DataType.Transactions, 7, seed: 9, days: 1), "tx", DataType.Transactions);
        var fresh = await lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal(0, fresh.Version);
        long rows = 0;
        await foreach (var b in (await lake.ReadPartitionedDataAsync("tx")).ReadBatchesAsync()) rows += b.Length;
        Assert.Equal(7, rows);
    }

    [Fact]
    public async Task The_cache_is_bounded_and_drops_the_least_recently_used_snapshot()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path, new DataLakeStorageOptions { SnapshotCacheCapacity = 0 });
        for (var i = 0; i < 3; i++) await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, seed: i, days: 1), "tx", DataType.Transactions);
        var table = lake.OpenTable("tx");
        var snapshots = new List<Snapshot>();
        for (var v = 0; v < 3; v++) snapshots.Add(await table.GetSnapshotAsync(v));

        var cache = new SnapshotCache(capacity: 2);
        cache.Add(snapshots[0]);
        cache.Add(snapshots[1]);
        Assert.Same(snapshots[0], cache.Get(table.Location, 0));   // 0 is now the most recently used
        cache.Add(snapshots[2]);                                    // evicts 1
        Assert.Equal(2, cache.Count);
        Assert.Null(cache.Get(table.Location, 1));
        Assert.Same(snapshots[2], cache.Newest(table.Location));
        Assert.Null(cache.Newest(dir.Sub("other")));
        cache.Forget(table.Location);
        Assert.Equal(0, cache.Count);
    }
}
