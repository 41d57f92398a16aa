using Ecap.DataLake.Storage;
using System.Globalization;
using System.Text;
using Ecap.DataLake.Files;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Tests.Ingestion;

public sealed class FileIngestionTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly DuckDbReader _duck = new();
    private readonly DataLakeStorage _lake;
    private readonly DataLakeIngester _ingester;

    public FileIngestionTests()
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

    /// <summary>CSV lines of transactions with ids from..from+count-1, two days apart so rows land in several partitions.</summary>
    internal static string CsvRows(long from, int count, bool header = true)
    {
        var sb = new StringBuilder();
        if (header) sb.Append("transaction_id,timestamp,amount,status\n");
        for (var i = from; i < from + count; i++)
            sb.Append(CultureInfo.InvariantCulture, $"{i},2026-08-{1 + i % 3:00}T10:{i % 60:00}:00Z,{i * 1.5},\"paid, ok\"\n");
        return sb.ToString();
    }

    private string WriteInput(string name, string text)
    {
        var path = Path.Combine(_dir.Sub("in"), name);
        File.WriteAllText(path, text);
        return path;
    }

    private async Task<string> FilesOf(string table)
    {
        var snapshot = await _lake.OpenTable(table).GetSnapshotAsync();
        var files = snapshot.Files.Select(f => Path.Combine(_dir.Sub("lake"), table, f.ObjectKey)).ToList();
        return files.Count == 0 ? "" : DuckDbReader.FileList(files);
    }

    private async Task<long> Count(string table, string what = "count(*)")
    {
        var files = await FilesOf(table);
        return files.Length == 0 ? 0 : Convert.ToInt64(_duck.Scalar($"SELECT {what} FROM read_parquet({files})"));
    }

    private Task<IngestionReport> Ingest(string path, IngestionOptions? options = null, SourceFileOptions? fileOptions = null) =>
        _ingester.IngestAsync(new FileIngestionSource(path, fileOptions), "tx", DataType.Transactions, options);

    [Fact]
    public async Task Csv_folder_is_ingested_once_and_a_rerun_reads_only_new_files()
    {
        for (var f = 0; f < 3; f++) WriteInput($"part-{f}.csv", CsvRows(f * 100, 100));
        var first = await Ingest(_dir.Sub("in"));
        Assert.Equal(300, first.RecordsRead);
        Assert.Equal(300, first.RecordsWritten);
        Assert.Equal(0, first.RecordsDeadLettered);
        Assert.Equal(300L, await Count("tx"));
        Assert.Equal(300L, await Count("tx", "count(DISTINCT transaction_id)"));
        // The quoted field with the delimiter inside kept its comma.
        Assert.Equal(300L, await Count("tx", "count(*) FILTER (WHERE status = 'paid, ok')"));

        var again = await Ingest(_dir.Sub("in"));
        Assert.Equal(0, again.RecordsRead);
        Assert.Equal(3, again.SourceCounters["files_skipped"]);
        Assert.Equal(300L, await Count("tx"));

        WriteInput("part-3.csv", CsvRows(300, 50));
        var more = await Ingest(_dir.Sub("in"));
        Assert.Equal(50, more.RecordsRead);
        Assert.Equal(350L, await Count("tx"));
        Assert.Equal(350L, await Count("tx", "count(DISTINCT transaction_id)"));

        // The position is in the table's own log: a txn action for the source's appId.
        var snapshot = await _lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal(more.TxnVersion, snapshot.GetTxnVersion(new FileIngestionSource(_dir.Sub("in")).AppId));
    }

    [Fact]
    public async Task Csv_with_delimiter_no_header_null_text_and_explicit_schema()
    {
        WriteInput("a.csv", "1;2026-08-01T00:00:00Z;NULL;paid\n2;2026-08-02T00:00:00Z;3.5;NULL\n");
        var schema = SchemaFile.Parse("transaction_id:long\ntimestamp:timestamp\namount:double\nstatus:string");
        var report = await Ingest(_dir.Sub("in/a.csv"), fileOptions: new SourceFileOptions { Delimiter = ';', HasHeader = false, NullText = "NULL", Schema = schema });
        Assert.Equal(2, report.RecordsWritten);
        Assert.Equal(1L, await Count("tx", "count(*) FILTER (WHERE amount IS NULL)"));
        Assert.Equal(1L, await Count("tx", "count(*) FILTER (WHERE status IS NULL)"));
        Assert.Equal(3.5, Convert.ToDouble(_duck.Scalar($"SELECT max(amount) FROM read_parquet({await FilesOf("tx")})")));
    }

    [Fact]
    public async Task Json_lines_and_parquet_files_are_ingested()
    {
        var json = new StringBuilder();
        for (var i = 0; i < 40; i++) json.Append(CultureInfo.InvariantCulture, $"{{\"transaction_id\": {i}, \"timestamp\": \"2026-08-0{1 + i % 3}T00:00:00Z\", \"amount\": {i}.25, \"status\": \"paid\"}}\n");
        WriteInput("a.jsonl", json.ToString());
        // A Parquet file with the next 60 ids, made from a CSV by the export path.
        var csv = Path.Combine(_dir.Path, "p.csv");
        File.WriteAllText(csv, CsvRows(40, 60));
        var first = SourceFiles.ReadAsync(csv);
        var schema = (await first.FirstAsync()).Schema;
        await RowExport.WriteAsync(Path.Combine(_dir.Sub("in"), "b.parquet"), schema, SourceFiles.ReadAsync(csv));

        var report = await Ingest(_dir.Sub("in") + "/*");
        Assert.Equal(100, report.RecordsWritten);
        Assert.Equal(2, report.SourceCounters["files_read"]);
        Assert.Equal(100L, await Count("tx", "count(DISTINCT transaction_id)"));
        Assert.Equal(99L, await Count("tx", "max(transaction_id)"));
    }

    private List<object?[]> DeadLetters(string files) =>
        _duck.Rows($"SELECT source, position, raw, error FROM read_parquet({files}) ORDER BY source, position");

    [Fact]
    public async Task Bad_csv_and_json_records_go_to_the_dead_letter_table_and_good_ones_are_written()
    {
        WriteInput("a.csv", CsvRows(0, 5) + "5,2026-08-01T00:00:00Z,not-a-number,paid\n6,2026-08-01T00:00:00Z\n" + CsvRows(7, 3, header: false) + "10,2026-08-01T00:00:00Z,1,\"never closed\n");
        WriteInput("b.jsonl",
            "{\"transaction_id\": 20, \"timestamp\": \"2026-08-01T00:00:00Z\", \"amount\": 1.5, \"status\": \"paid\"}\n" +
            "[1, 2, 3]\n" +
            "{\"transaction_id\": \"twenty-two\", \"timestamp\": \"2026-08-01T00:00:00Z\", \"amount\": 1.5, \"status\": \"paid\"}\n" +
            "{not json\n");
        // Types given: inferred from this small sample, "not-a-number" would make amount a string column.
        var typed = new SourceFileOptions { Schema = SchemaFile.Parse("transaction_id:long, timestamp:timestamp, amount:double, status:string") };
        var report = await Ingest(_dir.Sub("in"), fileOptions: typed);
        Assert.Equal(15, report.RecordsRead);
        Assert.Equal(9, report.RecordsWritten);
        Assert.Equal(6, report.RecordsDeadLettered);
        Assert.Equal(9L, await Count("tx"));

        var dead = DeadLetters(await FilesOf(TableNames.DeadLetterTable("tx")));
        Assert.Equal(6, dead.Count);
        Assert.All(dead, d => Assert.False(string.IsNullOrEmpty((string?)d[3])));
        var byRaw = dead.ToDictionary(d => (string)d[2]!, d => ((string)d[0]!, (string)d[1]!, (string)d[3]!));
        Assert.Contains("not-a-number", byRaw["5,2026-08-01T00:00:00Z,not-a-number,paid"].Item3, StringComparison.Ordinal);
        Assert.Equal(("a.csv", "record 5 (line 7)"), (byRaw["5,2026-08-01T00:00:00Z,not-a-number,paid"].Item1, byRaw["5,2026-08-01T00:00:00Z,not-a-number,paid"].Item2));
        Assert.Contains("2 fields where the header has 4", byRaw["6,2026-08-01T00:00:00Z"].Item3, StringComparison.Ordinal);
        Assert.Contains("not closed", dead.Single(d => ((string)d[2]!).Contains("never closed", StringComparison.Ordinal))[3] as string, StringComparison.Ordinal);
        Assert.Contains("JSON object", byRaw["[1, 2, 3]"].Item3, StringComparison.Ordinal);
        Assert.Equal("b.jsonl", byRaw["[1, 2, 3]"].Item1);
        Assert.Contains("not valid JSON", byRaw["{not json"].Item3, StringComparison.Ordinal);
        Assert.Contains("twenty-two", dead.Single(d => ((string)d[2]!).Contains("twenty-two", StringComparison.Ordinal))[3] as string, StringComparison.Ordinal);

        // A rerun neither re-ingests the rows nor dead-letters the bad records again.
        var again = await Ingest(_dir.Sub("in"), fileOptions: typed);
        Assert.Equal(0, again.RecordsRead);
        Assert.Equal(6L, await Count(TableNames.DeadLetterTable("tx")));
    }

    [Fact]
    public async Task A_truncated_parquet_file_is_dead_lettered_and_the_other_files_are_written()
    {
        var csv = Path.Combine(_dir.Path, "p.csv");
        File.WriteAllText(csv, CsvRows(0, 500));
        var schema = (await SourceFiles.ReadAsync(csv).FirstAsync()).Schema;
        var parquet = Path.Combine(_dir.Sub("in"), "broken.parquet");
        await RowExport.WriteAsync(parquet, schema, SourceFiles.ReadAsync(csv));
        var bytes = await File.ReadAllBytesAsync(parquet);
        await File.WriteAllBytesAsync(parquet, bytes[..(bytes.Length / 2)]);
        WriteInput("good.csv", CsvRows(1000, 10));

        var report = await Ingest(_dir.Sub("in"));
        Assert.Equal(10, report.RecordsWritten);
        Assert.Equal(1, report.RecordsDeadLettered);
        var dead = DeadLetters(await FilesOf(TableNames.DeadLetterTable("tx")));
        var d = Assert.Single(dead);
        Assert.Equal("broken.parquet", d[0]);
        Assert.Equal("record 0", d[1]);
        Assert.Contains("unreadable Parquet", (string)d[2]!, StringComparison.Ordinal);
        Assert.Contains("unreadable Parquet", (string)d[3]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_the_bad_ratio_threshold_the_run_fails_without_committing_that_batch()
    {
        WriteInput("a.csv", CsvRows(0, 50));
        WriteInput("b.csv", "transaction_id,timestamp,amount,status\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"{i},bad-time,x,paid\n")));
        var options = new IngestionOptions { MaxBadRatio = 0.1, MaxRecordsPerCommit = 50 };
        var e = await Assert.ThrowsAsync<IngestionThresholdExceededException>(() => Ingest(_dir.Sub("in"), options));
        Assert.Contains("over the threshold", e.Message, StringComparison.Ordinal);
        // a.csv was committed (no bad records); b.csv's commit was not: neither its rows nor its dead letters.
        Assert.Equal(50, e.Report.RecordsWritten);
        Assert.Equal(50L, await Count("tx"));
        Assert.False(await _lake.OpenTable(TableNames.DeadLetterTable("tx")).ExistsAsync());
        // Under a looser threshold the rerun resumes at b.csv.
        var again = await Ingest(_dir.Sub("in"), options with { MaxBadRatio = 1 });
        Assert.Equal(50, again.RecordsRead);
        Assert.Equal(50, again.RecordsDeadLettered);
        Assert.Equal(50L, await Count("tx"));
    }

    [Fact]
    public async Task A_run_that_crashes_mid_file_resumes_at_the_next_record_without_duplicates()
    {
        WriteInput("a.csv", CsvRows(0, 1000));
        WriteInput("b.csv", CsvRows(1000, 1000));
        var options = new IngestionOptions { MaxRecordsPerCommit = 300 };
        var fileOptions = new SourceFileOptions { BatchRows = 100 };
        // The source fails after 7 batches: commits of 300 records made 2 commits (600 records, inside a.csv).
        var crashing = new FailingSource(new FileIngestionSource(_dir.Sub("in"), fileOptions), failAfter: 7);
        await Assert.ThrowsAsync<IOException>(() => _ingester.IngestAsync(crashing, "tx", DataType.Transactions, options with { MaxRetries = 0 }));
        Assert.Equal(600L, await Count("tx"));

        var report = await _ingester.IngestAsync(new FileIngestionSource(_dir.Sub("in"), fileOptions), "tx", DataType.Transactions, options);
        Assert.Equal(1400, report.RecordsRead);
        Assert.Equal(2000L, await Count("tx"));
        Assert.Equal(2000L, await Count("tx", "count(DISTINCT transaction_id)"));
    }

    [Fact]
    public async Task A_file_briefly_locked_is_retried_and_the_retry_is_reported()
    {
        var path = WriteInput("a.csv", CsvRows(0, 10));
        var locked = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        var release = Task.Run(async () => { await Task.Delay(300); await locked.DisposeAsync(); });
        var report = await Ingest(path, new IngestionOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(100), MaxRetries = 8 });
        await release;
        Assert.True(report.Retries >= 1, $"retries: {report.Retries}");
        Assert.Equal(10L, await Count("tx"));
    }

    [Fact]
    public void Schema_files_accept_spark_json_and_name_type_lists()
    {
        var fromList = SchemaFile.Parse("id:bigint, price:decimal(10,2)\nwhen:timestamp");
        Assert.Equal(["id", "price", "when"], fromList.FieldsList.Select(f => f.Name));
        Assert.IsType<Apache.Arrow.Types.Decimal128Type>(fromList.GetFieldByName("price").DataType);
        var fromJson = SchemaFile.Parse("{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}");
        Assert.IsType<Apache.Arrow.Types.Int64Type>(fromJson.GetFieldByName("id").DataType);
        Assert.Throws<InvalidInputException>(() => SchemaFile.Parse("id:whatever"));
    }

    [Fact]
    public void Globs_match_files_in_folders()
    {
        Directory.CreateDirectory(_dir.Sub("in/2026/08"));
        File.WriteAllText(_dir.Sub("in/2026/08/a.csv"), "x");
        File.WriteAllText(_dir.Sub("in/b.csv"), "x");
        File.WriteAllText(_dir.Sub("in/c.txt"), "x");
        Assert.Equal(["2026/08/a.csv", "b.csv"], Rel(_dir.Sub("in") + "/**/*.csv"));
        Assert.Equal(["b.csv"], Rel(_dir.Sub("in") + "/*.csv"));
        Assert.Equal(["b.csv"], Rel(_dir.Sub("in")));

        string[] Rel(string glob)
        {
            var (root, files) = FileGlob.Expand(glob);
            return files.Select(f => Path.GetRelativePath(_dir.Sub("in"), f).Replace('\\', '/')).ToArray();
        }
    }

    /// <summary>Passes the inner source's batches through, then throws as a crash would.</summary>
    private sealed class FailingSource(IIngestionSource inner, int failAfter) : IIngestionSource
    {
        public string AppId => inner.AppId;
        public string Name => inner.Name;
        public IReadOnlyDictionary<string, long> Counters => inner.Counters;
        public IReadOnlyDictionary<string, string> CommitParameters(IReadOnlyList<SourceBatch> unit) => inner.CommitParameters(unit);

        public async IAsyncEnumerable<SourceBatch> ReadAsync(IngestionContext context, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
        {
            var n = 0;
            await foreach (var b in inner.ReadAsync(context, ct))
            {
                if (n++ == failAfter) throw new IOException("simulated crash");
                yield return b;
            }
        }
    }
}
