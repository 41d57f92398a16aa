using System.Diagnostics;
using DuckDB.NET.Data;
using Ecap.DataLake.Files;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

/// <summary>
/// CSV -> table: generated transactions exported as one CSV file, then ingested with DataLakeIngester
/// (lenient parsing, dead-letter path, commits of 1M records with their position) into a table partitioned
/// by year/month/day; compared with DuckDB read_csv -> partitioned Parquet COPY of the same file.
/// </summary>
internal static class CsvBench
{
    public static async Task RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0]) : 2_000_000;
        var runs = args.Length > 1 ? int.Parse(args[1]) : 3;
        var work = Path.Combine(Path.GetTempPath(), "ecap-csvbench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            var start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
            var csv = Path.Combine(work, "transactions.csv");
            await RowExport.WriteAsync(csv, CanonicalSchemas.Transactions,
                SampleDataGenerator.Generate(DataType.Transactions, rows, seed: 1, batchSize: 500_000, start, days: 90).ToAsyncEnumerable());
            Console.WriteLine($"source: {rows:N0} transactions as CSV, {new FileInfo(csv).Length / 1e6:F1} MB, {Environment.ProcessorCount} cores");

            var ours = new List<double>();
            for (var run = 0; run < runs; run++)
            {
                var lakeDir = Path.Combine(work, "lake");
                if (Directory.Exists(lakeDir)) Directory.Delete(lakeDir, true);
                var ingester = new DataLakeIngester(BenchLake.Open(lakeDir));
                var sw = Stopwatch.StartNew();
                // The table's types, as a pipeline into an existing table would convert to.
                var report = await ingester.IngestAsync(new FileIngestionSource(csv, new SourceFileOptions { Schema = CanonicalSchemas.Transactions }),
                    "transactions", DataType.Transactions);
                ours.Add(sw.Elapsed.TotalSeconds);
                if (report.RecordsWritten != rows || report.RecordsDeadLettered != 0)
                    throw new InvalidOperationException($"wrote {report.RecordsWritten} rows, {report.RecordsDeadLettered} dead letters");
                Console.WriteLine($"ecap ingest run {run + 1}: {ours[^1]:F2}s, {report.Batches} commits, {rows / ours[^1] / 1e6:F2} M rows/s");
            }

            using var duck = new DuckDBConnection("DataSource=:memory:");
            duck.Open();
            var theirs = new List<double>();
            for (var run = 0; run < runs; run++)
            {
                var outDir = Path.Combine(work, "duck");
                if (Directory.Exists(outDir)) Directory.Delete(outDir, true);
                using var cmd = duck.CreateCommand();
                cmd.CommandText = $"COPY (SELECT *, year(timestamp) AS year, month(timestamp) AS month, day(timestamp) AS day FROM read_csv('{csv}') ORDER BY transaction_id) " +
                                  $"TO '{outDir}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (year, month, day))";
                var sw = Stopwatch.StartNew();
                cmd.ExecuteNonQuery();
                theirs.Add(sw.Elapsed.TotalSeconds);
                Console.WriteLine($"duckdb csv copy run {run + 1}: {theirs[^1]:F2}s, {rows / theirs[^1] / 1e6:F2} M rows/s");
            }
            double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
            Console.WriteLine($"median: ecap ingest {rows / Median(ours) / 1e6:F2} M rows/s ({Median(ours):F2}s), " +
                              $"duckdb {rows / Median(theirs) / 1e6:F2} M rows/s ({Median(theirs):F2}s)");
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }
}
