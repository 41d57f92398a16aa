using System.Globalization;
using System.Text;

namespace Ecap.Cli.Tests;

/// <summary>
/// Tables of any data (issue 19): <c>storage write</c> and <c>ingestion files</c> without <c>--data-type</c>, with
/// <c>--partition-by</c> transforms and <c>--sort-by</c>; layouts that differ from an existing table's. Rows are
/// checked by DuckDB reading the source CSV against DuckDB reading an export of the table.
/// </summary>
public sealed class GenericTableCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Lake => _dir.Sub("lake");

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", Lake, .. args]);

    /// <summary>A weather-like CSV: 2 stations, 3 years of 6-hourly readings, zip codes with leading zeros.</summary>
    private string WeatherCsv()
    {
        var path = _dir.Sub("weather.csv");
        var sb = new StringBuilder("date,station,temp,zip\n");
        var start = new DateTime(2013, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < 3 * 365 * 4; i++)
        {
            var station = i % 2 == 0 ? "Seattle" : "New York";
            var zip = i % 2 == 0 ? "00501" : "02134";
            sb.Append(CultureInfo.InvariantCulture, $"{start.AddHours(6 * i):yyyy-MM-dd HH:mm:ss},{station},{(i % 50) - 10.5},{zip}\n");
        }
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    private string Export(string table)
    {
        var export = _dir.Sub(Guid.NewGuid().ToString("N") + ".parquet");
        var r = Ecap("data-lake", "storage", "read", table, "--out", export);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return export;
    }

    private static string[] Directories(string tableDir) =>
        Directory.GetFiles(tableDir, "*.parquet", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(tableDir, Path.GetDirectoryName(f)!).Replace('\\', '/')).Distinct().Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void Storage_write_without_a_data_type_partitions_by_transforms_and_keeps_every_value()
    {
        var csv = WeatherCsv();
        var r = Ecap("data-lake", "storage", "write", "weather", "--source-path", csv, "--partition-by", "year(date),station", "--sort-by", "temp");
        Assert.True(r.ExitCode == 0, r.Stderr);
        // One partition per year and station (6), not one per day (2,190).
        var dirs = Directories(Path.Combine(Lake, "weather"));
        Assert.Equal(6, dirs.Length);
        Assert.Contains("year=2014/station=New York", dirs.Select(Uri.UnescapeDataString));

        var export = Export("weather");
        using var duck = new DuckDbReader();
        var source = duck.Rows($"SELECT count(*), sum(temp), count(DISTINCT station), epoch(min(date))::BIGINT FROM read_csv('{csv}')")[0];
        var table = duck.Rows($"SELECT count(*), sum(temp), count(DISTINCT station), epoch(min(date))::BIGINT FROM read_parquet('{export}')")[0];
        Assert.Equal(source, table);
        // DuckDB's sniffer keeps the zeros as text, and so does the table.
        Assert.Equal("VARCHAR", duck.Scalar($"SELECT typeof(zip) FROM read_csv('{csv}') LIMIT 1"));
        Assert.Equal(new object?[] { "00501", "02134" }, duck.Rows($"SELECT DISTINCT zip FROM read_parquet('{export}') ORDER BY zip").Select(x => x[0]));
        Assert.Equal(2190L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{export}') WHERE zip = '00501'")));
    }

    [Fact]
    public void Ingestion_files_without_a_data_type_takes_hour_and_bucket_and_an_unpartitioned_table()
    {
        var csv = WeatherCsv();
        var r = Ecap("data-lake", "ingestion", "files", "hourly", "--path", csv, "--partition-by", "hour(date),bucket(4, station)");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var dirs = Directories(Path.Combine(Lake, "hourly"));
        Assert.All(dirs, d => Assert.Matches(@"^year=\d{4}/month=\d{1,2}/day=\d{1,2}/hour=(0|6|12|18)$", d));
        var plain = Ecap("data-lake", "ingestion", "files", "plain", "--path", csv);
        Assert.True(plain.ExitCode == 0, plain.Stderr);
        Assert.Equal(["."], Directories(Path.Combine(Lake, "plain")));

        using var duck = new DuckDbReader();
        var source = duck.Rows($"SELECT count(*), sum(temp) FROM read_csv('{csv}')")[0];
        Assert.Equal(source, duck.Rows($"SELECT count(*), sum(temp) FROM read_parquet('{Export("hourly")}')")[0]);
        Assert.Equal(source, duck.Rows($"SELECT count(*), sum(temp) FROM read_parquet('{Export("plain")}')")[0]);
        // hour(date) is the hour of the source value.
        Assert.Equal(0L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{Export("hourly")}') WHERE hour <> hour(date)")));
    }

    [Fact]
    public void A_preset_with_a_coarser_granularity_keeps_its_schema_and_sort()
    {
        var csv = _dir.Sub("tx.csv");
        var sb = new StringBuilder("transaction_id,timestamp,amount,status\n");
        for (var i = 0; i < 300; i++) sb.Append(CultureInfo.InvariantCulture, $"{300 - i},2026-{1 + i % 3:00}-{1 + i % 28:00}T12:00:00Z,{i}.5,paid\n");
        File.WriteAllText(csv, sb.ToString());
        var r = Ecap("data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", csv, "--partition-by", "month(timestamp)");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(["year=2026/month=1", "year=2026/month=2", "year=2026/month=3"], Directories(Path.Combine(Lake, "tx")));
        using var duck = new DuckDbReader();
        foreach (var file in Directory.GetFiles(Path.Combine(Lake, "tx"), "*.parquet", SearchOption.AllDirectories))
        {
            // Sorted by the preset's transaction_id within each file; amount has the canonical decimal type.
            var ids = duck.Rows($"SELECT transaction_id FROM read_parquet('{file}')").Select(x => Convert.ToInt64(x[0])).ToList();
            Assert.Equal(ids.Order(), ids);
            Assert.StartsWith("DECIMAL", (string)duck.Scalar($"SELECT typeof(amount) FROM read_parquet('{file}') LIMIT 1")!, StringComparison.Ordinal);
        }
        // The same options again append; the preset's own day layout is another layout.
        Assert.Equal(0, Ecap("data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", csv, "--partition-by", "month(timestamp)").ExitCode);
        var other = Ecap("data-lake", "storage", "write", "tx", "--data-type", "user_events", "--source-path", csv);
        Assert.Equal(2, other.ExitCode);
        Assert.Contains("holds transactions", other.Stderr, StringComparison.Ordinal);
        Assert.Contains("not user_events", other.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_layout_or_data_type_that_differs_from_the_tables_is_an_error_naming_both()
    {
        var csv = WeatherCsv();
        Assert.Equal(0, Ecap("data-lake", "storage", "write", "w", "--source-path", csv, "--partition-by", "month(date)").ExitCode);

        var layout = Ecap("data-lake", "storage", "write", "w", "--source-path", csv, "--partition-by", "station");
        Assert.Equal(2, layout.ExitCode);
        Assert.Contains("laid out as year(date),month(date), not station", layout.Stderr, StringComparison.Ordinal);
        var ingest = Ecap("data-lake", "ingestion", "files", "w", "--path", csv, "--partition-by", "day(date)");
        Assert.Equal(2, ingest.ExitCode);
        Assert.Contains("not year(date),month(date),day(date)", ingest.Stderr, StringComparison.Ordinal);
        var typed = Ecap("data-lake", "storage", "write", "w", "--source-path", csv, "--data-type", "transactions");
        Assert.Equal(2, typed.ExitCode);
        Assert.Contains("generic table laid out as year(date),month(date), not transactions", typed.Stderr, StringComparison.Ordinal);
        var bad = Ecap("data-lake", "storage", "write", "x", "--source-path", csv, "--partition-by", "week(date)");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("Unknown partition transform 'week'", bad.Stderr, StringComparison.Ordinal);

        // Without layout options an append takes the table's own layout; nothing was added by the refused writes.
        Assert.Equal(0, Ecap("data-lake", "storage", "write", "w", "--source-path", csv).ExitCode);
        using var duck = new DuckDbReader();
        Assert.Equal(2L * 4380, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{Export("w")}')")));
    }
}

/// <summary>Rough edges of reading (issue 19): a negative --limit and a reversed range are errors, not empty results.</summary>
public sealed class ReadArgumentCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_negative_limit_or_a_reversed_range_is_a_usage_error()
    {
        var csv = _dir.Sub("a.csv");
        File.WriteAllText(csv, "k,v\n1,a\n2,b\n");
        string[] lake = ["--lake", _dir.Sub("lake")];
        Assert.Equal(0, EcapProcess.Run([.. lake, "data-lake", "storage", "write", "t", "--source-path", csv, "--partition-by", "k"]).ExitCode);
        var negative = EcapProcess.Run([.. lake, "data-lake", "storage", "read", "t", "--limit", "-1"]);
        Assert.Equal(2, negative.ExitCode);
        Assert.Contains("--limit must be 0 or more, not -1", negative.Stderr, StringComparison.Ordinal);
        var query = EcapProcess.Run([.. lake, "data-lake", "query", "SELECT * FROM t", "--limit", "-5"]);
        Assert.Equal(2, query.ExitCode);
        Assert.Contains("--limit must be 0 or more", query.Stderr, StringComparison.Ordinal);
        var reversed = EcapProcess.Run([.. lake, "data-lake", "storage", "read", "t", "--partition-filter", "k=10..2"]);
        Assert.Equal(2, reversed.ExitCode);
        Assert.Contains("range 10..2 is reversed", reversed.Stderr, StringComparison.Ordinal);
        var ok = EcapProcess.Run([.. lake, "--output", "json", "data-lake", "storage", "read", "t", "--partition-filter", "k=1..2"]);
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Equal(2, ok.Json().GetArrayLength());
    }
}

/// <summary>The terminal table (issue 19): piped output is not cut to 80 columns; COLUMNS sets the width.</summary>
public sealed class TableWidthCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Piped_output_keeps_whole_headers_and_values_and_COLUMNS_sets_the_width()
    {
        var csv = _dir.Sub("wide.csv");
        var names = Enumerable.Range(0, 12).Select(i => $"a_rather_long_column_name_{i}").ToArray();
        File.WriteAllText(csv, string.Join(",", names) + "\n" + string.Join(",", names.Select((_, i) => $"value_number_{i}_in_full")) + "\n");
        string[] lake = ["--lake", _dir.Sub("lake")];
        Assert.Equal(0, EcapProcess.Run([.. lake, "data-lake", "storage", "write", "wide", "--source-path", csv]).ExitCode);

        var piped = EcapProcess.Run([.. lake, "data-lake", "storage", "read", "wide"]);
        Assert.True(piped.ExitCode == 0, piped.Stderr);
        foreach (var name in names) Assert.Contains(name, piped.Stdout, StringComparison.Ordinal);
        Assert.Contains("value_number_11_in_full", piped.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("…", piped.Stdout, StringComparison.Ordinal);

        var narrow = EcapProcess.RunWithEnvironment(new Dictionary<string, string> { ["COLUMNS"] = "60" }, [.. lake, "data-lake", "storage", "read", "wide"]);
        Assert.True(narrow.ExitCode == 0, narrow.Stderr);
        Assert.All(narrow.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.True(line.TrimEnd('\r').Length <= 60, line));
    }
}

/// <summary><c>compaction retention TABLE --days N --dry-run</c> (the README's and --help's example) previews N days, changing nothing.</summary>
public sealed class RetentionPreviewCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Days_with_dry_run_previews_that_policy_and_leaves_the_table_as_it_is()
    {
        var csv = _dir.Sub("tx.csv");
        File.WriteAllText(csv, "transaction_id,timestamp,amount,status\n1,2020-01-05T00:00:00Z,1.5,paid\n2,2026-11-20T00:00:00Z,2.5,paid\n");
        string[] lake = ["--lake", _dir.Sub("lake")];
        Assert.Equal(0, EcapProcess.Run([.. lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", csv]).ExitCode);
        var dry = EcapProcess.Run([.. lake, "--output", "json", "data-lake", "compaction", "retention", "tx", "--days", "400", "--dry-run"]);
        Assert.True(dry.ExitCode == 0, dry.Stderr);
        Assert.Contains("2020", dry.Stdout, StringComparison.Ordinal); // the 2020 partition would go
        // Nothing changed: no policy was set and no row removed.
        var apply = EcapProcess.Run([.. lake, "data-lake", "compaction", "retention", "tx"]);
        Assert.Equal(2, apply.ExitCode);
        Assert.Contains("has no retention policy", apply.Stderr, StringComparison.Ordinal);
        var rows = EcapProcess.Run([.. lake, "--output", "json", "data-lake", "storage", "read", "tx"]);
        Assert.Equal(2, rows.Json().GetArrayLength());
    }
}
