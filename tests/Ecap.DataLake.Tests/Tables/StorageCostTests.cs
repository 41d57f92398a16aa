using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Tables;

/// <summary>The storage figures of table info: file-size histogram and monthly cost estimate.</summary>
public class StorageCostTests
{
    [Fact]
    public void Cost_is_bytes_in_gb_times_the_price_of_each_class_and_prices_are_configurable()
    {
        var tenGb = 10L * 1024 * 1024 * 1024;
        var estimate = StoragePricing.Default.Estimate(tenGb);
        Assert.Equal(10m, estimate.Gb);
        Assert.Equal("standard", estimate.StorageClass);
        Assert.Equal(0.23m, estimate.MonthlyCost);
        Assert.Equal(["glacier_instant", "infrequent_access", "intelligent_tiering", "onezone_ia", "standard"], estimate.ByClass.Select(c => c.StorageClass));
        Assert.Equal(0.125m, estimate.ByClass.Single(c => c.StorageClass == "infrequent_access").MonthlyCost);

        var custom = StoragePricing.Parse(["0.02", "Archive=0.001"]);
        Assert.Equal(0.2m, custom.Estimate(tenGb).MonthlyCost);
        Assert.Equal(0.01m, custom.Estimate(tenGb, "archive").MonthlyCost);
        Assert.Equal(6, custom.PricePerGbMonth.Count);
        // S3's class names are the price table's classes.
        Assert.Equal(estimate.ByClass.Single(c => c.StorageClass == "infrequent_access").MonthlyCost, StoragePricing.Default.Estimate(tenGb, "STANDARD_IA").MonthlyCost);
        Assert.Equal(0.05m, StoragePricing.Parse(["GLACIER_IR=0.005"]).Estimate(tenGb, "glacier_instant").MonthlyCost);
        Assert.Throws<InvalidInputException>(() => StoragePricing.Parse(["cheap"]));
        Assert.Throws<InvalidInputException>(() => StoragePricing.Parse(["standard=-1"]));
        Assert.Throws<InvalidInputException>(() => custom.Estimate(1, "tape"));
    }

    [Fact]
    public void File_size_histogram_buckets_files_around_the_target_size()
    {
        const long target = 128L * 1024 * 1024;
        long[] sizes = [1, 2 * 1024 * 1024 - 1, 2 * 1024 * 1024, 31L * 1024 * 1024, 32L * 1024 * 1024, 100L * 1024 * 1024, 300L * 1024 * 1024];
        var h = TableInspector.FileSizeHistogram(sizes, target);
        Assert.Equal([0L, 2L << 20, 8L << 20, 32L << 20, 64L << 20, 128L << 20, 256L << 20], h.Select(b => b.MinBytes));
        Assert.Equal([2, 1, 1, 1, 1, 0, 1], h.Select(b => b.FileCount));
        Assert.Null(h[^1].MaxBytes);
        Assert.Equal(sizes.Sum(), h.Sum(b => b.SizeBytes));
        // The small-file threshold (a quarter of the target) is a bucket edge: buckets below it hold exactly the small files.
        Assert.Equal(sizes.Count(s => s < target / 4), h.Where(b => b.MaxBytes <= target / 4).Sum(b => b.FileCount));
    }

    [Fact]
    public async Task Table_info_histogram_agrees_with_the_files_on_disk()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path, new DataLakeStorageOptions { TargetFileSizeBytes = 64 * 1024 });
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 20_000, days: 6), "tx", DataType.Transactions);
        var info = await lake.GetTableInfoAsync("tx");
        var onDisk = Directory.GetFiles(dir.Sub("tx"), "*.parquet", SearchOption.AllDirectories).Select(f => new FileInfo(f).Length).ToList();
        Assert.Equal(onDisk.Count, info.FileSizeHistogram.Sum(b => b.FileCount));
        Assert.Equal(onDisk.Sum(), info.FileSizeHistogram.Sum(b => b.SizeBytes));
        foreach (var b in info.FileSizeHistogram)
            Assert.Equal(onDisk.Count(s => s >= b.MinBytes && (b.MaxBytes is null || s < b.MaxBytes)), b.FileCount);
    }
}
