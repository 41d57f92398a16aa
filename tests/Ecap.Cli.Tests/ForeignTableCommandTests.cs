using System.Text.Json;

namespace Ecap.Cli.Tests;

/// <summary>
/// `storage read` (every --out format, JSON rows, the terminal table) and `query` over a table another writer wrote
/// (INT96, millis, nanos, local timestamps, dates far from now, decimals in every physical form), in several time
/// zones of the process: the values are DuckDB's of the raw data file.
/// </summary>
public class ForeignTableCommandTests
{
    private const string DuckTypes =
        "{'id': 'BIGINT', 'ts_int96': 'TIMESTAMPTZ', 'ts_millis': 'TIMESTAMPTZ', 'ts_micros': 'TIMESTAMPTZ', 'ts_nanos': 'TIMESTAMPTZ', " +
        "'ts_local_micros': 'TIMESTAMPTZ', 'ntz_millis': 'TIMESTAMP', 'd': 'DATE', 'dec_i32': 'DECIMAL(9,2)', 'dec_i64': 'DECIMAL(18,4)', 'dec_flba': 'DECIMAL(28,10)'}";

    private static string Lit(string path) => "'" + path.Replace("'", "''") + "'";

    [Theory]
    [InlineData("UTC")]
    [InlineData("America/Los_Angeles")]
    [InlineData("Pacific/Kiritimati")]
    [InlineData("Asia/Kolkata")]
    public void Exports_json_rows_table_view_and_sql_agree_with_the_raw_file_in_any_time_zone(string zone)
    {
        using var dir = new TempDir();
        var lake = dir.Sub("lake");
        ForeignTable.Write(Path.Combine(lake, "spark_table"));
        var env = new Dictionary<string, string> { ["TZ"] = zone };
        EcapProcess.Result Run(params string[] args) => EcapProcess.RunWithEnvironment(env, ["--lake", lake, .. args]);
        var expected = ForeignTable.Expected();
        using var duck = new DuckDbReader();

        foreach (var name in new[] { "x.parquet", "x.csv", "x.jsonl" })
        {
            var path = dir.Sub(name);
            var r = Run("data-lake", "storage", "read", "spark_table", "--out", path);
            Assert.True(r.ExitCode == 0, r.Stderr);
            var rows = name.EndsWith(".jsonl")
                ? ForeignTable.FromJsonRows(File.ReadAllLines(path).Select(l => JsonDocument.Parse(l).RootElement))
                : ForeignTable.FromDuckDb(duck.Rows(ForeignTable.DuckDbSelect(name.EndsWith(".csv")
                    ? $"read_csv({Lit(path)}, header = true, columns = {DuckTypes})" : $"read_parquet({Lit(path)})")));
            Assert.Equal(expected, rows);
        }

        var json = Run("--output", "json", "data-lake", "storage", "read", "spark_table");
        Assert.True(json.ExitCode == 0, json.Stderr);
        Assert.Equal(expected, ForeignTable.FromJsonRows(json.Json().EnumerateArray()));

        var table = Run("data-lake", "storage", "read", "spark_table", "--columns", "id,d");
        Assert.True(table.ExitCode == 0, table.Stderr);
        foreach (var d in new[] { "2000-01-01", "9999-12-31", "1001-02-03" }) Assert.Contains(d, table.Stdout);

        var sql = Run("--output", "json", "data-lake", "query",
            "SELECT id, epoch_us(ts_int96) AS a, epoch_us(ts_local_micros) AS b, strftime(ts_int96, '%Y-%m-%d %H:%M:%S') AS t, d::VARCHAR AS d FROM spark_table ORDER BY id");
        Assert.True(sql.ExitCode == 0, sql.Stderr);
        var sqlRows = sql.Json().EnumerateArray().ToList();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i][1], sqlRows[i].GetProperty("a").GetRawText());
            Assert.Equal(expected[i][5], sqlRows[i].GetProperty("b").GetRawText());
            Assert.Equal(expected[i][7], sqlRows[i].GetProperty("d").GetString());
        }
        Assert.Equal("2000-01-01 08:00:00", sqlRows[0].GetProperty("t").GetString());
    }
}
