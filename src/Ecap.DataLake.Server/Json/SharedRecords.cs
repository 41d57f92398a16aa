using System.Text.Json.Serialization;
using Ecap.DataLake.Catalog;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Server.Json;

// The JSON records the CLI's --output json and the REST API share, serialized by LakeJson (snake_case of the property
// names). They exist where a library record's names, units, rounding or time format differ from the documented shape
// (README "JSON output"); library records that already have the shape (CatalogEntry, LineageGraph, ...) are sent as they are.

internal sealed record TableInfoJson(string Name, string Location, long Version,
    [property: JsonConverter(typeof(UtcTimestampConverter))] DateTimeOffset LastModified,
    long RecordCount, long FileCount, long TotalSizeBytes, long AverageFileSizeBytes, long SmallFileCount, long SmallFileThresholdBytes,
    long PartitionCount, double PartitionSkew, double CompressionRatio,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? DataType,
    IReadOnlyList<string> PartitionColumns, IEnumerable<TableInfoJson.Partition> Partitions, IReadOnlyList<Ecap.DataLake.Tables.FileSizeBucket> FileSizeHistogram,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TableInfoJson.Cost? StorageCost,
    IEnumerable<TableInfoJson.Column> Schema,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TableInfoJson.Auto? AutoCompaction,
    PartitionAdviceJson? PartitionAdvice)
{
    internal sealed record Auto(bool Enabled, int MinNumFiles, long MaxFileSizeBytes,
        [property: JsonConverter(typeof(UtcTimestampConverter))] DateTimeOffset? LastRunAt, string? LastOutcome, long? LastTriggeredBy,
        int? LastFilesRemoved, int? LastFilesAdded, string? LastError,
        [property: JsonConverter(typeof(UtcTimestampConverter))] DateTimeOffset? LastCompactedAt, long? LastCompactedVersion);

    internal sealed record Partition(IReadOnlyDictionary<string, string?> Values, long FileCount, long RecordCount, long SizeBytes);

    internal sealed record Column(string Name, string Type, bool Nullable);

    internal sealed record Cost(decimal SizeGb, string StorageClass, decimal PricePerGbMonth, decimal MonthlyCost, string Currency, IEnumerable<ClassCost> ByClass,
        IEnumerable<StoredCost>? Stored);

    // As stored (S3 reports each file's class): the files, bytes and cost of each class; null when priced in one class.
    internal sealed record StoredCost(string StorageClass, int FileCount, long SizeBytes, decimal PricePerGbMonth, decimal MonthlyCost);

    internal sealed record ClassCost(string StorageClass, decimal PricePerGbMonth, decimal MonthlyCost);

    public static TableInfoJson From(TableInfo i, StorageCostEstimate? cost) => new(i.Name, i.Location, i.Version, i.LastModified, i.RecordCount,
        i.FileCount, i.TotalSizeBytes, i.AverageFileSizeBytes, i.SmallFileCount, i.SmallFileThresholdBytes, i.PartitionCount,
        Math.Round(i.PartitionSkew, 3), Math.Round(i.CompressionRatio, 3), i.DataType, i.PartitionColumns,
        i.Partitions.Select(p => new Partition(p.Values, p.FileCount, p.RecordCount, p.SizeBytes)), i.FileSizeHistogram,
        cost is null ? null : new Cost(Math.Round(cost.Gb, 12), cost.StorageClass, cost.PricePerGbMonth, Math.Round(cost.MonthlyCost, 10), cost.Currency,
            cost.ByClass.Select(c => new ClassCost(c.StorageClass, c.PricePerGbMonth, Math.Round(c.MonthlyCost, 10))),
            cost.Stored?.Select(c => new StoredCost(c.StorageClass, c.FileCount, c.Bytes, c.PricePerGbMonth, Math.Round(c.MonthlyCost, 10)))),
        i.Schema.Select(c => new Column(c.Name, c.Type, c.Nullable)),
        i.AutoCompaction is not { } a ? null : new Auto(a.Enabled, a.MinNumFiles, a.MaxFileSizeBytes, a.Last?.LastRunAt, a.Last?.Outcome, a.Last?.TriggeredBy,
            a.Last?.FilesRemoved, a.Last?.FilesAdded, a.Last?.Error, a.Last?.LastCompactedAt, a.Last?.LastCompactedVersion),
        PartitionAdviceJson.From(i.PartitionAdvice, i.Name));
}

/// <summary>The <c>partition_advice</c> of <c>storage info</c> and <c>compaction analyze</c> (null: the partitions are big enough).</summary>
internal sealed record PartitionAdviceJson(string CurrentPartitionBy, string SuggestedPartitionBy, int PartitionCount, int SuggestedPartitionCount,
    long MedianPartitionBytes, long SuggestedMedianPartitionBytes, long TargetFileSizeBytes, string Message, string Command)
{
    public static PartitionAdviceJson? From(PartitionAdvice? a, string table) => a is null ? null : new(a.CurrentPartitionBy, a.SuggestedPartitionBy, a.PartitionCount,
        a.SuggestedPartitionCount, a.MedianPartitionBytes, a.SuggestedMedianPartitionBytes, a.TargetFileSizeBytes, a.Message, CommandFor(table, a));

    /// <summary>The command that rewrites <paramref name="table"/> into the suggested layout.</summary>
    public static string CommandFor(string table, PartitionAdvice a) =>
        $"ecap data-lake storage alter {table} --partition-by \"{(a.SuggestedPartitionBy.Length == 0 ? "none" : a.SuggestedPartitionBy)}\"";
}

internal sealed record HistoryJson(long Version, [property: JsonConverter(typeof(UtcTimestampConverter))] DateTimeOffset Timestamp, string Operation,
    IReadOnlyDictionary<string, string> Parameters, IReadOnlyDictionary<string, string> Metrics)
{
    public static HistoryJson From(TableHistoryEntry h) => new(h.Version, h.Timestamp, h.Operation, h.Parameters, h.Metrics);
}

/// <summary>The <c>stats</c> of <c>query --output json --stats</c>; files read/pruned are null when DuckDB's profile could not be read.</summary>
internal sealed record QueryStatsJson(IReadOnlyList<string> Tables, long FilesConsidered, long? FilesRead, long? FilesPruned, long BytesScanned,
    long RowsReturned, double ElapsedMs)
{
    public static QueryStatsJson From(Ecap.DataLake.Query.QueryStats s) => new(s.TablesReferenced.ToList(), s.FilesConsidered,
        s.FilesRead < 0 ? null : s.FilesRead, s.FilesRead < 0 ? null : s.FilesPruned, s.BytesScanned, s.RowsReturned, Math.Round(s.Elapsed.TotalMilliseconds, 1));
}

[OmitNullMembers]
internal sealed record CatalogSummaryJson(string Name, string Database, string Path, TableStatus Status, string? Description, string? Owner,
    IReadOnlyList<string> Tags, long TableVersion, long RowCount, long SizeBytes, long FileCount, DateTimeOffset UpdatedAt)
{
    public static CatalogSummaryJson From(CatalogEntry e) => new(e.Name, e.Database, e.Path, e.Status, e.Description, e.Owner, e.Tags,
        e.TableVersion, e.RowCount, e.SizeBytes, e.FileCount, e.UpdatedAt);
}

[OmitNullMembers]
internal sealed record CatalogSearchHitJson(string Name, string Database, int Rank, IReadOnlyList<string> MatchedFields, string? Description,
    string? Owner, IReadOnlyList<string> Tags, TableStatus Status)
{
    public static CatalogSearchHitJson From(SearchResult h) => new(h.Entry.Name, h.Entry.Database, h.Rank, h.MatchedFields, h.Entry.Description,
        h.Entry.Owner, h.Entry.Tags, h.Entry.Status);
}

[OmitNullMembers]
internal sealed record CatalogShowJson(CatalogEntry Table, IReadOnlyList<SchemaChange> SchemaChanges, LineageGraph Lineage);

