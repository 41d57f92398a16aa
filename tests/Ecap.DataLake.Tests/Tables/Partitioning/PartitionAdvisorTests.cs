using Ecap.DataLake.Compaction;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Tables.Partitioning;

/// <summary>
/// Partition advice (issue 19): a table whose median partition is below 1/16 of the target file size is told the coarser
/// layout, computed from its own partitions; big enough or few partitions get none.
/// </summary>
public class PartitionAdvisorTests
{
    private static (IReadOnlyDictionary<string, string?>, long) Part(long bytes, params (string Key, string? Value)[] values) =>
        (values.ToDictionary(v => v.Key, v => v.Value), bytes);

    [Fact]
    public async Task A_daily_table_of_small_partitions_is_advised_monthly_in_info_and_analyze()
    {
        using var dir = new TempDir();
        // 60 days of 3,000 rows: each day a few KiB; with a 4 MiB target a day is far below 256 KiB, a month of 30 days is not.
        var lake = new DataLakeStorage(dir.Path, new DataLakeStorageOptions { TargetFileSizeBytes = 4L * 1024 * 1024 });
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 60_000, days: 60).ToAsyncEnumerable(), "tx", PartitionSpec.Parse("day(timestamp)"));

        var info = await lake.GetTableInfoAsync("tx");
        var advice = Assert.IsType<PartitionAdvice>(info.PartitionAdvice);
        Assert.Equal("year(timestamp),month(timestamp),day(timestamp)", advice.CurrentPartitionBy);
        Assert.Equal(info.PartitionCount, advice.PartitionCount);
        Assert.True(advice.MedianPartitionBytes < 4L * 1024 * 1024 / 16);
        // The suggestion parses back as a layout, and is the finest that makes partitions big enough.
        var suggested = PartitionSpec.Parse(advice.SuggestedPartitionBy);
        Assert.Equal(["year", "month"], suggested.PartitionColumns);
        Assert.Equal(info.Partitions.Select(p => (p.Values["year"], p.Values["month"])).Distinct().Count(), advice.SuggestedPartitionCount);
        Assert.Contains("month(timestamp)", advice.Message);

        var analysis = await new DataCompactor(lake).AnalyzeTableFilesAsync("tx", new AnalyzeOptions { TargetFileSizeBytes = 4L * 1024 * 1024 });
        Assert.Equal(advice.SuggestedPartitionBy, analysis.PartitionAdvice?.SuggestedPartitionBy);

        // With a target small enough for a day's bytes there is nothing to advise.
        var fine = await new DataCompactor(lake).AnalyzeTableFilesAsync("tx", new AnalyzeOptions { TargetFileSizeBytes = advice.MedianPartitionBytes * 8 });
        Assert.Null(fine.PartitionAdvice);
    }

    [Fact]
    public void Hours_go_to_days_months_to_years_and_an_identity_column_is_dropped()
    {
        const long target = 16_000;
        var hourly = PartitionSpec.Parse("hour(t)");
        var hours = Enumerable.Range(0, 48).Select(h => Part(100, ("year", "2026"), ("month", "1"), ("day", (1 + h / 24).ToString()), ("hour", (h % 24).ToString()))).ToList();
        // A day is 2,400 bytes, above 1,000 (target / 16): day(t) is enough, month(t) would be coarser than needed.
        Assert.Equal("year(t),month(t),day(t)", PartitionAdvisor.Advise(hourly, hours, target)!.SuggestedPartitionBy);

        var monthly = PartitionSpec.Parse("month(t)");
        var months = Enumerable.Range(0, 24).Select(m => Part(200, ("year", (2020 + m / 12).ToString()), ("month", (1 + m % 12).ToString()))).ToList();
        var advice = PartitionAdvisor.Advise(monthly, months, target)!;
        Assert.Equal("year(t)", advice.SuggestedPartitionBy);
        Assert.Equal((2, 2400L), (advice.SuggestedPartitionCount, advice.SuggestedMedianPartitionBytes));

        var byCountryAndCity = PartitionSpec.Parse("country,city");
        var cities = Enumerable.Range(0, 40).Select(c => Part(100, ("country", (c % 4).ToString()), ("city", c.ToString()))).ToList();
        Assert.Equal("country", PartitionAdvisor.Advise(byCountryAndCity, cities, target)!.SuggestedPartitionBy);

        // Nothing is enough but unpartitioned: the suggestion is the empty layout.
        var tiny = Enumerable.Range(0, 10).Select(c => Part(10, ("city", c.ToString()))).ToList();
        Assert.Equal("", PartitionAdvisor.Advise(PartitionSpec.Parse("city"), tiny, target)!.SuggestedPartitionBy);
    }

    [Fact]
    public void Big_enough_or_few_partitions_get_no_advice_and_buckets_are_reduced()
    {
        var layout = PartitionSpec.Parse("region");
        Assert.Null(PartitionAdvisor.Advise(layout, Enumerable.Range(0, 10).Select(r => Part(2_000, ("region", r.ToString()))).ToList(), 16_000));
        Assert.Null(PartitionAdvisor.Advise(layout, Enumerable.Range(0, 3).Select(r => Part(1, ("region", r.ToString()))).ToList(), 16_000));
        Assert.Null(PartitionAdvisor.Advise(PartitionSpec.Parse(null), [], 16_000));

        // 8 regions of 500 bytes in 2 groups of 4: "group" partitions of 2,000 bytes hold 2 buckets of 1,000 bytes (not 16 of 125).
        var bucketed = PartitionSpec.Parse("group,region,bucket(16, id)");
        var parts = Enumerable.Range(0, 8).Select(r => Part(500, ("group", (r % 2).ToString()), ("region", r.ToString()))).ToList();
        Assert.Equal("group,bucket(2, id)", PartitionAdvisor.Advise(bucketed, parts, 16_000)!.SuggestedPartitionBy);
    }
}
