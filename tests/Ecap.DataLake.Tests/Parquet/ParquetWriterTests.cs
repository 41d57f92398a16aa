using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;
using Ecap.TestSupport;
using ParquetSharp;
using Xunit;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Parquet;

public class ParquetWriterTests
{
    private static async Task<IReadOnlyList<WrittenFile>> WriteAsync(IObjectStore store, long rows, ParquetWriteOptions? options = null, int batch = 10_000) =>
        await ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, TestBatches.Stream(rows, batch), i => $"data/part-{i:D5}.snappy.parquet", options);

    [Fact]
    public async Task Written_file_reads_back_identically_with_our_reader()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var files = await WriteAsync(store, 25_000, batch: 7_000);
        var file = Assert.Single(files);
        Assert.Equal(25_000, file.RowCount);

        long next = 0;
        await foreach (var b in ParquetDataReader.ReadAsync(store, file.Key))
        {
            var expected = TestBatches.Make(next, b.Length);
            AssertBatchesEqual(expected, b);
            next += b.Length;
        }
        Assert.Equal(25_000, next);
    }

    [Fact]
    public async Task DuckDb_reads_the_same_rows_sums_nulls_timestamps_and_decimals()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        const int n = 30_000;
        var file = Assert.Single(await WriteAsync(store, n));
        var path = store.TryGetLocalPath(file.Key)!;
        using var duck = new DuckDbReader();
        var src = $"read_parquet('{path}')";

        var ids = Enumerable.Range(0, n).Select(i => (long)i).ToList();
        Assert.Equal((long)n, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM {src}")));
        Assert.Equal(ids.Sum(), Convert.ToInt64(duck.Scalar($"SELECT sum(id)::BIGINT FROM {src}")));
        // Timestamps exact to the microsecond.
        Assert.Equal(ids.Where(i => !TestBatches.TsNull(i)).Aggregate(System.Numerics.BigInteger.Zero, (acc, i) => acc + TestBatches.TsOf(i)).ToString(),
            Convert.ToString(duck.Scalar($"SELECT CAST(sum(epoch_us(ts)) AS VARCHAR) FROM {src}")));
        Assert.Equal((long)ids.Count(TestBatches.TsNull), Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM {src} WHERE ts IS NULL")));
        Assert.Equal("timestamp with time zone", Convert.ToString(duck.Scalar($"SELECT lower(typeof(ts)) FROM {src} LIMIT 1")));
        // Decimals exact.
        Assert.Equal(ids.Where(i => !TestBatches.PriceNull(i)).Sum(TestBatches.PriceOf),
            decimal.Parse(Convert.ToString(duck.Scalar($"SELECT CAST(sum(price) AS VARCHAR) FROM {src}"))!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(ids.Where(i => !TestBatches.AmountNull(i)).Sum(TestBatches.AmountOf),
            Convert.ToDouble(duck.Scalar($"SELECT sum(amount) FROM {src}")), 6);
        Assert.Equal((long)ids.Count(TestBatches.NameNull), Convert.ToInt64(duck.Scalar($"SELECT count(*) - count(name) FROM {src}")));
        Assert.Equal((long)ids.Count(i => TestBatches.FlagOf(i) == true), Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM {src} WHERE flag")));
        Assert.Equal((long)ids.Count(i => i % 9 == 1), Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM {src} WHERE point IS NULL")));
        Assert.Equal(ids.Where(i => i % 9 != 1).Sum(i => i * 2), Convert.ToInt64(duck.Scalar($"SELECT sum(point.x)::BIGINT FROM {src}")));

        var row = duck.Rows($"SELECT name, status, CAST(price AS VARCHAR), CAST(day AS VARCHAR), small, epoch_us(ts) FROM {src} WHERE id = 12345")[0];
        Assert.Equal(TestBatches.NameOf(12345), row[0]);
        Assert.Equal(TestBatches.Statuses[12345 % 4], row[1]);
        Assert.Equal(TestBatches.PriceOf(12345).ToString(System.Globalization.CultureInfo.InvariantCulture), row[2]);
        Assert.Equal(DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + TestBatches.DayOf(12345)).ToString("yyyy-MM-dd"), row[3]);
        Assert.Equal(TestBatches.SmallOf(12345), Convert.ToInt32(row[4]));
        Assert.Equal(TestBatches.TsOf(12345), Convert.ToInt64(row[5]));
    }

    [Fact]
    public async Task Timestamps_are_int64_micros_adjusted_to_utc_and_dictionary_follows_cardinality()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var file = Assert.Single(await WriteAsync(store, 20_000));
        using var reader = new ParquetFileReader(store.TryGetLocalPath(file.Key)!);
        var md = reader.FileMetaData;
        Assert.StartsWith("parquet-cpp-arrow version ", md.CreatedBy);
        var schema = md.Schema;
        var ts = schema.Column(schema.ColumnIndex("ts"));
        Assert.Equal(PhysicalType.Int64, ts.PhysicalType);
        using var logical = ts.LogicalType;
        var tl = Assert.IsType<TimestampLogicalType>(logical);
        Assert.True(tl.IsAdjustedToUtc);
        Assert.Equal(ParquetSharp.TimeUnit.Micros, tl.TimeUnit);

        using var rg = reader.RowGroup(0);
        Encoding[] EncodingsOf(string c)
        {
            using var chunk = rg.MetaData.GetColumnChunkMetaData(schema.ColumnIndex(c));
            return chunk.Encodings;
        }
        Assert.Contains(EncodingsOf("status"), e => e is Encoding.RleDictionary or Encoding.PlainDictionary);
        Assert.DoesNotContain(EncodingsOf("id"), e => e is Encoding.RleDictionary or Encoding.PlainDictionary);
        Assert.DoesNotContain(EncodingsOf("name"), e => e is Encoding.RleDictionary or Encoding.PlainDictionary);
    }

    [Fact]
    public async Task Integer_columns_are_delta_packed_and_small_decimals_stored_as_integers_exactly()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var money = new Decimal128Type(18, 2);
        var wide = new Decimal128Type(38, 10);
        var schema = new Schema.Builder()
            .Field(new Field("id", Int64Type.Default, false))
            .Field(new Field("money", money, true))
            .Field(new Field("wide", wide, true))
            .Build();
        // Extremes on purpose: long min/max, the largest 18-digit decimal of both signs, nulls.
        const int n = 5_000;
        long IdOf(int i) => i switch { 0 => long.MinValue, 1 => long.MaxValue, _ => i * 3L - 7_000 };
        decimal? MoneyOf(int i) => i switch { 0 => 9_999_999_999_999_999.99m, 1 => -9_999_999_999_999_999.99m, _ when i % 10 == 3 => null, _ => (i - 2_500) * 1.01m };
        decimal? WideOf(int i) => i % 7 == 2 ? null : (i - 100) * 12_345_678.0123456789m;
        var ids = new Int64Array.Builder();
        var moneys = new Decimal128Array.Builder(money);
        var wides = new Decimal128Array.Builder(wide);
        for (var i = 0; i < n; i++)
        {
            ids.Append(IdOf(i));
            if (MoneyOf(i) is { } m) moneys.Append(m); else moneys.AppendNull();
            if (WideOf(i) is { } w) wides.Append(w); else wides.AppendNull();
        }
        var batch = new RecordBatch(schema, [ids.Build(), moneys.Build(), wides.Build()], n);
        var file = Assert.Single(await ParquetDataWriter.WriteAllAsync(store, schema, new[] { batch }.ToAsyncEnumerable(), i => $"data/int-{i}.parquet"));
        var path = store.TryGetLocalPath(file.Key)!;

        using (var reader = new ParquetFileReader(path))
        {
            var fileSchema = reader.FileMetaData.Schema;
            using var rg = reader.RowGroup(0);
            ColumnDescriptor Column(string c) => fileSchema.Column(fileSchema.ColumnIndex(c));
            Encoding[] EncodingsOf(string c)
            {
                using var chunk = rg.MetaData.GetColumnChunkMetaData(fileSchema.ColumnIndex(c));
                return chunk.Encodings;
            }
            Assert.Equal(PhysicalType.Int64, Column("money").PhysicalType);
            using (var logical = Column("money").LogicalType) Assert.Equal(2, Assert.IsType<DecimalLogicalType>(logical).Scale);
            Assert.Equal(PhysicalType.FixedLenByteArray, Column("wide").PhysicalType); // too wide for an integer
            Assert.Contains(Encoding.DeltaBinaryPacked, EncodingsOf("id"));
            Assert.Contains(Encoding.DeltaBinaryPacked, EncodingsOf("money"));
            Assert.DoesNotContain(Encoding.DeltaBinaryPacked, EncodingsOf("wide"));
        }

        // Our reader and DuckDB both get every value back exactly, and the footer stats see the extremes.
        var read = new List<RecordBatch>();
        await foreach (var b in ParquetDataReader.ReadAsync(store, file.Key)) read.Add(b);
        AssertBatchesEqual(batch, ArrowSort.Concat(read));
        var stats = JsonDocument.Parse(file.Stats.ToJson()).RootElement;
        Assert.Equal(9_999_999_999_999_999.99m, stats.GetProperty("maxValues").GetProperty("money").GetDecimal());
        Assert.Equal(-9_999_999_999_999_999.99m, stats.GetProperty("minValues").GetProperty("money").GetDecimal());
        Assert.Equal(n / 10, stats.GetProperty("nullCount").GetProperty("money").GetInt32());
        Assert.Equal(long.MinValue, stats.GetProperty("minValues").GetProperty("id").GetInt64());
        using var duck = new DuckDbReader();
        var rows = duck.Rows($"SELECT id, CAST(money AS VARCHAR), CAST(wide AS VARCHAR) FROM read_parquet('{path}')");
        Assert.Equal(n, rows.Count);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        for (var i = 0; i < n; i++)
        {
            Assert.Equal(IdOf(i), Convert.ToInt64(rows[i][0]));
            Assert.Equal(MoneyOf(i) is { } m ? m.ToString("F2", inv) : null, rows[i][1]);
            Assert.Equal(WideOf(i) is { } w ? w.ToString("F10", inv) : null, rows[i][2]);
        }
    }

    [Theory]
    [InlineData(nameof(ParquetCodec.Snappy), Compression.Snappy)]
    [InlineData(nameof(ParquetCodec.Zstd), Compression.Zstd)]
    [InlineData(nameof(ParquetCodec.Gzip), Compression.Gzip)]
    [InlineData(nameof(ParquetCodec.None), Compression.Uncompressed)]
    public async Task Codec_is_configurable(string codecName, Compression expected)
    {
        var codec = Enum.Parse<ParquetCodec>(codecName); // by name: ParquetCodec is internal, a public theory cannot take it
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var file = Assert.Single(await WriteAsync(store, 5_000, new ParquetWriteOptions { Codec = codec }));
        using var reader = new ParquetFileReader(store.TryGetLocalPath(file.Key)!);
        using var rg = reader.RowGroup(0);
        using var chunk = rg.MetaData.GetColumnChunkMetaData(0);
        Assert.Equal(expected, chunk.Compression);
        using var duck = new DuckDbReader();
        Assert.Equal(5_000L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{store.TryGetLocalPath(file.Key)}')")));
    }

    [Fact]
    public async Task Files_roll_at_the_target_size_and_rows_add_up()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        const long target = 256 * 1024;
        var files = await WriteAsync(store, 200_000, new ParquetWriteOptions { TargetFileSizeBytes = target, RowGroupMaxRows = 20_000 }, batch: 8_192);
        Assert.True(files.Count >= 4, $"expected several files, got {files.Count}");
        Assert.Equal(200_000, files.Sum(f => f.RowCount));
        Assert.Equal(files.Count, files.Select(f => f.Key).Distinct().Count());
        foreach (var f in files)
        {
            Assert.Equal(new FileInfo(store.TryGetLocalPath(f.Key)!).Length, f.SizeBytes);
            Assert.True(f.UncompressedBytes > 0);
        }
        // All but the last file are near the target (estimates, so allow slack).
        foreach (var f in files.Take(files.Count - 1))
            Assert.InRange(f.SizeBytes, target / 3, target * 2);

        using var duck = new DuckDbReader();
        var list = DuckDbReader.FileList(files.Select(f => store.TryGetLocalPath(f.Key)!));
        Assert.Equal(200_000L, Convert.ToInt64(duck.Scalar($"SELECT count(DISTINCT id) FROM read_parquet({list})")));
    }

    [Fact]
    public async Task Stream_store_path_writes_and_reads_the_same_data()
    {
        using var dir = new TempDir();
        var store = new StreamOnlyStore(new LocalObjectStore(dir.Path));
        var files = await WriteAsync(store, 50_000, new ParquetWriteOptions { TargetFileSizeBytes = 512 * 1024 });
        Assert.Equal(50_000, files.Sum(f => f.RowCount));
        long total = 0, sum = 0;
        foreach (var f in files)
        {
            Assert.Equal(new FileInfo(Path.Combine(dir.Path, f.Key)).Length, f.SizeBytes);
            var info = await ParquetDataReader.ReadMetadataAsync(store, f.Key);
            Assert.Equal(f.RowCount, info.RowCount);
            await foreach (var b in ParquetDataReader.ReadAsync(store, f.Key, new ParquetReadOptions { Columns = ["id"] }))
            {
                total += b.Length;
                var ids = (Int64Array)b.Column(0);
                for (var i = 0; i < ids.Length; i++) sum += ids.GetValue(i)!.Value;
            }
        }
        Assert.Equal(50_000, total);
        Assert.Equal(Enumerable.Range(0, 50_000).Sum(i => (long)i), sum);
        // Footer stats fetched by ranged reads: id ranges tile 0..49999 across files.
        Assert.True(files.Count > 1);
        long expectedMin = 0;
        foreach (var f in files)
        {
            var b = f.Stats.GetBounds("id")!;
            Assert.Equal(expectedMin, b.Min);
            Assert.Equal(expectedMin + f.RowCount - 1, b.Max);
            expectedMin += f.RowCount;
        }
    }

    [Fact]
    public async Task Metadata_read_reports_rows_row_groups_and_sizes()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var file = Assert.Single(await WriteAsync(store, 30_000, new ParquetWriteOptions
        {
            RowGroupMaxRows = 10_000,
            KeyValueMetadata = new Dictionary<string, string> { ["ecap.writer"] = "test" },
        }));
        using (var pr = new ParquetFileReader(store.TryGetLocalPath(file.Key)!))
            Assert.Equal("test", pr.FileMetaData.KeyValueMetadata["ecap.writer"]);
        var info = await ParquetDataReader.ReadMetadataAsync(store, file.Key);
        Assert.Equal(30_000, info.RowCount);
        Assert.Equal(3, info.RowGroups.Count);
        Assert.All(info.RowGroups, g => Assert.Equal(10_000, g.RowCount));
        Assert.Equal(file.SizeBytes, info.FileSizeBytes);
        Assert.True(info.UncompressedBytes >= info.CompressedBytes);
        Assert.True(info.CompressionRatio >= 1);
        Assert.Equal(TestBatches.Schema.FieldsList.Count, info.Schema.FieldsList.Count);
    }

    [Fact]
    public async Task An_abandoned_file_is_removed_and_closed_files_stay()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        using var cts = new CancellationTokenSource();
        var written = 0;
        async IAsyncEnumerable<RecordBatch> Batches()
        {
            for (var i = 0; ; i++)
            {
                if (i == 12) cts.Cancel();
                written++;
                yield return TestBatches.Make(i * 10_000L, 10_000);
                await Task.Yield();
            }
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, Batches(),
            i => $"c/part-{i}.parquet", new ParquetWriteOptions { TargetFileSizeBytes = 1 << 20 }, cts.Token));
        var left = Directory.GetFiles(Path.Combine(dir.Path, "c"));
        Assert.NotEmpty(left);
        using var duck = new DuckDbReader();
        // Every file left behind is a complete Parquet file.
        var rows = Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet({DuckDbReader.FileList(left)})"));
        Assert.True(rows > 0 && rows < written * 10_000L);
    }

    internal static void AssertBatchesEqual(RecordBatch expected, RecordBatch actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        Assert.Equal(expected.ColumnCount, actual.ColumnCount);
        for (var c = 0; c < expected.ColumnCount; c++)
        {
            var name = expected.Schema.FieldsList[c].Name;
            Assert.Equal(name, actual.Schema.FieldsList[c].Name);
            var e = expected.Column(c);
            var a = actual.Column(c);
            Assert.Equal(e.NullCount, a.NullCount);
            for (var i = 0; i < e.Length; i++)
                Assert.True(Equals(Value(e, i), Value(a, i)), $"{name}[{i}]: expected {Value(e, i)}, got {Value(a, i)}");
        }
    }

    internal static object? Value(IArrowArray a, int i)
    {
        if (a.IsNull(i)) return null;
        return a switch
        {
            Int64Array x => x.GetValue(i),
            Int32Array x => x.GetValue(i),
            Int8Array x => x.GetValue(i),
            DoubleArray x => x.GetValue(i),
            FloatArray x => x.GetValue(i),
            BooleanArray x => x.GetValue(i),
            StringArray x => x.GetString(i),
            BinaryArray x => Convert.ToHexString(x.GetBytes(i)),
            TimestampArray x => x.GetValue(i),
            Date32Array x => x.GetValue(i),
            Decimal128Array x => x.GetValue(i),
            StructArray x => string.Join("|", x.Fields.Select(f => Value(f, i)?.ToString() ?? "null")),
            _ => throw new NotSupportedException(a.GetType().Name),
        };
    }
}
