using System.Globalization;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// Retention policies: a table property (<see cref="DataCompactor.RetentionDaysProperty"/>) says how many days of
/// rows to keep, by the table strategy's time column. A file goes when all its rows are older than the cutoff:
/// known from its partition's derived year/month/day values (the partition ends before the cutoff), or, without
/// time partitions, from its stats (the time column's max is before the cutoff). All go in one commit.
/// </summary>
internal static class TableRetention
{
    public static async Task<long> SetPolicyAsync(DataLakeStorage storage, string tableName, int? days, CancellationToken ct)
    {
        if (days is <= 0) throw new InvalidInputException($"A retention policy needs a positive number of days (got {days}).");
        var table = await DataCompactor.OpenExistingAsync(storage, tableName, ct);
        var snapshot = await table.GetSnapshotAsync(ct);
        if (days is not null && TableLayout.FromMetadata(snapshot.Metadata).TimeColumn is null)
            throw new InvalidInputException($"Table '{tableName}' has no time column in its partition strategy, so a retention policy cannot tell old rows.");
        var configuration = new Dictionary<string, string>(snapshot.Metadata.Configuration, StringComparer.Ordinal);
        if (days is { } d) configuration[DataCompactor.RetentionDaysProperty] = d.ToString(CultureInfo.InvariantCulture);
        else configuration.Remove(DataCompactor.RetentionDaysProperty);
        var tx = table.StartTransaction(snapshot, days is null ? "UNSET TBLPROPERTIES" : "SET TBLPROPERTIES");
        tx.ColumnMappingAware = true; // a property only: no file names a column
        tx.SetMetadata(snapshot.Metadata with { Configuration = configuration });
        tx.OperationParameters["properties"] = $"{{\"{DataCompactor.RetentionDaysProperty}\":\"{days}\"}}";
        var commit = await tx.CommitAsync(ct);
        return commit.Version;
    }

    public static async Task<RetentionResult> ApplyAsync(DataLakeStorage storage, string tableName, RetentionOptions options, CancellationToken ct)
    {
        var table = await DataCompactor.OpenExistingAsync(storage, tableName, ct);
        var snapshot = await table.GetSnapshotAsync(ct);
        if (options.Days is { } asked && !options.DryRun)
            throw new InvalidInputException("RetentionOptions.Days previews a policy (with DryRun); set the table's policy to apply it.");
        if (options.Days is { } preview)
        {
            if (preview <= 0) throw new InvalidInputException($"Retention days must be positive, not {preview}.");
        }
        else if (!snapshot.Metadata.Configuration.TryGetValue(DataCompactor.RetentionDaysProperty, out var text) ||
            !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var policy) || policy <= 0)
            throw new InvalidInputException($"Table '{tableName}' has no retention policy ({DataCompactor.RetentionDaysProperty}); set one first.");
        var strategy = TableLayout.FromMetadata(snapshot.Metadata);
        var timeColumn = strategy.TimeColumn
            ?? throw new InvalidInputException($"Table '{tableName}' has no time column in its partition strategy.");
        var days = options.Days ?? int.Parse(snapshot.Metadata.Configuration[DataCompactor.RetentionDaysProperty], CultureInfo.InvariantCulture);
        var cutoff = (options.Now ?? DateTimeOffset.UtcNow) - TimeSpan.FromDays(days);
        var schema = snapshot.Schema;

        var expired = snapshot.Files.Where(f => AllRowsBefore(f, strategy, timeColumn, schema, cutoff)).ToList();
        var partitions = FileGroup.Of(expired, snapshot.PartitionColumns)
            .GroupBy(g => g.PartitionKey, StringComparer.Ordinal).Select(g => g.First().PartitionValues).ToList();
        var rows = TableInspector.RowCount(expired);
        long? version = null;
        if (!options.DryRun && expired.Count > 0)
        {
            var tx = table.StartTransaction(snapshot, "DELETE");
            tx.ColumnMappingAware = true; // removes only, written with the log's physical keys
            foreach (var f in expired) tx.Remove(f, dataChange: true);
            tx.OperationParameters["predicate"] = $"[\"{timeColumn} < '{cutoff.UtcDateTime:O}'\"]";
            tx.OperationParameters["retentionDays"] = days.ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numRemovedFiles"] = expired.Count.ToString(CultureInfo.InvariantCulture);
            tx.OperationMetrics["numDeletedRows"] = rows.ToString(CultureInfo.InvariantCulture);
            version = (await tx.CommitAsync(ct)).Version;
        }
        return new RetentionResult(tableName, days, cutoff, options.DryRun, partitions, expired.Count, rows, version);
    }

    internal static bool AllRowsBefore(AddFile file, PartitionStrategy strategy, string timeColumn, Apache.Arrow.Schema schema, DateTimeOffset cutoff)
    {
        if (PartitionEnd(file, strategy) is { } end) return end <= cutoff;
        // No time partitions: the file's stats max (micros since the epoch, an upper bound) decides.
        if (DataFileStats.TryParse(file.Stats, schema, out var stats) && stats.GetBounds(timeColumn) is { Max: long maxMicros })
            return DateTimeOffset.UnixEpoch.AddTicks(maxMicros * 10) < cutoff;
        return false;
    }

    /// <summary>When the file's time partition ends (exclusive), from its year[/month[/day]] values; null when it has none.</summary>
    private static DateTimeOffset? PartitionEnd(AddFile file, PartitionStrategy strategy)
    {
        int? Part(TimePart part)
        {
            var column = strategy.DerivedColumns.FirstOrDefault(d => d.Part == part && strategy.PartitionColumns.Contains(d.Name));
            return column is not null && file.PartitionValues.GetValueOrDefault(column.Name) is { } v &&
                   int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;
        }
        if (Part(TimePart.Year) is not { } year) return null;
        if (Part(TimePart.Month) is not { } month) return new DateTimeOffset(year + 1, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var start = new DateTimeOffset(year, month, 1, 0, 0, 0, TimeSpan.Zero);
        return Part(TimePart.Day) is { } day ? start.AddDays(day) : start.AddMonths(1);
    }
}
