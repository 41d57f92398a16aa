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

    var ourWrite = new List<double>();
    var duckWrite = new List<double>();
    string lakeDir = "";
    for (var run = 0; run < runs; run++)
    {
        lakeDir = Path.Combine(work, $"lake{run}");
        var lake = new DataLakeStorage(lakeDir);
        var sw = Stopwatch.StartNew();
        var result = await lake.WritePartitionedDataAsync(SourceFiles.ReadAsync(source), "transactions", DataType.Transactions);
        ourWrite.Add(sw.Elapsed.TotalSeconds);
        if (result.RowsWritten != rows) throw new InvalidOperationException($"wrote {result.RowsWritten} rows");

        var duckDir = Path.Combine(work, $"duck{run}");
        sw.Restart();
        Exec($"""
            COPY (SELECT *, year(timestamp AT TIME ZONE 'UTC') AS year, month(timestamp AT TIME ZONE 'UTC') AS month, day(timestamp AT TIME ZONE 'UTC') AS day
                  FROM read_parquet('{source}') ORDER BY transaction_id)
            TO '{duckDir}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (year, month, day))
            """);
        duckWrite.Add(sw.Elapsed.TotalSeconds);
        Console.WriteLine($"write run {run + 1}: ecap {ourWrite[^1]:F2}s ({result.FilesWritten} files), duckdb {duckWrite[^1]:F2}s");
        if (run < runs - 1) Directory.Delete(duckDir, true);
    }

    var ourRead = new List<double>();
    var duckRead = new List<double>();
    var tableGlob = Path.Combine(lakeDir, "transactions", "**", "*.parquet");
    for (var run = 0; run < runs + 2; run++)
    {
        var lake = new DataLakeStorage(lakeDir);
        var sw = Stopwatch.StartNew();
        var scan = await lake.ReadPartitionedDataAsync("transactions", new ReadOptions
        {
            PartitionFilters = [PartitionFilter.Equal("month", 9)],
            Columns = ["transaction_id", "customer_id", "amount"],
        });
        decimal sum = 0;
        long count = 0;
        await foreach (var batch in scan.ReadBatchesAsync())
        {
            var amounts = (Decimal128Array)batch.Column(2);
            for (var i = 0; i < amounts.Length; i++) sum += amounts.GetValue(i) ?? 0;
            count += batch.Length;
        }
        var ours = sw.Elapsed.TotalSeconds;
        sw.Restart();
        var duckCount = Exec($"SELECT count(*) FROM (SELECT transaction_id, customer_id, amount FROM read_parquet('{tableGlob}', hive_partitioning = true) WHERE month = 9)");
        var duckSum = Exec($"SELECT sum(amount)::BIGINT FROM read_parquet('{tableGlob}', hive_partitioning = true) WHERE month = 9");
        var theirs = sw.Elapsed.TotalSeconds;
        if (duckCount != count || duckSum != (long)decimal.Truncate(sum)) throw new InvalidOperationException($"read mismatch: {count}/{sum} vs {duckCount}/{duckSum}");
        if (run >= 2) { ourRead.Add(ours); duckRead.Add(theirs); } // two warm-up runs
    }

    double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
    var w = Median(duckWrite) / Median(ourWrite);
    var r = Median(duckRead) / Median(ourRead);
    Console.WriteLine();
    Console.WriteLine($"write: ecap {rows / Median(ourWrite) / 1e6:F2} M rows/s, duckdb {rows / Median(duckWrite) / 1e6:F2} M rows/s  -> ecap/duckdb speed {w:F2}x (goal >= 1.5x)");
    Console.WriteLine($"read (1 month of 3, 3 columns, sum): ecap {Median(ourRead) * 1000:F0} ms, duckdb {Median(duckRead) * 1000:F0} ms -> ecap/duckdb speed {r:F2}x (goal >= 1.0x)");
    Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB");
}
finally
{
    Directory.Delete(work, true);
}
