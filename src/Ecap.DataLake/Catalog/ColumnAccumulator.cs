using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Parquet;

namespace Ecap.DataLake.Catalog;

/// <summary>
/// One column's statistics: null count and bounds from the file stats (or partition values) where exact; from a streamed
/// sample, HyperLogLog distinct count, string lengths, top values of low-cardinality columns and the bounds files lack.
/// </summary>
internal sealed class ColumnAccumulator(Field field, bool isPartition)
{
    /// <summary>Sample values beyond this many distinct ones make a column "high cardinality" (no top values).</summary>
    private const int LowCardinalityLimit = 50;
    private const int TopValueCount = 10;

    public Field Field { get; } = field;
    private readonly bool _bounded = ValueDomain.IsSupported(field.DataType);
    private long? _nulls = 0;
    private object? _min, _max;
    private bool _boundsExact = true;
    private long _nonNullRows;
    // sample
    private readonly HyperLogLog _hll = new();
    private long _sampleValues, _sampleNulls, _lengthSum;
    private int _maxLength = -1;
    private object? _sampleMin, _sampleMax;
    private Dictionary<string, long>? _counts = new(StringComparer.Ordinal);

    public void AddFile(AddFile file, long? rows, DataFileStats? stats)
    {
        if (isPartition)
        {
            var value = file.PartitionValues.GetValueOrDefault(Field.Name);
            if (rows is null) { _nulls = null; _boundsExact = false; return; }
            if (value is null) { _nulls += rows; return; }
            _nonNullRows += rows.Value;
            if (_bounded) Widen(ValueDomain.Coerce(value, Field.DataType, Field.Name));
            return;
        }
        var b = stats?.GetBounds(Field.Name);
        // A deletion vector's rows are still in the file's stats: its null count and bounds are not the table's.
        if (b is null || rows is null || file.DeletionVector is not null) { _nulls = null; _boundsExact = false; return; }
        _nulls = b.NullCount is { } n ? _nulls + n : null;
        var nonNull = rows.Value - (b.NullCount ?? 0);
        if (nonNull <= 0) return;
        _nonNullRows += nonNull;
        // String bounds are cut at 32 characters (max bumped): only shorter ones are the real values.
        if (b.Min is null || b.Max is null || b.Min is string { Length: >= DataFileStats.StringPrefixLength } || b.Max is string { Length: >= DataFileStats.StringPrefixLength })
        {
            _boundsExact = false;
            return;
        }
        Widen(b.Min);
        Widen(b.Max);
    }

    private void Widen(object? v)
    {
        if (v is null) return;
        if (_min is null || ValueDomain.Compare(v, _min) < 0) _min = v;
        if (_max is null || ValueDomain.Compare(v, _max) > 0) _max = v;
    }

    public void AddSample(IArrowArray array)
    {
        for (var i = 0; i < array.Length; i++)
        {
            var value = ArrowValues.Get(array, i);
            if (value is null) { _sampleNulls++; continue; }
            _sampleValues++;
            switch (value)
            {
                case sbyte or byte or short or ushort or int or uint or long: _hll.Add(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
                case double d: _hll.Add(BitConverter.DoubleToInt64Bits(d)); break;
                case string s:
                    _hll.Add(s);
                    _lengthSum += s.Length;
                    _maxLength = Math.Max(_maxLength, s.Length);
                    break;
                default: _hll.Add(ArrowValues.Format(value) ?? ""); break;
            }
            if (_counts != null)
            {
                var key = ArrowValues.Format(value) ?? "";
                _counts[key] = _counts.GetValueOrDefault(key) + 1;
                if (_counts.Count > LowCardinalityLimit) _counts = null;
            }
            if (_bounded && !(_boundsExact && _nulls is not null))
            {
                var c = ValueDomain.Coerce(value, Field.DataType, Field.Name);
                if (c is not null)
                {
                    if (_sampleMin is null || ValueDomain.Compare(c, _sampleMin) < 0) _sampleMin = c;
                    if (_sampleMax is null || ValueDomain.Compare(c, _sampleMax) > 0) _sampleMax = c;
                }
            }
        }
    }

    public ColumnStatistics Result(bool sampled)
    {
        var fromFiles = _bounded && _boundsExact && _nulls is not null && (_min is not null || _nonNullRows == 0);
        var isString = Field.DataType.TypeId is ArrowTypeId.String or ArrowTypeId.LargeString;
        return new ColumnStatistics
        {
            Name = Field.Name,
            Type = DeltaSchema.TypeName(Field.DataType),
            NullCount = _nulls,
            Min = fromFiles ? FormatBound(_min) : FormatBound(_sampleMin),
            Max = fromFiles ? FormatBound(_max) : FormatBound(_sampleMax),
            MinMaxSource = fromFiles ? (_min is null ? null : isPartition ? "partition_values" : TimestampStats ? "file_stats_ms" : "file_stats") : _sampleMin is null ? null : "sample",
            DistinctCount = sampled ? _hll.Estimate() : null,
            AvgLength = sampled && isString && _sampleValues > 0 ? Math.Round((double)_lengthSum / _sampleValues, 2) : null,
            MaxLength = sampled && isString && _maxLength >= 0 ? _maxLength : null,
            TopValues = sampled && _counts is { Count: > 0 }
                ? _counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(TopValueCount)
                    .Select(kv => new ValueCount(kv.Key, kv.Value)).ToList()
                : null,
        };
    }

    // Delta stats keep timestamps to the millisecond (min floored, max rounded up): bounds, not exact values.
    private bool TimestampStats => !isPartition && Field.DataType.TypeId == ArrowTypeId.Timestamp;

    // Canonical domain -> text: dates are days, timestamps microseconds since the epoch.
    private string? FormatBound(object? v) => v switch
    {
        null => null,
        long days when Field.DataType.TypeId == ArrowTypeId.Date32 => DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + (int)days).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        long micros when Field.DataType.TypeId == ArrowTypeId.Timestamp => ArrowValues.Format(new DateTimeOffset(DateTime.UnixEpoch.AddTicks(micros * 10), TimeSpan.Zero)),
        _ => ArrowValues.Format(v),
    };
}
