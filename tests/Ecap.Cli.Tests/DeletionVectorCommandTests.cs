namespace Ecap.Cli.Tests;

/// <summary>
/// The CLI over the Spark-written table with deletion vectors: `storage read` (JSON rows and every --out format),
/// `storage info` and `query` all see exactly the 35 expected rows.
/// </summary>
public class DeletionVectorCommandTests
{
    private static string Modern(string table) => Path.Combine(RepoPaths.Root, "tests", "conformance", "delta-modern", table);

    private static string Lit(string path) => "'" + path.Replace("'", "''") + "'";

    [Fact]
    public void Read_exports_info_and_sql_see_the_expected_35_rows()
    {
        using var dir = new TempDir();
        var lake = dir.Sub("lake");
        TempDir.CopyDirectory(Path.Combine(Modern("dv-partitioned-with-checkpoint"), "delta"), Path.Combine(lake, "dv"));
        using var duck = new DuckDbReader();
        static string Row(object?[] r) => string.Join("|", r.Select(v => v?.ToString() ?? "null"));
        var expected = duck.Rows($"SELECT part, col1, col2 FROM read_parquet('{Path.Combine(Modern("dv-partitioned-with-checkpoint"), "expected")}/*.parquet')")
            .Select(Row).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(35, expected.Count);

        foreach (var name in new[] { "x.parquet", "x.csv" })
        {
            var path = dir.Sub(name);
            var r = EcapProcess.Run("--lake", lake, "data-lake", "storage", "read", "dv", "--out", path);
            Assert.True(r.ExitCode == 0, r.Stderr);
            var source = name.EndsWith(".csv") ? $"read_csv({Lit(path)}, header = true)" : $"read_parquet({Lit(path)})";
            Assert.Equal(expected, duck.Rows($"SELECT part, col1, col2 FROM {source}").Select(Row).Order(StringComparer.Ordinal).ToList());
        }

        var json = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "read", "dv");
        Assert.True(json.ExitCode == 0, json.Stderr);
        Assert.Equal(expected, json.Json().EnumerateArray()
            .Select(e => $"{e.GetProperty("part").GetRawText()}|{e.GetProperty("col1").GetRawText()}|{e.GetProperty("col2").GetString()}")
            .Order(StringComparer.Ordinal).ToList());

        var info = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "info", "dv");
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Equal(35, info.Json().GetProperty("record_count").GetInt64());

        var sql = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "query", "SELECT count(*) AS n, sum(col1) AS s FROM dv");
        Assert.True(sql.ExitCode == 0, sql.Stderr);
        var row = sql.Json().EnumerateArray().Single();
        Assert.Equal(35, row.GetProperty("n").GetInt64());
        Assert.Equal(duck.Scalar($"SELECT sum(col1) FROM read_parquet('{Path.Combine(Modern("dv-partitioned-with-checkpoint"), "expected")}/*.parquet')")!.ToString(),
            row.GetProperty("s").GetRawText());
    }
}
