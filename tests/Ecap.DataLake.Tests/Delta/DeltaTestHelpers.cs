using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Ecap.TestSupport;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>Test-only helpers: open golden tables, read a snapshot's rows, write tiny data files.</summary>
internal static class DeltaTestHelpers
{
    public static DeltaTable Golden(string name, DeltaTableOptions? options = null) =>
        new(new LocalObjectStore(RepoPaths.Golden(name)), options);

    public static DeltaTable At(string dir, DeltaTableOptions? options = null) => new(new LocalObjectStore(dir), options);

    public static DeltaTable At(IObjectStore store, DeltaTableOptions? options = null) => new(store, options);

    /// <summary>Every row of the snapshot's live files, read with ParquetSharp's Arrow reader; partition values come from the log.</summary>
    public static List<Dictionary<string, object?>> ReadRows(DeltaTable table, Snapshot snapshot)
    {
        var rows = new List<Dictionary<string, object?>>();
        var schema = snapshot.Schema;
        foreach (var file in snapshot.Files.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            var path = table.Store.TryGetLocalPath(file.ObjectKey);
            using var stream = path is null ? table.Store.OpenReadAsync(file.ObjectKey).GetAwaiter().GetResult() : null;
            using var reader = path is null ? new ParquetSharp.Arrow.FileReader(stream!) : new ParquetSharp.Arrow.FileReader(path);
            using var batches = reader.GetRecordBatchReader();
            while (batches.ReadNextRecordBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
            {
                using (batch)
                {
                    for (var i = 0; i < batch.Length; i++)
                    {
                        var row = new Dictionary<string, object?>();
                        for (var c = 0; c < batch.ColumnCount; c++)
                            row[batch.Schema.FieldsList[c].Name] = Value(batch.Column(c), i);
                        foreach (var (k, v) in file.PartitionValues)
                            row[k] = v is null ? null : PartitionValue(schema.GetFieldByName(k).DataType, v);
                        rows.Add(row);
                    }
                }
            }
        }
        return rows;
    }

    public static object PartitionValue(IArrowType type, string v) => type switch
    {
        Int8Type => sbyte.Parse(v),
        Int16Type => short.Parse(v),
        Int32Type => int.Parse(v),
        Int64Type => long.Parse(v),
        FloatType => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture),
        DoubleType => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture),
        BooleanType => bool.Parse(v),
        Decimal128Type => decimal.Parse(v, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture),
        _ => v,
    };

    public static object? Value(IArrowArray a, int i)
    {
        if (a.IsNull(i)) return null;
        return a switch
        {
            Int8Array x => x.GetValue(i),
            Int16Array x => x.GetValue(i),
            Int32Array x => x.GetValue(i),
            Int64Array x => x.GetValue(i),
            FloatArray x => x.GetValue(i),
            DoubleArray x => x.GetValue(i),
            BooleanArray x => x.GetValue(i),
            StringArray x => x.GetString(i),
            BinaryArray x => x.GetBytes(i).ToArray(),
            Decimal128Array x => x.GetSqlDecimal(i) is { } sd ? (sd.Precision <= 28 ? sd.Value : sd.ToString()) : null,
            Date32Array x => x.GetDateOnly(i),
            TimestampArray x => x.GetTimestamp(i),
            StructArray s => ((StructType)s.Data.DataType).Fields.Select((f, k) => (f.Name, V: Value(s.Fields[k], i)))
                .ToDictionary(p => p.Name, p => p.V),
            MapArray m => Enumerable.Range(m.ValueOffsets[i], m.ValueOffsets[i + 1] - m.ValueOffsets[i])
                .Select(j => new KeyValuePair<object?, object?>(Value(m.Keys, j), Value(m.Values, j))).ToList(),
            ListArray l => Enumerable.Range(l.ValueOffsets[i], l.ValueOffsets[i + 1] - l.ValueOffsets[i]).Select(j => Value(l.Values, j)).ToList(),
            _ => throw new NotSupportedException(a.Data.DataType.Name),
        };
    }

    public static List<long> Longs(IEnumerable<Dictionary<string, object?>> rows, string column) =>
        rows.Select(r => Convert.ToInt64(r[column])).Order().ToList();

    public static readonly Apache.Arrow.Schema IdSchema = new([new Field("id", Int64Type.Default, true)], null);

    /// <summary>Creates a table with one long column `id` (optionally partitioned by a string column `part`).</summary>
    public static Task<DeltaTable> CreateIdTableAsync(string dir, DeltaTableOptions? options = null, bool partitioned = false) =>
        CreateIdTableAsync(new LocalObjectStore(dir), options, partitioned);

    public static async Task<DeltaTable> CreateIdTableAsync(IObjectStore store, DeltaTableOptions? options = null, bool partitioned = false)
    {
        var table = At(store, options);
        var schema = partitioned
            ? new Apache.Arrow.Schema([new Field("id", Int64Type.Default, true), new Field("part", StringType.Default, true)], null)
            : IdSchema;
        await table.CreateAsync(Metadata.Create(schema, partitioned ? ["part"] : null));
        return table;
    }

    /// <summary>Writes a real Parquet file of ids under the table and returns its add action.</summary>
    public static AddFile WriteIds(DeltaTable table, string key, params long[] ids)
    {
        var builder = new Int64Array.Builder();
        foreach (var id in ids) builder.Append(id);
        var bytes = new MemoryStream();
        using (var batch = new RecordBatch(IdSchema, [builder.Build()], ids.Length))
        using (var output = new ParquetSharp.IO.ManagedOutputStream(bytes, leaveOpen: true))
        using (var writer = new ParquetSharp.Arrow.FileWriter(output, IdSchema))
        {
            writer.WriteRecordBatch(batch);
            writer.Close();
        }
        // Through the store, so the same helper writes to a folder or a bucket.
        table.Store.WriteAsync(key, bytes.ToArray()).GetAwaiter().GetResult();
        return new AddFile
        {
            Path = AddFile.EncodePath(key),
            Size = bytes.Length,
            ModificationTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            DataChange = true,
            Stats = $"{{\"numRecords\":{ids.Length}}}",
        };
    }

    /// <summary>An add of a file that is not written (metadata-only tests).</summary>
    public static AddFile FakeAdd(string key, IReadOnlyDictionary<string, string?>? partitionValues = null) => new()
    {
        Path = AddFile.EncodePath(key),
        PartitionValues = partitionValues ?? new Dictionary<string, string?>(),
        Size = 100,
        ModificationTime = 1,
        DataChange = true,
    };

    public static async Task<CommitResult> AppendAsync(DeltaTable table, params AddFile[] files)
    {
        var tx = await table.StartTransactionAsync("WRITE");
        tx.OperationParameters["mode"] = "Append";
        foreach (var f in files) tx.Add(f);
        return await tx.CommitAsync();
    }

    public static string LogFile(string tableDir, long version) => Path.Combine(tableDir, "_delta_log", $"{version:D20}.json");
}
