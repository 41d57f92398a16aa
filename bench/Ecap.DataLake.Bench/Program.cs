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
// The two sides alternate run by run and the medians are compared; wall and process CPU time are printed.
// Usage: dotnet run -c Release --project bench/Ecap.DataLake.Bench -- [rows] [runs]   (runs writes, 5 x runs reads)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- csv [rows] [runs]   (CSV -> table ingestion, see CsvBench.cs)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- postgres [rows] [runs]  (PostgreSQL -> table, see PostgresBench.cs)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- query [rows] [runs]   (SQL: lake views vs DuckDB over the files)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- snapshot-cache [commits] [runs]  (snapshot cache on vs off)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- compaction [files] [rows-per-file] [runs] [overlap]  (see CompactionBench.cs)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- governance [rows] [runs]  (access/audit, encryption, constraints overheads)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- kafka [messages] [runs] [batch size]   (Kafka -> table vs a bare consumer, see KafkaBench.cs)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- s3 [rows] [runs]      (S3 and Azure emulators vs local folder, see S3Bench.cs)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- deletion-vectors [rows] [deleted] [runs]  (see DeletionVectorBench.cs)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- merge [rows] [source rows] [runs]  (MERGE/row changes, see MergeBench.cs)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- lineage [rows] [runs]  (OpenLineage on a write, see LineageBench.cs)
//        dotnet run -c Release --project bench/Ecap.DataLake.Bench -- explorer [tables] [runs]  (web explorer's first paint, see ExplorerBench.cs)
if (args.Length > 0 && args[0] == "explorer")
{
    await ExplorerBench.RunAsync(args.Skip(1).ToArray());
    return;
}
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
if (args.Length > 0 && args[0] == "kafka")
{
    await KafkaBench.RunAsync(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "snapshot-cache")
{
    await SnapshotCacheBench.RunAsync(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "compaction")
{
    await CompactionBench.RunAsync(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "lineage")
{
    await LineageBench.RunAsync(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "governance")
{
    await GovernanceBench.RunAsync(args[1..]);
    return;
}
if (args.Length > 0 && args[0] is "s3" or "remote")
{
    await S3Bench.RunAsync(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "deletion-vectors")
{
    await DeletionVectorBench.RunAsync(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "merge-child")
{
    await MergeBench.RunChildAsync(args[1..]);
    return;
}
if (args.Length > 0 && args[0] == "merge")
{
    await MergeBench.RunAsync(args[1..]);
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
    await RowExport.WriteAsync(source, CanonicalSchemas.Transactions,
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

    // The two sides alternate (ecap, DuckDB, ecap, ...) so load from other jobs on the machine hits both alike.
    // Only ecap's first write and its two warm-up reads run before any DuckDB work, so the peak working set
    // read then is ours alone.
    // Process CPU seconds per run besides wall time: less sensitive than wall time to other jobs' load.
    double CpuSeconds() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
    var lastCpu = 0.0;
    var lakeDir = Path.Combine(work, "lake");
    var tableGlob = Path.Combine(lakeDir, "transactions", "**", "*.parquet");
    var filesWritten = 0;
    double OurWrite(int run)
    {
        if (Directory.Exists(lakeDir)) Directory.Delete(lakeDir, true);
        var lake = BenchLake.Open(lakeDir);
        var sw = Stopwatch.StartNew();
        var cpu0 = CpuSeconds();
        var result = lake.WritePartitionedDataAsync(SourceFiles.ReadAsync(source), "transactions", DataType.Transactions).GetAwaiter().GetResult();
        var seconds = sw.Elapsed.TotalSeconds;
        lastCpu = CpuSeconds() - cpu0;
        filesWritten = result.FilesWritten;
        if (result.RowsWritten != rows) throw new InvalidOperationException($"wrote {result.RowsWritten} rows");
        Console.WriteLine($"ecap write run {run + 1}: {seconds:F2}s ({result.FilesWritten} files)");
        return seconds;
    }
    double DuckWrite(int run)
    {
        var duckDir = Path.Combine(work, $"duck{run}");
        var sw = Stopwatch.StartNew();
        var cpu0 = CpuSeconds();
        Exec($"""
            COPY (SELECT *, year(timestamp AT TIME ZONE 'UTC') AS year, month(timestamp AT TIME ZONE 'UTC') AS month, day(timestamp AT TIME ZONE 'UTC') AS day
                  FROM read_parquet('{source}') ORDER BY transaction_id)
            TO '{duckDir}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (year, month, day))
            """);
        var seconds = sw.Elapsed.TotalSeconds;
        lastCpu = CpuSeconds() - cpu0;
        Console.WriteLine($"duckdb write run {run + 1}: {seconds:F2}s");
        Directory.Delete(duckDir, true);
        return seconds;
    }
    (long Count, decimal Sum, long MaxId, long MaxCustomer) ours = default;
    double OurRead()
    {
        var sw = Stopwatch.StartNew();
        var cpu0 = CpuSeconds();
        var scan = BenchLake.Open(lakeDir).ReadPartitionedDataAsync("transactions", new ReadOptions
        {
            PartitionFilters = [PartitionFilter.Equal("month", 9)],
            Columns = ["transaction_id", "customer_id", "amount"],
        }).GetAwaiter().GetResult();
        decimal sum = 0;
        long count = 0, maxId = long.MinValue, maxCustomer = long.MinValue;
        var batches = scan.ReadBatchesAsync().GetAsyncEnumerator();
        while (batches.MoveNextAsync().AsTask().GetAwaiter().GetResult())
        {
            var batch = batches.Current;
            // All three columns are used, so neither side can skip decoding any of them.
            foreach (var id in ((Int64Array)batch.Column(0)).Values) maxId = Math.Max(maxId, id);
            foreach (var c in ((Int64Array)batch.Column(1)).Values) maxCustomer = Math.Max(maxCustomer, c);
            // Sum the unscaled 128-bit values (amount has no nulls), as an engine would.
            var amounts = (Decimal128Array)batch.Column(2);
            Int128 cents = 0;
            foreach (var v in System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Int128>(amounts.ValueBuffer.Span).Slice(amounts.Offset, amounts.Length)) cents += v;
            sum += (decimal)cents / 100m;
            count += batch.Length;
            batch.Dispose(); // done with it: its native buffers go back to the allocator now
        }
        var seconds = sw.Elapsed.TotalSeconds;
        lastCpu = CpuSeconds() - cpu0;
        ours = (count, sum, maxId, maxCustomer);
        return seconds;
    }
    double DuckRead()
    {
        var sw = Stopwatch.StartNew();
        var cpu0 = CpuSeconds();
        var duckRow = Row($"SELECT count(*), (sum(amount) * 100)::BIGINT, max(transaction_id), max(customer_id) FROM read_parquet('{tableGlob}', hive_partitioning = true) WHERE month = 9");
        var seconds = sw.Elapsed.TotalSeconds;
        lastCpu = CpuSeconds() - cpu0;
        if (duckRow.Count != ours.Count || duckRow.Cents != (long)(ours.Sum * 100) || duckRow.MaxId != ours.MaxId || duckRow.MaxCustomer != ours.MaxCustomer)
            throw new InvalidOperationException($"read mismatch: ecap {ours.Count} rows / {ours.Sum}, duckdb {duckRow.Count} / {duckRow.Cents / 100m}");
        return seconds;
    }

    var ourWrite = new List<double> { OurWrite(0) };
    var ourWriteCpu = new List<double> { lastCpu };
    OurRead();
    OurRead(); // two warm-up reads of ours
    var ourPeak = Process.GetCurrentProcess().PeakWorkingSet64;
    var duckWrite = new List<double> { DuckWrite(0) };
    var duckWriteCpu = new List<double> { lastCpu };
    for (var run = 1; run < runs; run++)
    {
        ourWrite.Add(OurWrite(run));
        ourWriteCpu.Add(lastCpu);
        duckWrite.Add(DuckWrite(run));
        duckWriteCpu.Add(lastCpu);
    }
    // Reads: the table of the last write; DuckDB's two warm-ups, then alternating timed runs, checked equal each time.
    OurRead();
    DuckRead();
    DuckRead();
    var readRuns = 5 * runs;
    List<double> ourRead = [], duckRead = [], ourReadCpu = [], duckReadCpu = [];
    for (var run = 0; run < readRuns; run++)
    {
        ourRead.Add(OurRead());
        ourReadCpu.Add(lastCpu);
        duckRead.Add(DuckRead());
        duckReadCpu.Add(lastCpu);
    }
    Console.WriteLine($"reads ({readRuns} each, ms): ecap {string.Join(" ", ourRead.Select(x => (x * 1000).ToString("F0")))}; duckdb {string.Join(" ", duckRead.Select(x => (x * 1000).ToString("F0")))}");

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
    Console.WriteLine($"cpu seconds per run (medians): write ecap {Median(ourWriteCpu):F2}, duckdb {Median(duckWriteCpu):F2} ({Median(duckWriteCpu) / Median(ourWriteCpu):F2}x); " +
        $"read ecap {Median(ourReadCpu) * 1000:F0} ms, duckdb {Median(duckReadCpu) * 1000:F0} ms ({Median(duckReadCpu) / Median(ourReadCpu):F2}x)");
    Console.WriteLine($"ecap files written: {filesWritten}; peak working set before any DuckDB work (generator + ecap write + 2 reads): {ourPeak / 1e6:F0} MB; at the end: {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB");
    Console.WriteLine($"load average: {File.ReadAllText("/proc/loadavg").Trim()}");
}
finally
{
    Directory.Delete(work, true);
}
