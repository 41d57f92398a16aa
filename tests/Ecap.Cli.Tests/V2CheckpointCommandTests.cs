namespace Ecap.Cli.Tests;

/// <summary>
/// The Spark-written V2 checkpoint table (tests/conformance/delta-modern/v2-checkpoint-parquet), with the commits before its
/// checkpoint removed so only the checkpoint and its sidecars lead to the files: `storage read` (Parquet export, JSON rows) and
/// `query` return the rows DuckDB reads from Spark's expected files.
/// </summary>
public class V2CheckpointCommandTests
{
    private static string Lit(string path) => "'" + path.Replace("'", "''") + "'";

    [Fact]
    public void Storage_read_and_query_return_the_expected_rows_of_a_v2_checkpoint_table()
    {
        var source = Path.Combine(RepoPaths.Root, "tests", "conformance", "delta-modern", "v2-checkpoint-parquet");
        using var dir = new TempDir();
        var lake = dir.Sub("lake");
        var table = Path.Combine(lake, "v2");
        TempDir.CopyDirectory(Path.Combine(source, "delta"), table);
        File.Delete(Path.Combine(table, "_delta_log", $"{0:D20}.json"));
        File.Delete(Path.Combine(table, "_delta_log", $"{1:D20}.json"));

        using var duck = new DuckDbReader();
        var expected = duck.Rows($"SELECT id FROM read_parquet({Lit(Path.Combine(source, "expected", "*.parquet"))}) ORDER BY id")
            .Select(r => Convert.ToInt64(r[0])).ToList();
        Assert.Equal(10, expected.Count);

        var export = dir.Sub("x.parquet");
        var r = EcapProcess.Run("--lake", lake, "data-lake", "storage", "read", "v2", "--out", export);
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(expected, duck.Rows($"SELECT id FROM read_parquet({Lit(export)}) ORDER BY id").Select(x => Convert.ToInt64(x[0])));

        var json = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "read", "v2");
        Assert.True(json.ExitCode == 0, json.Stderr);
        Assert.Equal(expected, json.Json().EnumerateArray().Select(e => e.GetProperty("id").GetInt64()).Order());

        var sql = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "query", "SELECT id FROM v2 ORDER BY id");
        Assert.True(sql.ExitCode == 0, sql.Stderr);
        Assert.Equal(expected, sql.Json().EnumerateArray().Select(e => e.GetProperty("id").GetInt64()));
    }
}
