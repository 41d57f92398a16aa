using System.Diagnostics;
using Apache.Arrow;
using DuckDB.NET.Data;
using Ecap.DataLake.Files;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

// Benchmarks of DataLakeStorage against DuckDB in the same process, on the same generated data:
//   (a) write: 5M transactions (90 daily partitions) from one Parquet file into a partitioned table,
//       sorted by transaction_id, vs DuckDB COPY ... PARTITION_BY (year, month, day) with ORDER BY;
//   (b) read: one month of three, three columns, a sum, vs DuckDB read_parquet(hive_partitioning=true)
//       over the same table files.
// Usage: dotnet run -c Release --project bench/Ecap.DataLake.Bench -- [rows] [runs]
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- csv [rows] [runs]   (CSV -> table ingestion, see CsvBench.cs)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- postgres [rows] [runs]  (PostgreSQL -> table, see PostgresBench.cs)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- query [rows] [runs]   (SQL: lake views vs DuckDB over the files)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- s3 [rows] [runs]      (S3 server vs local folder, see S3Bench.cs)
if (args.Length > 0 && args[0] == "csv")
{
    await CsvBench.RunAsync(args.Skip(1).ToArray());
    return;
}
if (args.Length > 0 && args[0] == "postgres")
{
    await PostgresBench.RunAsync(args.Skip(1).ToArray());
    return;
}
if (args.Length > 0 && args[0] == "s3")
{
    await S3Bench.RunAsync(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "query")
{
    await QueryBench.RunAsync(args[1..]);
    return;
}
var rows = args.Length > 0 ? long.Parse(args[0]) : 5_000_000;
var runs = args.Length > 1 ? int.Parse(args[1]) : 3;
var work = Path.Combine(Path.GetTempPath(), "ecap-bench-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(work);
try
{
    var start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
    var source = Path.Combine(work, "transactions.parquet");
    await RowExport.WriteAsync(source, SampleSchemas.Transactions,
        SampleDataGenerator.Generate(DataType.Transactions, rows, seed: 1, batchSize: 1_000_000, start, days: 90).ToAsyncEnumerable());
    Console.WriteLine($"source: {rows:N0} transactions, {new FileInfo(source).Length / 1e6:F1} MB, {Environment.ProcessorCount} cores");

    using var duck = new DuckDBConnection("DataSource=:memory:");
    duck.Open();
    long Exec(string sql)
    {
        using var cmd = duck.CreateCommand();
        cmd.CommandText = sql;
        var v = cmd.ExecuteScalar();
        return v is null or DBNull ? 0 : Convert.ToInt64(v);
    }

    // Ours first (writes, then reads), so the peak working set read in between is ours alone;
    // DuckDB's runs come after, in the same process, on the same source file and table files.
    var ourWrite = new List<double>();
    var lakeDir = Path.Combine(work, "lake");
    var filesWritten = 0;
    for (var run = 0; run < runs; run++)
    {
        if (Directory.Exists(lakeDir)) Directory.Delete(lakeDir, true);
        var lake = new DataLakeStorage(lakeDir);
        var sw = Stopwatch.StartNew();
        var result = await lake.WritePartitionedDataAsync(SourceFiles.ReadAsync(source), "transactions", DataType.Transactions);
        ourWrite.Add(sw.Elapsed.TotalSeconds);
        filesWritten = result.FilesWritten;
        if (result.RowsWritten != rows) throw new InvalidOperationException($"wrote {result.RowsWritten} rows");
        Console.WriteLine($"ecap write run {run + 1}: {ourWrite[^1]:F2}s ({result.FilesWritten} files)");
    }

    var ourRead = new List<double>();
    (long Count, decimal Sum, long MaxId, long MaxCustomer) ours = default;
    for (var run = 0; run < runs + 2; run++)
    {
        var sw = Stopwatch.StartNew();
        var scan = await new DataLakeStorage(lakeDir).ReadPartitionedDataAsync("transactions", new ReadOptions
        {
            PartitionFilters = [PartitionFilter.Equal("month", 9)],
            Columns = ["transaction_id", "customer_id", "amount"],
        });
        decimal sum = 0;
        long count = 0, maxId = long.MinValue, maxCustomer = long.MinValue;
        await foreach (var batch in scan.ReadBatchesAsync())
        {
            // All three columns are used, so neither side can skip decoding any of them.
            foreach (var id in ((Int64Array)batch.Column(0)).Values) maxId = Math.Max(maxId, id);
            foreach (var c in ((Int64Array)batch.Column(1)).Values) maxCustomer = Math.Max(maxCustomer, c);
            // Sum the unscaled 128-bit values (amount has no nulls), as an engine would.
            var amounts = (Decimal128Array)batch.Column(2);
            Int128 cents = 0;
            foreach (var v in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Int128>(amounts.ValueBuffer.Span).Slice(amounts.Offset, amounts.Length)) cents += v;
            sum += (decimal)cents / 100m;
            count += batch.Length;
        }
        if (run >= 2) ourRead.Add(sw.Elapsed.TotalSeconds); // two warm-up runs
        ours = (count, sum, maxId, maxCustomer);
    }
    var ourPeak = Process.GetCurrentProcess().PeakWorkingSet64;

    var duckWrite = new List<double>();
    for (var run = 0; run < runs; run++)
    {
        var duckDir = Path.Combine(work, $"duck{run}");
        var sw = Stopwatch.StartNew();
        Exec($"""
            COPY (SELECT *, year(timestamp AT TIME ZONE 'UTC') AS year, month(timestamp AT TIME ZONE 'UTC') AS month, day(timestamp AT TIME ZONE 'UTC') AS day
                  FROM read_parquet('{source}') ORDER BY transaction_id)
            TO '{duckDir}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (year, month, day))
            """);
        duckWrite.Add(sw.Elapsed.TotalSeconds);
        Console.WriteLine($"duckdb write run {run + 1}: {duckWrite[^1]:F2}s");
        Directory.Delete(duckDir, true);
    }

    var duckRead = new List<double>();
    var tableGlob = Path.Combine(lakeDir, "transactions", "**", "*.parquet");
    for (var run = 0; run < runs + 2; run++)
    {
        var sw = Stopwatch.StartNew();
        var duckRow = Row($"SELECT count(*), (sum(amount) * 100)::BIGINT, max(transaction_id), max(customer_id) FROM read_parquet('{tableGlob}', hive_partitioning = true) WHERE month = 9");
        if (run >= 2) duckRead.Add(sw.Elapsed.TotalSeconds);
        if (duckRow.Count != ours.Count || duckRow.Cents != (long)(ours.Sum * 100) || duckRow.MaxId != ours.MaxId || duckRow.MaxCustomer != ours.MaxCustomer)
            throw new InvalidOperationException($"read mismatch: ecap {ours.Count} rows / {ours.Sum}, duckdb {duckRow.Count} / {duckRow.Cents / 100m}");
    }

    (long Count, long Cents, long MaxId, long MaxCustomer) Row(string sql)
    {
        using var cmd = duck.CreateCommand();
        cmd.CommandText = sql;
        using var reader = cmd.ExecuteReader();
        reader.Read();
        return (Convert.ToInt64(reader.GetValue(0)), Convert.ToInt64(reader.GetValue(1)), Convert.ToInt64(reader.GetValue(2)), Convert.ToInt64(reader.GetValue(3)));
    }

    double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
    var w = Median(duckWrite) / Median(ourWrite);
    var r = Median(duckRead) / Median(ourRead);
    Console.WriteLine();
    Console.WriteLine($"write: ecap {rows / Median(ourWrite) / 1e6:F2} M rows/s, duckdb {rows / Median(duckWrite) / 1e6:F2} M rows/s  -> ecap/duckdb speed {w:F2}x (goal >= 1.5x)");
    Console.WriteLine($"read (1 month of 3: count, sum(amount), max of the other 2 columns): ecap {Median(ourRead) * 1000:F0} ms, duckdb {Median(duckRead) * 1000:F0} ms -> ecap/duckdb speed {r:F2}x (goal >= 1.0x)");
    Console.WriteLine($"ecap files written: {filesWritten}; peak working set after ecap's runs (generator + writes + reads): {ourPeak / 1e6:F0} MB; after DuckDB's: {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB");
}
finally
{
    Directory.Delete(work, true);
}
