using System.Text.Json;
namespace Ecap.Cli.Tests;

/// <summary>
/// Real public data (tests/data/vega-datasets, from the npm package vega-datasets) stored without a data type and
/// checked against DuckDB reading the original file: counts, sums, distinct keys, values, leading zeros.
/// </summary>
public sealed class VegaDatasetsCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", _dir.Sub("lake"), .. args]);

    private string Export(string table)
    {
        var export = _dir.Sub(table + ".parquet");
        var r = Ecap("data-lake", "storage", "read", table, "--out", export);
        Assert.True(r.ExitCode == 0, r.Stderr);
        return export;
    }

    /// <summary>The same query over the source CSV (DuckDB's sniffer) and over the table's export must agree.</summary>
    private static void SameAnswer(DuckDbReader duck, string csv, string export, string select)
    {
        var source = duck.Rows(select.Replace("{t}", $"read_csv('{csv}')", StringComparison.Ordinal));
        var table = duck.Rows(select.Replace("{t}", $"read_parquet('{export}')", StringComparison.Ordinal));
        Assert.Equal(source.Count, table.Count);
        for (var i = 0; i < source.Count; i++) Assert.Equal(source[i], table[i]);
    }

    [Fact]
    public void Airports_partitioned_by_state_hold_every_row_as_duckdb_reads_the_file()
    {
        var csv = RepoPaths.VegaDataset("airports.csv");
        var r = Ecap("data-lake", "storage", "write", "airports", "--source-path", csv, "--partition-by", "state", "--sort-by", "iata");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var export = Export("airports");
        using var duck = new DuckDbReader();
        SameAnswer(duck, csv, export, "SELECT count(*), count(DISTINCT iata), count(DISTINCT state), round(sum(latitude), 6), round(sum(longitude), 6) FROM {t}");
        // Codes such as 00M keep their zeros; every name and city is exact.
        SameAnswer(duck, csv, export, "SELECT iata, name, city, state, latitude FROM {t} ORDER BY iata");
        Assert.Equal("Thigpen", duck.Scalar($"SELECT name FROM read_parquet('{export}') WHERE iata = '00M'"));
    }

    [Fact]
    public void Weather_by_year_and_location_and_zip_codes_unpartitioned_agree_with_duckdb()
    {
        var weather = RepoPaths.VegaDataset("weather.csv");
        var r = Ecap("data-lake", "ingestion", "files", "weather", "--path", weather, "--partition-by", "year(date),location");
        Assert.True(r.ExitCode == 0, r.Stderr);
        // 4 years x 2 locations, instead of 1,461 daily partitions.
        Assert.Equal(8, Directory.GetFiles(_dir.Sub("lake/weather"), "*.parquet", SearchOption.AllDirectories).Length);
        var export = Export("weather");
        using var duck = new DuckDbReader();
        SameAnswer(duck, weather, export,
            "SELECT location, year(date), count(*), round(sum(precipitation), 4), round(sum(temp_max), 4), round(sum(temp_min), 4), round(sum(wind), 4), count(DISTINCT weather) " +
            "FROM {t} GROUP BY ALL ORDER BY ALL");
        SameAnswer(duck, weather, export, "SELECT epoch(min(date))::BIGINT, epoch(max(date))::BIGINT FROM {t}");

        var zips = RepoPaths.VegaDataset("zipcodes-head3000.csv");
        var z = Ecap("data-lake", "ingestion", "files", "zipcodes", "--path", zips);
        Assert.True(z.ExitCode == 0, z.Stderr);
        var zipExport = Export("zipcodes");
        Assert.Equal("VARCHAR", duck.Scalar($"SELECT typeof(zip_code) FROM read_parquet('{zipExport}') LIMIT 1"));
        SameAnswer(duck, zips, zipExport, "SELECT zip_code, city, state, county, latitude, longitude FROM {t} ORDER BY zip_code");
        Assert.Equal("Holtsville", duck.Scalar($"SELECT city FROM read_parquet('{zipExport}') WHERE zip_code = '00501'"));
    }

    [Fact]
    public void Daily_weather_is_advised_coarser_and_storage_alter_rewrites_it_by_year_with_the_same_rows()
    {
        var weather = RepoPaths.VegaDataset("weather.csv");
        var r = Ecap("data-lake", "ingestion", "files", "weather", "--path", weather, "--partition-by", "day(date)");
        Assert.True(r.ExitCode == 0, r.Stderr);

        // 1,461 daily partitions of a few KiB against a 128 MiB target: info and analyze both advise, with the command.
        var info = Ecap("--output", "json", "data-lake", "storage", "info", "weather");
        Assert.True(info.ExitCode == 0, info.Stderr);
        var advice = info.Json().GetProperty("partition_advice");
        Assert.Equal(1461, advice.GetProperty("partition_count").GetInt32());
        Assert.Equal("year(date),month(date),day(date)", advice.GetProperty("current_partition_by").GetString());
        // The whole file is far below 8 MiB: no time layout is big enough, so the advice is unpartitioned.
        Assert.Equal("", advice.GetProperty("suggested_partition_by").GetString());
        Assert.Equal("ecap data-lake storage alter weather --partition-by \"none\"", advice.GetProperty("command").GetString());
        var analyze = Ecap("--output", "json", "data-lake", "compaction", "analyze", "weather");
        Assert.Equal(1461, analyze.Json().GetProperty("partition_advice").GetProperty("partition_count").GetInt32());
        var text = Ecap("data-lake", "storage", "info", "weather");
        Assert.Contains("partitions too small", text.Stdout);

        var plan = Ecap("--output", "json", "data-lake", "storage", "alter", "weather", "--partition-by", "year(date)", "--dry-run");
        Assert.True(plan.ExitCode == 0, plan.Stderr);
        Assert.Equal((4, 4, 1461), (plan.Json().GetProperty("estimated_partitions_after").GetInt32(), plan.Json().GetProperty("estimated_files_after").GetInt32(),
            plan.Json().GetProperty("files_before").GetInt32()));
        Assert.Equal(JsonValueKind.Null, plan.Json().GetProperty("version").ValueKind);

        var alter = Ecap("--output", "json", "data-lake", "storage", "alter", "weather", "--partition-by", "year(date)");
        Assert.True(alter.ExitCode == 0, alter.Stderr);
        Assert.Equal((1L, 4, 2922L), (alter.Json().GetProperty("version").GetInt64(), alter.Json().GetProperty("files_added").GetInt32(),
            alter.Json().GetProperty("rows_rewritten").GetInt64()));
        var after = Ecap("--output", "json", "data-lake", "storage", "info", "weather").Json();
        Assert.Equal(4, after.GetProperty("partition_count").GetInt32());
        Assert.Equal("year", Assert.Single(after.GetProperty("partition_columns").EnumerateArray()).GetString());
        var export = Export("weather");
        using var duck = new DuckDbReader();
        SameAnswer(duck, weather, export,
            "SELECT location, year(date), count(*), round(sum(precipitation), 4), round(sum(temp_max), 4), count(DISTINCT weather) FROM {t} GROUP BY ALL ORDER BY ALL");

        // The restore point made first brings the daily layout back.
        var point = alter.Json().GetProperty("restore_point").GetProperty("name").GetString()!;
        var restore = Ecap("data-lake", "storage", "restore", "weather", "--restore-point", point);
        Assert.True(restore.ExitCode == 0, restore.Stderr);
        Assert.Equal(1461, Ecap("--output", "json", "data-lake", "storage", "info", "weather").Json().GetProperty("partition_count").GetInt32());
    }

    [Fact]
    public void Movies_a_json_array_is_streamed_into_a_table_with_every_title_exact()
    {
        var json = RepoPaths.VegaDataset("movies.json");
        var r = Ecap("--output", "json", "data-lake", "ingestion", "files", "movies", "--path", json);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(0, r.Json().GetProperty("records_dead_lettered").GetInt64());
        var export = Export("movies");
        using var duck = new DuckDbReader();
        var source = $"read_json('{json}')";
        var table = $"read_parquet('{export}')";
        string Q(string from) =>
            $"SELECT count(*), count(DISTINCT \"Title\"), sum(\"Worldwide Gross\")::DOUBLE, sum(\"Production Budget\")::DOUBLE, " +
            $"round(avg(\"IMDB Rating\"), 6), count(\"Director\"), count(DISTINCT \"Distributor\") FROM {from}";
        Assert.Equal(duck.Rows(Q(source))[0], duck.Rows(Q(table))[0]);
        // Titles with non-ASCII characters, byte for byte.
        // DuckDB reads Title as JSON (a few titles are numbers): its text value is ->>'$'.
        string Titles(string from, string title) => (string)duck.Scalar(
            $"SELECT string_agg(t, '|' ORDER BY t) FROM (SELECT {title} AS t FROM {from}) WHERE regexp_matches(t, '[^\\x00-\\x7F]')")!;
        var expected = Titles(source, "\"Title\"->>'$'");
        Assert.Equal(expected, Titles(table, "\"Title\""));
        Assert.Contains("Le Fabuleux destin d'Am", expected, StringComparison.Ordinal);
    }
}
