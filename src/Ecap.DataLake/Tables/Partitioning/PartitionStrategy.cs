using System.Globalization;
using System.Text.Json;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tables.Partitioning;

/// <summary>Which part of a UTC instant a derived partition column holds.</summary>
public enum TimePart
{
    Year,
    Month,
    Day,
    /// <summary>Hour of the day (0..23, UTC); 0 for a date column.</summary>
    Hour,
}

/// <summary>
/// A real int32 column of the table computed from the strategy's time column in UTC
/// (for example <c>year</c>, <c>month</c>, <c>day</c>, <c>hour</c>). It is stored like any column, so partition
/// filters and SQL see it.
/// </summary>
public sealed record DerivedColumn(string Name, TimePart Part);

/// <summary>
/// A real column of the table computed by Iceberg's <c>truncate(W, col)</c> from <paramref name="Source"/>: an integer to the
/// multiple of <paramref name="Width"/> at or below it (<c>v - ((v % W) + W) % W</c>), a string to its first W characters
/// (Unicode code points). Named <c>{source}_trunc</c> by <see cref="PartitionSpec"/>, as Iceberg names the partition field.
/// </summary>
public sealed record TruncateColumn(string Name, string Source, int Width);

/// <summary>
/// How a table's rows are laid out in files: the partition columns (in directory order), the
/// derived time columns they may use, the sort order of rows inside each file, and an optional
/// bucket column (Iceberg's bucket transform, see <see cref="IcebergBucket"/>).
/// <para>
/// Built-in strategies come from <see cref="For(DataType, string?)"/>; any other layout from
/// <see cref="Custom"/>. The time column of a built-in strategy is configurable with
/// <c>strategy with { TimeColumn = "..." }</c>.
/// </para>
/// </summary>
public sealed record PartitionStrategy
{
    /// <summary>Partition columns in directory order; may name derived columns.</summary>
    public IReadOnlyList<string> PartitionColumns { get; init; } = [];

    /// <summary>Columns computed from <see cref="TimeColumn"/> (kept as they are when the batch already has them).</summary>
    public IReadOnlyList<DerivedColumn> DerivedColumns { get; init; } = [];

    /// <summary>Columns computed by truncating another column (kept as they are when the batch already has them).</summary>
    public IReadOnlyList<TruncateColumn> TruncateColumns { get; init; } = [];

    /// <summary>The columns a write computes (derived time parts and truncations): not needed from the input.</summary>
    internal IEnumerable<string> ComputedColumns => DerivedColumns.Select(d => d.Name).Concat(TruncateColumns.Select(t => t.Name));

    /// <summary>Rows inside each group are sorted by these columns: stable, ascending, nulls first.</summary>
    public IReadOnlyList<string> SortColumns { get; init; } = [];

    /// <summary>The column holding the event time from which <see cref="DerivedColumns"/> are computed (UTC).</summary>
    public string? TimeColumn { get; init; }

    /// <summary>Column whose value picks a bucket (<see cref="IcebergBucket"/>); null for no buckets.</summary>
    public string? BucketColumn { get; init; }

    /// <summary>Number of buckets when <see cref="BucketColumn"/> is set.</summary>
    public int BucketCount { get; init; }

    /// <summary>The data type this strategy was built for, or null for a custom strategy.</summary>
    public DataType? DataType { get; init; }

    /// <summary>Name of the option a user sets to change the time column; used in error messages.</summary>
    public const string TimeColumnOption = nameof(TimeColumn);

    private static readonly DerivedColumn Year = new("year", TimePart.Year);
    private static readonly DerivedColumn Month = new("month", TimePart.Month);
    private static readonly DerivedColumn Day = new("day", TimePart.Day);

    /// <summary>The built-in strategy of a data type, optionally with another time column.</summary>
    /// <remarks>
    /// | data type | time column | partitions | sort |
    /// |---|---|---|---|
    /// | transactions | timestamp | year/month/day | transaction_id |
    /// | user_events | event_timestamp | year/month/day/event_type | session_id, event_timestamp |
    /// | product_updates | updated_at | category/year/month | product_id |
    /// | analytics_results | computed_at | result_type/year/month | computation_id |
    /// | customer_profiles | (none) | customer_segment/region, 10 buckets on customer_id | customer_id |
    /// </remarks>
    public static PartitionStrategy For(DataType type, string? timeColumn = null)
    {
        var s = type switch
        {
            Partitioning.DataType.Transactions => new PartitionStrategy
            {
                TimeColumn = "timestamp",
                DerivedColumns = [Year, Month, Day],
                PartitionColumns = ["year", "month", "day"],
                SortColumns = ["transaction_id"],
            },
            Partitioning.DataType.UserEvents => new PartitionStrategy
            {
                TimeColumn = "event_timestamp",
                DerivedColumns = [Year, Month, Day],
                PartitionColumns = ["year", "month", "day", "event_type"],
                SortColumns = ["session_id", "event_timestamp"],
            },
            Partitioning.DataType.ProductUpdates => new PartitionStrategy
            {
                TimeColumn = "updated_at",
                DerivedColumns = [Year, Month],
                PartitionColumns = ["category", "year", "month"],
                SortColumns = ["product_id"],
            },
            Partitioning.DataType.AnalyticsResults => new PartitionStrategy
            {
                TimeColumn = "computed_at",
                DerivedColumns = [Year, Month],
                PartitionColumns = ["result_type", "year", "month"],
                SortColumns = ["computation_id"],
            },
            Partitioning.DataType.CustomerProfiles => new PartitionStrategy
            {
                PartitionColumns = ["customer_segment", "region"],
                SortColumns = ["customer_id"],
                BucketColumn = "customer_id",
                BucketCount = 10,
            },
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown data type."),
        };
        s = s with { DataType = type };
        if (timeColumn is not null)
        {
            if (s.DerivedColumns.Count == 0)
                throw new DataLakeException(
                    $"The {type.ToName()} strategy has no time-derived partition columns, so it takes no time column.");
            s = s with { TimeColumn = timeColumn };
        }
        return s;
    }

    /// <summary>
    /// A custom strategy. Partition columns named <c>year</c>, <c>month</c> or <c>day</c> are derived from
    /// <paramref name="timeColumn"/> when it is given (and the batch lacks them).
    /// </summary>
    public static PartitionStrategy Custom(
        IEnumerable<string> partitionColumns,
        IEnumerable<string>? sortColumns = null,
        string? bucketColumn = null,
        int bucketCount = 0,
        string? timeColumn = null)
    {
        var parts = partitionColumns.ToArray();
        var derived = new List<DerivedColumn>();
        if (timeColumn is not null)
        {
            foreach (var d in new[] { Year, Month, Day })
                if (parts.Contains(d.Name, StringComparer.Ordinal)) derived.Add(d);
        }
        var s = new PartitionStrategy
        {
            PartitionColumns = parts,
            SortColumns = sortColumns?.ToArray() ?? [],
            BucketColumn = bucketColumn,
            BucketCount = bucketCount,
            TimeColumn = timeColumn,
            DerivedColumns = derived,
        };
        s.Validate();
        return s;
    }

    /// <summary>Checks the strategy is self-consistent (not against a schema).</summary>
    /// <exception cref="DataLakeException">Duplicate partition columns, a bad bucket count, derived columns without a time column.</exception>
    public void Validate()
    {
        if (PartitionColumns.Distinct(StringComparer.Ordinal).Count() != PartitionColumns.Count)
            throw new DataLakeException($"Partition columns must be distinct: {string.Join(", ", PartitionColumns)}.");
        if (BucketColumn is not null && BucketCount <= 0)
            throw new DataLakeException($"Bucket column '{BucketColumn}' needs a positive bucket count (got {BucketCount}).");
        if (BucketColumn is null && BucketCount != 0)
            throw new DataLakeException($"A bucket count ({BucketCount}) was given without a bucket column.");
        if (DerivedColumns.Count > 0 && string.IsNullOrEmpty(TimeColumn))
            throw new DataLakeException(
                $"Derived columns ({string.Join(", ", DerivedColumns.Select(d => d.Name))}) need a time column; set {TimeColumnOption}.");
        foreach (var t in TruncateColumns)
        {
            if (t.Width <= 0) throw new DataLakeException($"truncate({t.Width}, {t.Source}) needs a positive width.");
            if (t.Name == t.Source || DerivedColumns.Any(d => d.Name == t.Name))
                throw new DataLakeException($"Truncated column '{t.Name}' clashes with another column of the layout.");
        }
        foreach (var s in SortColumns)
            if (PartitionColumns.Contains(s, StringComparer.Ordinal))
                throw new DataLakeException($"Sort column '{s}' is also a partition column; partition columns are constant within a file.");
    }

    /// <summary>Prefix of the table properties (Delta <c>metaData.configuration</c>) that hold a strategy.</summary>
    public const string PropertyPrefix = "ecap.partitioning.";

    /// <summary>
    /// The strategy as table properties, so a table remembers how it is laid out (Delta keeps the partition
    /// columns itself in <c>metaData.partitionColumns</c>; these properties hold the rest). Lists are JSON arrays.
    /// </summary>
    public IReadOnlyDictionary<string, string> ToTableProperties()
    {
        var p = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [PropertyPrefix + "partitionColumns"] = JsonSerializer.Serialize(PartitionColumns),
            [PropertyPrefix + "sortColumns"] = JsonSerializer.Serialize(SortColumns),
        };
        if (DataType is { } t) p[PropertyPrefix + "dataType"] = t.ToName();
        if (TimeColumn is not null) p[PropertyPrefix + "timeColumn"] = TimeColumn;
        if (DerivedColumns.Count > 0)
            p[PropertyPrefix + "derivedColumns"] = JsonSerializer.Serialize(
                DerivedColumns.Select(d => $"{d.Name}:{d.Part.ToString().ToLowerInvariant()}").ToArray());
        if (TruncateColumns.Count > 0)
            p[PropertyPrefix + "truncateColumns"] = JsonSerializer.Serialize(
                TruncateColumns.Select(t => new[] { t.Name, t.Source, t.Width.ToString(CultureInfo.InvariantCulture) }).ToArray());
        if (BucketColumn is not null)
        {
            p[PropertyPrefix + "bucketColumn"] = BucketColumn;
            p[PropertyPrefix + "bucketCount"] = BucketCount.ToString(CultureInfo.InvariantCulture);
        }
        return p;
    }

    /// <summary>Reads a strategy written by <see cref="ToTableProperties"/>; null when the properties hold none.</summary>
    /// <exception cref="CorruptTableException">The properties are present but malformed.</exception>
    public static PartitionStrategy? FromTableProperties(IReadOnlyDictionary<string, string> properties)
    {
        if (!properties.TryGetValue(PropertyPrefix + "partitionColumns", out var partitionJson)) return null;
        try
        {
            string? Get(string key) => properties.TryGetValue(PropertyPrefix + key, out var v) ? v : null;
            string[] List(string? json) => json is null ? [] : JsonSerializer.Deserialize<string[]>(json) ?? [];
            var derived = List(Get("derivedColumns")).Select(text =>
            {
                int colon = text.LastIndexOf(':');
                if (colon <= 0) throw new FormatException($"derived column '{text}' is not name:part");
                return new DerivedColumn(text[..colon], Enum.Parse<TimePart>(text[(colon + 1)..], ignoreCase: true));
            }).ToArray();
            var truncated = (Get("truncateColumns") is { } tj ? JsonSerializer.Deserialize<string[][]>(tj) ?? [] : []).Select(t =>
                t.Length == 3 ? new TruncateColumn(t[0], t[1], int.Parse(t[2], CultureInfo.InvariantCulture))
                    : throw new FormatException("a truncate column is not [name, source, width]")).ToArray();
            var s = new PartitionStrategy
            {
                TruncateColumns = truncated,
                PartitionColumns = List(partitionJson),
                SortColumns = List(Get("sortColumns")),
                TimeColumn = Get("timeColumn"),
                DerivedColumns = derived,
                BucketColumn = Get("bucketColumn"),
                BucketCount = Get("bucketCount") is { } count ? int.Parse(count, CultureInfo.InvariantCulture) : 0,
                DataType = Get("dataType") is { } name ? DataTypes.Parse(name) : null,
            };
            s.Validate();
            return s;
        }
        catch (Exception e) when (e is JsonException or FormatException or ArgumentException or OverflowException or DataLakeException)
        {
            throw new CorruptTableException($"The table's partitioning properties ({PropertyPrefix}*) are malformed: {e.Message}", e);
        }
    }

    /// <summary>A short description for logs and table info, e.g. <c>year/month/day sort(transaction_id)</c>.</summary>
    public override string ToString()
    {
        var text = PartitionColumns.Count == 0 ? "(unpartitioned)" : string.Join('/', PartitionColumns);
        if (BucketColumn is not null) text += $" bucket({BucketCount}, {BucketColumn})";
        if (SortColumns.Count > 0) text += $" sort({string.Join(", ", SortColumns)})";
        if (TimeColumn is not null && DerivedColumns.Count > 0) text += $" time({TimeColumn})";
        return text;
    }
}
