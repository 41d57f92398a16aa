using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tests.Tables;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>
/// Column changes (rename, drop, add) as metadata-only commits that turn column mapping on as Delta does, then appends
/// to the mapped table: files under physical names with field ids, the log keyed by physical names, DuckDB over the raw files.
/// </summary>
public class ColumnAlterTests
{
    private static string Lit(string path) => "'" + path.Replace("'", "''") + "'";

    private static async Task<List<Dictionary<string, object?>>> ReadAsync(DataLakeStorage storage, string table, ReadOptions? options = null)
    {
        var rows = new List<Dictionary<string, object?>>();
        await foreach (var batch in (await storage.ReadPartitionedDataAsync(table, options)).ReadBatchesAsync()) rows.AddRange(ArrowRows.Rows(batch));
        return rows;
    }

    private static JsonElement LastCommit(string tableDir, string action)
    {
        var last = Directory.GetFiles(Path.Combine(tableDir, "_delta_log"), "*.json").Order(StringComparer.Ordinal).Last();
        foreach (var line in File.ReadAllLines(last))
        {
            var doc = JsonDocument.Parse(line).RootElement;
            if (doc.TryGetProperty(action, out var a)) return a.Clone();
        }
        throw new InvalidOperationException($"no {action} in {last}");
    }

    [Fact]
    public async Task Rename_drop_and_add_on_an_unmapped_table_turn_on_mapping_by_name_and_read_the_files_unchanged()
    {
        using var dir = new TempDir();
        var file = ForeignTable.Write(dir.Sub("f"));
        var storage = new DataLakeStorage(dir.Path);
        var version = await storage.AlterColumnsAsync("f", [("d", "day"), ("id", "key")], ["dec_i32"], [("note", "string")]);
        Assert.Equal(1, version);

        var scan = await storage.ReadPartitionedDataAsync("f");
        Assert.Equal(["key", "ts_int96", "ts_millis", "ts_micros", "ts_nanos", "ts_local_micros", "ntz_millis", "day", "dec_i64", "dec_flba", "note"],
            scan.Schema.FieldsList.Select(f => f.Name));
        var rows = (await ReadAsync(storage, "f")).OrderBy(r => (long)r["key"]!).ToList();
        using var duck = new DuckDbReader();
        var raw = duck.Rows($"SELECT id, CAST(d - DATE '1970-01-01' AS BIGINT) FROM read_parquet({Lit(file)}) ORDER BY id");
        Assert.Equal(raw.Select(r => ((long)r[0]!, r[1] is null ? (long?)null : Convert.ToInt64(r[1], CultureInfo.InvariantCulture))),
            rows.Select(r => ((long)r["key"]!, (long?)r["day"])));
        Assert.All(rows, r => Assert.Null(r["note"]));
        Assert.All(rows, r => Assert.False(r.ContainsKey("dec_i32")));

        // The log is Delta's: the feature on both lists, mode name, every field mapped to its old name, the high-water mark.
        var protocol = LastCommit(dir.Sub("f"), "protocol");
        Assert.Contains("columnMapping", protocol.GetProperty("readerFeatures").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("columnMapping", protocol.GetProperty("writerFeatures").EnumerateArray().Select(e => e.GetString()));
        var metadata = LastCommit(dir.Sub("f"), "metaData");
        Assert.Equal("name", metadata.GetProperty("configuration").GetProperty("delta.columnMapping.mode").GetString());
        Assert.Equal("12", metadata.GetProperty("configuration").GetProperty("delta.columnMapping.maxColumnId").GetString());
        var fields = JsonDocument.Parse(metadata.GetProperty("schemaString").GetString()!).RootElement.GetProperty("fields").EnumerateArray().ToList();
        var day = fields.Single(f => f.GetProperty("name").GetString() == "day");
        Assert.Equal("d", day.GetProperty("metadata").GetProperty("delta.columnMapping.physicalName").GetString());
        Assert.Equal(JsonValueKind.Number, day.GetProperty("metadata").GetProperty("delta.columnMapping.id").ValueKind);
        var note = fields.Single(f => f.GetProperty("name").GetString() == "note");
        Assert.StartsWith("col-", note.GetProperty("metadata").GetProperty("delta.columnMapping.physicalName").GetString());
        Assert.Equal(12, note.GetProperty("metadata").GetProperty("delta.columnMapping.id").GetInt32());
        Assert.Single(Directory.GetFiles(dir.Sub("f"), "*.parquet")); // nothing rewritten
    }

    private static RecordBatch Customers(long[] ids, string[] names, string nameColumn, (string Name, IArrowArray Values)? extra)
    {
        var fields = new List<Field>
        {
            new("customer_id", Int64Type.Default, false), new("customer_segment", StringType.Default, true),
            new("region", StringType.Default, true), new(nameColumn, StringType.Default, true),
        };
        var arrays = new List<IArrowArray>
        {
            new Int64Array.Builder().AppendRange(ids).Build(),
            new StringArray.Builder().AppendRange(ids.Select(i => i % 2 == 0 ? "smb" : "enterprise")).Build(),
            new StringArray.Builder().AppendRange(ids.Select(_ => "eu")).Build(),
            new StringArray.Builder().AppendRange(names).Build(),
        };
        if (extra is { } e)
        {
            fields.Add(new Field(e.Name, e.Values.Data.DataType, true));
            arrays.Add(e.Values);
        }
        return new RecordBatch(new Schema(fields, null), arrays, ids.Length);
    }

    [Fact]
    public async Task Appends_to_a_table_whose_columns_were_renamed_write_physical_names_field_ids_and_physically_keyed_stats()
    {
        using var dir = new TempDir();
        var storage = new DataLakeStorage(dir.Path);
        await storage.WritePartitionedDataAsync([Customers([1, 2, 3], ["ann", "bob", "cy"], "name",
            ("score", new DoubleArray.Builder().AppendRange([1.5, 2.5, 3.5]).Build()))], "customers", DataType.CustomerProfiles);
        await storage.AlterColumnsAsync("customers", [("name", "full_name")], ["score"], [("tier", "string")]);
        var before = Directory.GetFiles(dir.Sub("customers"), "*.parquet", SearchOption.AllDirectories).ToHashSet();
        await storage.WritePartitionedDataAsync([Customers([4, 5], ["dee", "eve"], "full_name", ("tier", new StringArray.Builder().AppendRange(["gold", "silver"]).Build()))],
            "customers", DataType.CustomerProfiles);

        var rows = (await ReadAsync(storage, "customers")).OrderBy(r => (long)r["customer_id"]!).ToList();
        Assert.Equal(["ann", "bob", "cy", "dee", "eve"], rows.Select(r => (string)r["full_name"]!));
        Assert.Equal([null, null, null, "gold", "silver"], rows.Select(r => (string?)r["tier"]));
        Assert.Equal(["enterprise", "smb", "enterprise", "smb", "enterprise"], rows.Select(r => (string)r["customer_segment"]!));
        Assert.DoesNotContain(rows, r => r.ContainsKey("score") || r.ContainsKey("name"));

        // Filters on the new names prune with the new file's physically keyed stats.
        var scan = await storage.ReadPartitionedDataAsync("customers", new ReadOptions { Predicate = Predicate.Parse("full_name = 'ann'") });
        Assert.True(scan.Metrics.FilesPrunedByStats >= 1);
        Assert.Equal(["ann"], (await ReadAsync(storage, "customers", new ReadOptions { Predicate = Predicate.Parse("full_name = 'ann'") })).Select(r => (string)r["full_name"]!));
        Assert.Equal(["gold"], (await ReadAsync(storage, "customers", new ReadOptions { Predicate = Predicate.Parse("tier = 'gold'") })).Select(r => (string)r["tier"]!));

        // The new files, read raw by DuckDB: physical names (the old name for the renamed column), field ids, no logical names.
        var added = Directory.GetFiles(dir.Sub("customers"), "*.parquet", SearchOption.AllDirectories).Where(f => !before.Contains(f)).ToList();
        Assert.NotEmpty(added);
        using var duck = new DuckDbReader();
        var schema = duck.Rows($"SELECT name, field_id FROM parquet_schema({DuckDbReader.FileList(added.Take(1))}) WHERE name <> 'duckdb_schema' AND name <> 'schema'")
            .ToDictionary(r => (string)r[0]!, r => r[1]);
        Assert.Contains("name", schema.Keys);
        Assert.DoesNotContain("full_name", schema.Keys);
        var tierPhysical = Assert.Single(schema.Keys, k => k.StartsWith("col-", StringComparison.Ordinal));
        Assert.All(schema.Values, id => Assert.NotNull(id));
        Assert.Equal(["dee", "eve"], duck.Rows($"SELECT \"name\" FROM read_parquet({DuckDbReader.FileList(added)}) ORDER BY 1").Select(r => (string)r[0]!));
        var add = LastCommit(dir.Sub("customers"), "add");
        var stats = JsonDocument.Parse(add.GetProperty("stats").GetString()!).RootElement;
        Assert.True(stats.GetProperty("minValues").TryGetProperty(tierPhysical, out _));
        Assert.False(stats.GetProperty("minValues").TryGetProperty("tier", out _));
        Assert.False(stats.GetProperty("minValues").TryGetProperty("full_name", out _));

        // A second rename of the same column: still the same physical name, still the same values.
        await storage.AlterColumnsAsync("customers", [("full_name", "display_name")], [], []);
        Assert.Equal(["ann", "bob", "cy", "dee", "eve"], (await ReadAsync(storage, "customers")).Select(r => (string)r["display_name"]!).Order());
    }

    [Fact]
    public async Task Dropping_then_adding_a_column_of_the_same_name_never_reads_the_old_values()
    {
        using var dir = new TempDir();
        var storage = new DataLakeStorage(dir.Path);
        await storage.WritePartitionedDataAsync([Customers([1, 2], ["ann", "bob"], "name", null)], "customers", DataType.CustomerProfiles);
        await storage.AlterColumnsAsync("customers", [], ["name"], []);
        await storage.AlterColumnsAsync("customers", [], [], [("name", "string")]);
        Assert.All(await ReadAsync(storage, "customers"), r => Assert.Null(r["name"]));
    }

    [Theory]
    [InlineData("rename", "customer_id", "Cannot rename column 'customer_id'")] // the layout's sort and bucket column
    [InlineData("drop", "region", "partition column")]
    [InlineData("drop", "nope", "has no such column")]
    [InlineData("rename-to", "region", "already has a column named 'region'")]
    [InlineData("add", "x:varchar(3)", "Unknown column type")]
    public async Task Bad_alterations_are_refused_with_one_clear_message(string what, string arg, string message)
    {
        using var dir = new TempDir();
        var storage = new DataLakeStorage(dir.Path);
        await storage.WritePartitionedDataAsync([Customers([1], ["ann"], "name", null)], "customers", DataType.CustomerProfiles);
        var e = await Assert.ThrowsAsync<InvalidInputException>(() => what switch
        {
            "rename" => storage.AlterColumnsAsync("customers", [(arg, "other")], [], []),
            "rename-to" => storage.AlterColumnsAsync("customers", [("name", arg)], [], []),
            "drop" => storage.AlterColumnsAsync("customers", [], [arg], []),
            _ => storage.AlterColumnsAsync("customers", [], [], [(arg.Split(':')[0], arg.Split(':')[1])]),
        });
        Assert.Contains(message, e.Message);
        Assert.Equal(0, (await storage.OpenTable("customers").GetSnapshotAsync()).Version); // nothing committed
    }

    [Fact]
    public async Task Renaming_a_partition_column_of_a_mapped_table_keeps_its_values_and_pruning()
    {
        using var dir = new TempDir();
        MappedTable.Write(dir.Sub("t"), "name");
        var storage = new DataLakeStorage(dir.Path);
        await storage.AlterColumnsAsync("t", [("p", "part"), ("s", "point")], [], []);
        var metadata = LastCommit(dir.Sub("t"), "metaData");
        Assert.Equal(["part"], metadata.GetProperty("partitionColumns").EnumerateArray().Select(e => e.GetString()));
        var scan = await storage.ReadPartitionedDataAsync("t", new ReadOptions
        {
            Columns = ["id", "part"],
            PartitionFilters = [new PartitionFilter("part", Values: ["a"])],
            Predicate = Predicate.Parse("point.x >= 10"),
        });
        Assert.Equal(1, scan.Metrics.FilesPrunedByPartition);
        var rows = new List<string>();
        await foreach (var batch in scan.ReadBatchesAsync())
            foreach (var r in ArrowRows.Rows(batch)) rows.Add($"{r["id"]}:{r["part"]}");
        Assert.Equal(["1:a", "2:a"], rows.Order());
    }

    [Fact]
    public async Task Overwriting_a_mapped_table_removes_its_files_with_the_logs_physical_keys()
    {
        using var dir = new TempDir();
        MappedTable.Write(dir.Sub("t"), "id");
        var storage = new DataLakeStorage(dir.Path);
        var batches = new List<RecordBatch>();
        await foreach (var b in (await storage.ReadPartitionedDataAsync("t", new ReadOptions { Predicate = Predicate.Parse("id <= 2") })).ReadBatchesAsync()) batches.Add(b);
        await storage.WritePartitionedDataAsync(batches, "t", DataType.AnalyticsResults, WriteMode.Overwrite);
        Assert.Equal([1L, 2L], (await ReadAsync(storage, "t", new ReadOptions { Columns = ["id", "name", "p"] })).Select(r => (long)r["id"]!).Order());

        var last = Directory.GetFiles(dir.Sub("t/_delta_log"), "*.json").Order(StringComparer.Ordinal).Last();
        var actions = File.ReadAllLines(last).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var removes = actions.Where(a => a.TryGetProperty("remove", out _)).Select(a => a.GetProperty("remove")).ToList();
        Assert.Equal(2, removes.Count);
        Assert.All(removes, r => Assert.True(r.GetProperty("partitionValues").TryGetProperty("col-p", out _)));
        var adds = actions.Where(a => a.TryGetProperty("add", out _)).Select(a => a.GetProperty("add")).ToList();
        Assert.All(adds, a => Assert.Equal("a", a.GetProperty("partitionValues").GetProperty("col-p").GetString()));
        Assert.All(adds, a => Assert.Contains("\"col-id\"", a.GetProperty("stats").GetString()));
    }

    [Fact]
    public async Task Constraints_on_a_mapped_table_name_logical_columns_and_are_enforced_on_appends()
    {
        using var dir = new TempDir();
        var storage = new DataLakeStorage(dir.Path);
        await storage.WritePartitionedDataAsync([Customers([1, 2], ["ann", "bob"], "name", null)], "customers", DataType.CustomerProfiles);
        await storage.AlterColumnsAsync("customers", [("name", "full_name")], [], []);
        await new Ecap.DataLake.Quality.DataQuality(storage).AddConstraintAsync("customers", "named", "full_name <> 'nobody'");
        await Assert.ThrowsAsync<Ecap.DataLake.Delta.ConstraintViolationException>(() =>
            storage.WritePartitionedDataAsync([Customers([3], ["nobody"], "full_name", null)], "customers", DataType.CustomerProfiles));
        await storage.WritePartitionedDataAsync([Customers([3], ["cy"], "full_name", null)], "customers", DataType.CustomerProfiles);
        Assert.Equal(["ann", "bob", "cy"], (await ReadAsync(storage, "customers")).Select(r => (string)r["full_name"]!).Order());
    }
}
