using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// Analyzes a snapshot's files from the log alone (sizes, partition values, stats presence; no file is opened):
/// a size histogram relative to the target, small files per partition, skew, and the files compaction would
/// leave, which decides the verdict.
/// </summary>
internal static class FileAnalyzer
{
    public static TableFileAnalysis Analyze(string tableName, Snapshot snapshot, AnalyzeOptions options)
    {
        var target = options.TargetFileSizeBytes;
        if (target <= 0) throw new InvalidInputException($"The target file size must be positive (got {target} bytes).");
        var threshold = options.SmallFileThresholdBytes ?? target / 4;
        var files = snapshot.Files.ToList();
        var total = files.Sum(f => f.Size);
        var groups = FileGroup.Of(files, snapshot.PartitionColumns);
        var after = groups.Sum(g => g.EstimatedFilesAfter(threshold, target));
        var small = files.Count(f => f.Size < threshold);

        var partitions = groups.GroupBy(g => g.PartitionKey, StringComparer.Ordinal)
            .Select(p => new PartitionFileStats(p.First().PartitionValues, p.Sum(g => g.Files.Count),
                p.Sum(g => g.Files.Count(f => f.Size < threshold)), p.Sum(g => g.Bytes)))
            .ToList();
        var sizes = partitions.Select(p => p.SizeBytes).Order().ToList();
        var median = sizes.Count == 0 ? 0 : sizes.Count % 2 == 1 ? sizes[sizes.Count / 2] : (sizes[sizes.Count / 2 - 1] + sizes[sizes.Count / 2]) / 2.0;
        var overLimit = partitions.Count(p => p.SmallFileCount > options.SmallFileLimitPerPartition);
        var withoutStats = files.Count(f => string.IsNullOrEmpty(f.Stats));
        var saved = files.Count - after;
        var needs = small > 0 && saved >= Math.Max(2, files.Count / 10);

        string reason;
        if (files.Count == 0) reason = "The table has no data files.";
        else if (needs)
            reason = $"{small:N0} of {files.Count:N0} files are below {Size(threshold)} (a quarter of the {Size(target)} target) " +
                     $"in {partitions.Count(p => p.SmallFileCount > 0):N0} partition(s)" +
                     (overLimit > 0 ? $", {overLimit:N0} of them with more than {options.SmallFileLimitPerPartition} small files" : "") +
                     $"; compaction would go from {files.Count:N0} to about {after:N0} files (average now {Size(total / files.Count)}).";
        else if (small == 0)
            reason = $"No file is below {Size(threshold)}; the average file is {Size(total / files.Count)} against a {Size(target)} target.";
        else
            reason = $"Only {saved:N0} of {files.Count:N0} files would be saved: the {small:N0} small file(s) are spread over " +
                     $"{partitions.Count(p => p.SmallFileCount > 0):N0} partition(s) with too few to merge.";
        if (withoutStats > 0) reason += $" {withoutStats:N0} file(s) have no statistics, so reads cannot skip them; compaction writes stats.";

        return new TableFileAnalysis
        {
            TableName = tableName,
            Version = snapshot.Version,
            FileCount = files.Count,
            TotalSizeBytes = total,
            AverageFileSizeBytes = files.Count == 0 ? 0 : total / files.Count,
            TargetFileSizeBytes = target,
            SmallFileThresholdBytes = threshold,
            SmallFileCount = small,
            SizeHistogram = Histogram(files.Select(f => f.Size), target),
            PartitionsWithSmallFiles = partitions.Where(p => p.SmallFileCount > 0).OrderByDescending(p => p.SmallFileCount).ToList(),
            PartitionCount = snapshot.PartitionColumns.Count == 0 ? 0 : partitions.Count,
            PartitionsOverSmallFileLimit = overLimit,
            PartitionSkew = median > 0 ? sizes[^1] / median : 1,
            FilesWithoutStats = withoutStats,
            NeedsCompaction = needs,
            CompactionReason = reason,
            EstimatedFilesBefore = files.Count,
            EstimatedFilesAfter = after,
            PartitionAdvice = snapshot.PartitionColumns.Count == 0 ? null
                : PartitionAdvisor.Advise(TableLayout.FromMetadata(snapshot.Metadata), partitions.Select(p => (p.Values, p.SizeBytes)).ToList(), target),
        };
    }

    /// <summary>Counts per size range: below 1/64, 1/16, 1/4, 1/2 of the target, below the target, at or above it.</summary>
    private static List<FileSizeBucket> Histogram(IEnumerable<long> sizes, long target)
    {
        long[] edges = [0, target / 64, target / 16, target / 4, target / 2, target];
        var counts = new int[edges.Length];
        foreach (var s in sizes)
        {
            var i = edges.Length - 1;
            while (i > 0 && s < edges[i]) i--;
            counts[i]++;
        }
        return edges.Select((min, i) => new FileSizeBucket(
            i + 1 < edges.Length ? $"{Size(min)} - {Size(edges[i + 1])}" : $">= {Size(min)}",
            min, i + 1 < edges.Length ? edges[i + 1] : null, counts[i])).ToList();
    }

    internal static string Size(long bytes) => PartitionAdvisor.Size(bytes);
}
