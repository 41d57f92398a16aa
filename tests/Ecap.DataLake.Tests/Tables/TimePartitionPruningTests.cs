using System.Text.RegularExpressions;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Tables;

/// <summary>
/// A predicate on the time column prunes the year/month/day partitions derived from it (issue 19), also for files
/// without stats (another engine's, or stats left out): each partition bounds the time of its rows. DuckDB counts the
/// matching rows of all the data files.
/// </summary>
public class TimePartitionPruningTests
{
    [Theory]
    [InlineData("day(timestamp)", 3, "timestamp >= '2026-08-02T00:00:00Z' AND timestamp < '2026-08-03T00:00:00Z'", 2)]
    [InlineData("day(timestamp)", 3, "timestamp > '2026-08-02T23:59:59.999999Z'", 2)]
    [InlineData("month(timestamp)", 40, "timestamp >= '2026-09-01T00:00:00Z'", 1)]
    [InlineData("hour(timestamp)", 3, "timestamp BETWEEN '2026-08-02T05:00:00Z' AND '2026-08-02T05:59:59Z'", 71)]
    public async Task A_time_column_predicate_prunes_its_derived_partitions_without_stats(string partitionBy, int days, string where, int pruned)
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 3_000, days: days).ToAsyncEnumerable(), "tx",
            PartitionSpec.Parse(partitionBy));
        // Remove every file's stats, as a writer that keeps none would: only the partitions can prune.
        var commit = Path.Combine(dir.Path, "tx", "_delta_log", $"{0:D20}.json");
        var text = await File.ReadAllTextAsync(commit);
        var bare = Regex.Replace(text, ",\"stats\":\"(?:[^\"\\\\]|\\\\.)*\"", "");
        Assert.NotEqual(text, bare);
        await File.WriteAllTextAsync(commit, bare);

        var fresh = new DataLakeStorage(dir.Path);
        var scan = await fresh.ReadPartitionedDataAsync("tx", new ReadOptions { Predicate = Predicate.Parse(where) });
        var rows = Rows(await ReadAllAsync(scan));
        Assert.Equal((pruned, 0), (scan.Metrics.FilesPrunedByPartition, scan.Metrics.FilesPrunedByStats));
        Assert.Equal(scan.Metrics.FilesTotal - pruned, scan.Metrics.FilesRead);
        using var duck = new DuckDbReader();
        var sql = where.Replace("'2026", "TIMESTAMPTZ '2026", StringComparison.Ordinal);
        var files = DuckDbReader.FileList(await LiveFilesAsync(fresh, dir.Path, "tx"));
        Assert.Equal(Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet({files}) WHERE {sql}")), rows);
        Assert.True(rows > 0);
    }
}
