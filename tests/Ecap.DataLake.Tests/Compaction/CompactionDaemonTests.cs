using Ecap.DataLake.Compaction;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Compaction.CompactionTestData;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Compaction;

public class CompactionDaemonTests
{
    // Small appends without auto-compaction, so the daemon has something to do.
    private static async Task<DataLakeStorage> LakeWithSmallFilesAsync(string dir)
    {
        var lake = new DataLakeBuilder(dir).KeepCatalogCurrent(false).AutoCompact(false).Build().Storage;
        for (var i = 0; i < 12; i++)
        {
            await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, seed: i + 1, days: 1).Select(b => ShiftIds(b, "transaction_id", i * 100L)), "on", DataType.Transactions);
            await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, seed: i + 1, days: 1), "off", DataType.Transactions,
                options: new WriteOptions { AutoCompact = false });
        }
        return lake;
    }

    [Fact]
    public async Task One_pass_compacts_the_tables_that_need_it_skips_those_with_auto_compaction_off_and_leaves_a_heartbeat()
    {
        using var dir = new TempDir();
        var lake = await LakeWithSmallFilesAsync(dir.Path);
        var daemon = new CompactionDaemon(lake, new CompactionDaemonOptions { DaemonId = "test-daemon", MaxDegreeOfParallelism = 2 });
        var pass = await daemon.RunOnceAsync();

        var on = pass.Tables.Single(t => t.Table == "on");
        Assert.Equal("compacted", on.Compaction);
        Assert.Equal(12, on.FilesRemoved);
        Assert.Null(on.Error);
        var off = pass.Tables.Single(t => t.Table == "off");
        Assert.Equal("skipped", off.Compaction);
        Assert.Contains("autoCompact is false", off.Reason);
        Assert.Single((await lake.OpenTable("on").GetSnapshotAsync()).Files);
        Assert.Equal(12, (await lake.OpenTable("off").GetSnapshotAsync()).Files.Count);
        using (var duck = new DuckDbReader())
            Assert.Equal(1200L, Convert.ToInt64(duck.Scalar($"SELECT count(DISTINCT transaction_id) FROM read_parquet({DuckDbReader.FileList(await LiveFilesAsync(lake, dir.Path, "on"))})")));

        var beat = Assert.Single(await CompactionDaemonHeartbeat.ReadAllAsync(lake.Store));
        Assert.Equal("test-daemon", beat.DaemonId);
        Assert.Equal("stopped", beat.State);
        Assert.Equal(1, beat.PassesCompleted);
        Assert.Equal(2, beat.LastPassTables);
        Assert.Equal(1, beat.LastPassCompacted);
        var overview = await new Ecap.DataLake.Monitoring.LakeMonitor(lake).LookAsync();
        Assert.Equal("test-daemon", Assert.Single(overview.CompactionDaemons).DaemonId);
    }

    [Fact]
    public async Task As_a_hosted_service_it_passes_until_the_host_stops_and_then_says_stopped()
    {
        using var dir = new TempDir();
        var lake = await LakeWithSmallFilesAsync(dir.Path);
        var service = new CompactionDaemonService(new CompactionDaemon(lake, new CompactionDaemonOptions { DaemonId = "hosted", Interval = TimeSpan.FromMilliseconds(100) }));
        await service.StartAsync(CancellationToken.None);
        CompactionDaemonHeartbeat? beat = null;
        for (var i = 0; i < 600 && beat is not { PassesCompleted: >= 2 }; i++)
        {
            await Task.Delay(50);
            beat = (await CompactionDaemonHeartbeat.ReadAllAsync(lake.Store)).SingleOrDefault();
        }
        Assert.True(beat is { PassesCompleted: >= 2, State: "running" }, "no two passes within 30 s");
        await service.StopAsync(CancellationToken.None);
        beat = Assert.Single(await CompactionDaemonHeartbeat.ReadAllAsync(lake.Store));
        Assert.Equal("stopped", beat.State);
        Assert.Single((await lake.OpenTable("on").GetSnapshotAsync()).Files);
    }

    [Fact]
    public void Bad_options_are_refused()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        Assert.Throws<InvalidInputException>(() => new CompactionDaemon(lake, new CompactionDaemonOptions { MaxDegreeOfParallelism = 0 }));
        Assert.Throws<InvalidInputException>(() => new CompactionDaemon(lake, new CompactionDaemonOptions { VacuumRetention = TimeSpan.FromHours(1) }));
    }
}
