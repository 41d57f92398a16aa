using System.Text.Json;
using ParquetSharp;
using ParquetSharp.Schema;

namespace Ecap.TestSupport;

/// <summary>
/// A Delta table as other writers leave it: one data file written with ParquetSharp's low-level writer in the
/// physical forms Parquet allows for timestamps, dates and decimals (INT96 as Spark writes it, TIMESTAMP_MILLIS,
/// MICROS and NANOS, with and without isAdjustedToUTC; decimals as INT32, INT64 and dictionary-encoded
/// FIXED_LEN_BYTE_ARRAY), committed with a hand-written <c>_delta_log</c> commit. Values include year 9999 and
/// years long before 1900. <see cref="Expected"/> holds what a reader must see, in one comparable form.
/// </summary>
public static class ForeignTable
{
    public const string DataFile = "part-00000-foreign.snappy.parquet";

    /// <summary>Columns and their Delta types.</summary>
    public static readonly (string Name, string DeltaType)[] Columns =
    [
        ("id", "long"),
        ("ts_int96", "timestamp"),
        ("ts_millis", "timestamp"),
        ("ts_micros", "timestamp"),
        ("ts_nanos", "timestamp"),
        ("ts_local_micros", "timestamp"),     // isAdjustedToUTC = false in the file, a timestamp in the table
        ("ntz_millis", "timestamp_ntz"),      // isAdjustedToUTC = false, a timestamp_ntz in the table
        ("d", "date"),
        ("dec_i32", "decimal(9,2)"),
        ("dec_i64", "decimal(18,4)"),
        ("dec_flba", "decimal(28,10)"),
    ];

    private static readonly DateTime Epoch = DateTime.UnixEpoch;

    private static long Micros(DateTime t) => (t - Epoch).Ticks / 10;

    /// <summary>Microseconds since 1970 of each timestamp column per row (null: a null), then days for d, then decimals as invariant strings.</summary>
    public static readonly long?[][] TimestampMicros =
    [
        // row 0: an ordinary instant
        [.. Enumerable.Repeat<long?>(Micros(new DateTime(2000, 1, 1, 8, 0, 0)), 6)],
        // row 1: far future (nanoseconds end in 2262)
        [Micros(new DateTime(9999, 12, 31, 23, 59, 59).AddTicks(9_999_990)), Micros(new DateTime(9999, 12, 31, 23, 59, 59, 999)),
         Micros(new DateTime(9999, 12, 31, 23, 59, 59).AddTicks(9_999_990)), 9_223_372_036_854_775L,
         Micros(new DateTime(9999, 12, 31, 23, 59, 59).AddTicks(9_999_990)), Micros(new DateTime(9999, 12, 31, 23, 59, 59, 999))],
        // row 2: long before 1900 (nanoseconds start in 1677)
        [Micros(new DateTime(1001, 2, 3, 4, 5, 6).AddTicks(7_890_120)), Micros(new DateTime(1001, 2, 3, 4, 5, 6, 789)),
         Micros(new DateTime(1001, 2, 3, 4, 5, 6).AddTicks(7_890_120)), -9_223_372_036_854_775L,
         Micros(new DateTime(1850, 6, 15, 12, 34, 56).AddTicks(1_234_560)), Micros(new DateTime(1899, 12, 31, 23, 59, 59, 1))],
        // row 3: nulls
        [null, null, null, null, null, null],
    ];

    public static readonly DateOnly?[] Dates = [new(2000, 1, 1), new(9999, 12, 31), new(1001, 2, 3), null];
    public static readonly decimal?[] DecI32 = [1234567.89m, -9999999.99m, 0.01m, null];
    public static readonly decimal?[] DecI64 = [12345678901234.5678m, -99999999999999.9999m, -0.0001m, null];
    public static readonly decimal?[] DecFlba = [123456789012345678.0123456789m, -999999999999999999.9999999999m, 123456789012345678.0123456789m, null];

    /// <summary>Writes the table into <paramref name="tableDir"/> (data file + commit 0); returns the data file's path.</summary>
    /// <param name="stats">The add action's stats JSON (null: none).</param>
    public static string Write(string tableDir, string? stats = null)
    {
        Directory.CreateDirectory(Path.Combine(tableDir, "_delta_log"));
        var file = Path.Combine(tableDir, DataFile);
        WriteDataFile(file);
        WriteCommit(tableDir, new FileInfo(file).Length, stats);
        return file;
    }

    public static void WriteCommit(string tableDir, long size, string? stats, string path = DataFile)
    {
        Directory.CreateDirectory(Path.Combine(tableDir, "_delta_log"));
        var fields = Columns.Select(c => new Dictionary<string, object> { ["name"] = c.Name, ["type"] = c.DeltaType, ["nullable"] = c.Name != "id", ["metadata"] = new Dictionary<string, object>() });
        var schema = JsonSerializer.Serialize(new Dictionary<string, object> { ["type"] = "struct", ["fields"] = fields });
        var add = new Dictionary<string, object?>
        {
            ["path"] = path, ["partitionValues"] = new Dictionary<string, string>(), ["size"] = size,
            ["modificationTime"] = 1704847171000, ["dataChange"] = true,
        };
        if (stats is not null) add["stats"] = stats;
        var lines = new object[]
        {
            new { commitInfo = new { timestamp = 1704847172421, operation = "WRITE", engineInfo = "hand-written foreign writer" } },
            new { protocol = new { minReaderVersion = 3, minWriterVersion = 7, readerFeatures = new[] { "timestampNtz" }, writerFeatures = new[] { "timestampNtz" } } },
            new { metaData = new { id = "foreign", format = new { provider = "parquet", options = new { } }, schemaString = schema, partitionColumns = Array.Empty<string>(), configuration = new { }, createdTime = 1704847166710 } },
            new Dictionary<string, object> { ["add"] = add },
        };
        File.WriteAllLines(Path.Combine(tableDir, "_delta_log", "00000000000000000000.json"), lines.Select(l => JsonSerializer.Serialize(l)));
    }

    private static void WriteDataFile(string path)
    {
        var rows = TimestampMicros.Length;
        Node[] nodes =
        [
            new PrimitiveNode("id", Repetition.Required, LogicalType.None(), PhysicalType.Int64),
            new PrimitiveNode("ts_int96", Repetition.Optional, LogicalType.None(), PhysicalType.Int96),
            new PrimitiveNode("ts_millis", Repetition.Optional, LogicalType.Timestamp(true, TimeUnit.Millis), PhysicalType.Int64),
            new PrimitiveNode("ts_micros", Repetition.Optional, LogicalType.Timestamp(true, TimeUnit.Micros), PhysicalType.Int64),
            new PrimitiveNode("ts_nanos", Repetition.Optional, LogicalType.Timestamp(true, TimeUnit.Nanos), PhysicalType.Int64),
            new PrimitiveNode("ts_local_micros", Repetition.Optional, LogicalType.Timestamp(false, TimeUnit.Micros), PhysicalType.Int64),
            new PrimitiveNode("ntz_millis", Repetition.Optional, LogicalType.Timestamp(false, TimeUnit.Millis), PhysicalType.Int64),
            new PrimitiveNode("d", Repetition.Optional, LogicalType.Date(), PhysicalType.Int32),
            new PrimitiveNode("dec_i32", Repetition.Optional, LogicalType.Decimal(9, 2), PhysicalType.Int32),
            new PrimitiveNode("dec_i64", Repetition.Optional, LogicalType.Decimal(18, 4), PhysicalType.Int64),
            new PrimitiveNode("dec_flba", Repetition.Optional, LogicalType.Decimal(28, 10), PhysicalType.FixedLenByteArray, 16),
        ];
        using var schema = new GroupNode("spark_schema", Repetition.Required, nodes);
        using var props = new WriterPropertiesBuilder().Compression(Compression.Snappy).EnableDictionary().Build();
        using var writer = new ParquetFileWriter(path, schema, props);
        using (var group = writer.AppendRowGroup())
        {
            using (var w = (ColumnWriter<long>)group.NextColumn()) w.WriteBatch(Enumerable.Range(0, rows).Select(i => (long)i).ToArray());
            var defs = TimestampMicros.Select(r => (short)(r[0] is null ? 0 : 1)).ToArray();
            using (var w = (ColumnWriter<Int96>)group.NextColumn())
                w.WriteBatch(rows, defs, null, TimestampMicros.Where(r => r[0] is not null).Select(r => ToInt96(r[0]!.Value)).ToArray());
            long[] Scaled(int column, long divisor) => TimestampMicros.Where(r => r[column] is not null).Select(r => r[column]!.Value / divisor).ToArray();
            long[] Nanos(int column) => TimestampMicros.Where(r => r[column] is not null).Select(r => r[column]!.Value * 1000).ToArray();
            using (var w = (ColumnWriter<long>)group.NextColumn()) w.WriteBatch(rows, defs, null, Scaled(1, 1000));
            using (var w = (ColumnWriter<long>)group.NextColumn()) w.WriteBatch(rows, defs, null, Scaled(2, 1));
            using (var w = (ColumnWriter<long>)group.NextColumn()) w.WriteBatch(rows, defs, null, Nanos(3));
            using (var w = (ColumnWriter<long>)group.NextColumn()) w.WriteBatch(rows, defs, null, Scaled(4, 1));
            using (var w = (ColumnWriter<long>)group.NextColumn()) w.WriteBatch(rows, defs, null, Scaled(5, 1000));
            var epochDay = DateOnly.FromDateTime(Epoch).DayNumber;
            using (var w = (ColumnWriter<int>)group.NextColumn())
                w.WriteBatch(rows, Dates.Select(d => (short)(d is null ? 0 : 1)).ToArray(), null, Dates.Where(d => d is not null).Select(d => d!.Value.DayNumber - epochDay).ToArray());
            using (var w = (ColumnWriter<int>)group.NextColumn())
                w.WriteBatch(rows, DecI32.Select(d => (short)(d is null ? 0 : 1)).ToArray(), null, DecI32.Where(d => d is not null).Select(d => (int)(d!.Value * 100)).ToArray());
            using (var w = (ColumnWriter<long>)group.NextColumn())
                w.WriteBatch(rows, DecI64.Select(d => (short)(d is null ? 0 : 1)).ToArray(), null, DecI64.Where(d => d is not null).Select(d => (long)(d!.Value * 10000)).ToArray());
            using (var w = group.NextColumn().LogicalWriter<decimal?>()) w.WriteBatch(DecFlba);
        }
        writer.Close();
    }

    private static Int96 ToInt96(long micros)
    {
        // Spark's INT96: nanoseconds of the day (8 bytes, little endian) and the Julian day number (4 bytes).
        const long microsPerDay = 86_400_000_000L;
        var day = Math.DivRem(micros, microsPerDay, out var rem);
        if (rem < 0) { rem += microsPerDay; day--; }
        var nanos = rem * 1000;
        return new Int96((int)(nanos & 0xFFFFFFFF), (int)(nanos >> 32), (int)(day + 2_440_588));
    }

    /// <summary>The expected rows in the form <see cref="Canonical"/> gives: one string per cell.</summary>
    public static List<string[]> Expected() =>
        Enumerable.Range(0, TimestampMicros.Length).Select(r => new[] { r.ToString(System.Globalization.CultureInfo.InvariantCulture) }
            .Concat(TimestampMicros[r].Select(v => v?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"))
            .Append(Dates[r]?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) ?? "null")
            .Append(Dec(DecI32[r])).Append(Dec(DecI64[r])).Append(Dec(DecFlba[r])).ToArray()).ToList();

    /// <summary>A decimal in one comparable form (trailing zeros dropped).</summary>
    public static string Dec(decimal? d) => d is { } v ? (v / 1.000000000000000000000000000000000m).ToString(System.Globalization.CultureInfo.InvariantCulture) : "null";

    /// <summary>
    /// The SELECT list DuckDB uses to read any file or view with these columns into the form of <see cref="Expected"/>:
    /// timestamps as microseconds since 1970, dates as yyyy-MM-dd, decimals as text (normalized by the caller with <see cref="Dec"/>).
    /// </summary>
    public static string DuckDbSelect(string from) =>
        "SELECT id, " +
        string.Join(", ", Columns.Skip(1).Take(6).Select(c => $"epoch_us(\"{c.Name}\")")) +
        ", strftime(d, '%Y-%m-%d'), dec_i32::VARCHAR, dec_i64::VARCHAR, dec_flba::VARCHAR FROM " + from + " ORDER BY id";

    /// <summary>DuckDB rows (from <see cref="DuckDbSelect"/>) in the form of <see cref="Expected"/>.</summary>
    public static List<string[]> FromDuckDb(List<object?[]> rows) =>
        rows.Select(r => r.Select((v, i) => v is null ? "null" : i >= 8 ? Dec(decimal.Parse((string)v, System.Globalization.CultureInfo.InvariantCulture))
            : Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)!).ToArray()).ToList();

    /// <summary>
    /// JSON lines (an export, or the CLI's JSON rows one per line) in the form of <see cref="Expected"/>, parsed here:
    /// DuckDB reads JSON numbers as doubles, which would round the decimals before any comparison.
    /// </summary>
    public static List<string[]> FromJsonRows(IEnumerable<JsonElement> rows) =>
        rows.Select(o => Columns.Select(c => o.GetProperty(c.Name) is var v && v.ValueKind == JsonValueKind.Null ? "null" : c.DeltaType switch
        {
            "long" => v.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "timestamp" or "timestamp_ntz" => JsonMicros(v.GetString()!).ToString(System.Globalization.CultureInfo.InvariantCulture),
            "date" => v.GetString()!,
            _ => Dec(decimal.Parse(v.GetRawText(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture)),
        }).ToArray()).OrderBy(r => long.Parse(r[0], System.Globalization.CultureInfo.InvariantCulture)).ToList();

    private static long JsonMicros(string text)
    {
        var t = DateTime.ParseExact(text.TrimEnd('Z'), "yyyy-MM-dd'T'HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None);
        return Micros(t);
    }
}
