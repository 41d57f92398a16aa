using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Query.Tests;

/// <summary>SQL over tables with deletion vectors: the views skip the deleted rows exactly (anti-join on file_row_number).</summary>
public class DeletionVectorQueryTests
{
    private static string Modern(string table) => Path.Combine(RepoPaths.Root, "tests", "conformance", "delta-modern", table);

    private static async Task<List<string>> RowsAsync(LakeQuery q, string sql)
    {
        await using var result = await q.QueryAsync(sql);
        var rows = new List<string>();
        await foreach (var row in result.ReadRowsAsync()) rows.Add(string.Join("|", row.Select(v => v?.ToString() ?? "null")));
        return rows.Order(StringComparer.Ordinal).ToList();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_conformance_table_reads_its_expected_35_rows_in_sql(bool hivePaths)
    {
        using var dir = new TempDir();
        TempDir.CopyDirectory(Path.Combine(Modern("dv-partitioned-with-checkpoint"), "delta"), dir.Sub("dv"));
        using var duck = new DuckDbReader();
        var expected = duck.Rows($"SELECT part, col1, col2 FROM read_parquet('{Path.Combine(Modern("dv-partitioned-with-checkpoint"), "expected")}/*.parquet')")
            .Select(r => string.Join("|", r.Select(v => v?.ToString() ?? "null"))).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(35, expected.Count);
        using var q = new LakeQuery(new DataLakeStorage(dir.Path)) { PreferHivePaths = hivePaths };
        Assert.Equal(expected, await RowsAsync(q, "SELECT part, col1, col2 FROM dv"));
        Assert.Equal(["35"], await RowsAsync(q, "SELECT count(*) FROM dv"));
        Assert.Equal(expected.Where(r => r.StartsWith("3|", StringComparison.Ordinal)).ToList(), await RowsAsync(q, "SELECT part, col1, col2 FROM dv WHERE part = 3"));
    }

    [Fact]
    public async Task A_vector_over_many_row_groups_is_exact_in_sql_with_a_filter()
    {
        using var dir = new TempDir();
        var t = new DeletionVectorTable(dir.Sub("big"));
        var size = t.WriteDataFile("big.parquet", 0, 20_000, 3_000);
        var deleted = Enumerable.Range(0, 3000).Select(i => (long)i * 3).Concat(Enumerable.Range(12_000, 2_000).Select(i => (long)i)).Distinct().Order().ToArray();
        var (id, file) = DeletionVectorTable.UuidVector("", Guid.NewGuid());
        var at = t.WriteVectorFile(file, deleted);
        t.Add("big.parquet", size, 20_000, DeletionVectorTable.Descriptor("u", id, at[0].Offset, at[0].Size, deleted.Length));
        var other = t.WriteDataFile("small.parquet", 100_000, 10, 10);
        t.Add("small.parquet", other, 10, DeletionVectorTable.Inline([9]), 100_000);
        t.Commit();
        using var duck = new DuckDbReader();
        var expected = t.DuckDbLiveRows(duck, "big.parquet", deleted, "id >= 5000").Concat(t.DuckDbLiveRows(duck, "small.parquet", [9], "id >= 5000"))
            .Order(StringComparer.Ordinal).ToList();
        using var q = new LakeQuery(new DataLakeStorage(dir.Path));
        Assert.Equal(expected, await RowsAsync(q, "SELECT id, v FROM big WHERE id >= 5000"));
        Assert.Equal([(20_010 - deleted.Length - 1).ToString()], await RowsAsync(q, "SELECT count(*) FROM big"));
    }

    [Fact]
    public async Task The_deleted_rows_tables_behind_the_views_cannot_be_queried()
    {
        using var dir = new TempDir();
        TempDir.CopyDirectory(Path.Combine(Modern("dv-partitioned-with-checkpoint"), "delta"), dir.Sub("dv"));
        using var q = new LakeQuery(new DataLakeStorage(dir.Path));
        Assert.Equal(["35"], await RowsAsync(q, "SELECT count(*) FROM dv"));
        var tables = (HashSet<string>)typeof(LakeQuery).GetField("_deletedRowTables", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(q)!;
        Assert.NotEmpty(tables);
        foreach (var name in tables)
            await Assert.ThrowsAnyAsync<InvalidInputException>(() => RowsAsync(q, $"SELECT * FROM \"{name}\""));
    }

    [Fact]
    public async Task The_public_view_sql_refuses_a_table_with_vectors_it_was_not_given()
    {
        using var dir = new TempDir();
        TempDir.CopyDirectory(Path.Combine(Modern("dv-partitioned-with-checkpoint"), "delta"), dir.Sub("dv"));
        var snapshot = await new DataLakeStorage(dir.Path).OpenTable("dv").GetSnapshotAsync();
        var e = Assert.Throws<UnsupportedProtocolException>(() => LakeViews.ViewSql(snapshot, k => k));
        Assert.Contains("deletionVectors", e.Message);
    }
}
