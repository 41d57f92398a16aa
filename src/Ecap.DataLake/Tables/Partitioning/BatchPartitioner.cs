using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using SortKey = Ecap.DataLake.Arrow.SortKey;

namespace Ecap.DataLake.Tables.Partitioning;

/// <summary>
/// One output group of <see cref="BatchPartitioner.Partition"/>: the rows of one partition (and bucket),
/// sorted by the strategy's sort columns, without the partition columns (Delta keeps partition
/// values in the log, not in data files).
/// </summary>
/// <param name="PartitionValues">Partition column -> Delta partition value string (null for null).</param>
/// <param name="Bucket">The bucket, when the strategy has a bucket column and the key is not null.</param>
/// <param name="Rows">The rows, in the data-file schema (<see cref="BatchPartitioner.DataFileSchema"/>).</param>
/// <param name="Directory">Relative partition directory with trailing slash (<c>year=2024/month=10/</c>), empty when unpartitioned.</param>
internal sealed record PartitionGroup(
    IReadOnlyDictionary<string, string?> PartitionValues,
    int? Bucket,
    RecordBatch Rows,
    string Directory);

/// <summary>
/// Splits Arrow record batches into the files a <see cref="PartitionStrategy"/> asks for:
/// adds the derived time columns (year/month/day in UTC) when the batch lacks them, computes buckets,
/// groups rows by (partition values, bucket), sorts each group by the sort columns (stable, nulls
/// first) and gathers each group into its own batch without the partition columns.
/// <para>
/// Cost is a few passes over flat arrays per batch: dense group codes per partition column, one
/// counting sort of row indices by group, a struct sort per group (skipped when already sorted),
/// and one gather per column per group. Thread-safe: the partitioner holds no per-batch state.
/// </para>
/// </summary>
internal sealed class BatchPartitioner
{
    private const long MicrosPerDay = 86_400_000_000L;

    /// <summary>Creates a partitioner for a strategy (validated here).</summary>
    public BatchPartitioner(PartitionStrategy strategy)
    {
        strategy.Validate();
        Strategy = strategy;
    }

    /// <summary>The strategy this partitioner applies.</summary>
    public PartitionStrategy Strategy { get; }

    /// <summary>The table schema for batches of <paramref name="input"/>: the input plus missing derived columns (int32, appended).</summary>
    public Schema TableSchema(Schema input)
    {
        var missing = MissingDerived(input);
        var truncations = MissingTruncations(input);
        if (missing.Count == 0 && truncations.Count == 0) return input;
        var builder = new Schema.Builder();
        foreach (var f in input.FieldsList) builder.Field(f);
        if (missing.Count > 0)
        {
            if (Strategy.TimeColumn is null || input.GetFieldIndex(Strategy.TimeColumn) < 0)
                throw MissingTimeColumn(input);
            var timeField = input.GetFieldByName(Strategy.TimeColumn);
            foreach (var d in missing) builder.Field(new Field(d.Name, Int32Type.Default, timeField.IsNullable));
        }
        foreach (var t in truncations)
        {
            // A truncated value has its source's type (Iceberg): an integer stays that integer type, a string a string.
            var source = input.GetFieldByIndex(RequireColumn(input, t.Source, "truncate"));
            if (source.DataType.TypeId is not (ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64 or ArrowTypeId.String))
                throw new SchemaMismatchException(
                    $"truncate({t.Width}, {t.Source}) needs an integer or string column; '{t.Source}' is {DeltaSchema.TypeName(source.DataType)}.");
            builder.Field(new Field(t.Name, source.DataType, source.IsNullable));
        }
        if (input.Metadata is not null) builder.Metadata(input.Metadata);
        return builder.Build();
    }

    /// <summary>The schema of the data files: <see cref="TableSchema"/> without the partition columns.</summary>
    public Schema DataFileSchema(Schema input)
    {
        var table = TableSchema(input);
        var builder = new Schema.Builder();
        foreach (var f in table.FieldsList)
            if (!Strategy.PartitionColumns.Contains(f.Name, StringComparer.Ordinal)) builder.Field(f);
        if (table.Metadata is not null) builder.Metadata(table.Metadata);
        return builder.Build();
    }

    /// <summary>The batch with the missing derived columns appended (the batch itself when none are missing).</summary>
    /// <exception cref="SchemaMismatchException">A derived column is missing and so is the time column, or the time column is not a timestamp/date.</exception>
    public RecordBatch AddDerivedColumns(RecordBatch batch)
    {
        var missing = MissingDerived(batch.Schema);
        var truncations = MissingTruncations(batch.Schema);
        if (missing.Count == 0 && truncations.Count == 0) return batch;
        var schema = TableSchema(batch.Schema);
        var columns = new List<IArrowArray>(batch.ColumnCount + missing.Count + truncations.Count);
        for (int c = 0; c < batch.ColumnCount; c++) columns.Add(batch.Column(c));
        if (missing.Count > 0)
            columns.AddRange(ComputeDerived(batch.Column(batch.Schema.GetFieldIndex(Strategy.TimeColumn!)), missing, Strategy.TimeColumn!));
        foreach (var t in truncations) columns.Add(Truncate(batch.Column(batch.Schema.GetFieldIndex(t.Source)), t.Width));
        return new RecordBatch(schema, columns, batch.Length);
    }

    private List<TruncateColumn> MissingTruncations(Schema schema) =>
        Strategy.TruncateColumns.Where(t => schema.GetFieldIndex(t.Name) < 0).ToList();

    /// <summary>Iceberg's truncate: integers to the multiple of W at or below them, strings to their first W code points.</summary>
    internal static IArrowArray Truncate(IArrowArray source, int width)
    {
        static long Down(long v, long w) => v - (((v % w) + w) % w);
        switch (source)
        {
            case Int64Array a:
                {
                    var b = new Int64Array.Builder().Reserve(a.Length);
                    for (int i = 0; i < a.Length; i++) { if (a.GetValue(i) is { } v) b.Append(Down(v, width)); else b.AppendNull(); }
                    return b.Build();
                }
            case Int32Array a:
                {
                    var b = new Int32Array.Builder().Reserve(a.Length);
                    for (int i = 0; i < a.Length; i++) { if (a.GetValue(i) is { } v) b.Append((int)Down(v, width)); else b.AppendNull(); }
                    return b.Build();
                }
            case Int16Array a:
                {
                    var b = new Int16Array.Builder().Reserve(a.Length);
                    for (int i = 0; i < a.Length; i++) { if (a.GetValue(i) is { } v) b.Append((short)Down(v, width)); else b.AppendNull(); }
                    return b.Build();
                }
            case Int8Array a:
                {
                    var b = new Int8Array.Builder().Reserve(a.Length);
                    for (int i = 0; i < a.Length; i++) { if (a.GetValue(i) is { } v) b.Append((sbyte)Down(v, width)); else b.AppendNull(); }
                    return b.Build();
                }
            case StringArray a:
                {
                    var b = new StringArray.Builder().Reserve(a.Length);
                    for (int i = 0; i < a.Length; i++)
                    {
                        if (a.IsNull(i)) { b.AppendNull(); continue; }
                        var text = a.GetString(i);
                        // W code points, not UTF-16 units: a surrogate pair is one character.
                        int end = 0, count = 0;
                        while (end < text.Length && count < width) { end += char.IsSurrogatePair(text, end) ? 2 : 1; count++; }
                        b.Append(end == text.Length ? text : text[..end]);
                    }
                    return b.Build();
                }
            default:
                throw new SchemaMismatchException($"truncate needs an integer or string column, not {source.Data.DataType.Name}.");
        }
    }

    /// <summary>Partitions one batch. Groups come in order of first appearance in the batch.</summary>
    /// <exception cref="SchemaMismatchException">A partition, bucket, sort or time column is missing or of an unsupported type.</exception>
    public IReadOnlyList<PartitionGroup> Partition(RecordBatch batch)
    {
        var table = AddDerivedColumns(batch);
        var schema = table.Schema;
        int n = table.Length;
        var strategy = Strategy;

        // 1. Group codes: one dense code per row over (partition values..., bucket).
        var partitionIndexes = new int[strategy.PartitionColumns.Count];
        for (int p = 0; p < partitionIndexes.Length; p++)
            partitionIndexes[p] = RequireColumn(schema, strategy.PartitionColumns[p], "partition");
        int bucketIndex = strategy.BucketColumn is null ? -1 : RequireColumn(schema, strategy.BucketColumn, "bucket");
        foreach (var s in strategy.SortColumns) RequireColumn(schema, s, "sort");

        int groupCount = 1;
        int[] codes;
        if (partitionIndexes.Length == 0 && bucketIndex < 0)
        {
            codes = new int[n];
        }
        else
        {
            codes = null!;
            foreach (int index in partitionIndexes)
                Accumulate(ref codes, ref groupCount, GroupCodes.ForColumn(table.Column(index), out int count), count);
            if (bucketIndex >= 0)
            {
                var buckets = ComputeBuckets(table.Column(bucketIndex), strategy.BucketCount, strategy.BucketColumn!);
                codes ??= new int[n]; // bucket numbers are not dense: always combine so empty buckets get no group
                GroupCodes.Combine(codes, ref groupCount, buckets, strategy.BucketCount + 1);
            }
        }
        if (n == 0) return [];

        // 2. Counting sort of row indices by group (stable: rows keep ascending order in a group).
        var starts = new int[groupCount + 1];
        foreach (int c in codes) starts[c + 1]++;
        for (int g = 0; g < groupCount; g++) starts[g + 1] += starts[g];
        var rows = GC.AllocateUninitializedArray<int>(n);
        var position = GC.AllocateUninitializedArray<int>(n);
        var cursor = starts.AsSpan(0, groupCount).ToArray();
        for (int i = 0; i < n; i++)
        {
            int at = cursor[codes[i]]++;
            rows[at] = i;
            position[i] = at;
        }

        // 3. Scatter each data column into its groups (sequential reads, one write stream per group).
        var dataColumns = new List<int>();
        var dataFields = new Schema.Builder();
        for (int c = 0; c < schema.FieldsList.Count; c++)
        {
            if (System.Array.IndexOf(partitionIndexes, c) >= 0) continue;
            dataColumns.Add(c);
            dataFields.Field(schema.FieldsList[c]);
        }
        if (schema.Metadata is not null) dataFields.Metadata(schema.Metadata);
        var dataSchema = dataFields.Build();

        var columnsByGroup = new IArrowArray[groupCount][];
        for (int g = 0; g < groupCount; g++) columnsByGroup[g] = new IArrowArray[dataColumns.Count];
        for (int c = 0; c < dataColumns.Count; c++)
        {
            var perGroup = RowScatter.Scatter(table.Column(dataColumns[c]), codes, position, starts);
            for (int g = 0; g < groupCount; g++) columnsByGroup[g][c] = perGroup[g];
        }

        // 4. Sort each group on its own (small, cache-resident) arrays; gather only groups whose order changed.
        if (strategy.SortColumns.Count > 0)
        {
            var sortKeys = strategy.SortColumns.Select(c => new SortKey(c, NullsFirst: true)).ToArray();
            int[]? order = null;
            for (int g = 0; g < groupCount; g++)
            {
                int length = starts[g + 1] - starts[g];
                if (length < 2) continue;
                var groupBatch = new RecordBatch(dataSchema, columnsByGroup[g], length);
                if (order is null || order.Length < length) order = new int[Math.Max(length, order?.Length * 2 ?? 0)];
                var local = order.AsSpan(0, length);
                for (int k = 0; k < length; k++) local[k] = k;
                ArrowSort.SortRows(groupBatch, sortKeys, local);
                bool changed = false;
                for (int k = 0; k < length; k++)
                {
                    if (local[k] != k) { changed = true; break; }
                }
                if (!changed) continue;
                for (int c = 0; c < dataColumns.Count; c++)
                    columnsByGroup[g][c] = ArrowGather.Take(columnsByGroup[g][c], local);
            }
        }

        var groups = new PartitionGroup[groupCount];
        for (int g = 0; g < groupCount; g++)
        {
            int first = rows[starts[g]];
            var values = new Dictionary<string, string?>(partitionIndexes.Length, StringComparer.Ordinal);
            for (int p = 0; p < partitionIndexes.Length; p++)
                values[strategy.PartitionColumns[p]] = PartitionValues.Format(table.Column(partitionIndexes[p]), first);
            int? bucket = null;
            if (bucketIndex >= 0)
            {
                var key = table.Column(bucketIndex);
                bucket = ColumnKeys.IsNull(key.Data, first) ? null : BucketOf(key, first, strategy.BucketCount);
            }
            groups[g] = new PartitionGroup(
                values,
                bucket,
                new RecordBatch(dataSchema, columnsByGroup[g], starts[g + 1] - starts[g]),
                PartitionPath.Build(strategy.PartitionColumns, values));
        }
        return groups;
    }

    private static void Accumulate(ref int[] codes, ref int count, int[] next, int nextCount)
    {
        if (codes is null)
        {
            codes = next;
            count = Math.Max(nextCount, 0);
            return;
        }
        GroupCodes.Combine(codes, ref count, next, nextCount);
    }

    private List<DerivedColumn> MissingDerived(Schema schema)
    {
        var missing = new List<DerivedColumn>();
        foreach (var d in Strategy.DerivedColumns)
            if (schema.GetFieldIndex(d.Name) < 0) missing.Add(d);
        return missing;
    }

    private SchemaMismatchException MissingTimeColumn(Schema schema)
    {
        var typeText = Strategy.DataType is { } t ? $"the {t.ToName()} strategy" : "the partition strategy";
        var derived = string.Join("/", Strategy.DerivedColumns.Select(d => d.Name));
        var candidates = schema.FieldsList
            .Where(f => f.DataType.TypeId is ArrowTypeId.Timestamp or ArrowTypeId.Date32 or ArrowTypeId.Date64)
            .Select(f => f.Name).ToList();
        var hint = candidates.Count > 0 ? $" Timestamp/date columns in the data: {string.Join(", ", candidates)}." : "";
        return new SchemaMismatchException(
            $"Time column '{Strategy.TimeColumn}' of {typeText} is not in the data, so {derived} cannot be derived. " +
            $"Set the {PartitionStrategy.TimeColumnOption} option (PartitionStrategy.{PartitionStrategy.TimeColumnOption}) to the column that holds the event time, " +
            $"or add the {derived} columns to the data.{hint}");
    }

    private static int RequireColumn(Schema schema, string name, string role)
    {
        int index = schema.GetFieldIndex(name);
        if (index < 0)
            throw new SchemaMismatchException(
                $"The {role} column '{name}' is not in the data (columns: {string.Join(", ", schema.FieldsList.Select(f => f.Name))}).");
        return index;
    }

    /// <summary>Computes year/month/day (UTC) int32 arrays from a timestamp or date column.</summary>
    private static IArrowArray[] ComputeDerived(IArrowArray time, IReadOnlyList<DerivedColumn> derived, string timeColumn)
    {
        var data = time.Data;
        int n = data.Length;
        var days = GC.AllocateUninitializedArray<int>(n);
        // Hours only when asked (hour(col)): a date column is at hour 0.
        var hours = derived.Any(d => d.Part == TimePart.Hour) ? new int[n] : null;
        var raw = data.Buffers[1].Span;
        switch (data.DataType)
        {
            case TimestampType ts:
                {
                    long perDay = ts.Unit switch
                    {
                        TimeUnit.Second => 86_400L,
                        TimeUnit.Millisecond => 86_400_000L,
                        TimeUnit.Microsecond => MicrosPerDay,
                        _ => MicrosPerDay * 1000,
                    };
                    var values = MemoryMarshal.Cast<byte, long>(raw).Slice(data.Offset, n);
                    for (int i = 0; i < n; i++)
                    {
                        long v = values[i];
                        long d = v / perDay;
                        if (v % perDay < 0) d--; // floor: before 1970 the day starts earlier
                        days[i] = (int)d;
                        if (hours is not null) hours[i] = (int)((v - d * perDay) / (perDay / 24));
                    }
                    break;
                }
            case Date32Type:
                MemoryMarshal.Cast<byte, int>(raw).Slice(data.Offset, n).CopyTo(days);
                break;
            case Date64Type:
                {
                    var values = MemoryMarshal.Cast<byte, long>(raw).Slice(data.Offset, n);
                    for (int i = 0; i < n; i++) days[i] = (int)Math.Floor(values[i] / 86_400_000.0);
                    break;
                }
            default:
                throw new SchemaMismatchException(
                    $"Time column '{timeColumn}' is of type {data.DataType.Name}; year/month/day/hour can only be derived from a timestamp or date column. " +
                    $"Set the {PartitionStrategy.TimeColumnOption} option to a timestamp column.");
        }

        var timeNulls = ColumnKeys.NullFlags(data);
        if (timeNulls is not null)
        {
            // Null times hold arbitrary values; give them a real day so they do not widen the range below.
            int fill = 0;
            for (int i = 0; i < n; i++) if (!timeNulls[i]) { fill = days[i]; break; }
            for (int i = 0; i < n; i++) if (timeNulls[i]) days[i] = fill;
        }

        // One byte buffer per derived column, written through an int span (no copy afterwards).
        var buffers = new byte[derived.Count][];
        for (int d = 0; d < buffers.Length; d++) buffers[d] = GC.AllocateUninitializedArray<byte>(n * sizeof(int));
        Span<int> years = default, months = default, dayOfMonth = default;
        for (int d = 0; d < buffers.Length; d++)
        {
            var span = MemoryMarshal.Cast<byte, int>(buffers[d].AsSpan());
            switch (derived[d].Part)
            {
                case TimePart.Year: years = span; break;
                case TimePart.Month: months = span; break;
                case TimePart.Hour: hours.AsSpan().CopyTo(span); break;
                default: dayOfMonth = span; break;
            }
        }
        bool wantYear = !years.IsEmpty, wantMonth = !months.IsEmpty, wantDay = !dayOfMonth.IsEmpty;
        // Rows of a batch usually span few days: convert each day of the range once (a lookup table),
        // or, for a very wide range, each run of one day.
        int minDay = int.MaxValue, maxDay = int.MinValue;
        for (int i = 0; i < n; i++)
        {
            int day = days[i];
            if (day < minDay) minDay = day;
            if (day > maxDay) maxDay = day;
        }
        if (n > 0 && (long)maxDay - minDay < 4 * 366 * 100)
        {
            int range = maxDay - minDay + 1;
            var table = new int[range * 3];
            for (int d = 0; d < range; d++)
            {
                var (ty, tm, td) = CivilFromDays(minDay + d);
                table[3 * d] = ty;
                table[3 * d + 1] = tm;
                table[3 * d + 2] = td;
            }
            for (int i = 0; i < n; i++)
            {
                int t = (days[i] - minDay) * 3;
                if (wantYear) years[i] = table[t];
                if (wantMonth) months[i] = table[t + 1];
                if (wantDay) dayOfMonth[i] = table[t + 2];
            }
        }
        else
        {
            int cachedDay = int.MinValue, y = 0, m = 0, dd = 0;
            for (int i = 0; i < n; i++)
            {
                int day = days[i];
                if (day != cachedDay)
                {
                    (y, m, dd) = CivilFromDays(day);
                    cachedDay = day;
                }
                if (wantYear) years[i] = y;
                if (wantMonth) months[i] = m;
                if (wantDay) dayOfMonth[i] = dd;
            }
        }

        var validity = data.NullCount > 0 ? CopyBitmap(data) : ArrowBuffer.Empty;
        var result = new IArrowArray[buffers.Length];
        for (int d = 0; d < buffers.Length; d++)
            result[d] = new Int32Array(new ArrowBuffer(buffers[d]), validity, n, data.NullCount, 0);
        return result;
    }

    private static ArrowBuffer CopyBitmap(ArrayData data)
    {
        var src = data.Buffers[0].Span;
        var dst = new byte[(data.Length + 7) >> 3];
        for (int i = 0; i < data.Length; i++)
        {
            int b = i + data.Offset;
            if (((src[b >> 3] >> (b & 7)) & 1) != 0) dst[i >> 3] |= (byte)(1 << (i & 7));
        }
        return new ArrowBuffer(dst);
    }

    /// <summary>Proleptic Gregorian (year, month, day) of days since 1970-01-01 (H. Hinnant's algorithm).</summary>
    internal static (int Year, int Month, int Day) CivilFromDays(int z)
    {
        long zz = z + 719468L;
        long era = (zz >= 0 ? zz : zz - 146096) / 146097;
        long doe = zz - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        long y = yoe + era * 400;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        long d = doy - (153 * mp + 2) / 5 + 1;
        long m = mp < 10 ? mp + 3 : mp - 9;
        return ((int)(y + (m <= 2 ? 1 : 0)), (int)m, (int)d);
    }

    private static int[] ComputeBuckets(IArrowArray key, int bucketCount, string column)
    {
        var data = key.Data;
        int n = data.Length;
        var buckets = GC.AllocateUninitializedArray<int>(n);
        var nulls = ColumnKeys.NullFlags(data);
        switch (data.DataType.TypeId)
        {
            case ArrowTypeId.Int8:
            case ArrowTypeId.Int16:
            case ArrowTypeId.Int32:
            case ArrowTypeId.Int64:
            case ArrowTypeId.UInt8:
            case ArrowTypeId.UInt16:
            case ArrowTypeId.UInt32:
                {
                    ColumnKeys.TryReadLongs(key, out var longs);
                    for (int i = 0; i < n; i++) buckets[i] = IcebergBucket.Bucket(longs[i], bucketCount);
                    break;
                }
            case ArrowTypeId.String:
            case ArrowTypeId.Binary:
                {
                    var (values, offsets) = ColumnKeys.ReadBytes(key);
                    var span = values.Span;
                    for (int i = 0; i < n; i++)
                        buckets[i] = IcebergBucket.Bucket(span.Slice(offsets[i], offsets[i + 1] - offsets[i]), bucketCount);
                    break;
                }
            default:
                throw new SchemaMismatchException(
                    $"Bucket column '{column}' is of type {data.DataType.Name}; buckets need an integer or string column (customer_id is int64 in the canonical schema).");
        }
        if (nulls is not null)
            for (int i = 0; i < n; i++) if (nulls[i]) buckets[i] = bucketCount; // the null bucket
        return buckets;
    }

    private static int BucketOf(IArrowArray key, int row, int bucketCount)
    {
        if (ColumnKeys.IsBytes(key.Data.DataType))
        {
            var (values, offsets) = ColumnKeys.ReadBytes(key);
            return IcebergBucket.Bucket(values.Span.Slice(offsets[row], offsets[row + 1] - offsets[row]), bucketCount);
        }
        return IcebergBucket.Bucket(LongAt(key, row), bucketCount);
    }

    private static long LongAt(IArrowArray array, int row) => array switch
    {
        Int8Array a => a.GetValue(row)!.Value,
        Int16Array a => a.GetValue(row)!.Value,
        Int32Array a => a.GetValue(row)!.Value,
        Int64Array a => a.GetValue(row)!.Value,
        UInt8Array a => a.GetValue(row)!.Value,
        UInt16Array a => a.GetValue(row)!.Value,
        UInt32Array a => a.GetValue(row)!.Value,
        _ => throw new NotSupportedException($"Arrow type {array.Data.DataType.Name} has no long value."),
    };
}
