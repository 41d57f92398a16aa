using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tables.Reading;

/// <summary>
/// Decides which live files of a snapshot a read must open: partition filters against the log's
/// partition values, the predicate against partition values and file stats, and bucket pruning for
/// equality/IN filters on the bucket column. A file is skipped only when it provably has no match:
/// missing stats never skip.
/// </summary>
internal sealed class FilePruning
{
    private readonly Schema _schema;
    private readonly HashSet<string> _partitionColumns;
    private readonly IReadOnlyList<PartitionFilter> _filters;
    private readonly Predicate? _predicate;
    private readonly HashSet<int>? _buckets;
    private readonly string? _timeColumn;
    private readonly IArrowType? _timeType;
    private readonly List<(string Column, TimePart Part)> _timeParts = [];

    public FilePruning(Snapshot snapshot, ReadOptions options)
    {
        _schema = snapshot.Schema;
        _partitionColumns = snapshot.PartitionColumns.ToHashSet(StringComparer.Ordinal);
        _filters = options.PartitionFilters;
        _predicate = options.Predicate;
        foreach (var f in _filters)
        {
            if (!_partitionColumns.Contains(f.Column))
                throw new InvalidInputException(
                    $"'{f.Column}' is not a partition column of this table (partition columns: {(_partitionColumns.Count == 0 ? "none" : string.Join(", ", snapshot.PartitionColumns))}); filter data columns with a predicate (--where).");
        }
        var strategy = TableLayout.FromMetadata(snapshot.Metadata);
        // year/month/day/hour partitions bound the time column they derive from, for files without its stats.
        if (strategy.TimeColumn is { } timeColumn && _schema.GetFieldByName(timeColumn)?.DataType is { TypeId: ArrowTypeId.Timestamp or ArrowTypeId.Date32 } timeType
            && !_partitionColumns.Contains(timeColumn))
        {
            foreach (var part in (TimePart[])[TimePart.Year, TimePart.Month, TimePart.Day, TimePart.Hour])
            {
                // Only a prefix from the year names an interval (month without year does not).
                var d = strategy.DerivedColumns.FirstOrDefault(x => x.Part == part && _partitionColumns.Contains(x.Name));
                if (d is null) break;
                _timeParts.Add((d.Name, part));
            }
            if (_timeParts.Count > 0) (_timeColumn, _timeType) = (timeColumn, timeType);
        }
        if (strategy.BucketColumn is { } bucketColumn && strategy.BucketCount > 0 && _predicate != null)
            _buckets = BucketsFor(_predicate, bucketColumn, strategy.BucketCount);
    }

    internal enum Verdict { Read, PrunedByPartition, PrunedByBucket, PrunedByStats }

    public Verdict Check(AddFile file)
    {
        foreach (var f in _filters)
            if (!Matches(f, file.PartitionValues.GetValueOrDefault(f.Column)))
                return Verdict.PrunedByPartition;
        if (_buckets != null && file.Tags?.GetValueOrDefault(TableLayout.BucketTag) is { } tag &&
            int.TryParse(tag, NumberStyles.Integer, CultureInfo.InvariantCulture, out var bucket) && !_buckets.Contains(bucket))
            return Verdict.PrunedByBucket;
        if (_predicate == null) return Verdict.Read;

        var stats = file.Stats is { Length: > 0 } json ? TryParseStats(json) : null;
        long? rows = stats?.NumRecords;
        var onlyPartitions = _predicate.Columns().All(_partitionColumns.Contains);
        var canMatch = StatsEvaluator.CanMatch(_predicate, column =>
        {
            if (_partitionColumns.Contains(column))
            {
                var value = file.PartitionValues.GetValueOrDefault(column);
                var type = _schema.GetFieldByName(column)?.DataType;
                if (type == null) return null;
                var typed = value == null ? null : TypedPartitionValue(type, value);
                // A partition value bounds every row of the file exactly.
                return new ColumnBounds(type, typed, typed, value == null ? rows ?? 1 : 0, rows);
            }
            return stats?.GetBounds(column) ?? (column == _timeColumn ? TimeBounds(file, rows) : null);
        });
        // Without stats only partition values (and the time bounds they imply) can have ruled the file out.
        if (!canMatch) return onlyPartitions || stats is null ? Verdict.PrunedByPartition : Verdict.PrunedByStats;
        return Verdict.Read;
    }

    /// <summary>
    /// The bounds of the time column implied by a file's year[/month[/day[/hour]]] partition (UTC): the write derives those
    /// parts from the time column, so every row's time lies in that interval and is not null (null: a part is null or unreadable).
    /// </summary>
    private ColumnBounds? TimeBounds(AddFile file, long? rows)
    {
        var values = new int[4];
        foreach (var (column, part) in _timeParts)
        {
            if (file.PartitionValues.GetValueOrDefault(column) is not { } text
                || !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)) return null;
            values[(int)part] = v;
        }
        DateTime start, end;
        try
        {
            var finest = _timeParts[^1].Part;
            start = new DateTime(values[0], finest >= TimePart.Month ? values[1] : 1, finest >= TimePart.Day ? values[2] : 1, 0, 0, 0, DateTimeKind.Utc)
                .AddHours(finest == TimePart.Hour ? values[3] : 0);
            end = finest switch
            {
                TimePart.Year => start.AddYears(1),
                TimePart.Month => start.AddMonths(1),
                TimePart.Day => start.AddDays(1),
                _ => start.AddHours(1),
            };
        }
        catch (ArgumentOutOfRangeException) { return null; }
        var fromMicros = (start - DateTime.UnixEpoch).Ticks / 10;
        var toMicros = (end - DateTime.UnixEpoch).Ticks / 10 - 1; // the interval is half-open
        object min = fromMicros, max = toMicros;
        if (_timeType!.TypeId == ArrowTypeId.Date32)
            (min, max) = (FloorDays(fromMicros), FloorDays(toMicros)); // a date column holds days since 1970
        return new ColumnBounds(_timeType, min, max, 0, rows);
    }

    private static long FloorDays(long micros) => (long)Math.Floor(micros / 86_400_000_000m);

    private DataFileStats? TryParseStats(string json)
    {
        try { return DataFileStats.Parse(json, _schema); }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException or InvalidOperationException) { return null; }
    }

    private bool Matches(PartitionFilter filter, string? value)
    {
        var type = _schema.GetFieldByName(filter.Column)?.DataType ?? StringType.Default;
        if (filter.Values != null)
            return filter.Values.Any(v => v == null ? value == null : value != null && Compare(type, value, v, filter.Column) == 0);
        if (value == null) return false;
        return (filter.Min == null || Compare(type, value, filter.Min, filter.Column) >= 0) && (filter.Max == null || Compare(type, value, filter.Max, filter.Column) <= 0);
    }

    /// <summary>Compares a partition value with a filter value in the column's type (numbers as numbers, dates as dates).</summary>
    private static int Compare(IArrowType type, string value, string filter, string column)
    {
        var a = TypedPartitionValue(type, value);
        var b = ValueDomain.Coerce(ParseLiteral(type, filter), type, column);
        return a == null || b == null ? string.CompareOrdinal(value, filter) : ValueDomain.Compare(a, b);
    }

    private static object? ParseLiteral(IArrowType type, string text) => type switch
    {
        Int8Type or Int16Type or Int32Type or Int64Type => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : text,
        FloatType or DoubleType => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : text,
        Decimal128Type => decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) ? m : text,
        BooleanType => bool.TryParse(text, out var b) ? b : text,
        _ => text,
    };

    /// <summary>A partition value (Delta string form) as the typed value the expression layer compares.</summary>
    internal static object? TypedPartitionValue(IArrowType type, string value)
    {
        try { return ValueDomain.Coerce(PartitionValues.Parse(value, type), type); }
        catch (DataLakeException) { return null; }
    }

    /// <summary>The buckets an AND-chain of <c>col = v</c> / <c>col IN (...)</c> on the bucket column allows (null: all).</summary>
    private static HashSet<int>? BucketsFor(Predicate predicate, string column, int count)
    {
        switch (predicate)
        {
            case And and:
                var left = BucketsFor(and.Left, column, count);
                var right = BucketsFor(and.Right, column, count);
                if (left == null) return right;
                if (right != null) left.IntersectWith(right);
                return left;
            case Comparison { Op: ComparisonOp.Equal } eq when eq.Column == column && BucketOf(eq.Value, count) is { } b:
                return [b];
            case InList inList when inList.Column == column:
                var set = new HashSet<int>();
                foreach (var v in inList.Values)
                {
                    if (v == null) continue;
                    if (BucketOf(v, count) is not { } bucket) return null;
                    set.Add(bucket);
                }
                return set;
            default:
                return null;
        }
    }

    private static int? BucketOf(object? value, int count) => value switch
    {
        long l => IcebergBucket.Bucket(l, count),
        int i => IcebergBucket.Bucket(i, count),
        string s => IcebergBucket.Bucket(s, count),
        _ => null,
    };
}
