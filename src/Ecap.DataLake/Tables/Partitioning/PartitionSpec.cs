namespace Ecap.DataLake.Tables.Partitioning;

/// <summary>
/// Parses a layout written as text (the CLI's <c>--partition-by</c> and <c>--sort-by</c>) into a
/// <see cref="PartitionStrategy"/>: a comma list of column names and Iceberg's transform names
/// <c>year(col)</c>, <c>month(col)</c>, <c>day(col)</c>, <c>hour(col)</c>, <c>bucket(N, col)</c> and <c>truncate(W, col)</c>
/// (a partition column <c>col_trunc</c>: integers to the lower multiple of W, strings to their first W characters).
/// <para>
/// Time transforms become the strategy's derived columns in the hive layout the presets use: <c>year(t)</c>
/// partitions by <c>year</c>, <c>month(t)</c> by <c>year/month</c>, <c>day(t)</c> by <c>year/month/day</c> and
/// <c>hour(t)</c> by <c>year/month/day/hour</c> (one partition per month, day or hour, as Iceberg's transforms,
/// and pruned by a predicate on the parts). All time transforms of a layout take the same column; <c>bucket</c>
/// at most once (the bucket is in each file's tags, not a directory).
/// </para>
/// </summary>
public static class PartitionSpec
{
    private static readonly TimePart[] Parts = [TimePart.Year, TimePart.Month, TimePart.Day, TimePart.Hour];

    /// <summary>
    /// The strategy of <paramref name="partitionBy"/> and <paramref name="sortBy"/>. With a <paramref name="basis"/>
    /// (a data type's preset), what is not given is kept from it: its sort columns and time column, and its
    /// data type (so <c>--data-type transactions --partition-by month(timestamp)</c> is the preset, coarser).
    /// </summary>
    /// <exception cref="InvalidInputException">The text is not a layout (unknown transform, bad argument, two time columns, ...).</exception>
    public static PartitionStrategy Parse(string? partitionBy, string? sortBy = null, PartitionStrategy? basis = null)
    {
        var partitions = new List<string>();
        var derived = new List<DerivedColumn>();
        var truncations = new List<TruncateColumn>();
        string? timeColumn = null, bucketColumn = null;
        int bucketCount = 0;
        if (partitionBy is not null)
        {
            foreach (var item in SplitTopLevel(partitionBy))
            {
                int open = item.IndexOf('(');
                if (open < 0)
                {
                    RequireName(item, partitionBy);
                    partitions.Add(item);
                    continue;
                }
                if (!item.EndsWith(')'))
                    throw new InvalidInputException($"Partition item '{item}' of '{partitionBy}' has no closing parenthesis.");
                var transform = item[..open].Trim().ToLowerInvariant();
                var args = item[(open + 1)..^1].Split(',', StringSplitOptions.TrimEntries);
                switch (transform)
                {
                    case "year" or "month" or "day" or "hour":
                        {
                            if (args.Length != 1) throw new InvalidInputException($"{transform}(col) takes one column, not '{item}'.");
                            var column = RequireName(args[0], partitionBy);
                            if (timeColumn is not null && timeColumn != column)
                                throw new InvalidInputException(
                                    $"Time transforms of one layout take the same column: '{timeColumn}' and '{column}' in '{partitionBy}'.");
                            timeColumn = column;
                            var finest = Array.IndexOf(Parts, Enum.Parse<TimePart>(transform, ignoreCase: true));
                            // month(t) is one partition per year-month (Iceberg's months since 1970): year/month directories.
                            for (int p = 0; p <= finest; p++)
                            {
                                var name = Parts[p].ToString().ToLowerInvariant();
                                if (derived.Any(d => d.Name == name)) continue;
                                derived.Add(new DerivedColumn(name, Parts[p]));
                                if (partitions.Contains(name, StringComparer.Ordinal))
                                    throw new InvalidInputException($"Partition column '{name}' is given twice in '{partitionBy}'.");
                                partitions.Add(name);
                            }
                            break;
                        }
                    case "bucket":
                        {
                            if (args.Length != 2 || !int.TryParse(args[0], out var n) || n <= 0)
                                throw new InvalidInputException($"bucket takes a positive count and a column, e.g. bucket(16, customer_id), not '{item}'.");
                            if (bucketColumn is not null) throw new InvalidInputException($"A layout has at most one bucket transform: '{partitionBy}'.");
                            bucketColumn = RequireName(args[1], partitionBy);
                            bucketCount = n;
                            break;
                        }
                    case "truncate":
                        {
                            if (args.Length != 2 || !int.TryParse(args[0], out var w) || w <= 0)
                                throw new InvalidInputException($"truncate takes a positive width and a column, e.g. truncate(3, zip), not '{item}'.");
                            var source = RequireName(args[1], partitionBy);
                            var name = source + "_trunc"; // Iceberg's partition field name
                            if (partitions.Contains(name, StringComparer.Ordinal))
                                throw new InvalidInputException($"Partition column '{name}' is given twice in '{partitionBy}'.");
                            truncations.Add(new TruncateColumn(name, source, w));
                            partitions.Add(name);
                            break;
                        }
                    default:
                        throw new InvalidInputException(
                            $"Unknown partition transform '{transform}' in '{partitionBy}'. Use a column or year(col), month(col), day(col), hour(col), bucket(N, col), truncate(W, col).");
                }
            }
        }
        var sort = sortBy is null
            ? basis?.SortColumns.Where(c => !partitions.Contains(c, StringComparer.Ordinal)).ToArray() ?? []
            : sortBy.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(c => RequireName(c, sortBy)).ToArray();
        var strategy = new PartitionStrategy
        {
            PartitionColumns = partitionBy is null && basis is not null ? basis.PartitionColumns : partitions,
            DerivedColumns = partitionBy is null && basis is not null ? basis.DerivedColumns : derived,
            TruncateColumns = partitionBy is null && basis is not null ? basis.TruncateColumns : truncations,
            TimeColumn = partitionBy is null && basis is not null ? basis.TimeColumn : timeColumn,
            BucketColumn = partitionBy is null && basis is not null ? basis.BucketColumn : bucketColumn,
            BucketCount = partitionBy is null && basis is not null ? basis.BucketCount : bucketCount,
            SortColumns = sort,
            DataType = basis?.DataType,
        };
        try
        {
            strategy.Validate();
        }
        catch (DataLakeException e) when (e is not InvalidInputException)
        {
            throw new InvalidInputException(e.Message);
        }
        return strategy;
    }

    /// <summary>The layout as <see cref="Parse"/> reads it: <c>year(timestamp),month(timestamp),bucket(10, id)</c>.</summary>
    public static string Format(PartitionStrategy strategy)
    {
        var items = new List<string>();
        foreach (var column in strategy.PartitionColumns)
        {
            if (strategy.TruncateColumns.FirstOrDefault(x => x.Name == column) is { } t)
            {
                items.Add($"truncate({t.Width}, {t.Source})");
                continue;
            }
            var d = strategy.DerivedColumns.FirstOrDefault(x => x.Name == column);
            items.Add(d is null || strategy.TimeColumn is null ? column : $"{d.Part.ToString().ToLowerInvariant()}({strategy.TimeColumn})");
        }
        if (strategy.BucketColumn is not null) items.Add($"bucket({strategy.BucketCount}, {strategy.BucketColumn})");
        var text = items.Count == 0 ? "(unpartitioned)" : string.Join(",", items);
        return strategy.SortColumns.Count > 0 ? $"{text} sort by {string.Join(",", strategy.SortColumns)}" : text;
    }

    /// <summary>Whether two strategies lay rows out the same (partitions, derived parts, time column, buckets, sort).</summary>
    public static bool SameLayout(PartitionStrategy a, PartitionStrategy b) =>
        a.PartitionColumns.SequenceEqual(b.PartitionColumns, StringComparer.Ordinal)
        && a.SortColumns.SequenceEqual(b.SortColumns, StringComparer.Ordinal)
        && a.DerivedColumns.SequenceEqual(b.DerivedColumns)
        && a.TruncateColumns.SequenceEqual(b.TruncateColumns)
        && (a.DerivedColumns.Count == 0 || a.TimeColumn == b.TimeColumn)
        && a.BucketColumn == b.BucketColumn && a.BucketCount == b.BucketCount;

    private static string RequireName(string name, string text)
    {
        if (name.Length == 0 || name.Any(ch => ch is '(' or ')' or ',' or '/' or '='))
            throw new InvalidInputException($"'{name}' in '{text}' is not a column name.");
        return name;
    }

    // Splits on commas outside parentheses: "bucket(4, id),day(t)" -> ["bucket(4, id)", "day(t)"].
    private static List<string> SplitTopLevel(string text)
    {
        var items = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || (text[i] == ',' && depth == 0))
            {
                var item = text[start..i].Trim();
                if (item.Length > 0) items.Add(item);
                start = i + 1;
            }
            else if (text[i] == '(') depth++;
            else if (text[i] == ')') depth--;
        }
        return items;
    }
}
