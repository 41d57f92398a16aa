namespace Ecap.DataLake.Tables.Partitioning;

/// <summary>
/// Says when a table's partitions are too small for its target file size (the median partition below
/// 1/<see cref="SmallFraction"/> of the target, over at least <see cref="MinPartitions"/> partitions: every partition is
/// then a file or a few small ones, which compaction cannot merge) and which coarser layout would fix it.
/// <para>
/// Coarser layouts are found from the partitions the table has, not guessed: one step drops the finest time part
/// (<c>hour</c> to <c>day</c>, <c>day</c> to <c>month</c>, <c>month</c> to <c>year</c>, <c>year</c> to none) or one
/// identity/truncate column, and the partitions' bytes are summed by the values left. The finest step that reaches the
/// threshold wins (else the one that grows partitions most, and the search goes on). A bucketed table is also offered
/// fewer buckets when a partition's share per bucket stays below the threshold.
/// </para>
/// </summary>
internal static class PartitionAdvisor
{
    /// <summary>A median partition below target / this is too small.</summary>
    public const int SmallFraction = 16;

    /// <summary>Fewer partitions than this get no advice (a table just started, or a few big ones).</summary>
    public const int MinPartitions = 4;

    /// <summary>The advice for <paramref name="layout"/> given its partitions' bytes (null: the partitions are big enough).</summary>
    public static PartitionAdvice? Advise(PartitionStrategy layout, IReadOnlyList<(IReadOnlyDictionary<string, string?> Values, long Bytes)> partitions,
        long targetFileSize)
    {
        if (layout.PartitionColumns.Count == 0 || partitions.Count < MinPartitions || targetFileSize <= 0) return null;
        var threshold = targetFileSize / SmallFraction;
        var current = Median(partitions.Select(p => p.Bytes).ToList());
        if (current >= threshold) return null;

        var best = (Layout: layout, Sizes: partitions.Select(p => p.Bytes).ToList());
        while (Median(best.Sizes) < threshold)
        {
            var steps = Coarser(best.Layout).Select(s => (Layout: s, Sizes: Sizes(s, partitions))).ToList();
            if (steps.Count == 0) break;
            var enough = steps.Where(s => Median(s.Sizes) >= threshold).OrderByDescending(s => s.Sizes.Count).ToList();
            best = enough.Count > 0 ? enough[0] : steps.OrderByDescending(s => Median(s.Sizes)).ThenByDescending(s => s.Sizes.Count).First();
        }
        var suggested = best.Layout;
        var median = Median(best.Sizes);
        if (suggested.BucketColumn is not null && median / suggested.BucketCount < threshold)
        {
            var buckets = (int)Math.Max(1, median / threshold);
            suggested = buckets > 1 ? suggested with { BucketCount = Math.Min(buckets, suggested.BucketCount) } : suggested with { BucketColumn = null, BucketCount = 0 };
        }
        if (PartitionSpec.SameLayout(suggested, layout)) return null;

        var from = PartitionBy(layout);
        var to = PartitionBy(suggested);
        return new PartitionAdvice(from, to, partitions.Count, best.Sizes.Count, (long)current, (long)median, targetFileSize,
            $"{partitions.Count:N0} partitions of median {Size((long)current)}, below 1/{SmallFraction} of the {Size(targetFileSize)} target file size: " +
            "each partition is a few small files that compaction cannot merge. " +
            (to.Length == 0 ? $"No partitioning is coarse enough: leave the table unpartitioned ({Size((long)median)} in all)."
                : $"Partition by {to} instead (about {best.Sizes.Count:N0} partition(s) of median {Size((long)median)})."));
    }

    /// <summary>The layout as <c>--partition-by</c> text (no sort; empty for unpartitioned).</summary>
    internal static string PartitionBy(PartitionStrategy layout) =>
        layout.PartitionColumns.Count == 0 && layout.BucketColumn is null ? "" : PartitionSpec.Format(layout with { SortColumns = [] });

    // One step coarser each: the finest time part dropped, or one identity/truncate column dropped.
    private static IEnumerable<PartitionStrategy> Coarser(PartitionStrategy layout)
    {
        var finest = layout.DerivedColumns.Where(d => layout.PartitionColumns.Contains(d.Name)).OrderByDescending(d => d.Part).FirstOrDefault();
        if (finest is not null)
            yield return layout with
            {
                PartitionColumns = layout.PartitionColumns.Where(c => c != finest.Name).ToList(),
                DerivedColumns = layout.DerivedColumns.Where(d => d != finest).ToList(),
            };
        foreach (var column in layout.PartitionColumns.Where(c => layout.DerivedColumns.All(d => d.Name != c)))
            yield return layout with
            {
                PartitionColumns = layout.PartitionColumns.Where(c => c != column).ToList(),
                TruncateColumns = layout.TruncateColumns.Where(t => t.Name != column).ToList(),
            };
    }

    // The partitions' bytes summed by the values of the coarser layout's columns (a subset of the table's).
    private static List<long> Sizes(PartitionStrategy layout, IReadOnlyList<(IReadOnlyDictionary<string, string?> Values, long Bytes)> partitions) =>
        partitions.GroupBy(p => DataLakeStorage.PartitionKey(p.Values, layout.PartitionColumns), StringComparer.Ordinal)
            .Select(g => g.Sum(p => p.Bytes)).ToList();

    internal static double Median(List<long> sizes)
    {
        if (sizes.Count == 0) return 0;
        sizes.Sort();
        return sizes.Count % 2 == 1 ? sizes[sizes.Count / 2] : (sizes[sizes.Count / 2 - 1] + sizes[sizes.Count / 2]) / 2.0;
    }

    /// <summary>Bytes for people: B, KiB, MiB, GiB.</summary>
    internal static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):0.#} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB",
    };
}
