using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Ecap.DataLake.Files;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Storage.S3;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

/// <summary>
/// S3 vs local folder, same process, runs alternated: a throwaway Swift/s3api server (scripts/s3-test-server.sh) on
/// 127.0.0.1. Times (a) writing N transactions from one Parquet file into a partitioned table, (b) a full scan of
/// that table (every column), (c) one 64 MiB object written through OpenWriteAsync (multipart on S3) and read back.
/// Commits use the single-writer declaration (one commit per write; the coordinator is not what is measured).
/// </summary>
internal static class S3Bench
{
    public static async Task RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0]) : 1_000_000;
        var runs = args.Length > 1 ? int.Parse(args[1]) : 3;
        var script = Path.Combine(PostgresBench.FindRoot(), "scripts", "s3-test-server.sh");
        var serverDir = Path.Combine("/tmp", "ecap-s3bench-" + Guid.NewGuid().ToString("N")[..8]);
        var work = Path.Combine(Path.GetTempPath(), "ecap-s3bench-work-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        var endpoint = PostgresBench.Run(script, "start", serverDir, "58280").Trim();
        try
        {
            var options = new S3StoreOptions
            {
                Endpoint = endpoint, Region = "us-east-1", PathStyle = true, Compat = true,
                Credentials = new BasicAWSCredentials("test:tester", "testing"),
                CommitCoordinatorSetting = S3StoreOptions.SingleWriterSetting,
            };
            using (var admin = new AmazonS3Client(options.Credentials, new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" }))
                await admin.PutBucketAsync("bench");

            var source = Path.Combine(work, "transactions.parquet");
            await RowExport.WriteAsync(source, CanonicalSchemas.Transactions,
                SampleDataGenerator.Generate(DataType.Transactions, rows, seed: 1, batchSize: 500_000, new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero), days: 90).ToAsyncEnumerable());
            Console.WriteLine($"source: {rows:N0} transactions, {new FileInfo(source).Length / 1e6:F1} MB, {Environment.ProcessorCount} cores, {endpoint}");

            var times = new Dictionary<string, List<double>>();
            void Add(string key, double seconds) => (times.TryGetValue(key, out var l) ? l : times[key] = new List<double>()).Add(seconds);
            long tableBytes = 0;
            var blob = new byte[64 << 20];
            new Random(3).NextBytes(blob);

            for (var run = 0; run < runs; run++)
            {
                foreach (var kind in run % 2 == 0 ? new[] { "local", "s3" } : new[] { "s3", "local" })
                {
                    IObjectStore lakeStore = kind == "local"
                        ? new LocalObjectStore(Path.Combine(work, $"lake-{run}"))
                        : S3ObjectStore.Open($"s3://bench/lake-{run}", options);
                    var lake = BenchLake.Open(lakeStore);

                    var sw = Stopwatch.StartNew();
                    var result = await lake.WritePartitionedDataAsync(SourceFiles.ReadAsync(source), "transactions", DataType.Transactions);
                    Add(kind + " write", sw.Elapsed.TotalSeconds);
                    if (result.RowsWritten != rows) throw new InvalidOperationException($"{kind}: wrote {result.RowsWritten} rows");
                    tableBytes = result.BytesWritten;

                    sw.Restart();
                    long read = 0;
                    var scan = await BenchLake.Open(lakeStore).ReadPartitionedDataAsync("transactions", new ReadOptions());
                    await foreach (var batch in scan.ReadBatchesAsync()) using (batch) read += batch.Length;
                    Add(kind + " read", sw.Elapsed.TotalSeconds);
                    if (read != rows) throw new InvalidOperationException($"{kind}: read {read} rows");

                    sw.Restart();
                    await using (var w = await lakeStore.OpenWriteAsync($"blob/{run}.bin"))
                        for (var off = 0; off < blob.Length; off += 1 << 20) await w.WriteAsync(blob.AsMemory(off, 1 << 20));
                    Add(kind + " object put", sw.Elapsed.TotalSeconds);
                    sw.Restart();
                    await using (var r = await lakeStore.OpenReadAsync($"blob/{run}.bin"))
                    {
                        var buffer = new byte[1 << 20];
                        long total = 0;
                        int n;
                        while ((n = await r.ReadAsync(buffer)) > 0) total += n;
                        if (total != blob.Length) throw new InvalidOperationException($"{kind}: read {total} bytes of the object");
                    }
                    Add(kind + " object get", sw.Elapsed.TotalSeconds);
                    Console.WriteLine($"run {run + 1} {kind}: write {times[kind + " write"][^1]:F2}s ({result.FilesWritten} files), read {times[kind + " read"][^1]:F2}s, " +
                                      $"64 MiB put {times[kind + " object put"][^1]:F2}s, get {times[kind + " object get"][^1]:F2}s");
                }
            }

            static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
            Console.WriteLine();
            Console.WriteLine($"table: {tableBytes / 1e6:F1} MB of Parquet; medians of {runs} runs; load: {File.ReadAllText("/proc/loadavg").Trim()}");
            Console.WriteLine("| | local folder | S3 (Swift) | S3 / local |");
            Console.WriteLine("|---|---|---|---|");
            foreach (var op in new[] { "write", "read" })
            {
                double l = Median(times["local " + op]), s = Median(times["s3 " + op]);
                Console.WriteLine($"| table {op}, rows/s | {rows / l / 1e6:F2} M ({l:F2} s, {tableBytes / l / 1e6:F0} MB/s) | {rows / s / 1e6:F2} M ({s:F2} s, {tableBytes / s / 1e6:F0} MB/s) | {l / s:F2}x |");
            }
            foreach (var op in new[] { "object put", "object get" })
            {
                double l = Median(times["local " + op]), s = Median(times["s3 " + op]);
                Console.WriteLine($"| 64 MiB {op}, MB/s | {blob.Length / l / 1e6:F0} ({l:F2} s) | {blob.Length / s / 1e6:F0} ({s:F2} s) | {l / s:F2}x |");
            }
        }
        finally
        {
            PostgresBench.Run(script, "stop", serverDir);
            Directory.Delete(work, true);
        }
    }
}
