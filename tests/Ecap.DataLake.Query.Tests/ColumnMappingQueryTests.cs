using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Query.Tests;

/// <summary>SQL views over column-mapped tables: physical columns read under their logical names (structs, lists and maps too).</summary>
public class ColumnMappingQueryTests
{
    private static string Modern(string table) => Path.Combine(RepoPaths.Root, "tests", "conformance", "delta-modern", table);

    private static async Task<List<string>> JsonRowsAsync(LakeQuery q, string sql)
    {
        await using var result = await q.QueryAsync($"SELECT CAST(to_json(t) AS VARCHAR) FROM ({sql}) t");
        var rows = new List<string>();
        await foreach (var row in result.ReadRowsAsync()) rows.Add((string)row[0]!);
        return rows.Order(StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task The_view_of_the_spark_table_mapped_by_name_has_its_expected_rows()
    {
        using var dir = new TempDir();
        TempDir.CopyDirectory(Path.Combine(Modern("table-with-columnmapping-mode-name"), "delta"), dir.Sub("cm"));
        using var q = new LakeQuery(new DataLakeStorage(dir.Path));
        var actual = await JsonRowsAsync(q, "SELECT * FROM cm");

        using var duck = new DuckDbReader();
        var files = DuckDbReader.FileList(Directory.GetFiles(Path.Combine(Modern("table-with-columnmapping-mode-name"), "expected"), "*.parquet"));
        var expected = duck.Rows($"SELECT CAST(to_json(t) AS VARCHAR) FROM (SELECT * FROM read_parquet({files})) t")
            .Select(r => (string)r[0]!).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(6, expected.Count);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task The_view_of_a_table_mapped_by_name_reads_physical_names_and_partition_values()
    {
        using var dir = new TempDir();
        MappedTable.Write(dir.Sub("t"), "name");
        using var q = new LakeQuery(new DataLakeStorage(dir.Path));
        await using var result = await q.QueryAsync("SELECT id, name, s.x, s.y, p, c, s IS NULL FROM t ORDER BY id");
        var rows = new List<string>();
        await foreach (var row in result.ReadRowsAsync())
            rows.Add((bool)row[6]! ? $"{row[0]}|{row[1]}|-|-|{row[4]}|{row[5]}" : string.Join("|", row.Take(6)));
        Assert.Equal(MappedTable.ExpectedRows, rows);
    }

    [Fact]
    public async Task A_table_mapped_by_id_is_refused_by_sql_naming_the_mode()
    {
        using var dir = new TempDir();
        MappedTable.Write(dir.Sub("t"), "id");
        using var q = new LakeQuery(new DataLakeStorage(dir.Path));
        var e = await Assert.ThrowsAsync<InvalidInputException>(async () => { await using var r = await q.QueryAsync("SELECT * FROM t"); });
        Assert.Contains("column mapping mode 'id'", e.Message);
    }
}
