using System.Text.Json;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Compaction.CompactionTestData;
using static Ecap.DataLake.Tests.Tables.LakeTestData;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Compaction;

/// <summary>Analyze and compact: the same rows (DuckDB over the live files), fewer files near the target, sort order and buckets kept.</summary>
public class DataCompactorTests
{
    private const long Target = 1024 * 1024;

    [Fact]
    public async Task Five_hundred_small_appends_are_analyzed_compacted_into_sorted_files_near_the_target_with_the_same_rows()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await WriteSmallTransactionAppendsAsync(lake, "tx", appends: 500, rows: 200, days: 2);
        var compactor = new DataCompactor(lake);
        var before = await FingerprintAsync(lake, dir.Path, "tx");
        Assert.Equal(100_000, before.Rows);

        var analysis = await compactor.AnalyzeTableFilesAsync("tx", new AnalyzeOptions { TargetFileSizeBytes = Target });
        Assert.True(analysis.NeedsCompaction, analysis.CompactionReason);
        Assert.Equal(1000, analysis.FileCount); // 500 appends x 2 daily partitions
        Assert.Equal(1000, analysis.SmallFileCount);
        Assert.Contains("1,000 of 1,000 files are below 256 KiB", analysis.CompactionReason);
        Assert.Equal(2, analysis.PartitionsOverSmallFileLimit);
        Assert.Equal(1000, analysis.SizeHistogram.Sum(b => b.FileCount));
        Assert.True(analysis.EstimatedFilesAfter < 20, $"estimated {analysis.EstimatedFilesAfter}");

        var result = await compactor.CompactTableAsync("tx", new CompactOptions { TargetFileSizeBytes = Target });
        Assert.Equal(1000, result.FilesRemoved);
        Assert.Equal(2, result.PartitionGroupsCompacted);
        Assert.Equal(100_000, result.RowsRewritten);
        Assert.Equal(result.FilesAfter, (await lake.OpenTable("tx").GetSnapshotAsync()).Files.Count);
        Assert.True(result.FilesAfter <= 12, $"{result.FilesAfter} files after");

        // The same rows, read by an independent reader from the live files only.
        Assert.Equal(before, await FingerprintAsync(lake, dir.Path, "tx"));

        // Files near the target: each partition's output is split at about the target, never far above it.
        var snapshot = await lake.OpenTable("tx").GetSnapshotAsync();
        foreach (var partition in snapshot.Files.GroupBy(f => f.PartitionValues["day"]))
        {
            var sizes = partition.Select(f => f.Size).OrderDescending().ToList();
            Assert.All(sizes, s => Assert.True(s < Target * 3 / 2, $"file of {s} bytes"));
            if (partition.Sum(f => f.Size) > Target) Assert.True(sizes[0] > Target / 2, $"largest file {sizes[0]} bytes");
        }

        // Sorted inside every new file by transaction_id (the inputs overlapped, so this needed a real merge).
        using var duck = new DuckDbReader();
        foreach (var file in await LiveFilesAsync(lake, dir.Path, "tx"))
            Assert.Equal(0L, duck.Scalar($"""
                SELECT count(*) FROM (SELECT transaction_id < lag(transaction_id) OVER (ORDER BY file_row_number) AS down
                FROM read_parquet('{file.Replace("'", "''")}', file_row_number = true)) WHERE down
                """));

        // History: one OPTIMIZE per partition group, its adds and removes all dataChange=false.
        var history = await lake.GetHistoryAsync("tx", limit: 2);
        Assert.All(history, h => Assert.Equal("OPTIMIZE", h.Operation));
        foreach (var version in result.CommitVersions)
        {
            var lines = await File.ReadAllLinesAsync(Path.Combine(dir.Path, "tx", "_delta_log", $"{version:D20}.json"));
            var actions = lines.Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("add", out _) || e.TryGetProperty("remove", out _)).ToList();
            Assert.NotEmpty(actions);
            Assert.All(actions, a => Assert.False((a.TryGetProperty("add", out var x) ? x : a.GetProperty("remove")).GetProperty("dataChange").GetBoolean()));
        }

        var again = await compactor.AnalyzeTableFilesAsync("tx", new AnalyzeOptions { TargetFileSizeBytes = Target });
        Assert.False(again.NeedsCompaction, again.CompactionReason);
    }

    [Fact]
    public async Task Bucketed_tables_are_compacted_per_bucket_and_every_row_stays_in_its_bucket_file()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        for (var i = 0; i < 30; i++)
        {
            var batches = Generate(DataType.CustomerProfiles, 300, seed: i + 1).Select(b => ShiftIds(b, "customer_id", i * 300L));
            await lake.WritePartitionedDataAsync(batches, "customers", DataType.CustomerProfiles);
        }
        var filesBefore = (await lake.OpenTable("customers").GetSnapshotAsync()).Files.Count;
        var groupsBefore = (await lake.OpenTable("customers").GetSnapshotAsync()).Files
            .Select(f => (DataLakeStorage.PartitionKey(f.PartitionValues, ["customer_segment", "region"]), f.Tags![TableLayout.BucketTag])).Distinct().Count();

        var result = await new DataCompactor(lake).CompactTableAsync("customers", new CompactOptions { TargetFileSizeBytes = Target });

        var snapshot = await lake.OpenTable("customers").GetSnapshotAsync();
        Assert.True(snapshot.Files.Count < filesBefore / 5, $"{filesBefore} -> {snapshot.Files.Count}");
        // Never mixed: one file per (partition, bucket) group that had files, named and tagged with its bucket.
        Assert.Equal(groupsBefore, snapshot.Files.Count);
        using var duck = new DuckDbReader();
        long rows = 0;
        foreach (var file in snapshot.Files)
        {
            var bucket = int.Parse(file.Tags![TableLayout.BucketTag]!);
            Assert.True(DataFileName.TryParse(file.ObjectKey, out _, out _, out var named, out _) && named == bucket);
            var path = Path.Combine(dir.Path, "customers", file.ObjectKey).Replace("'", "''");
            foreach (var row in duck.Rows($"SELECT customer_id FROM read_parquet('{path}')"))
            {
                Assert.Equal(bucket, IcebergBucket.Bucket((long)row[0]!, 10));
                rows++;
            }
            Assert.Equal(0L, duck.Scalar($"""
                SELECT count(*) FROM (SELECT customer_id < lag(customer_id) OVER (ORDER BY file_row_number) AS down
                FROM read_parquet('{path}', file_row_number = true)) WHERE down
                """));
        }
        Assert.Equal(9000, rows);
        // Groups that had a single small file are left as they were; every other row was rewritten.
        Assert.Equal(snapshot.Files.Where(f => !f.DataChange).Sum(f => TableInspector.NumRecords(f)), result.RowsRewritten);
        Assert.True(result.RowsRewritten > 8000, $"{result.RowsRewritten} rows rewritten");
    }

    [Fact]
    public async Task A_partition_filter_compacts_only_the_matching_partitions()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await WriteSmallTransactionAppendsAsync(lake, "tx", appends: 20, rows: 100, days: 2);
        using var metrics = new Metrics.LakeMetricsTests.Recorder(lake.OpenTable("tx").Location);
        var result = await new DataCompactor(lake).CompactTableAsync("tx", new CompactOptions
        {
            TargetFileSizeBytes = Target,
            PartitionFilters = [PartitionFilter.Equal("day", 2)],
        });
        Assert.Equal(result.BytesAdded, metrics.Sum("ecap.datalake.compaction.bytes.rewritten")); // the bytes written are a metric
        var snapshot = await lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal(20, snapshot.Files.Count(f => f.PartitionValues["day"] == "1"));
        Assert.Equal(1, snapshot.Files.Count(f => f.PartitionValues["day"] == "2"));
        Assert.Equal(1, result.PartitionGroupsCompacted);
    }

    [Fact]
    public async Task Overlapping_files_beyond_the_fan_in_compact_to_the_target_size_as_growing_ones_do()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        // overlapEvery 1: every append reuses ids 1..100, so all files overlap.
        await WriteSmallTransactionAppendsAsync(lake, "overlap", appends: 20, rows: 100, days: 1, overlapEvery: 1);
        await WriteSmallTransactionAppendsAsync(lake, "growing", appends: 20, rows: 100, days: 1, overlapEvery: int.MaxValue);
        var compactor = new DataCompactor(lake);
        using var spill = new TempDir();
        var options = new CompactOptions { TargetFileSizeBytes = Target, MaxMergeFanIn = 8, TempDirectory = spill.Path };

        // 20 overlapping files with a fan-in of 8: merged through sorted runs, into one file as the target allows
        // (before runs existed: 3 files of 8 + 8 + 4 inputs).
        var overlap = await compactor.CompactTableAsync("overlap", options);
        Assert.Equal(20, overlap.FilesRemoved);
        Assert.Equal(1, overlap.FilesAdded);
        Assert.Empty(Directory.GetFileSystemEntries(spill.Path));
        var growing = await compactor.CompactTableAsync("growing", options);
        Assert.Equal(1, growing.FilesAdded);

        using var duck = new DuckDbReader();
        foreach (var file in await LiveFilesAsync(lake, dir.Path, "overlap"))
            Assert.Equal(0L, duck.Scalar($"""
                SELECT count(*) FROM (SELECT transaction_id < lag(transaction_id) OVER (ORDER BY file_row_number) AS down
                FROM read_parquet('{file.Replace("'", "''")}', file_row_number = true)) WHERE down
                """));
        Assert.Equal(2000L, (await FingerprintAsync(lake, dir.Path, "overlap")).Rows);
    }

    [Fact]
    public async Task Optimize_all_compacts_the_tables_that_need_it_and_one_broken_table_does_not_stop_the_others()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await WriteSmallTransactionAppendsAsync(lake, "a_small_files", appends: 15, rows: 100, days: 1);
        await WriteSmallTransactionAppendsAsync(lake, "b_few_files", appends: 3, rows: 100, days: 1);
        await WriteSmallTransactionAppendsAsync(lake, "c_small_files", appends: 12, rows: 100, days: 1);
        Directory.CreateDirectory(Path.Combine(dir.Path, "d_broken", "_delta_log"));
        await File.WriteAllTextAsync(Path.Combine(dir.Path, "d_broken", "_delta_log", $"{0:D20}.json"), "{ not json");

        var summary = await new DataCompactor(lake).OptimizeAllTablesAsync(new OptimizeAllOptions
        {
            MinFileCount = 10,
            TargetFileSizeBytes = Target,
            MaxDegreeOfParallelism = 2,
        });

        var byName = summary.ToDictionary(s => s.TableName);
        Assert.Equal(["a_small_files", "b_few_files", "c_small_files", "d_broken"], byName.Keys.Order());
        Assert.Equal("compacted", byName["a_small_files"].Action);
        Assert.Equal("compacted", byName["c_small_files"].Action);
        Assert.Equal("skipped", byName["b_few_files"].Action);
        Assert.Contains("fewer than the minimum of 10", byName["b_few_files"].Reason);
        Assert.Equal("failed", byName["d_broken"].Action);
        Assert.NotNull(byName["d_broken"].Error);
        Assert.Single((await lake.OpenTable("a_small_files").GetSnapshotAsync()).Files);
        Assert.Single((await lake.OpenTable("c_small_files").GetSnapshotAsync()).Files);
        Assert.Equal(3, (await lake.OpenTable("b_few_files").GetSnapshotAsync()).Files.Count);
    }

    [Fact]
    public async Task A_rewrite_that_lost_its_input_files_to_a_concurrent_rewrite_is_not_committed_and_its_files_are_deleted()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await WriteSmallTransactionAppendsAsync(lake, "tx", appends: 10, rows: 100, days: 1);
        var table = lake.OpenTable("tx");
        var stale = await table.GetSnapshotAsync();
        // Another compaction wins first.
        await new DataCompactor(lake).CompactTableAsync("tx", new CompactOptions { TargetFileSizeBytes = Target });
        var parquetAfterFirst = Directory.GetFiles(Path.Combine(dir.Path, "tx"), "*.parquet", SearchOption.AllDirectories).Length;

        // A second rewrite of the same (now removed) files, planned on the stale snapshot.
        var group = FileGroup.Of(stale.Files, stale.PartitionColumns).Single();
        var rewrite = new GroupRewrite(group);
        var writer = new GroupFileWriter(table.Store, group, TableCompaction.DataFileSchema(stale), Target);
        rewrite.Writers.Add(writer);
        await foreach (var batch in SortedMerge.MergeAsync(table.Store, group.Files, TableCompaction.DataFileSchema(stale),
                           [new Ecap.DataLake.Arrow.SortKey("transaction_id", NullsFirst: true)], 1024, default))
            await writer.WriteAsync(batch, default);
        rewrite.Removed.AddRange(group.Files);
        rewrite.Added.AddRange(await writer.CompleteAsync(default));
        var committer = new RewriteCommitter(table, stale, new CompactOptions(), Target);
        await committer.CommitAsync([rewrite], default);

        Assert.False(rewrite.Committed);
        Assert.Empty(committer.Versions);
        await writer.DeleteWrittenAsync();
        Assert.Equal(parquetAfterFirst, Directory.GetFiles(Path.Combine(dir.Path, "tx"), "*.parquet", SearchOption.AllDirectories).Length);
        Assert.Equal(1000, TableInspector.RowCount(await lake.OpenTable("tx").GetSnapshotAsync()));
    }
}
