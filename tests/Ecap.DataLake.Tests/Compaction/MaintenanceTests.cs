using Ecap.DataLake.Compaction;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Compaction.CompactionTestData;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Compaction;

/// <summary>Vacuum, restore points, retention policies and Z-order.</summary>
public class MaintenanceTests
{
    private const long Target = 1024 * 1024;

    private static List<string> ParquetFiles(string tableDir) =>
        Directory.GetFiles(tableDir, "*.parquet", SearchOption.AllDirectories)
            .Where(f => !f.Contains(Path.DirectorySeparatorChar + "_delta_log" + Path.DirectorySeparatorChar))
            .Select(f => Path.GetRelativePath(tableDir, f).Replace('\\', '/')).Order().ToList();

    [Fact]
    public async Task Vacuum_dry_run_lists_old_removed_and_uncommitted_files_then_the_real_run_deletes_only_those()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await WriteSmallTransactionAppendsAsync(lake, "tx", appends: 8, rows: 100, days: 1);
        var tableDir = Path.Combine(dir.Path, "tx");
        var compactor = new DataCompactor(lake);
        await compactor.CompactTableAsync("tx", new CompactOptions { TargetFileSizeBytes = Target });
        var live = (await lake.OpenTable("tx").GetSnapshotAsync()).Files.Select(f => f.ObjectKey).ToHashSet();
        var removed = ParquetFiles(tableDir).Where(f => !live.Contains(f)).ToList();
        Assert.Equal(8, removed.Count);
        // A data file a crashed writer left behind (never committed), old, and a fresh one a writer may still commit.
        var partition = Path.GetDirectoryName(Path.Combine(tableDir, live.First()))!;
        var orphan = Path.Combine(partition, DataFileName.Create(0));
        var fresh = Path.Combine(partition, DataFileName.Create(1));
        File.Copy(Path.Combine(tableDir, live.First()), orphan);
        File.Copy(Path.Combine(tableDir, live.First()), fresh);
        foreach (var f in removed.Select(r => Path.Combine(tableDir, r)).Append(orphan))
            File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddDays(-10));
        var now = DateTimeOffset.UtcNow.AddDays(8); // the compaction's tombstones are 8 days old
        File.SetLastWriteTimeUtc(fresh, now.UtcDateTime.AddHours(-1)); // written an hour before "now"

        // Below the 7-day default only with force.
        await Assert.ThrowsAsync<InvalidInputException>(() => compactor.VacuumAsync("tx", new VacuumOptions { Retention = TimeSpan.FromHours(1) }));

        var dry = await compactor.VacuumAsync("tx", new VacuumOptions { DryRun = true, Now = now });
        Assert.True(dry.DryRun);
        Assert.Equal(removed.Append(Path.GetRelativePath(tableDir, orphan)).Order(), dry.Files.Select(f => f.Path).Order());
        Assert.Equal(8, dry.Files.Count(f => f.Reason == "removed"));
        Assert.Equal("uncommitted", dry.Files.Single(f => f.Path.EndsWith(Path.GetFileName(orphan))).Reason);
        Assert.Equal(11, ParquetFiles(tableDir).Count); // nothing deleted

        var real = await compactor.VacuumAsync("tx", new VacuumOptions { Now = now });
        Assert.Equal(dry.Files.Select(f => f.Path), real.Files.Select(f => f.Path));
        Assert.Equal(live.Append(Path.GetRelativePath(tableDir, fresh)).Order(), ParquetFiles(tableDir));
        var (rows, _) = await FingerprintAsync(lake, dir.Path, "tx");
        Assert.Equal(800, rows);
    }

    [Fact]
    public async Task Vacuum_deletes_a_killed_writers_temp_files_older_than_the_retention_even_in_the_log()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await WriteSmallTransactionAppendsAsync(lake, "tx", appends: 2, rows: 100, days: 1);
        var tableDir = Path.Combine(dir.Path, "tx");
        var live = (await lake.OpenTable("tx").GetSnapshotAsync()).Files.Select(f => f.ObjectKey).ToList();
        var partition = Path.GetDirectoryName(Path.Combine(tableDir, live[0]))!;
        // What kill -9 leaves: a commit's temp file, a data file's, and one a writer is writing right now.
        var oldCommitTemp = Path.Combine(tableDir, "_delta_log", $".{2:D20}.json.{Guid.NewGuid():N}.tmp");
        var oldDataTemp = Path.Combine(partition, $".{DataFileName.Create(0)}.{Guid.NewGuid():N}.tmp");
        var freshTemp = Path.Combine(tableDir, "_delta_log", $".{3:D20}.json.{Guid.NewGuid():N}.tmp");
        var notTemp = Path.Combine(tableDir, "_delta_log", ".keep.tmp"); // not a write-beside name
        foreach (var f in new[] { oldCommitTemp, oldDataTemp, freshTemp, notTemp }) await File.WriteAllTextAsync(f, "{\"add\":{\"path\":\"half");
        foreach (var f in new[] { oldCommitTemp, oldDataTemp, notTemp }) File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddHours(-2));

        var result = await new DataCompactor(lake).VacuumAsync("tx", new VacuumOptions { Retention = TimeSpan.FromHours(1), Force = true });
        Assert.Equal(new[] { oldCommitTemp, oldDataTemp }.Select(f => Path.GetRelativePath(tableDir, f).Replace('\\', '/')).Order(),
            result.Files.Select(f => f.Path).Order());
        Assert.All(result.Files, f => Assert.Equal("temp", f.Reason));
        Assert.False(File.Exists(oldCommitTemp));
        Assert.False(File.Exists(oldDataTemp));
        Assert.True(File.Exists(freshTemp));
        Assert.True(File.Exists(notTemp));
        Assert.Equal(200, (await FingerprintAsync(lake, dir.Path, "tx")).Rows);
    }

    [Fact]
    public async Task Compaction_start_removes_the_spill_folders_of_dead_processes_only()
    {
        using var dir = new TempDir();
        using var spill = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await WriteSmallTransactionAppendsAsync(lake, "tx", appends: 2, rows: 100, days: 1);
        using var gone = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        await gone.WaitForExitAsync();
        var dead = Directory.CreateDirectory(Path.Combine(spill.Path, $"ecap-merge-{gone.Id}-0123456789ab")).FullName;
        await File.WriteAllTextAsync(Path.Combine(dead, "run-0.arrow"), "rows");
        var alive = Directory.CreateDirectory(Path.Combine(spill.Path, $"ecap-merge-{Environment.ProcessId}-ba9876543210")).FullName;
        var other = Directory.CreateDirectory(Path.Combine(spill.Path, "not-ours-1-2")).FullName;

        await new DataCompactor(lake).CompactTableAsync("tx", new CompactOptions { TargetFileSizeBytes = Target, TempDirectory = spill.Path });
        Assert.False(Directory.Exists(dead));
        Assert.True(Directory.Exists(alive));
        Assert.True(Directory.Exists(other));
    }

    [Fact]
    public async Task A_backup_restore_point_keeps_the_old_files_from_vacuum_until_it_expires_and_restore_returns_the_table_to_it()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await WriteSmallTransactionAppendsAsync(lake, "tx", appends: 6, rows: 100, days: 1);
        var tableDir = Path.Combine(dir.Path, "tx");
        var compactor = new DataCompactor(lake);
        var original = await FingerprintAsync(lake, dir.Path, "tx");
        var oldFiles = (await lake.OpenTable("tx").GetSnapshotAsync()).Files.Select(f => f.ObjectKey).Order().ToList();

        var result = await compactor.CompactTableAsync("tx", new CompactOptions { TargetFileSizeBytes = Target, Backup = true, RestorePointName = "before-compaction" });
        Assert.Equal("before-compaction", result.RestorePoint!.Name);
        Assert.Equal(5, result.RestorePoint.Version);
        Assert.Equal(["before-compaction"], (await compactor.ListRestorePointsAsync("tx")).Select(p => p.Name));
        foreach (var f in ParquetFiles(tableDir)) File.SetLastWriteTimeUtc(Path.Combine(tableDir, f), DateTime.UtcNow.AddDays(-20));

        // 10 days on, the tombstones are past the 7-day retention, but the restore point (30 days) keeps its files.
        var kept = await compactor.VacuumAsync("tx", new VacuumOptions { Now = DateTimeOffset.UtcNow.AddDays(10) });
        Assert.Empty(kept.Files);
        Assert.Equal(6, kept.FilesKeptForRestorePoints);

        var restore = await compactor.RestoreAsync("tx", "before-compaction");
        Assert.Equal(5, restore.RestoredVersion);
        Assert.Equal(oldFiles, (await lake.OpenTable("tx").GetSnapshotAsync()).Files.Select(f => f.ObjectKey).Order());
        Assert.Equal(original, await FingerprintAsync(lake, dir.Path, "tx"));

        // Compact again (no backup) and let the restore point expire: its files go, and so does the point.
        await compactor.CompactTableAsync("tx", new CompactOptions { TargetFileSizeBytes = Target });
        foreach (var f in ParquetFiles(tableDir)) File.SetLastWriteTimeUtc(Path.Combine(tableDir, f), DateTime.UtcNow.AddDays(-40));
        var expired = await compactor.VacuumAsync("tx", new VacuumOptions { Now = DateTimeOffset.UtcNow.AddDays(31) });
        Assert.Equal(1, expired.ExpiredRestorePointsDeleted);
        Assert.Empty(await compactor.ListRestorePointsAsync("tx"));
        Assert.All(oldFiles, f => Assert.False(File.Exists(Path.Combine(tableDir, f))));
        Assert.Equal(original, await FingerprintAsync(lake, dir.Path, "tx"));
        await Assert.ThrowsAsync<InvalidInputException>(() => compactor.RestoreAsync("tx", "before-compaction"));
    }

    [Fact]
    public async Task Retention_policy_removes_the_partitions_older_than_the_policy_in_one_commit()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 20_000, days: 90), "tx", DataType.Transactions);
        var compactor = new DataCompactor(lake);
        await Assert.ThrowsAsync<InvalidInputException>(() => compactor.ApplyRetentionAsync("tx"));
        await compactor.SetRetentionPolicyAsync("tx", 30);

        // 90 days of data from 2026-08-01; "now" is 2026-10-30 12:00, so the cutoff is 2026-09-30 12:00:
        // whole days up to 2026-09-29 go, 2026-09-30 straddles the cutoff and stays.
        var now = new DateTimeOffset(2026, 10, 30, 12, 0, 0, TimeSpan.Zero);
        var dry = await compactor.ApplyRetentionAsync("tx", new RetentionOptions { DryRun = true, Now = now });
        Assert.Equal(60, dry.PartitionsRemoved.Count);
        Assert.Null(dry.Version);

        var versionBefore = (await lake.OpenTable("tx").GetSnapshotAsync()).Version;
        var result = await compactor.ApplyRetentionAsync("tx", new RetentionOptions { Now = now });
        Assert.Equal(versionBefore + 1, result.Version);
        using var duck = new DuckDbReader();
        var files = DuckDbReader.FileList(await LiveFilesAsync(lake, dir.Path, "tx"));
        Assert.Equal(0L, duck.Scalar($"SELECT count(*) FROM read_parquet({files}, hive_partitioning = false) WHERE timestamp < TIMESTAMPTZ '2026-09-30 00:00:00+00'"));
        var kept = Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet({files}, hive_partitioning = false)"));
        Assert.Equal(20_000 - result.RowsRemoved, kept);
        Assert.InRange(kept, 20_000 * 25 / 90, 20_000 * 35 / 90); // about a third of the uniform 90 days
        Assert.Equal("DELETE", (await lake.GetHistoryAsync("tx", 1))[0].Operation);
    }

    [Fact]
    public async Task Z_order_makes_a_filter_on_the_second_column_skip_most_files_where_before_it_skipped_few()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        var strategy = PartitionStrategy.Custom([], sortColumns: ["a"]);
        var random = new Random(7);
        // 32 appends, each a file with a and b spread over their whole range: stats cannot prune on b.
        for (var i = 0; i < 32; i++)
        {
            var a = new Apache.Arrow.Int64Array.Builder();
            var b = new Apache.Arrow.Int64Array.Builder();
            for (var r = 0; r < 2000; r++)
            {
                a.Append(random.Next(0, 1_000_000));
                b.Append(random.Next(0, 1_000_000));
            }
            var schema = new Apache.Arrow.Schema.Builder()
                .Field(new Apache.Arrow.Field("a", Apache.Arrow.Types.Int64Type.Default, false))
                .Field(new Apache.Arrow.Field("b", Apache.Arrow.Types.Int64Type.Default, false)).Build();
            await lake.WritePartitionedDataAsync([new Apache.Arrow.RecordBatch(schema, [a.Build(), b.Build()], 2000)], "points",
                DataType.AnalyticsResults, options: new WriteOptions { Strategy = strategy });
        }
        var filter = new ReadOptions { Predicate = PredicateParser.Parse("b >= 600000 AND b < 630000") };
        var before = await lake.ReadPartitionedDataAsync("points", filter);
        var rowsBefore = Rows(await ReadAllAsync(before));
        Assert.Equal(32, before.Metrics.FilesTotal);
        Assert.True(before.Metrics.FilesPrunedByStats <= 2, $"{before.Metrics.FilesPrunedByStats} pruned before");

        var fileBytes = (await lake.OpenTable("points").GetSnapshotAsync()).TotalSize;
        var result = await new DataCompactor(lake).ZOrderAsync("points", ["a", "b"], new ZOrderOptions { TargetFileSizeBytes = fileBytes / 32 });
        Assert.Equal(32, result.FilesRemoved);

        var after = await lake.ReadPartitionedDataAsync("points", filter);
        Assert.Equal(rowsBefore, Rows(await ReadAllAsync(after)));
        Assert.True(after.Metrics.FilesTotal >= 20, $"{after.Metrics.FilesTotal} files after");
        Assert.True(after.Metrics.FilesPrunedByStats > after.Metrics.FilesTotal / 2,
            $"{after.Metrics.FilesPrunedByStats} of {after.Metrics.FilesTotal} pruned after");
        Assert.Equal(64_000, TableInspector.RowCount(await lake.OpenTable("points").GetSnapshotAsync()));
        Assert.Equal("[\"a\",\"b\"]", (await lake.GetHistoryAsync("points", 1))[0].Parameters["zOrderBy"]);
    }
}
