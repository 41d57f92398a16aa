using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Files;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Reading;

namespace Ecap.DataLake.Tests.Robustness;

/// <summary>
/// Tables written by other writers, in the physical forms Parquet allows (see <see cref="ForeignTable"/>): the batches
/// of a read and every export format must hold the values DuckDB reads from the raw data file.
/// </summary>
public class ForeignTableReadTests
{
    private const string DuckTypes =
        "{'id': 'BIGINT', 'ts_int96': 'TIMESTAMPTZ', 'ts_millis': 'TIMESTAMPTZ', 'ts_micros': 'TIMESTAMPTZ', 'ts_nanos': 'TIMESTAMPTZ', " +
        "'ts_local_micros': 'TIMESTAMPTZ', 'ntz_millis': 'TIMESTAMP', 'd': 'DATE', 'dec_i32': 'DECIMAL(9,2)', 'dec_i64': 'DECIMAL(18,4)', 'dec_flba': 'DECIMAL(28,10)'}";

    private static string Lit(string path) => "'" + path.Replace("'", "''") + "'";

    [Fact]
    public void The_fixture_file_holds_the_expected_values_for_duckdb()
    {
        using var dir = new TempDir();
        var file = ForeignTable.Write(dir.Sub("foreign"));
        using var duck = new DuckDbReader();
        Assert.Equal(ForeignTable.Expected(), ForeignTable.FromDuckDb(duck.Rows(ForeignTable.DuckDbSelect($"read_parquet({Lit(file)})"))));
    }

    [Fact]
    public async Task Golden_all_types_table_exports_its_timestamp_unchanged_to_parquet()
    {
        using var dir = new TempDir();
        dir.CopyGolden("data-skipping-basic-stats-all-types");
        var storage = new DataLakeStorage(dir.Path);
        var scan = await storage.ReadPartitionedDataAsync("data-skipping-basic-stats-all-types");
        var out1 = dir.Sub("x.parquet");
        Assert.Equal(1, await RowExport.WriteAsync(out1, scan.Schema, scan.ReadBatchesAsync()));
        using var duck = new DuckDbReader();
        // Spark wrote 2000-01-01 00:00 at -08:00 (INT96): 08:00 UTC. The export used to read as year 31970.
        Assert.Equal(new DateTimeOffset(2000, 1, 1, 8, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1000,
            duck.Scalar($"SELECT epoch_us(as_timestamp) FROM read_parquet({Lit(out1)})"));
        Assert.Equal("2000-01-01", duck.Scalar($"SELECT strftime(as_date, '%Y-%m-%d') FROM read_parquet({Lit(out1)})"));
    }

    [Fact]
    public async Task Batches_carry_the_table_types_and_the_values_duckdb_reads_from_the_raw_file()
    {
        using var dir = new TempDir();
        ForeignTable.Write(dir.Sub("foreign"));
        var scan = await new DataLakeStorage(dir.Path).ReadPartitionedDataAsync("foreign");
        var rows = new List<string[]>();
        await foreach (var batch in scan.ReadBatchesAsync())
        {
            for (var c = 0; c < batch.ColumnCount; c++)
                Assert.True(Ecap.DataLake.Arrow.ArrowConform.SameType(scan.Schema.GetFieldByIndex(c).DataType, batch.Column(c).Data.DataType),
                    $"{scan.Schema.GetFieldByIndex(c).Name}: table {scan.Schema.GetFieldByIndex(c).DataType.Name}, batch {batch.Column(c).Data.DataType.Name}");
            for (var r = 0; r < batch.Length; r++) rows.Add(Enumerable.Range(0, batch.ColumnCount).Select(c => Cell(batch.Column(c), r)).ToArray());
        }
        Assert.Equal(ForeignTable.Expected(), rows.OrderBy(r => long.Parse(r[0], CultureInfo.InvariantCulture)).ToList());
    }

    [Theory]
    [InlineData("x.parquet")]
    [InlineData("x.csv")]
    [InlineData("x.jsonl")]
    public async Task Every_export_format_holds_the_values_duckdb_reads_from_the_raw_file(string name)
    {
        using var dir = new TempDir();
        ForeignTable.Write(dir.Sub("foreign"));
        var scan = await new DataLakeStorage(dir.Path).ReadPartitionedDataAsync("foreign");
        var path = dir.Sub(name);
        Assert.Equal(4, await RowExport.WriteAsync(path, scan.Schema, scan.ReadBatchesAsync()));
        if (name.EndsWith(".jsonl"))
        {
            Assert.Equal(ForeignTable.Expected(), ForeignTable.FromJsonRows(File.ReadAllLines(path).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)));
            return;
        }
        using var duck = new DuckDbReader();
        Assert.Equal(ForeignTable.Expected(), ForeignTable.FromDuckDb(duck.Rows(ForeignTable.DuckDbSelect(ExportSource(path)))));
    }

    /// <summary>DuckDB's reader of an export, typed as the table (text formats carry no types).</summary>
    public static string ExportSource(string path) => Path.GetExtension(path) switch
    {
        ".parquet" => $"read_parquet({Lit(path)})",
        ".csv" => $"read_csv({Lit(path)}, header = true, columns = {DuckTypes})",
        _ => throw new ArgumentException(path),
    };

    [Theory]
    [InlineData("ts_millis >= '9999-01-01T00:00:00Z'", 1)]
    [InlineData("ts_nanos < '1700-01-01T00:00:00Z'", 2)]
    [InlineData("ts_nanos < '1800-01-01T00:00:00Z'", 2)]
    [InlineData("ts_micros < '1700-01-01T00:00:00Z'", 2)]
    [InlineData("ts_nanos > '2200-01-01T00:00:00Z'", 1)]
    [InlineData("ts_int96 = '2000-01-01T08:00:00Z'", 0)]
    [InlineData("dec_flba < 0", 1)]
    [InlineData("d = '1001-02-03'", 2)]
    public async Task Filters_on_foreign_encodings_find_their_rows(string where, long id)
    {
        using var dir = new TempDir();
        ForeignTable.Write(dir.Sub("foreign"));
        var scan = await new DataLakeStorage(dir.Path).ReadPartitionedDataAsync("foreign", new ReadOptions { Predicate = Predicate.Parse(where) });
        var ids = new List<long>();
        await foreach (var batch in scan.ReadBatchesAsync())
            for (var r = 0; r < batch.Length; r++) ids.Add(((Int64Array)batch.Column(0)).GetValue(r)!.Value);
        Assert.Equal([id], ids);
    }

    [Fact]
    public async Task Nanoseconds_a_microsecond_timestamp_cannot_hold_are_refused_naming_the_column()
    {
        using var dir = new TempDir();
        var table = dir.Sub("foreign");
        Directory.CreateDirectory(table);
        var file = Path.Combine(table, "nanos.parquet");
        using (var schema = new ParquetSharp.Schema.GroupNode("schema", ParquetSharp.Repetition.Required,
        [
            new ParquetSharp.Schema.PrimitiveNode("id", ParquetSharp.Repetition.Required, ParquetSharp.LogicalType.None(), ParquetSharp.PhysicalType.Int64),
            new ParquetSharp.Schema.PrimitiveNode("ts_nanos", ParquetSharp.Repetition.Required, ParquetSharp.LogicalType.Timestamp(true, ParquetSharp.TimeUnit.Nanos), ParquetSharp.PhysicalType.Int64),
        ]))
        using (var props = new ParquetSharp.WriterPropertiesBuilder().Build())
        using (var writer = new ParquetSharp.ParquetFileWriter(file, schema, props))
        {
            using (var group = writer.AppendRowGroup())
            {
                using (var w = (ParquetSharp.ColumnWriter<long>)group.NextColumn()) w.WriteBatch([0L]);
                using (var w = (ParquetSharp.ColumnWriter<long>)group.NextColumn()) w.WriteBatch([946_713_600_000_000_001L]); // 1 ns past 08:00
            }
            writer.Close();
        }
        ForeignTable.WriteCommit(table, new FileInfo(file).Length, null, "nanos.parquet");
        var scan = await new DataLakeStorage(dir.Path).ReadPartitionedDataAsync("foreign");
        var e = await Assert.ThrowsAsync<SchemaMismatchException>(async () => { await foreach (var _ in scan.ReadBatchesAsync()) { } });
        Assert.Contains("'ts_nanos'", e.Message);
        Assert.Contains("nanos.parquet", e.Message);
    }

    private static string Cell(IArrowArray a, int r)
    {
        if (a.IsNull(r)) return "null";
        return a switch
        {
            Int64Array l => l.GetValue(r)!.Value.ToString(CultureInfo.InvariantCulture),
            TimestampArray t => ((TimestampType)t.Data.DataType).Unit == TimeUnit.Microsecond
                ? t.Values[r].ToString(CultureInfo.InvariantCulture)
                : throw new Xunit.Sdk.XunitException("timestamp not in microseconds: " + t.Data.DataType.Name),
            Date32Array d => DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + d.Values[r]).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Decimal128Array m => ForeignTable.Dec(m.GetValue(r)),
            _ => throw new Xunit.Sdk.XunitException("unexpected array " + a.GetType().Name),
        };
    }
}
