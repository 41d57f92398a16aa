using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.TestSupport;

/// <summary>
/// Hand-written Delta tables with column mapping (PROTOCOL.md "Column Mapping") and type widening, their data files
/// written with ParquetSharp's Arrow writer. The mapped table has logical columns <c>id</c>, <c>name</c>,
/// <c>s</c> (struct of <c>x</c>, <c>y</c>), <c>c</c> and partition column <c>p</c>; the files use physical names
/// (and field ids). In mode id the files name <c>name</c> and <c>s.x</c> differently from their physicalName, so only
/// the field id finds them. The first file also holds a dropped column physically named <c>c</c> (a name the
/// table's re-added <c>c</c> uses logically): its values must never be read as <c>c</c>.
/// </summary>
public static class MappedTable
{
    public const string FileA = "p=a/part-00000-a.parquet";
    public const string FileB = "p=b/part-00001-b.parquet";

    /// <summary>The rows a reader must return, one string per row: id|name|s.x|s.y|p|c (empty for null; "-" for a null struct).</summary>
    public static readonly string[] ExpectedRows =
    [
        "1|n1|10|y1|a|", "2|n2|20|y2|a|", "3|n3|-|-|a|",
        "4|n4|40|y4|b|400", "5|n5|50||b|500", "6||60|y6|b|600",
    ];

    /// <summary>Writes the table into <paramref name="tableDir"/> with <paramref name="mode"/> "name" or "id".</summary>
    public static void Write(string tableDir, string mode)
    {
        var byId = mode == "id";
        var nameInFile = byId ? "stale_name" : "col-name";
        var sxInFile = byId ? "x_before_rename" : "col-sx";
        var structType = new StructType([Fid(sxInFile, Int32Type.Default, 4), Fid("col-sy", StringType.Default, 5)]);

        var a = new RecordBatch(new Schema([Fid("col-id", Int64Type.Default, 1), Fid(nameInFile, StringType.Default, 2), Fid("col-s", structType, 3), Fid("c", Int64Type.Default, 99)], null),
        [
            Longs(1, 2, 3), Strings("n1", "n2", "n3"),
            Struct(structType, [true, true, false], Ints(10, 20, null), Strings("y1", "y2", null)),
            Longs(111, 112, 113),
        ], 3);
        var b = new RecordBatch(new Schema([Fid("col-id", Int64Type.Default, 1), Fid(nameInFile, StringType.Default, 2), Fid("col-s", structType, 3), Fid("col-c2", Int64Type.Default, 7)], null),
        [
            Longs(4, 5, 6), Strings("n4", "n5", null),
            Struct(structType, [true, true, true], Ints(40, 50, 60), Strings("y4", null, "y6")),
            Longs(400, 500, 600),
        ], 3);
        var sizeA = WriteParquet(Path.Combine(tableDir, FileA), a);
        var sizeB = WriteParquet(Path.Combine(tableDir, FileB), b);

        var schema = Struct(
            Field("id", "long", 1, "col-id"),
            Field("name", "string", 2, "col-name"),
            Field("s", Struct(Field("x", "integer", 4, "col-sx"), Field("y", "string", 5, "col-sy")), 3, "col-s"),
            Field("p", "string", 6, "col-p"),
            Field("c", "long", 7, "col-c2"));
        var protocol = byId
            ? new Dictionary<string, object> { ["minReaderVersion"] = 3, ["minWriterVersion"] = 7, ["readerFeatures"] = new[] { "columnMapping" }, ["writerFeatures"] = new[] { "columnMapping" } }
            : new Dictionary<string, object> { ["minReaderVersion"] = 2, ["minWriterVersion"] = 5 };
        WriteCommit(tableDir, 0,
        [
            new Dictionary<string, object> { ["protocol"] = protocol },
            Metadata(schema, ["p"], new Dictionary<string, string> { ["delta.columnMapping.mode"] = mode, ["delta.columnMapping.maxColumnId"] = "7" }),
            Add(FileA, sizeA, new Dictionary<string, string?> { ["col-p"] = "a" },
                """{"numRecords":3,"minValues":{"col-id":1,"col-name":"n1","col-s":{"col-sx":10}},"maxValues":{"col-id":3,"col-name":"n3","col-s":{"col-sx":20}},"nullCount":{"col-id":0,"col-name":0,"col-s":{"col-sx":1,"col-sy":1}}}"""),
            Add(FileB, sizeB, new Dictionary<string, string?> { ["col-p"] = "b" },
                """{"numRecords":3,"minValues":{"col-id":4,"col-name":"n4","col-s":{"col-sx":40},"col-c2":400},"maxValues":{"col-id":6,"col-name":"n5","col-s":{"col-sx":60},"col-c2":600},"nullCount":{"col-id":0,"col-name":1,"col-s":{"col-sx":0,"col-sy":1},"col-c2":0}}"""),
        ]);
    }

    public const string WideA = "part-00000-narrow.parquet";
    public const string WideB = "part-00001-wide.parquet";

    /// <summary>
    /// A table whose columns were widened after its first file was written (typeWidening): i int -> long,
    /// d decimal(5,2) -> decimal(10,2), f float -> double, dt date -> timestamp_ntz, b byte -> integer.
    /// </summary>
    public static void WriteWidened(string tableDir)
    {
        var narrow = new RecordBatch(new Schema(
            [new Field("i", Int32Type.Default, true), new Field("d", new Decimal128Type(5, 2), true), new Field("f", FloatType.Default, true),
             new Field("dt", Date32Type.Default, true), new Field("b", Int8Type.Default, true)], null),
        [
            Ints(1, int.MaxValue, int.MinValue, null),
            Decimals(new Decimal128Type(5, 2), 123.45m, -999.99m, 0.01m, null),
            new FloatArray.Builder().Append(1.5f).Append(-0.1f).Append(float.MaxValue).AppendNull().Build(),
            new Date32Array.Builder().Append(new DateTime(2020, 1, 2)).Append(new DateTime(1001, 2, 3)).Append(new DateTime(9999, 12, 31)).AppendNull().Build(),
            new Int8Array.Builder().Append(-128).Append(127).Append(0).AppendNull().Build(),
        ], 4);
        var ntz = new TimestampType(TimeUnit.Microsecond, (string?)null);
        var wide = new RecordBatch(new Schema(
            [new Field("i", Int64Type.Default, true), new Field("d", new Decimal128Type(10, 2), true), new Field("f", DoubleType.Default, true),
             new Field("dt", ntz, true), new Field("b", Int32Type.Default, true)], null),
        [
            Longs(5_000_000_000),
            Decimals(new Decimal128Type(10, 2), 12345678.91m),
            new DoubleArray.Builder().Append(2.25).Build(),
            new TimestampArray.Builder(ntz).Append(new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.Zero)).Build(),
            new Int32Array.Builder().Append(100_000).Build(),
        ], 1);
        var sizeA = WriteParquet(Path.Combine(tableDir, WideA), narrow);
        var sizeB = WriteParquet(Path.Combine(tableDir, WideB), wide);
        Dictionary<string, object> Widened(string name, string type, string from) => new()
        {
            ["name"] = name, ["type"] = type, ["nullable"] = true,
            ["metadata"] = new Dictionary<string, object> { ["delta.typeChanges"] = new[] { new Dictionary<string, string> { ["fromType"] = from, ["toType"] = type } } },
        };
        var schema = new Dictionary<string, object>
        {
            ["type"] = "struct",
            ["fields"] = new[]
            {
                Widened("i", "long", "integer"), Widened("d", "decimal(10,2)", "decimal(5,2)"), Widened("f", "double", "float"),
                Widened("dt", "timestamp_ntz", "date"), Widened("b", "integer", "byte"),
            },
        };
        WriteCommit(tableDir, 0,
        [
            new Dictionary<string, object> { ["protocol"] = new Dictionary<string, object>
            {
                ["minReaderVersion"] = 3, ["minWriterVersion"] = 7,
                ["readerFeatures"] = new[] { "typeWidening", "timestampNtz" }, ["writerFeatures"] = new[] { "typeWidening", "timestampNtz" },
            } },
            Metadata(schema, [], new Dictionary<string, string> { ["delta.enableTypeWidening"] = "true" }),
            Add(WideA, sizeA, [], """{"numRecords":4,"minValues":{"i":-2147483648,"b":-128},"maxValues":{"i":2147483647,"b":127},"nullCount":{"i":1,"b":1}}"""),
            Add(WideB, sizeB, [], """{"numRecords":1,"minValues":{"i":5000000000,"b":100000},"maxValues":{"i":5000000000,"b":100000},"nullCount":{"i":0,"b":0}}"""),
        ]);
    }

    // ---------------------------------------------------------------- helpers

    public static long WriteParquet(string path, RecordBatch batch)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var writer = new ParquetSharp.Arrow.FileWriter(path, batch.Schema))
        {
            writer.WriteRecordBatch(batch);
            writer.Close();
        }
        return new FileInfo(path).Length;
    }

    public static void WriteCommit(string tableDir, long version, IEnumerable<object> actions)
    {
        var log = Path.Combine(tableDir, "_delta_log");
        Directory.CreateDirectory(log);
        File.WriteAllLines(Path.Combine(log, $"{version:D20}.json"), actions.Select(a => JsonSerializer.Serialize(a)));
    }

    private static Dictionary<string, object> Metadata(object schema, string[] partitionColumns, Dictionary<string, string> configuration) => new()
    {
        ["metaData"] = new Dictionary<string, object>
        {
            ["id"] = "mapped-test", ["format"] = new Dictionary<string, object> { ["provider"] = "parquet", ["options"] = new Dictionary<string, string>() },
            ["schemaString"] = JsonSerializer.Serialize(schema), ["partitionColumns"] = partitionColumns,
            ["configuration"] = configuration, ["createdTime"] = 1704847171000,
        },
    };

    private static Dictionary<string, object> Add(string path, long size, Dictionary<string, string?> partitionValues, string stats) => new()
    {
        ["add"] = new Dictionary<string, object>
        {
            ["path"] = path, ["partitionValues"] = partitionValues, ["size"] = size,
            ["modificationTime"] = 1704847171000, ["dataChange"] = true, ["stats"] = stats,
        },
    };

    private static Dictionary<string, object> Struct(params Dictionary<string, object>[] fields) => new() { ["type"] = "struct", ["fields"] = fields };

    private static Dictionary<string, object> Field(string name, object type, int id, string physical) => new()
    {
        ["name"] = name, ["type"] = type, ["nullable"] = true,
        ["metadata"] = new Dictionary<string, object> { ["delta.columnMapping.id"] = id, ["delta.columnMapping.physicalName"] = physical },
    };

    /// <summary>An Arrow field carrying a Parquet field id (the Arrow writer stores PARQUET:field_id as the file's field_id).</summary>
    private static Field Fid(string name, IArrowType type, int id) =>
        new(name, type, true, new Dictionary<string, string> { ["PARQUET:field_id"] = id.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    private static Int64Array Longs(params long?[] values)
    {
        var b = new Int64Array.Builder();
        foreach (var v in values) { if (v is { } x) b.Append(x); else b.AppendNull(); }
        return b.Build();
    }

    private static Int32Array Ints(params int?[] values)
    {
        var b = new Int32Array.Builder();
        foreach (var v in values) { if (v is { } x) b.Append(x); else b.AppendNull(); }
        return b.Build();
    }

    private static StringArray Strings(params string?[] values)
    {
        var b = new StringArray.Builder();
        foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v); }
        return b.Build();
    }

    private static Decimal128Array Decimals(Decimal128Type type, params decimal?[] values)
    {
        var b = new Decimal128Array.Builder(type);
        foreach (var v in values) { if (v is { } x) b.Append(x); else b.AppendNull(); }
        return b.Build();
    }

    private static StructArray Struct(StructType type, bool[] valid, params IArrowArray[] children)
    {
        var bits = new ArrowBuffer.BitmapBuilder();
        foreach (var v in valid) bits.Append(v);
        return new StructArray(type, valid.Length, children, bits.Build(), valid.Count(v => !v));
    }
}
