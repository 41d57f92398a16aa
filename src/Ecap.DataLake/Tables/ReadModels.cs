using Ecap.DataLake.Expressions;

namespace Ecap.DataLake.Tables;

/// <summary>A filter on one partition column: a value, a list (IN) or a range.</summary>
public sealed record PartitionFilter(string Column, IReadOnlyList<string?>? Values = null, string? Min = null, string? Max = null)
{
    public static PartitionFilter Equal(string column, object? value) => new(column, [Format(value)]);

    public static PartitionFilter In(string column, params object?[] values) => new(column, values.Select(Format).ToList());

    /// <summary>Inclusive range; either end may be null (open).</summary>
    public static PartitionFilter Between(string column, object? min, object? max) => new(column, null, Format(min), Format(max));

    private static string? Format(object? v) => v switch
    {
        null => null,
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToString(),
    };
}

/// <summary>Options of a table read.</summary>
public sealed record ReadOptions
{
    public IReadOnlyList<PartitionFilter> PartitionFilters { get; init; } = [];

    /// <summary>Columns to return (all when null), in this order.</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>A predicate on data (and partition) columns, pushed down to file and row-group stats, then applied to rows.</summary>
    public Predicate? Predicate { get; init; }

    public long? Limit { get; init; }

    /// <summary>Read the table as of this version (time travel).</summary>
    public long? Version { get; init; }

    /// <summary>Read the table as of this time (latest commit at or before it).</summary>
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>Rows per returned batch, at most.</summary>
    public int BatchSize { get; init; } = 64 * 1024;

    /// <summary>Also return each row's physical index in its data file, as an int64 column of this name (row-level changes).</summary>
    internal string? RowIndexColumn { get; init; }
}

/// <summary>What a read touched and what it skipped; filled in as the read streams.</summary>
public sealed class ReadMetrics
{
    public int PartitionsTotal { get; internal set; }
    public int PartitionsPruned { get; internal set; }
    public int FilesTotal { get; internal set; }
    public int FilesPrunedByPartition { get; internal set; }
    public int FilesPrunedByStats { get; internal set; }
    public int FilesPrunedByBucket { get; internal set; }
    public int FilesRead { get; internal set; }
    public int RowGroupsTotal { get; internal set; }
    public int RowGroupsPruned { get; internal set; }
    public long BytesScanned { get; internal set; }
    public long RowsScanned { get; internal set; }
    public long RowsReturned { get; internal set; }
}
