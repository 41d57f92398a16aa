using System.Text.Json;

namespace Ecap.Cli.Tests;

/// <summary>
/// `storage alter` (rename, drop, add) and then every reader of the CLI over the altered and over column-mapped tables:
/// `storage read` (JSON rows, --out exports), `storage info`, `query`; the raw data file still holds the old names (DuckDB).
/// </summary>
public class ColumnMappingCommandTests
{
    private static string Lit(string path) => "'" + path.Replace("'", "''") + "'";

    [Fact]
    public void Alter_renames_drops_and_adds_then_reads_exports_and_sql_see_the_new_names_over_the_unchanged_file()
    {
        using var dir = new TempDir();
        var lake = dir.Sub("lake");
        var file = ForeignTable.Write(Path.Combine(lake, "spark_table"));
        EcapProcess.Result Run(params string[] args) => EcapProcess.Run(["--lake", lake, .. args]);

        var help = Run("data-lake", "storage", "alter", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("--rename-column", help.Stdout);
        Assert.Contains("column mapping", help.Stdout);

        var alter = Run("--output", "json", "data-lake", "storage", "alter", "spark_table", "--rename-column", "d=day", "--drop-column", "dec_i32", "--add-column", "note:string");
        Assert.True(alter.ExitCode == 0, alter.Stderr);
        Assert.Equal(1, alter.Json().GetProperty("version").GetInt64());

        var json = Run("--output", "json", "data-lake", "storage", "read", "spark_table", "--columns", "id,day,note", "--where", "day = '1001-02-03'");
        Assert.True(json.ExitCode == 0, json.Stderr);
        var row = Assert.Single(json.Json().EnumerateArray());
        Assert.Equal(2, row.GetProperty("id").GetInt64());
        Assert.Equal("1001-02-03", row.GetProperty("day").GetString());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("note").ValueKind);

        using var duck = new DuckDbReader();
        var export = dir.Sub("x.parquet");
        var read = Run("data-lake", "storage", "read", "spark_table", "--out", export);
        Assert.True(read.ExitCode == 0, read.Stderr);
        Assert.Equal(0L, duck.Scalar(
            $"SELECT count(*) FROM ((SELECT id, day FROM read_parquet({Lit(export)})) EXCEPT ALL (SELECT id, d FROM read_parquet({Lit(file)})))"));
        Assert.Equal(0L, duck.Scalar($"SELECT count(*) FROM read_parquet({Lit(export)}) WHERE note IS NOT NULL"));
        Assert.Null(duck.Scalar($"SELECT max(CASE WHEN name = 'dec_i32' THEN 1 END) FROM parquet_schema({Lit(export)})"));

        var sql = Run("--output", "json", "data-lake", "query", "SELECT count(*) AS n, count(note) AS notes, min(day)::VARCHAR AS first FROM spark_table");
        Assert.True(sql.ExitCode == 0, sql.Stderr);
        var r = sql.Json().EnumerateArray().Single();
        Assert.Equal(4, r.GetProperty("n").GetInt64());
        Assert.Equal(0, r.GetProperty("notes").GetInt64());
        Assert.Equal("1001-02-03", r.GetProperty("first").GetString());

        // Timestamps of every foreign encoding keep their values through the mapped view.
        var ts = Run("--output", "json", "data-lake", "query", "SELECT id, epoch_us(ts_int96) AS a, epoch_us(ts_local_micros) AS b FROM spark_table ORDER BY id");
        Assert.True(ts.ExitCode == 0, ts.Stderr);
        var expected = ForeignTable.Expected();
        var tsRows = ts.Json().EnumerateArray().ToList();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(expected[i][1], tsRows[i].GetProperty("a").GetRawText());
            Assert.Equal(expected[i][5], tsRows[i].GetProperty("b").GetRawText());
        }

        var info = Run("--output", "json", "data-lake", "storage", "info", "spark_table");
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Contains("\"day\"", info.Stdout);
        Assert.DoesNotContain("\"dec_i32\"", info.Stdout);

        var bad = Run("data-lake", "storage", "alter", "spark_table", "--rename-column", "nope");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("OLD=NEW", bad.Stderr);
    }

    [Fact]
    public void Sql_over_a_table_mapped_by_id_exits_2_naming_the_mode_while_storage_read_reads_it()
    {
        using var dir = new TempDir();
        var lake = dir.Sub("lake");
        MappedTable.Write(Path.Combine(lake, "t"), "id");
        var sql = EcapProcess.Run("--lake", lake, "data-lake", "query", "SELECT * FROM t");
        Assert.Equal(2, sql.ExitCode);
        Assert.Contains("column mapping mode 'id'", sql.Stderr);
        var read = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "read", "t", "--columns", "id,name,p,c");
        Assert.True(read.ExitCode == 0, read.Stderr);
        Assert.Equal(["n1", "n2", "n3", "n4", "n5", null], read.Json().EnumerateArray().OrderBy(x => x.GetProperty("id").GetInt64())
            .Select(x => x.GetProperty("name").ValueKind == JsonValueKind.Null ? null : x.GetProperty("name").GetString()));
    }
}
