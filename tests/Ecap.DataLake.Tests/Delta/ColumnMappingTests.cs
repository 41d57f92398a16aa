using System.Globalization;
using Apache.Arrow;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Files;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Reading;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>
/// Column mapping (modes name and id) and type widening, read: the Spark-written conformance table and hand-written
/// tables (<see cref="MappedTable"/>) whose raw files DuckDB reads independently.
/// </summary>
public class ColumnMappingTests
{
    private static string Modern(string table) => Path.Combine(RepoPaths.Root, "tests", "conformance", "delta-modern", table);

    private static string Lit(string path) => "'" + path.Replace("'", "''") + "'";

    private static readonly string[] SparkColumns =
    [
        "ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType", "decimal", "BooleanType", "StringType",
        "BinaryType", "DateType", "TimestampType", "nested_struct", "array_of_prims", "array_of_arrays", "array_of_structs",
        "map_of_prims", "map_of_rows", "map_of_arrays",
    ];

    /// <summary>Rows of <paramref name="actual"/> not in <paramref name="expected"/> plus the reverse, as a multiset (DuckDB EXCEPT ALL).</summary>
    private static long MultisetDifference(DuckDbReader duck, string actual, string expected) =>
        Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM (({actual}) EXCEPT ALL ({expected}))"), CultureInfo.InvariantCulture) +
        Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM (({expected}) EXCEPT ALL ({actual}))"), CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(null, 6)]
    [InlineData("IntegerType >= 2", -1)]
    [InlineData("nested_struct.ac.aca > 1", -1)]
    [InlineData("StringType = '3'", -1)]
    public async Task Spark_table_mapped_by_name_reads_exactly_its_expected_rows(string? where, int rows)
    {
        using var dir = new TempDir();
        TempDir.CopyDirectory(Path.Combine(Modern("table-with-columnmapping-mode-name"), "delta"), dir.Sub("cm"));
        var options = where is null ? null : new ReadOptions { Predicate = Predicate.Parse(where) };
        var scan = await new DataLakeStorage(dir.Path).ReadPartitionedDataAsync("cm", options);
        Assert.Equal(SparkColumns, scan.Schema.FieldsList.Select(f => f.Name));
        var export = dir.Sub("out.parquet");
        var written = await RowExport.WriteAsync(export, scan.Schema, scan.ReadBatchesAsync());

        using var duck = new DuckDbReader();
        var cols = string.Join(", ", SparkColumns.Select(c => "\"" + c + "\""));
        var expectedFiles = DuckDbReader.FileList(Directory.GetFiles(Path.Combine(Modern("table-with-columnmapping-mode-name"), "expected"), "*.parquet"));
        var filter = where is null ? "" : " WHERE " + where;
        var expected = $"SELECT {cols} FROM read_parquet({expectedFiles}){filter}";
        var expectedCount = Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM ({expected})"), CultureInfo.InvariantCulture);
        if (rows >= 0) Assert.Equal(rows, expectedCount);
        Assert.Equal(expectedCount, written);
        Assert.Equal(0, MultisetDifference(duck, $"SELECT {cols} FROM read_parquet({Lit(export)})", expected));

        // The data files really use physical names: a reader ignoring the mapping finds none of the logical columns.
        var raw = DuckDbReader.FileList(Directory.GetFiles(dir.Sub("cm"), "*.parquet"));
        var rawColumns = duck.Rows($"SELECT name FROM parquet_schema({raw})").Select(r => (string)r[0]!).ToList();
        Assert.DoesNotContain("IntegerType", rawColumns);
        Assert.Contains(rawColumns, c => c.StartsWith("col-", StringComparison.Ordinal));
    }

    private static async Task<List<string>> RowsAsync(TableScan scan)
    {
        var rows = new List<string>();
        await foreach (var batch in scan.ReadBatchesAsync())
        {
            var s = (StructArray)batch.Column("s");
            var st = (Apache.Arrow.Types.StructType)s.Data.DataType;
            var x = (Int32Array)s.Fields[st.GetFieldIndex("x")];
            var y = (StringArray)s.Fields[st.GetFieldIndex("y")];
            for (var r = 0; r < batch.Length; r++)
            {
                var sx = s.IsNull(r) ? "-" : x.GetValue(r)?.ToString(CultureInfo.InvariantCulture) ?? "";
                var sy = s.IsNull(r) ? "-" : y.GetString(r) ?? "";
                rows.Add(string.Join("|", ((Int64Array)batch.Column("id")).GetValue(r), ((StringArray)batch.Column("name")).GetString(r), sx, sy,
                    ((StringArray)batch.Column("p")).GetString(r), ((Int64Array)batch.Column("c")).GetValue(r)));
            }
        }
        return rows.Order(StringComparer.Ordinal).ToList();
    }

    [Theory]
    [InlineData("name")]
    [InlineData("id")]
    public async Task Mapped_table_reads_logical_columns_from_physical_names_or_field_ids(string mode)
    {
        using var dir = new TempDir();
        MappedTable.Write(dir.Sub("t"), mode);
        var storage = new DataLakeStorage(dir.Path);
        var scan = await storage.ReadPartitionedDataAsync("t");
        Assert.Equal(["id", "name", "s", "p", "c"], scan.Schema.FieldsList.Select(f => f.Name));
        Assert.Equal(MappedTable.ExpectedRows.Order(StringComparer.Ordinal), await RowsAsync(scan));

        // DuckDB over the raw files: the values are there under the physical names (and the field ids the mode-id files carry).
        using var duck = new DuckDbReader();
        var a = Lit(dir.Sub("t/" + MappedTable.FileA));
        Assert.Equal(111L, duck.Scalar($"SELECT min(\"c\") FROM read_parquet({a})")); // the dropped column: never read as c
        if (mode == "id")
        {
            Assert.Equal(2, Convert.ToInt32(duck.Scalar($"SELECT field_id FROM parquet_schema({a}) WHERE name = 'stale_name'"), CultureInfo.InvariantCulture));
            Assert.Equal(4, Convert.ToInt32(duck.Scalar($"SELECT field_id FROM parquet_schema({a}) WHERE name = 'x_before_rename'"), CultureInfo.InvariantCulture));
        }
    }

    [Theory]
    [InlineData("name", "id >= 4", 1, "4|5|6")]
    [InlineData("id", "id >= 4", 1, "4|5|6")]
    [InlineData("name", "s.x >= 40", 1, "4|5|6")]
    [InlineData("id", "s.x < 15", 1, "1")]
    [InlineData("name", "p = 'a'", 1, "1|2|3")]
    [InlineData("id", "c = 500", 0, "5")] // file A has no stats for c (it predates the column): not pruned
    [InlineData("name", "c IS NULL", 1, "1|2|3")]
    [InlineData("id", "name = 'n2'", 1, "2")]
    public async Task Predicates_on_logical_names_prune_with_physically_keyed_stats_and_partition_values(string mode, string where, int pruned, string ids)
    {
        using var dir = new TempDir();
        MappedTable.Write(dir.Sub("t"), mode);
        var scan = await new DataLakeStorage(dir.Path).ReadPartitionedDataAsync("t", new ReadOptions { Predicate = Predicate.Parse(where) });
        var rows = await RowsAsync(scan);
        Assert.Equal(ids, string.Join("|", rows.Select(r => r.Split('|')[0])));
        Assert.Equal(pruned, scan.Metrics.FilesPrunedByStats + scan.Metrics.FilesPrunedByPartition);
    }

    [Fact]
    public async Task Partition_filters_and_projections_use_logical_names()
    {
        using var dir = new TempDir();
        MappedTable.Write(dir.Sub("t"), "name");
        var storage = new DataLakeStorage(dir.Path);
        var scan = await storage.ReadPartitionedDataAsync("t", new ReadOptions
        {
            Columns = ["c", "p"],
            PartitionFilters = [new PartitionFilter("p", Values: ["b"])],
        });
        Assert.Equal(1, scan.Metrics.FilesPrunedByPartition);
        var values = new List<string>();
        await foreach (var batch in scan.ReadBatchesAsync())
            for (var r = 0; r < batch.Length; r++)
                values.Add($"{((Int64Array)batch.Column(0)).GetValue(r)}:{((StringArray)batch.Column(1)).GetString(r)}");
        Assert.Equal(["400:b", "500:b", "600:b"], values.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("name")]
    [InlineData("id")]
    public async Task Appending_to_a_mapped_table_keeps_every_row_readable_and_operations_that_are_not_mapping_aware_are_refused(string mode)
    {
        using var dir = new TempDir();
        MappedTable.Write(dir.Sub("t"), mode);
        var storage = new DataLakeStorage(dir.Path);
        var batches = new List<RecordBatch>();
        await foreach (var b in (await storage.ReadPartitionedDataAsync("t")).ReadBatchesAsync()) batches.Add(b);
        await storage.WritePartitionedDataAsync(batches, "t", Ecap.DataLake.Tables.Partitioning.DataType.AnalyticsResults);
        Assert.Equal(MappedTable.ExpectedRows.Concat(MappedTable.ExpectedRows).Order(StringComparer.Ordinal),
            await RowsAsync(await storage.ReadPartitionedDataAsync("t")));
        // Every data file, the appended ones too, names the columns physically and carries the field ids.
        using var duck = new DuckDbReader();
        var files = Directory.GetFiles(dir.Sub("t"), "*.parquet", SearchOption.AllDirectories);
        Assert.True(files.Length >= 4);
        foreach (var file in files)
        {
            Assert.Equal(1, Convert.ToInt32(duck.Scalar($"SELECT field_id FROM parquet_schema({Lit(file)}) WHERE name = 'col-id'"), CultureInfo.InvariantCulture));
            Assert.Equal(0L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM parquet_schema({Lit(file)}) WHERE name IN ('id', 'name', 's', 'x', 'y', 'p')"), CultureInfo.InvariantCulture));
        }

        // Compaction rewrites files without knowing physical names: refused, naming the feature.
        var e = await Assert.ThrowsAnyAsync<DataLakeException>(() => new Ecap.DataLake.Compaction.DataCompactor(storage).CompactTableAsync("t"));
        Assert.Contains("column mapping", e.Message);
    }

    [Fact]
    public async Task Widened_columns_read_old_files_as_the_table_types_with_the_values_duckdb_reads()
    {
        using var dir = new TempDir();
        MappedTable.WriteWidened(dir.Sub("w"));
        var scan = await new DataLakeStorage(dir.Path).ReadPartitionedDataAsync("w");
        var export = dir.Sub("out.parquet");
        Assert.Equal(5, await RowExport.WriteAsync(export, scan.Schema, scan.ReadBatchesAsync()));
        await foreach (var batch in scan.ReadBatchesAsync())
            for (var c = 0; c < batch.ColumnCount; c++)
                Assert.True(Ecap.DataLake.Arrow.ArrowConform.SameType(scan.Schema.GetFieldByIndex(c).DataType, batch.Column(c).Data.DataType), scan.Schema.GetFieldByIndex(c).Name);

        using var duck = new DuckDbReader();
        const string cols = "CAST(i AS BIGINT) AS i, CAST(d AS DECIMAL(10,2)) AS d, CAST(f AS DOUBLE) AS f, CAST(dt AS TIMESTAMP) AS dt, CAST(b AS INTEGER) AS b";
        var raw = $"SELECT {cols} FROM read_parquet({Lit(dir.Sub("w/" + MappedTable.WideA))}) UNION ALL SELECT {cols} FROM read_parquet({Lit(dir.Sub("w/" + MappedTable.WideB))})";
        Assert.Equal(0, MultisetDifference(duck, $"SELECT i, d, f, dt, b FROM read_parquet({Lit(export)})", raw));
        Assert.Equal(["BIGINT", "DECIMAL(10,2)", "DOUBLE", "TIMESTAMP", "INTEGER"],
            duck.Rows($"SELECT typeof(i), typeof(d), typeof(f), typeof(dt), typeof(b) FROM read_parquet({Lit(export)}) LIMIT 1")[0].Cast<string>());
    }

    [Fact]
    public async Task Appends_and_compaction_of_a_widened_table_write_the_table_types()
    {
        using var dir = new TempDir();
        MappedTable.WriteWidened(dir.Sub("w"));
        var storage = new DataLakeStorage(dir.Path);
        var batches = new List<RecordBatch>();
        await foreach (var b in (await storage.ReadPartitionedDataAsync("w")).ReadBatchesAsync()) batches.Add(b);
        await storage.WritePartitionedDataAsync(batches, "w", Ecap.DataLake.Tables.Partitioning.DataType.AnalyticsResults);
        await new Ecap.DataLake.Compaction.DataCompactor(storage).CompactTableAsync("w");
        var snapshot = await storage.OpenTable("w").GetSnapshotAsync();
        var live = snapshot.Files.Select(f => dir.Sub("w/" + f.ObjectKey)).ToList();
        Assert.Single(live); // the narrow, the wide and the appended file, compacted into one

        using var duck = new DuckDbReader();
        Assert.Equal(["BIGINT", "DECIMAL(10,2)", "DOUBLE", "TIMESTAMP", "INTEGER"],
            duck.Rows($"SELECT typeof(i), typeof(d), typeof(f), typeof(dt), typeof(b) FROM read_parquet({DuckDbReader.FileList(live)}) LIMIT 1")[0].Cast<string>());
        const string cols = "CAST(i AS BIGINT) AS i, CAST(d AS DECIMAL(10,2)) AS d, CAST(f AS DOUBLE) AS f, CAST(dt AS TIMESTAMP) AS dt, CAST(b AS INTEGER) AS b";
        var raw = $"SELECT {cols} FROM read_parquet({Lit(dir.Sub("w/" + MappedTable.WideA))}) UNION ALL SELECT {cols} FROM read_parquet({Lit(dir.Sub("w/" + MappedTable.WideB))})";
        Assert.Equal(0, MultisetDifference(duck, $"SELECT i, d, f, dt, b FROM read_parquet({DuckDbReader.FileList(live)})", $"{raw} UNION ALL {raw}"));
    }

    [Fact]
    public async Task A_recorded_type_change_this_library_cannot_convert_is_refused_naming_the_column()
    {
        using var dir = new TempDir();
        MappedTable.WriteWidened(dir.Sub("w"));
        var log = dir.Sub("w/_delta_log/00000000000000000000.json");
        // Rewrite the metaData line with a change no Delta reader can apply (string -> long).
        var lines = File.ReadAllLines(log).Select(line =>
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(line)!.AsObject();
            if (node["metaData"] is not { } md) return line;
            md["schemaString"] = md["schemaString"]!.GetValue<string>().Replace("\"fromType\":\"integer\"", "\"fromType\":\"string\"");
            return node.ToJsonString();
        }).ToList();
        Assert.Contains(lines, l => l.Contains("string") && l.Contains("fromType"));
        File.WriteAllLines(log, lines);
        var e = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => new DataLakeStorage(dir.Path).ReadPartitionedDataAsync("w"));
        Assert.Contains("column 'i' from string to long", e.Message);
    }

    [Theory]
    [InlineData("i > 2147483646", 2)]
    [InlineData("i >= 5000000000", 1)]
    [InlineData("d = 123.45", 1)]
    [InlineData("d > 1000000", 1)]
    [InlineData("dt = '2020-01-02T00:00:00'", 1)]
    [InlineData("dt >= '2020-01-02T00:00:00'", 3)]
    [InlineData("b > 127", 1)]
    public async Task Filters_on_widened_columns_find_rows_of_old_and_new_files(string where, int rows)
    {
        using var dir = new TempDir();
        MappedTable.WriteWidened(dir.Sub("w"));
        var scan = await new DataLakeStorage(dir.Path).ReadPartitionedDataAsync("w", new ReadOptions { Predicate = Predicate.Parse(where) });
        var count = 0L;
        await foreach (var batch in scan.ReadBatchesAsync()) count += batch.Length;
        using var duck = new DuckDbReader();
        const string cols = "CAST(i AS BIGINT) AS i, CAST(d AS DECIMAL(10,2)) AS d, CAST(f AS DOUBLE) AS f, CAST(dt AS TIMESTAMP) AS dt, CAST(b AS INTEGER) AS b";
        var raw = $"SELECT {cols} FROM read_parquet({Lit(dir.Sub("w/" + MappedTable.WideA))}) UNION ALL SELECT {cols} FROM read_parquet({Lit(dir.Sub("w/" + MappedTable.WideB))})";
        var sqlWhere = where.Replace("'2020-01-02T00:00:00'", "TIMESTAMP '2020-01-02 00:00:00'");
        Assert.Equal(rows, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM ({raw}) WHERE {sqlWhere}"), CultureInfo.InvariantCulture));
        Assert.Equal(rows, count);
    }
}
