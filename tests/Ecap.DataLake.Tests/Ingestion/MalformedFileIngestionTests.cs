using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Files;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Tests.Ingestion;

/// <summary>
/// Malformed input files (issue 16): a broken record costs that record, never the rest of the file or the run. Every test
/// reads the landed rows and the dead letters back with DuckDB.
/// </summary>
public sealed class MalformedFileIngestionTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly DuckDbReader _duck = new();
    private readonly DataLakeStorage _lake;
    private readonly DataLakeIngester _ingester;

    public MalformedFileIngestionTests()
    {
        _lake = new DataLakeStorage(_dir.Sub("lake"));
        _ingester = new DataLakeIngester(_lake);
        Directory.CreateDirectory(_dir.Sub("in"));
    }

    public void Dispose()
    {
        _duck.Dispose();
        _dir.Dispose();
    }

    private const string Header = "transaction_id,timestamp,amount,status\n";

    private static string Row(long i, bool quotedStatus) =>
        string.Create(CultureInfo.InvariantCulture, $"{i},2026-08-{1 + i % 3:00}T10:{i % 60:00}:00Z,{i}.25,{(quotedStatus ? "\"paid, ok\"" : "paid")}\n");

    private static string Rows(long from, int count, bool quotedStatus = true) =>
        string.Concat(Enumerable.Range((int)from, count).Select(i => Row(i, quotedStatus)));

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_dir.Sub("in"), name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private string Write(string name, string text) => Write(name, Encoding.UTF8.GetBytes(text));

    private Task<IngestionReport> Ingest(string path, SourceFileOptions? fileOptions = null) =>
        _ingester.IngestAsync(new FileIngestionSource(path, fileOptions), "tx", DataType.Transactions);

    private async Task<string> FilesOf(string table)
    {
        var snapshot = await _lake.OpenTable(table).GetSnapshotAsync();
        return DuckDbReader.FileList(snapshot.Files.Select(f => Path.Combine(_dir.Sub("lake"), table, f.ObjectKey)));
    }

    /// <summary>The landed transaction ids, in order.</summary>
    private async Task<long[]> Ids() =>
        _duck.Rows($"SELECT transaction_id FROM read_parquet({await FilesOf("tx")}) ORDER BY 1").Select(r => Convert.ToInt64(r[0])).ToArray();

    /// <summary>The dead letters as (source, position, raw, error), by position.</summary>
    private async Task<List<(string Source, string Position, string? Raw, string Error)>> DeadLetters() =>
        _duck.Rows($"SELECT source, position, raw, error FROM read_parquet({await FilesOf(TableNames.DeadLetterTable("tx"))}) ORDER BY source, position")
            .Select(r => ((string)r[0]!, (string)r[1]!, (string?)r[2], (string)r[3]!)).ToList();

    private static long[] Range(int from, int count) => Enumerable.Range(from, count).Select(i => (long)i).ToArray();

    public static TheoryData<bool, int, string> UnclosedQuoteCases => new()
    {
        // The quoted statuses after it close the runaway quote into malformed text.
        { true, CsvRecordReader.DefaultMaxQuotedFieldLength, "closes into malformed text on line 53" },
        // Nothing closes it: it runs to the end of the file.
        { false, CsvRecordReader.DefaultMaxQuotedFieldLength, "is not closed before the end of the file" },
        // Bounded: past the limit the quote is taken to be unclosed without reading on to the end.
        { false, 200, "runs past 200 characters" },
    };

    [Theory]
    [MemberData(nameof(UnclosedQuoteCases))]
    public async Task An_unclosed_quote_mid_file_dead_letters_only_its_record_and_the_rest_lands(bool quotedStatus, int maxQuoted, string error)
    {
        const string broken = "9999,2026-08-01T10:00:00Z,1.50,\"never closed";
        Write("a.csv", Header + Rows(0, 50, quotedStatus) + broken + "\n" + Rows(50, 50, quotedStatus));
        var report = await Ingest(_dir.Sub("in/a.csv"), new SourceFileOptions { MaxQuotedFieldLength = maxQuoted });

        Assert.Equal(101, report.RecordsRead);
        Assert.Equal(100, report.RecordsWritten);
        Assert.Equal(1, report.RecordsDeadLettered);
        Assert.Equal(Range(0, 100), await Ids());
        var status = quotedStatus ? "paid, ok" : "paid";
        Assert.Equal(100L, Convert.ToInt64(_duck.Scalar($"SELECT count(*) FROM read_parquet({await FilesOf("tx")}) WHERE status = '{status}'")));
        var dead = Assert.Single(await DeadLetters());
        Assert.Equal(("a.csv", "record 50 (line 52)", broken), (dead.Source, dead.Position, dead.Raw));
        Assert.Contains(error, dead.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_quoted_field_across_lines_that_closes_properly_is_one_record()
    {
        Write("a.csv", Header + Rows(0, 3) + "3,2026-08-01T10:00:00Z,3.25,\"first line\r\nsecond, \"\"quoted\"\" line\"\n" + Rows(4, 3));
        var report = await Ingest(_dir.Sub("in/a.csv"));
        Assert.Equal(7, report.RecordsWritten);
        Assert.Equal(0, report.RecordsDeadLettered);
        Assert.Equal(Range(0, 7), await Ids());
        Assert.Equal("first line\r\nsecond, \"quoted\" line",
            _duck.Scalar($"SELECT status FROM read_parquet({await FilesOf("tx")}) WHERE transaction_id = 3"));
    }

    [Fact]
    public async Task Csv_and_json_lines_with_invalid_utf8_dead_letter_the_record_with_its_bytes_and_the_rest_lands()
    {
        // 0xE9 is Latin-1 'é': not UTF-8. The valid UTF-8 'é' of the row after it must land as it is.
        var badCsvLine = Encoding.ASCII.GetBytes("5,2026-08-01T10:00:00Z,5.25,caf").Concat(new byte[] { 0xE9 }).ToArray();
        var csv = Encoding.UTF8.GetBytes(Header + Rows(0, 5)).Concat(badCsvLine).Concat("\n"u8.ToArray())
            .Concat(Encoding.UTF8.GetBytes("6,2026-08-01T10:00:00Z,6.25,café\n" + Rows(7, 3))).ToArray();
        Write("a.csv", csv);
        static string Json(int i, string status) =>
            string.Create(CultureInfo.InvariantCulture, $"{{\"transaction_id\": {i}, \"timestamp\": \"2026-08-02T00:00:00Z\", \"amount\": {i}.5, \"status\": \"{status}\"}}\n");
        var badJsonLine = Encoding.UTF8.GetBytes("{\"transaction_id\": 12, \"timestamp\": \"2026-08-02T00:00:00Z\", \"amount\": 1.5, \"status\": \"caf")
            .Concat(new byte[] { 0xE9 }).Concat("\"}"u8.ToArray()).ToArray();
        var json = Encoding.UTF8.GetBytes(Json(10, "paid") + Json(11, "paid")).Concat(badJsonLine).Concat("\n"u8.ToArray())
            .Concat(Encoding.UTF8.GetBytes(Json(13, "paid"))).ToArray();
        Write("b.jsonl", json);

        var report = await Ingest(_dir.Sub("in"));
        Assert.Equal(14, report.RecordsRead);
        Assert.Equal(12, report.RecordsWritten);
        Assert.Equal(2, report.RecordsDeadLettered);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 13 }, await Ids());
        var files = await FilesOf("tx");
        Assert.Equal("café", _duck.Scalar($"SELECT status FROM read_parquet({files}) WHERE transaction_id = 6"));
        Assert.Equal(0L, Convert.ToInt64(_duck.Scalar($"SELECT count(*) FROM read_parquet({files}) WHERE status LIKE '%\uFFFD%'")));

        var dead = await DeadLetters();
        Assert.Equal(2, dead.Count);
        Assert.Equal(("a.csv", "record 5 (line 7)"), (dead[0].Source, dead[0].Position));
        Assert.Equal(badCsvLine, Convert.FromBase64String(dead[0].Raw!));
        Assert.Contains("not valid UTF-8: byte 0xE9 at byte 31 of line 7", dead[0].Error, StringComparison.Ordinal);
        Assert.Contains("base64", dead[0].Error, StringComparison.Ordinal);
        Assert.Equal(("b.jsonl", "record 2 (line 3)"), (dead[1].Source, dead[1].Position));
        Assert.Equal(badJsonLine, Convert.FromBase64String(dead[1].Raw!));
        Assert.Contains("not valid UTF-8: byte 0xE9", dead[1].Error, StringComparison.Ordinal);
        // DuckDB gets the original bytes back from the dead letter.
        Assert.Equal(Convert.ToHexString(badCsvLine), _duck.Scalar(
            $"SELECT hex(from_base64(raw)) FROM read_parquet({await FilesOf(TableNames.DeadLetterTable("tx"))}) WHERE source = 'a.csv'"));
    }

    [Fact]
    public async Task A_new_table_gets_the_canonical_schema_and_values_that_do_not_convert_are_dead_letters()
    {
        // 100 rows: one with a timestamp that is not one, one with more decimals than money holds, one without a (required) amount.
        var text = new StringBuilder(Header);
        for (var i = 0; i < 100; i++)
            text.Append(i switch
            {
                40 => "40,2026-13-45T99:00:00Z,40.25,paid\n",
                60 => "60,2026-08-01T10:00:00Z,60.125,paid\n",
                80 => "80,2026-08-01T10:00:00Z,,paid\n",
                _ => Row(i, quotedStatus: false),
            });
        Write("a.csv", text.ToString());
        var report = await Ingest(_dir.Sub("in/a.csv"));
        Assert.Equal(97, report.RecordsWritten);
        Assert.Equal(3, report.RecordsDeadLettered);

        var schema = (await _lake.OpenTable("tx").GetSnapshotAsync()).Schema;
        var amount = Assert.IsType<Decimal128Type>(schema.GetFieldByName("amount").DataType);
        Assert.Equal((18, 2), (amount.Precision, amount.Scale));
        Assert.IsType<TimestampType>(schema.GetFieldByName("timestamp").DataType);
        Assert.False(schema.GetFieldByName("amount").IsNullable);
        var files = await FilesOf("tx");
        var types = _duck.Rows($"SELECT typeof(transaction_id), typeof(timestamp), typeof(amount), typeof(status) FROM read_parquet({files}) LIMIT 1")[0];
        Assert.Equal(["BIGINT", "TIMESTAMP WITH TIME ZONE", "DECIMAL(18,2)", "VARCHAR"], types.Select(t => (string)t!));
        var expected = Range(0, 100).Where(i => i is not (40 or 60 or 80)).ToArray();
        Assert.Equal(expected, await Ids());
        // Exact values: each amount is id + 0.25.
        Assert.Equal(0L, Convert.ToInt64(_duck.Scalar($"SELECT count(*) FROM read_parquet({files}) WHERE amount <> transaction_id + 0.25")));

        var dead = await DeadLetters();
        Assert.Equal(["record 40 (line 42)", "record 60 (line 62)", "record 80 (line 82)"], dead.Select(x => x.Position));
        Assert.Equal(["40,2026-13-45T99:00:00Z,40.25,paid", "60,2026-08-01T10:00:00Z,60.125,paid", "80,2026-08-01T10:00:00Z,,paid"], dead.Select(x => x.Raw));
        Assert.Contains("column 'timestamp': '2026-13-45T99:00:00Z' is not a valid timestamp", dead[0].Error, StringComparison.Ordinal);
        Assert.Contains("column 'amount': '60.125' is not a valid", dead[1].Error, StringComparison.Ordinal);
        Assert.Contains("column 'amount' is required", dead[2].Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_parquet_source_is_cast_to_the_canonical_schema_and_rows_that_do_not_convert_are_dead_letters()
    {
        // Types a producer might write: int32 ids, string timestamps, double amounts.
        var schema = new Schema.Builder()
            .Field(new Field("transaction_id", Int32Type.Default, false))
            .Field(new Field("timestamp", StringType.Default, true))
            .Field(new Field("amount", DoubleType.Default, true))
            .Field(new Field("status", StringType.Default, true))
            .Build();
        var ids = new Int32Array.Builder();
        var times = new StringArray.Builder();
        var amounts = new DoubleArray.Builder();
        var statuses = new StringArray.Builder();
        for (var i = 0; i < 10; i++)
        {
            ids.Append(i);
            times.Append(i == 3 ? "yesterday" : $"2026-08-0{1 + i % 3}T10:00:00Z");
            amounts.Append(i == 7 ? 0.1 + 0.2 : i + 0.5);
            statuses.Append("paid");
        }
        var batch = new RecordBatch(schema, [ids.Build(), times.Build(), amounts.Build(), statuses.Build()], 10);
        await RowExport.WriteAsync(Path.Combine(_dir.Sub("in"), "a.parquet"), schema, new[] { batch }.ToAsyncEnumerable());

        var report = await Ingest(_dir.Sub("in/a.parquet"));
        Assert.Equal(10, report.RecordsRead);
        Assert.Equal(8, report.RecordsWritten);
        Assert.Equal(2, report.RecordsDeadLettered);
        var files = await FilesOf("tx");
        var types = _duck.Rows($"SELECT typeof(transaction_id), typeof(timestamp), typeof(amount) FROM read_parquet({files}) LIMIT 1")[0];
        Assert.Equal(["BIGINT", "TIMESTAMP WITH TIME ZONE", "DECIMAL(18,2)"], types.Select(t => (string)t!));
        Assert.Equal(new long[] { 0, 1, 2, 4, 5, 6, 8, 9 }, await Ids());
        Assert.Equal(0L, Convert.ToInt64(_duck.Scalar($"SELECT count(*) FROM read_parquet({files}) WHERE amount <> transaction_id + 0.5")));
        Assert.Equal(0L, Convert.ToInt64(_duck.Scalar(
            $"SELECT count(*) FROM read_parquet({files}) WHERE timestamp <> make_timestamptz(2026, 8, 1 + transaction_id % 3, 10, 0, 0, 'UTC')")));

        var dead = await DeadLetters();
        Assert.Equal(["record 3", "record 7"], dead.Select(x => x.Position));
        Assert.All(dead, x => Assert.Equal("a.parquet", x.Source));
        Assert.Equal("{\"transaction_id\":3,\"timestamp\":\"yesterday\",\"amount\":3.5,\"status\":\"paid\"}", dead[0].Raw);
        Assert.Contains("'yesterday' is not a valid timestamp", dead[0].Error, StringComparison.Ordinal);
        Assert.Contains("\"amount\":0.30000000000000004", dead[1].Raw, StringComparison.Ordinal);
        Assert.Contains("column 'amount': '0.30000000000000004' is not a valid", dead[1].Error, StringComparison.Ordinal);
    }
}
