namespace Ecap.DataLake.Catalog;

/// <summary>Lifecycle of a catalog entry; only <see cref="Active"/> tables are meant for new work.</summary>
public enum TableStatus
{
    Active,
    Deprecated,
    Archived,
}

public static class TableStatuses
{
    public static TableStatus Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "active" => TableStatus.Active,
        "deprecated" => TableStatus.Deprecated,
        "archived" => TableStatus.Archived,
        _ => throw new InvalidInputException($"Unknown table status '{text}'. Valid statuses: active, deprecated, archived."),
    };

    public static string Name(this TableStatus status) => status.ToString().ToLowerInvariant();
}

/// <summary>One column of a table schema (top-level field), with its Delta type name.</summary>
public sealed record CatalogColumn(string Name, string Type, bool Nullable)
{
    /// <summary>The name the data files use for the column under Delta column mapping (null without): a rename keeps it.</summary>
    public string? PhysicalName { get; init; }
}

/// <summary>A column renamed between two schema versions (same physical name under column mapping, another name).</summary>
public sealed record ColumnRename(string From, string To);

/// <summary>A schema the table had from <see cref="Version"/> on (recorded when it first appeared in the log).</summary>
public sealed record SchemaVersion(long Version, DateTimeOffset? Timestamp, IReadOnlyList<CatalogColumn> Columns);

/// <summary>A schema version with what changed against the previous one.</summary>
public sealed record SchemaChange(long Version, DateTimeOffset? Timestamp, IReadOnlyList<CatalogColumn> Columns,
    IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<string> Changed)
{
    /// <summary>Columns renamed at this version (column mapping), not listed as removed and added.</summary>
    public IReadOnlyList<ColumnRename> Renamed { get; init; } = [];
}

public sealed record ValueCount(string? Value, long Count);

/// <summary>Statistics of one column. Min/max are invariant text (ISO times); <see cref="MinMaxSource"/> says where they come from.</summary>
public sealed record ColumnStatistics
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    public long? NullCount { get; init; }
    public string? Min { get; init; }
    public string? Max { get; init; }
    /// <summary>"file_stats" (exact over the table), "file_stats_ms" (timestamps: bounds to the millisecond), "partition_values", "sample" (bounds of the sampled rows only), or null when unknown.</summary>
    public string? MinMaxSource { get; init; }
    /// <summary>HyperLogLog estimate over the sample (±~1% when the sample covers the table).</summary>
    public long? DistinctCount { get; init; }
    public double? AvgLength { get; init; }
    public int? MaxLength { get; init; }
    /// <summary>Most frequent values in the sample, for low-cardinality columns only.</summary>
    public IReadOnlyList<ValueCount>? TopValues { get; init; }
}

/// <summary>Statistics computed by <see cref="MetadataManager.UpdateTableStatisticsAsync"/> at one table version.</summary>
public sealed record TableStatistics
{
    public long Version { get; init; }
    public DateTimeOffset ComputedAt { get; init; }
    public long RowCount { get; init; }
    public long SizeBytes { get; init; }
    public int FileCount { get; init; }
    public int PartitionCount { get; init; }
    public long SampledRows { get; init; }
    public IReadOnlyList<ColumnStatistics> Columns { get; init; } = [];
}

/// <summary>What the catalog knows about one table. Immutable: edits produce a new version of the document.</summary>
public sealed record CatalogEntry
{
    public required string Name { get; init; }
    public string Database { get; init; } = MetadataManager.DefaultDatabase;
    /// <summary>The table's location (folder or URL).</summary>
    public required string Path { get; init; }
    public string? Description { get; init; }
    public string? Owner { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public TableStatus Status { get; init; } = TableStatus.Active;
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>The Delta version the entry was last synced with.</summary>
    public long TableVersion { get; init; } = -1;
    public long RowCount { get; init; }
    public long SizeBytes { get; init; }
    public int FileCount { get; init; }
    public IReadOnlyList<string> PartitionColumns { get; init; } = [];
    public IReadOnlyList<CatalogColumn> Columns { get; init; } = [];
    public IReadOnlyList<SchemaVersion> SchemaHistory { get; init; } = [];
    public TableStatistics? Statistics { get; init; }
    /// <summary>Direct upstream tables (this table is derived from them), as "database.name".</summary>
    public IReadOnlyList<string> Upstream { get; init; } = [];
    /// <summary>Access grants; only the reserved entry <c>_ecap.grants</c> holds them (see <see cref="Security.IGrantStore.GetGrantsAsync"/>).</summary>
    public IReadOnlyList<Security.Grant>? Grants { get; init; }

    /// <summary>Entries of reserved databases (<c>_ecap</c>: grants) are governance documents, not tables.</summary>
    public bool IsReserved => Database == Security.LakeGrantStore.ReservedDatabase;

    public string QualifiedName => Database + "." + Name;
}

/// <summary>A search hit: rank 0 = exact name, 1 = name prefix, 2 = name substring, 3 = other fields.</summary>
public sealed record SearchResult(CatalogEntry Entry, int Rank, IReadOnlyList<string> MatchedFields);

/// <summary>A lineage graph around one table: nodes reached and the edges (upstream -> downstream) among them.</summary>
public sealed record LineageGraph(string Table, IReadOnlyList<string> DirectUpstream, IReadOnlyList<string> DirectDownstream,
    IReadOnlyList<string> AllUpstream, IReadOnlyList<string> AllDownstream, IReadOnlyList<LineageEdge> Edges);

public sealed record LineageEdge(string Upstream, string Downstream);

/// <summary>A table as <c>catalog show</c> presents it: its entry, every schema it had, and its lineage.</summary>
public sealed record TableOverview(CatalogEntry Entry, IReadOnlyList<SchemaChange> SchemaHistory, LineageGraph Lineage);
