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

/// <summary>SQL views over a table whose columns were widened: the table's types, the values DuckDB reads from the raw files.</summary>
public class TypeWideningQueryTests
{
    [Fact]
    public async Task The_view_of_a_widened_table_has_the_table_types_and_the_raw_values()
    {
        using var dir = new TempDir();
        MappedTable.WriteWidened(dir.Sub("w"));
        using var q = new LakeQuery(new DataLakeStorage(dir.Path));
        await using (var types = await q.QueryAsync("SELECT typeof(i), typeof(d), typeof(f), typeof(dt), typeof(b) FROM w LIMIT 1"))
            await foreach (var row in types.ReadRowsAsync())
                Assert.Equal(["BIGINT", "DECIMAL(10,2)", "DOUBLE", "TIMESTAMP", "INTEGER"], row.Cast<string>().ToArray());

        const string cols = "CAST(i AS BIGINT)::VARCHAR, CAST(d AS DECIMAL(10,2))::VARCHAR, CAST(f AS DOUBLE)::VARCHAR, CAST(dt AS TIMESTAMP)::VARCHAR, CAST(b AS INTEGER)::VARCHAR";
        var actual = new List<string>();
        await using (var result = await q.QueryAsync($"SELECT {cols} FROM w"))
            await foreach (var row in result.ReadRowsAsync()) actual.Add(string.Join("|", row));
        using var duck = new DuckDbReader();
        var expected = duck.Rows($"SELECT {cols} FROM read_parquet('{dir.Sub("w/" + MappedTable.WideA)}') UNION ALL SELECT {cols} FROM read_parquet('{dir.Sub("w/" + MappedTable.WideB)}')")
            .Select(r => string.Join("|", r)).ToList();
        Assert.Equal(5, expected.Count);
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));
    }
}
