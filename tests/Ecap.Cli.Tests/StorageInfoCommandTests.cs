namespace Ecap.Cli.Tests;

/// <summary>`storage info`: the cost estimate and file-size histogram in JSON, and the charts in the terminal.</summary>
public sealed class StorageInfoCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Info_reports_histogram_and_monthly_cost_per_storage_class_and_draws_the_charts()
    {
        var lake = _dir.Sub("lake");
        var source = _dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "4000", "--days", "5", "--out", source, "--seed", "2").ExitCode);
        Assert.Equal(0, EcapProcess.Run("--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source).ExitCode);

        var r = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "info", "tx",
            "--price-per-gb-month", "0.05", "--price-per-gb-month", "archive=0.001", "--storage-class", "archive");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        var total = json.GetProperty("total_size_bytes").GetInt64();
        var onDisk = Directory.GetFiles(Path.Combine(lake, "tx"), "*.parquet", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Assert.Equal(onDisk, total);

        var cost = json.GetProperty("storage_cost");
        var gb = total / (1024m * 1024 * 1024);
        Assert.Equal("archive", cost.GetProperty("storage_class").GetString());
        Assert.Equal(Math.Round(gb * 0.001m, 10), cost.GetProperty("monthly_cost").GetDecimal());
        var byClass = cost.GetProperty("by_class").EnumerateArray().ToDictionary(c => c.GetProperty("storage_class").GetString()!);
        Assert.Equal(["archive", "glacier_instant", "infrequent_access", "intelligent_tiering", "onezone_ia", "standard"], byClass.Keys);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, cost.GetProperty("stored").ValueKind); // a local folder has no classes
        Assert.Equal(0.05m, byClass["standard"].GetProperty("price_per_gb_month").GetDecimal());
        Assert.Equal(Math.Round(gb * 0.05m, 10), byClass["standard"].GetProperty("monthly_cost").GetDecimal());

        var histogram = json.GetProperty("file_size_histogram").EnumerateArray().ToList();
        Assert.Equal(json.GetProperty("file_count").GetInt32(), histogram.Sum(b => b.GetProperty("file_count").GetInt32()));
        Assert.Equal(total, histogram.Sum(b => b.GetProperty("size_bytes").GetInt64()));

        var screen = EcapProcess.Run("--lake", lake, "data-lake", "storage", "info", "tx");
        Assert.True(screen.ExitCode == 0, screen.Stderr);
        Assert.Contains("partition sizes (KiB)", screen.Stdout);
        Assert.Contains("year=2026/month=8/day=1", screen.Stdout);
        Assert.Contains("file sizes", screen.Stdout);
        Assert.Contains("estimated monthly storage cost", screen.Stdout);
        Assert.Contains("█", screen.Stdout);

        var bad = EcapProcess.Run("--lake", lake, "data-lake", "storage", "info", "tx", "--storage-class", "tape");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("Unknown storage class 'tape'", bad.Stderr);
    }
}
