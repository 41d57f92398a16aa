using System.Globalization;
using Ecap.DataLake.Catalog;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Catalog;

public class TableStatisticsTests
{
    [Fact]
    public async Task Statistics_match_duckdb_over_the_same_files()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.UserEvents, 20_000, days: 4), "events", DataType.UserEvents);
        await lake.WritePartitionedDataAsync(Generate(DataType.UserEvents, 5_000, seed: 2, days: 2), "events", DataType.UserEvents);
        var catalog = new MetadataManager(dir.Path);
        await catalog.RegisterTableAsync("events", dir.Sub("events"));

        var entry = await catalog.UpdateTableStatisticsAsync("events", computeColumnStats: true, sampleSize: 100_000);
        var stats = entry.Statistics!;
        var snapshot = await lake.OpenTable("events").GetSnapshotAsync();
        Assert.Equal(1, stats.Version);
        Assert.Equal(25_000, stats.RowCount);
        Assert.Equal(25_000, stats.SampledRows);
        Assert.Equal(snapshot.Files.Count, stats.FileCount);
        Assert.Equal(snapshot.TotalSize, stats.SizeBytes);
        Assert.Equal(snapshot.Files.Select(f => string.Join("/", f.PartitionValues.OrderBy(kv => kv.Key).Select(kv => kv.Value))).Distinct().Count(), stats.PartitionCount);

        using var duck = new DuckDbReader();
        var files = DuckDbReader.FileList(await LiveFilesAsync(lake, dir.Path, "events"));
        var from = $"read_parquet({files}, hive_partitioning = false)";
        Assert.Equal(25_000L, duck.Scalar($"SELECT count(*) FROM {from}"));
        foreach (var column in new[] { "event_id", "customer_id", "product_id", "duration_ms", "session_id", "device", "referrer", "country" })
        {
            var c = stats.Columns.Single(x => x.Name == column);
            Assert.Equal(Convert.ToInt64(duck.Scalar($"SELECT count(*) - count({column}) FROM {from}"), CultureInfo.InvariantCulture), c.NullCount);
            Assert.Equal(Text(duck.Scalar($"SELECT min({column}) FROM {from}")), c.Min);
            Assert.Equal(Text(duck.Scalar($"SELECT max({column}) FROM {from}")), c.Max);
            var exact = Convert.ToDouble(duck.Scalar($"SELECT count(DISTINCT {column}) FROM {from}"), CultureInfo.InvariantCulture);
            // HyperLogLog with 2^14 registers: standard error 0.8%; allow 4 standard errors.
            Assert.InRange(c.DistinctCount!.Value, exact * 0.968, exact * 1.032);
        }
        // Timestamps: millisecond bounds around DuckDB's exact values.
        var time = stats.Columns.Single(x => x.Name == "event_timestamp");
        Assert.Equal("file_stats_ms", time.MinMaxSource);
        var exactMin = DuckTime(duck.Scalar($"SELECT epoch_us(min(event_timestamp)) FROM {from}"));
        var exactMax = DuckTime(duck.Scalar($"SELECT epoch_us(max(event_timestamp)) FROM {from}"));
        var statMin = DateTimeOffset.Parse(time.Min!, CultureInfo.InvariantCulture);
        var statMax = DateTimeOffset.Parse(time.Max!, CultureInfo.InvariantCulture);
        Assert.InRange(exactMin - statMin, TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
        // The max is rounded up when written and widened by 999 µs when parsed (Spark truncates it): under 2 ms.
        Assert.InRange(statMax - exactMax, TimeSpan.Zero, TimeSpan.FromMilliseconds(2));

        var device = stats.Columns.Single(x => x.Name == "device");
        Assert.Equal("file_stats", device.MinMaxSource);
        var topDevices = duck.Rows($"SELECT device, count(*) AS n FROM {from} GROUP BY device ORDER BY n DESC, device LIMIT 10");
        Assert.Equal(topDevices.Select(r => ((string)r[0]!, Convert.ToInt64(r[1], CultureInfo.InvariantCulture))),
            device.TopValues!.Select(v => (v.Value!, v.Count)));
        Assert.Equal((int?)Convert.ToInt32(duck.Scalar($"SELECT max(length(session_id)) FROM {from}"), CultureInfo.InvariantCulture),
            stats.Columns.Single(x => x.Name == "session_id").MaxLength);
        Assert.Equal(Math.Round(Convert.ToDouble(duck.Scalar($"SELECT avg(length(page_url)) FROM {from}"), CultureInfo.InvariantCulture), 2),
            stats.Columns.Single(x => x.Name == "page_url").AvgLength!.Value, 2);
        // High-cardinality columns have no top values.
        Assert.Null(stats.Columns.Single(x => x.Name == "event_id").TopValues);

        // Partition columns come from the log's partition values.
        var day = stats.Columns.Single(x => x.Name == "day");
        Assert.Equal("partition_values", day.MinMaxSource);
        Assert.Equal(0, day.NullCount);
    }

    [Fact]
    public async Task Without_column_stats_only_the_file_stats_are_used_and_a_small_sample_reads_few_rows()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 3_000, days: 3), "tx", DataType.Transactions);
        var catalog = new MetadataManager(dir.Path);
        await catalog.RegisterTableAsync("tx", dir.Sub("tx"));

        var plain = (await catalog.UpdateTableStatisticsAsync("tx")).Statistics!;
        Assert.Equal(0, plain.SampledRows);
        var id = plain.Columns.Single(c => c.Name == "transaction_id");
        Assert.Null(id.DistinctCount);
        Assert.Equal("file_stats", id.MinMaxSource);
        Assert.Equal(0, id.NullCount);

        var sampled = (await catalog.UpdateTableStatisticsAsync("tx", computeColumnStats: true, sampleSize: 500)).Statistics!;
        Assert.Equal(500, sampled.SampledRows);
        Assert.Equal(3_000, sampled.RowCount);
        Assert.InRange(sampled.Columns.Single(c => c.Name == "transaction_id").DistinctCount!.Value, 490, 510);
        await Assert.ThrowsAsync<InvalidInputException>(() => catalog.UpdateTableStatisticsAsync("tx", true, 0));
    }

    [Fact]
    public void HyperLogLog_estimates_stay_within_a_few_percent_from_small_to_large_cardinalities()
    {
        foreach (var n in new[] { 0, 1, 10, 1_000, 50_000, 1_000_000 })
        {
            var hll = new HyperLogLog();
            for (var i = 0; i < n; i++) { hll.Add(i); hll.Add(i); }
            Assert.InRange(hll.Estimate(), n * 0.97, n * 1.03 + 0.5);
            var strings = new HyperLogLog();
            for (var i = 0; i < n; i++) strings.Add("value-" + i.ToString(CultureInfo.InvariantCulture));
            Assert.InRange(strings.Estimate(), n * 0.97, n * 1.03 + 0.5);
        }
    }

    private static DateTimeOffset DuckTime(object? epochMicros) =>
        DateTimeOffset.UnixEpoch.AddTicks(Convert.ToInt64(epochMicros, CultureInfo.InvariantCulture) * 10);

    private static string? Text(object? value) => value switch
    {
        null => null,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
