using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;
using Ecap.TestSupport;
using Xunit;

namespace Ecap.DataLake.Tests.Parquet;

public class DataFileStatsTests
{
    private static async Task<(WrittenFile File, string Path)> WriteAsync(TempDir dir, Schema schema, params RecordBatch[] batches)
    {
        var store = new LocalObjectStore(dir.Path);
        using var w = new ParquetDataWriter(store, schema, i => $"f{i}.parquet");
        foreach (var b in batches) await w.WriteAsync(b);
        var file = Assert.Single(await w.CompleteAsync());
        return (file, store.TryGetLocalPath(file.Key)!);
    }

    [Fact]
    public async Task Stats_json_matches_duckdb_min_max_and_null_counts()
    {
        using var dir = new TempDir();
        var (file, path) = await WriteAsync(dir, TestBatches.Schema, TestBatches.Make(0, 5000), TestBatches.Make(5000, 3000));
        using var doc = JsonDocument.Parse(file.Stats.ToJson());
        var root = doc.RootElement;
        Assert.Equal(8000, root.GetProperty("numRecords").GetInt64());
        var min = root.GetProperty("minValues");
        var max = root.GetProperty("maxValues");
        var nulls = root.GetProperty("nullCount");
        using var duck = new DuckDbReader();
        string Q(string sql) => Convert.ToString(duck.Scalar(sql.Replace("FROM T", $"FROM read_parquet('{path}')")), CultureInfo.InvariantCulture)!;

        foreach (var col in new[] { "id", "small", "tiny" })
        {
            Assert.Equal(Q($"SELECT min({col}) FROM T"), min.GetProperty(col).GetRawText());
            Assert.Equal(Q($"SELECT max({col}) FROM T"), max.GetProperty(col).GetRawText());
        }
        foreach (var col in new[] { "id", "ts", "name", "status", "amount", "price", "day", "flag", "small", "tiny", "ratio", "payload" })
            Assert.Equal(long.Parse(Q($"SELECT count(*) - count({col}) FROM T")), nulls.GetProperty(col).GetInt64());
        Assert.Equal(double.Parse(Q("SELECT min(amount) FROM T"), CultureInfo.InvariantCulture), min.GetProperty("amount").GetDouble());
        Assert.Equal(double.Parse(Q("SELECT max(amount) FROM T"), CultureInfo.InvariantCulture), max.GetProperty("amount").GetDouble());
        Assert.Equal(Q("SELECT min(price)::VARCHAR FROM T"), min.GetProperty("price").GetRawText());
        Assert.Equal(Q("SELECT max(price)::VARCHAR FROM T"), max.GetProperty("price").GetRawText());
        Assert.Equal(Q("SELECT min(day)::VARCHAR FROM T"), min.GetProperty("day").GetString());
        Assert.Equal(Q("SELECT max(day)::VARCHAR FROM T"), max.GetProperty("day").GetString());
        Assert.Equal(Q("SELECT min(name) FROM T"), min.GetProperty("name").GetString());
        Assert.Equal(Q("SELECT max(name) FROM T"), max.GetProperty("name").GetString());
        Assert.Equal(Q("SELECT min(status) FROM T"), min.GetProperty("status").GetString());
        Assert.False(min.GetProperty("flag").GetBoolean());
        Assert.True(max.GetProperty("flag").GetBoolean());
        // Binary: null count only.
        Assert.False(min.TryGetProperty("payload", out _));
        Assert.False(max.TryGetProperty("payload", out _));
        // Nested struct leaves as nested objects.
        Assert.Equal(Q("SELECT min(point.x) FROM T"), min.GetProperty("point").GetProperty("x").GetRawText());
        Assert.Equal(Q("SELECT max(point.x) FROM T"), max.GetProperty("point").GetProperty("x").GetRawText());
        Assert.Equal(long.Parse(Q("SELECT count(*) - count(point.label) FROM T")), nulls.GetProperty("point").GetProperty("label").GetInt64());

        // Timestamps: millisecond precision, min floored, max rounded up (the data has sub-millisecond micros).
        var minUs = long.Parse(Q("SELECT epoch_us(min(ts)) FROM T"));
        var maxUs = long.Parse(Q("SELECT epoch_us(max(ts)) FROM T"));
        Assert.Equal(FormatMillis(FloorMs(minUs)), min.GetProperty("ts").GetString());
        Assert.Equal(FormatMillis(FloorMs(maxUs) + 1), max.GetProperty("ts").GetString());
        Assert.NotEqual(0, maxUs % 1000);
    }

    private static long FloorMs(long us) => us / 1000;

    private static string FormatMillis(long ms) =>
        DateTime.UnixEpoch.AddMilliseconds(ms).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    [Fact]
    public async Task Parse_round_trips_to_bounds_that_contain_the_data()
    {
        using var dir = new TempDir();
        var (file, _) = await WriteAsync(dir, TestBatches.Schema, TestBatches.Make(100, 4000));
        var parsed = DataFileStats.Parse(file.Stats.ToJson(), TestBatches.Schema);
        Assert.Equal(4000, parsed.NumRecords);
        Assert.Equal(100L, parsed.GetBounds("id")!.Min);
        Assert.Equal(4099L, parsed.GetBounds("id")!.Max);
        Assert.Equal(0L, parsed.GetBounds("id")!.NullCount);
        Assert.Equal(file.Stats.GetBounds("price")!.Min, parsed.GetBounds("price")!.Min);
        Assert.Equal(file.Stats.GetBounds("name")!.Max, parsed.GetBounds("name")!.Max);
        Assert.Equal(file.Stats.GetBounds("point.x")!.Max, parsed.GetBounds("point.x")!.Max);
        Assert.Equal(file.Stats.GetBounds("ts")!.NullCount, parsed.GetBounds("ts")!.NullCount);
        // Timestamp bounds widen to whole milliseconds, never narrow.
        var exact = file.Stats.GetBounds("ts")!;
        var back = parsed.GetBounds("ts")!;
        Assert.True((long)back.Min! <= (long)exact.Min!);
        Assert.True((long)back.Max! >= (long)exact.Max!);
        Assert.True((long)exact.Min! - (long)back.Min! < 1000);
        Assert.Null(parsed.GetBounds("payload")?.Min);
        // A file-level predicate: ids 100..4099.
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("id > 5000"), parsed.GetBounds));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("id >= 4099"), parsed.GetBounds));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("id IS NULL"), parsed.GetBounds));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("ts IS NULL"), parsed.GetBounds));
    }

    [Fact]
    public void Timestamp_max_in_json_is_widened_when_parsed_and_min_is_kept()
    {
        var schema = new Schema([new Field("ts", new TimestampType(Apache.Arrow.Types.TimeUnit.Microsecond, "UTC"), true)], null);
        var stats = DataFileStats.Parse("""{"numRecords":2,"minValues":{"ts":"2024-01-02T03:04:05.123Z"},"maxValues":{"ts":"2024-01-02T03:04:05.123Z"},"nullCount":{"ts":0}}""", schema);
        var b = stats.GetBounds("ts")!;
        var ms = new DateTimeOffset(2024, 1, 2, 3, 4, 5, 123, TimeSpan.Zero).ToUnixTimeMilliseconds();
        Assert.Equal(ms * 1000, b.Min);
        Assert.Equal(ms * 1000 + 999, b.Max);
        // A row at .123456 (truncated to .123 by Spark) must not be skipped.
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("ts >= '2024-01-02T03:04:05.123456Z'"), stats.GetBounds));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("ts >= '2024-01-02T03:04:05.124Z'"), stats.GetBounds));
    }

    [Fact]
    public void Missing_or_malformed_stats_parse_to_nothing()
    {
        Assert.False(DataFileStats.TryParse(null, TestBatches.Schema, out _));
        Assert.False(DataFileStats.TryParse("{not json", TestBatches.Schema, out _));
        Assert.False(DataFileStats.TryParse("[1,2]", TestBatches.Schema, out _));
        Assert.True(DataFileStats.TryParse("{\"numRecords\":5,\"minValues\":{\"id\":\"oops\"}}", TestBatches.Schema, out var s));
        Assert.Null(s.GetBounds("id"));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("id = 1"), s.GetBounds));
    }

    [Fact]
    public void Spark_golden_stats_parse_with_offsets()
    {
        var log = File.ReadAllLines(Path.Combine(RepoPaths.Golden("data-skipping-basic-stats-all-types"), "_delta_log", "00000000000000000000.json"));
        var add = log.Select(l => JsonDocument.Parse(l).RootElement).First(e => e.TryGetProperty("add", out _)).GetProperty("add");
        var schema = new Schema([
            new Field("as_int", Int32Type.Default, true), new Field("as_long", Int64Type.Default, true),
            new Field("as_float", FloatType.Default, true), new Field("as_string", StringType.Default, true),
            new Field("as_date", Date32Type.Default, true), new Field("as_timestamp", new TimestampType(Apache.Arrow.Types.TimeUnit.Microsecond, "UTC"), true),
            new Field("as_big_decimal", new Decimal128Type(1, 0), true),
        ], null);
        var stats = DataFileStats.Parse(add.GetProperty("stats").GetString()!, schema);
        Assert.Equal(1, stats.NumRecords);
        Assert.Equal(0L, stats.GetBounds("as_int")!.Min);
        Assert.Equal(0.0, stats.GetBounds("as_float")!.Max);
        Assert.Equal("0", stats.GetBounds("as_string")!.Min);
        Assert.Equal((long)(new DateOnly(2000, 1, 1).DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber), stats.GetBounds("as_date")!.Min);
        var expected = new DateTimeOffset(2000, 1, 1, 8, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1000;
        Assert.Equal(expected, stats.GetBounds("as_timestamp")!.Min);
        Assert.Equal(expected + 999, stats.GetBounds("as_timestamp")!.Max);
        Assert.Equal(0m, stats.GetBounds("as_big_decimal")!.Min);
    }

    [Fact]
    public async Task Long_strings_truncate_min_to_a_prefix_and_bump_max()
    {
        using var dir = new TempDir();
        var schema = new Schema([new Field("s", StringType.Default, true)], null);
        var lo = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-low"; // 48 chars
        var hi = "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzyyyyyyyyyyyy-high";
        var b = new StringArray.Builder().Append(lo).Append("m").Append(hi).Build();
        var (file, _) = await WriteAsync(dir, schema, new RecordBatch(schema, [b], 3));
        using var doc = JsonDocument.Parse(file.Stats.ToJson());
        var min = doc.RootElement.GetProperty("minValues").GetProperty("s").GetString()!;
        var max = doc.RootElement.GetProperty("maxValues").GetProperty("s").GetString()!;
        Assert.Equal(lo[..32], min);
        Assert.Equal(32, max.Length);
        Assert.Equal(hi[..31] + (char)(hi[31] + 1), max);
        Assert.True(string.CompareOrdinal(max, hi) > 0);
        Assert.True(string.CompareOrdinal(min, lo) <= 0);
    }

    [Fact]
    public void String_max_truncation_never_claims_a_false_bound()
    {
        Assert.Equal("short", DataFileStats.TruncateMax("short"));
        var allMax = new string(char.MaxValue, 40);
        // U+FFFF bumps to U+10000 (a surrogate pair), still an upper bound in code point order.
        var bumped = DataFileStats.TruncateMax(allMax)!;
        Assert.True(ValueDomain.CompareUtf8Order(bumped, allMax) > 0);
        var maxRunes = string.Concat(Enumerable.Repeat(char.ConvertFromUtf32(0x10FFFF), 20));
        Assert.Null(DataFileStats.TruncateMax(maxRunes));
        // Never splits a surrogate pair.
        var emoji = new string('a', 31) + "😀" + "tail";
        Assert.Equal(new string('a', 31), DataFileStats.TruncateMin(emoji));
        Assert.Equal(new string('a', 30) + "b", DataFileStats.TruncateMax(emoji));
    }

    [Fact]
    public async Task Floats_with_nan_have_no_min_max()
    {
        using var dir = new TempDir();
        var schema = new Schema([new Field("d", DoubleType.Default, true), new Field("f", FloatType.Default, true)], null);
        var values = Enumerable.Range(0, 100).Select(i => (double)i).ToList();
        values[50] = double.NaN;
        var d = new DoubleArray.Builder().AppendRange(values).Build();
        var f = new FloatArray.Builder().AppendRange(Enumerable.Range(0, 100).Select(i => (float)i)).Build();
        var (file, _) = await WriteAsync(dir, schema, new RecordBatch(schema, [d, f], 100));
        using var doc = JsonDocument.Parse(file.Stats.ToJson());
        Assert.False(doc.RootElement.GetProperty("minValues").TryGetProperty("d", out _));
        Assert.False(doc.RootElement.GetProperty("maxValues").TryGetProperty("d", out _));
        Assert.Equal(0, doc.RootElement.GetProperty("nullCount").GetProperty("d").GetInt64());
        Assert.Equal(99.0, doc.RootElement.GetProperty("maxValues").GetProperty("f").GetDouble());
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("d > 1000"), file.Stats.GetBounds));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("f > 1000"), file.Stats.GetBounds));
        // Float bounds never exclude NaN rows, which satisfy '!=' and NOT(...).
        var constant = new ColumnBounds(DoubleType.Default, 5.0, 5.0, 0, 10);
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("d != 5"), _ => constant));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("NOT d = 5"), _ => constant));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("d = 6"), _ => constant));
    }

    [Fact]
    public async Task All_null_column_has_null_count_and_no_bounds()
    {
        using var dir = new TempDir();
        var schema = new Schema([new Field("x", Int64Type.Default, true)], null);
        var a = new Int64Array.Builder().AppendNull().AppendNull().Build();
        var (file, _) = await WriteAsync(dir, schema, new RecordBatch(schema, [a], 2));
        var json = file.Stats.ToJson();
        Assert.Equal("""{"numRecords":2,"nullCount":{"x":2}}""", json);
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("x = 1"), file.Stats.GetBounds));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x IS NULL"), file.Stats.GetBounds));
    }
}

public class DataFileStatsSchemaTests
{
    [Fact]
    public async Task List_columns_are_skipped_and_later_columns_keep_their_stats()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var schema = new Schema([
            new Field("a", Int64Type.Default, true),
            new Field("tags", new ListType(StringType.Default), true),
            new Field("b", StringType.Default, true),
        ], null);
        var values = new StringArray.Builder().AppendRange(["x", "y", "z"]).Build();
        var offsets = new ArrowBuffer.Builder<int>().AppendRange([0, 1, 3, 3]).Build();
        var tags = new ListArray(new ListType(StringType.Default), 3, offsets, values, ArrowBuffer.Empty, 0);
        var batch = new RecordBatch(schema, [new Int64Array.Builder().AppendRange([3, 1, 2]).Build(), tags,
            new StringArray.Builder().Append("q").AppendNull().Append("c").Build()], 3);
        // A batch whose schema is an equal copy (different nullability) is accepted.
        var copy = new Schema([new Field("a", Int64Type.Default, false), schema.FieldsList[1], schema.FieldsList[2]], null);
        var files = await ParquetDataWriter.WriteAllAsync(store, schema, Two(batch, new RecordBatch(copy, batch.Arrays, 3)), i => $"l{i}.parquet");
        var json = Assert.Single(files).Stats.ToJson();
        Assert.Equal("""{"numRecords":6,"minValues":{"a":1,"b":"c"},"maxValues":{"a":3,"b":"q"},"nullCount":{"a":0,"b":2}}""", json);
        var parsed = DataFileStats.Parse(json, schema);
        Assert.Null(parsed.GetBounds("tags"));
        Assert.Equal("q", parsed.GetBounds("b")!.Max);
        using var duck = new DuckDbReader();
        Assert.Equal(6L, Convert.ToInt64(duck.Scalar($"SELECT sum(len(tags))::BIGINT FROM read_parquet('{store.TryGetLocalPath(files[0].Key)}')")));
    }

    private static async IAsyncEnumerable<RecordBatch> Two(RecordBatch a, RecordBatch b)
    {
        yield return a;
        yield return b;
        await Task.CompletedTask;
    }
}
