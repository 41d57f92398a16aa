using System.Text.Json;

namespace Ecap.Cli.Tests;

/// <summary>
/// <c>storage create</c> (issue 19): an empty table from a schema and a layout, in one commit without files, which
/// later writes append to with its layout; DuckDB reads what they wrote.
/// </summary>
public sealed class TableCreateCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Lake => _dir.Sub("lake");

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", Lake, .. args]);

    [Fact]
    public void Storage_create_makes_an_empty_table_in_one_commit_that_writes_then_append_to()
    {
        var r = Ecap("--output", "json", "data-lake", "storage", "create", "weather",
            "--schema", "date timestamp, station string, temp double, zip string, price decimal(10, 2)", "--partition-by", "year(date)", "--sort-by", "station");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(0, r.Json().GetProperty("version").GetInt64());
        Assert.Equal("year(date) sort by station", r.Json().GetProperty("layout").GetString());

        var tableDir = Path.Combine(Lake, "weather");
        Assert.Empty(Directory.GetFiles(tableDir, "*.parquet", SearchOption.AllDirectories));
        var commits = Directory.GetFiles(Path.Combine(tableDir, "_delta_log"), "*.json");
        Assert.Single(commits);
        var actions = File.ReadAllLines(commits[0]).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.DoesNotContain(actions, a => a.TryGetProperty("add", out _));
        var commitInfo = actions.Single(a => a.TryGetProperty("commitInfo", out _)).GetProperty("commitInfo");
        Assert.Equal("CREATE TABLE", commitInfo.GetProperty("operation").GetString());
        var metadata = actions.Single(a => a.TryGetProperty("metaData", out _)).GetProperty("metaData");
        Assert.Equal(["year"], metadata.GetProperty("partitionColumns").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("decimal(10,2)", metadata.GetProperty("schemaString").GetString(), StringComparison.Ordinal);

        // A write without layout options takes the created layout; the schema's types win over inference (zip stays text).
        var csv = _dir.Sub("w.csv");
        File.WriteAllText(csv, "date,station,temp,zip,price\n2014-03-01 06:00:00,Seattle,1.5,00501,2.25\n2015-03-01 06:00:00,Boston,-2.5,02134,3.50\n");
        var write = Ecap("data-lake", "storage", "write", "weather", "--source-path", csv);
        Assert.True(write.ExitCode == 0, write.Stderr);
        Assert.Equal(2, Directory.GetDirectories(tableDir, "year=*").Length);
        using var duck = new DuckDbReader();
        var files = string.Join(",", Directory.GetFiles(tableDir, "*.parquet", SearchOption.AllDirectories).Select(f => $"'{f}'"));
        Assert.Equal(new object?[] { 2L, -1.0, "00501" },
            duck.Rows($"SELECT count(*)::BIGINT, sum(temp), min(zip) FROM read_parquet([{files}])")[0]);

        // Again: the table exists; a bad type or a layout column not in the schema is a usage error.
        Assert.NotEqual(0, Ecap("data-lake", "storage", "create", "weather", "--schema", "a long").ExitCode);
        var badType = Ecap("data-lake", "storage", "create", "t2", "--schema", "a lng");
        Assert.Equal(2, badType.ExitCode);
        Assert.Contains("unknown type 'lng'", badType.Stderr, StringComparison.Ordinal);
        var missing = Ecap("data-lake", "storage", "create", "t3", "--schema", "a long", "--partition-by", "b");
        Assert.NotEqual(0, missing.ExitCode);
        Assert.False(Directory.Exists(Path.Combine(Lake, "t3", "_delta_log")) && Directory.GetFiles(Path.Combine(Lake, "t3", "_delta_log"), "*.json").Length > 0);
    }

    [Fact]
    public void Storage_create_with_a_data_type_and_a_schema_file()
    {
        var preset = Ecap("--output", "json", "data-lake", "storage", "create", "tx", "--data-type", "transactions", "--partition-by", "month(timestamp)");
        Assert.True(preset.ExitCode == 0, preset.Stderr);
        Assert.StartsWith("year(timestamp),month(timestamp)", preset.Json().GetProperty("layout").GetString(), StringComparison.Ordinal);
        var schemaFile = _dir.Sub("schema.txt");
        File.WriteAllText(schemaFile, "id:long\nname:string\n");
        var fromFile = Ecap("--output", "json", "data-lake", "storage", "create", "people", "--schema", schemaFile);
        Assert.True(fromFile.ExitCode == 0, fromFile.Stderr);
        Assert.Equal("id long, name string", fromFile.Json().GetProperty("schema").GetString());
        Assert.Equal("(unpartitioned)", fromFile.Json().GetProperty("layout").GetString());
        var noFile = Ecap("data-lake", "storage", "create", "t4", "--schema", _dir.Sub("missing.json"));
        Assert.Equal(2, noFile.ExitCode);
        Assert.Contains("does not exist", noFile.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Dry_run_prints_the_inferred_schema_in_schema_syntax_and_the_layout_and_writes_nothing()
    {
        var csv = _dir.Sub("w.csv");
        File.WriteAllText(csv, "date,station,temp,zip\n2014-03-01 06:00:00,Seattle,1.5,00501\n2015-03-01 06:00:00,Boston,-2.5,02134\n");
        var text = Ecap("data-lake", "storage", "write", "w", "--source-path", csv, "--partition-by", "year(date)", "--dry-run");
        Assert.True(text.ExitCode == 0, text.Stderr);
        Assert.Contains("layout: year(date)", text.Stdout, StringComparison.Ordinal);
        var schemaLine = text.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith("schema: ", StringComparison.Ordinal))["schema: ".Length..];
        Assert.Equal("date timestamp, station string, temp double, zip string", schemaLine);
        var json = Ecap("--output", "json", "data-lake", "ingestion", "files", "w", "--path", csv, "--dry-run", "--schema", "temp string");
        Assert.True(json.ExitCode == 0, json.Stderr);
        Assert.True(json.Json().GetProperty("dry_run").GetBoolean());
        Assert.Equal("date timestamp, station string, temp string, zip string", json.Json().GetProperty("schema").GetString());
        Assert.Equal("(unpartitioned)", json.Json().GetProperty("layout").GetString());
        Assert.False(Directory.Exists(Path.Combine(Lake, "w")));

        // The printed schema is --schema input: a write with it creates the table with exactly those types.
        var write = Ecap("data-lake", "storage", "write", "w", "--source-path", csv, "--schema", schemaLine.Replace("temp double", "temp string", StringComparison.Ordinal));
        Assert.True(write.ExitCode == 0, write.Stderr);
        using var duck = new DuckDbReader();
        var file = Directory.GetFiles(Path.Combine(Lake, "w"), "*.parquet", SearchOption.AllDirectories).Single();
        Assert.Equal("VARCHAR", duck.Scalar($"SELECT typeof(temp) FROM read_parquet('{file}') LIMIT 1"));
        Assert.Equal(new object?[] { "-2.5", "1.5" }, duck.Rows($"SELECT temp FROM read_parquet('{file}') ORDER BY temp").Select(r => r[0]));
        // An existing table: the dry run shows its layout and the types its rows are read with.
        var again = Ecap("--output", "json", "data-lake", "storage", "write", "w", "--source-path", csv, "--dry-run");
        Assert.True(again.Json().GetProperty("table_exists").GetBoolean());
        Assert.StartsWith("date timestamp, station string, temp string", again.Json().GetProperty("schema").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Truncate_partitions_by_the_lower_multiple_and_the_leading_characters_as_duckdb_computes_them()
    {
        var csv = _dir.Sub("z.csv");
        var sb = new System.Text.StringBuilder("id,zip,n\n");
        for (var i = 0; i < 400; i++) sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"{i},{(i * 7919) % 100000:00000},{(i % 61) - 30}\n");
        File.WriteAllText(csv, sb.ToString());
        var r = Ecap("data-lake", "storage", "write", "z", "--source-path", csv, "--partition-by", "truncate(2, zip),truncate(10, n)");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var export = _dir.Sub("z.parquet");
        Assert.Equal(0, Ecap("data-lake", "storage", "read", "z", "--out", export).ExitCode);
        using var duck = new DuckDbReader();
        // Iceberg's truncate, computed by DuckDB from the source file: left(zip, 2) and n - ((n % 10) + 10) % 10.
        const string expected = "SELECT left(zip, 2) AS z, n - ((n % 10) + 10) % 10 AS t, count(*) AS c";
        var source = duck.Rows($"{expected} FROM read_csv('{csv}', types={{'zip': 'VARCHAR'}}) GROUP BY ALL ORDER BY ALL");
        var table = duck.Rows($"SELECT zip_trunc, n_trunc, count(*) FROM read_parquet('{export}') GROUP BY ALL ORDER BY ALL");
        Assert.Equal(source.Select(x => string.Join("|", x)), table.Select(x => string.Join("|", x)));
        // One directory per (zip_trunc, n_trunc) pair.
        var dirs = Directory.GetFiles(Path.Combine(Lake, "z"), "*.parquet", SearchOption.AllDirectories).Select(Path.GetDirectoryName).Distinct().Count();
        Assert.Equal(source.Count, dirs);
        // The layout is the table's: appending with it again works, another width is an error naming both.
        Assert.Equal(0, Ecap("data-lake", "storage", "write", "z", "--source-path", csv, "--partition-by", "truncate(2, zip),truncate(10, n)").ExitCode);
        var other = Ecap("data-lake", "storage", "write", "z", "--source-path", csv, "--partition-by", "truncate(3, zip)");
        Assert.Equal(2, other.ExitCode);
        Assert.Contains("laid out as truncate(2, zip),truncate(10, n), not truncate(3, zip)", other.Stderr, StringComparison.Ordinal);
    }
}
