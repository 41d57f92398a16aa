using System.Diagnostics;
using Amazon.Runtime;
using Amazon.S3;
using Ecap.DataLake;
using Ecap.DataLake.Azure;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Files;
using Ecap.DataLake.Query;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Storage.S3;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

/// <summary>
/// Remote stores vs local folder, same process, runs rotated: a throwaway Swift/s3api server (scripts/s3-test-server.sh)
/// and a throwaway Azurite (scripts/azure-test-server.sh) on 127.0.0.1. Times (a) writing N transactions from one Parquet
/// file into a partitioned table, (b) a full scan of that table (every column), (c) a pruned read (one month of three,
/// by partition), (d) SQL over the table (one month's daily sums) through LakeQuery, the first query of a new instance
/// (remote: includes fetching the data files) and the same query again on it, (e) one 64 MiB object written through
/// OpenWriteAsync (multipart on S3, staged blocks on Azure) and read back. S3 commits use the single-writer declaration
/// (one commit per write; the coordinator is not what is measured); Azure commits are conditional puts.
/// </summary>
internal static class S3Bench
{
    private static async Task<string> SqlRowsAsync(LakeQuery q, string sql)
    {
        await using var result = await q.QueryAsync(sql);
        var sb = new System.Text.StringBuilder();
        await foreach (var row in result.ReadRowsAsync()) sb.AppendLine(string.Join("|", row));
        return sb.ToString();
    }

    public static async Task RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0]) : 1_000_000;
        var runs = args.Length > 1 ? int.Parse(args[1]) : 3;
        var script = Path.Combine(PostgresBench.FindRoot(), "scripts", "s3-test-server.sh");
        var serverDir = Path.Combine("/tmp", "ecap-s3bench-" + Guid.NewGuid().ToString("N")[..8]);
        var work = Path.Combine(Path.GetTempPath(), "ecap-s3bench-work-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        var endpoint = PostgresBench.Run(script, "start", serverDir, "58280").Trim();
        var azureScript = Path.Combine(PostgresBench.FindRoot(), "scripts", "azure-test-server.sh");
        var azureDir = Path.Combine("/tmp", "ecap-azbench-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var azure = new AzureStoreOptions { ConnectionString = PostgresBench.Run(azureScript, "start", azureDir, "58290").Trim() };
            await new global::Azure.Storage.Blobs.BlobContainerClient(azure.ConnectionString, "bench").CreateIfNotExistsAsync();
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
            var sqlAnswers = new Dictionary<string, string>();
            var blob = new byte[64 << 20];
            new Random(3).NextBytes(blob);

            for (var run = 0; run < runs; run++)
            {
                string[] kinds = ["local", "s3", "azure"];
                foreach (var kind in kinds.Skip(run % 3).Concat(kinds.Take(run % 3)))
                {
                    IObjectStore lakeStore = kind switch
                    {
                        "local" => new LocalObjectStore(Path.Combine(work, $"lake-{run}")),
                        "s3" => S3ObjectStore.Open($"s3://bench/lake-{run}", options),
                        _ => AzureBlobObjectStore.Open($"az://bench/lake-{run}", azure),
                    };
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
                    long pruned = 0;
                    var month = await BenchLake.Open(lakeStore).ReadPartitionedDataAsync("transactions", new ReadOptions { Predicate = Predicate.Parse("month = 9") });
                    await foreach (var batch in month.ReadBatchesAsync()) using (batch) pruned += batch.Length;
                    Add(kind + " pruned read", sw.Elapsed.TotalSeconds);
                    if (pruned == 0 || pruned >= rows) throw new InvalidOperationException($"{kind}: pruned read returned {pruned} rows");

                    const string sql = "SELECT day, count(*) AS n, sum(amount) AS total FROM transactions WHERE month = 9 GROUP BY day ORDER BY day";
                    sw.Restart();
                    using (var q = new LakeQuery(BenchLake.Open(lakeStore)) { CollectStats = false })
                    {
                        var answer = await SqlRowsAsync(q, sql);
                        Add(kind + " sql first", sw.Elapsed.TotalSeconds);
                        sw.Restart();
                        var again = await SqlRowsAsync(q, sql);
                        Add(kind + " sql again", sw.Elapsed.TotalSeconds);
                        sqlAnswers[kind] = answer;
                        if (answer != again || answer.Length == 0) throw new InvalidOperationException($"{kind}: SQL answers differ");
                    }
                    // The same without access control and audit: no audit record is committed per query (a remote commit).
                    sw.Restart();
                    using (var q = new LakeQuery(new DataLakeBuilder(lakeStore).KeepCatalogCurrent(false).Unguarded().Build().Storage) { CollectStats = false })
                    {
                        var answer = await SqlRowsAsync(q, sql);
                        Add(kind + " sql first unguarded", sw.Elapsed.TotalSeconds);
                        sw.Restart();
                        var again = await SqlRowsAsync(q, sql);
                        Add(kind + " sql again unguarded", sw.Elapsed.TotalSeconds);
                        if (answer != again || answer != sqlAnswers[kind]) throw new InvalidOperationException($"{kind}: unguarded SQL answers differ");
                    }

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
                                      $"pruned {times[kind + " pruned read"][^1]:F2}s, sql {times[kind + " sql first"][^1]:F3}s / {times[kind + " sql again"][^1]:F3}s " +
                                      $"(no audit {times[kind + " sql first unguarded"][^1]:F3}s / {times[kind + " sql again unguarded"][^1]:F3}s), " +
                                      $"64 MiB put {times[kind + " object put"][^1]:F2}s, get {times[kind + " object get"][^1]:F2}s");
                }
                if (sqlAnswers.Values.Distinct().Count() != 1) throw new InvalidOperationException("SQL answers differ between stores");
            }

            static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
            Console.WriteLine();
            Console.WriteLine($"table: {tableBytes / 1e6:F1} MB of Parquet; medians of {runs} runs; load: {File.ReadAllText("/proc/loadavg").Trim()}");
            Console.WriteLine("| | local folder | S3 (Swift) | Azure (Azurite) | S3 / local | Azure / local |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var op in new[] { "write", "read", "pruned read" })
            {
                double l = Median(times["local " + op]), s = Median(times["s3 " + op]), a = Median(times["azure " + op]);
                var n = op == "pruned read" ? "" : $", {rows / l / 1e6:F2} M rows/s";
                Console.WriteLine($"| table {op} | {l:F2} s{n} | {s:F2} s | {a:F2} s | {l / s:F2}x | {l / a:F2}x |");
            }
            foreach (var op in new[] { "sql first", "sql again", "sql first unguarded", "sql again unguarded" })
            {
                double l = Median(times["local " + op]), s = Median(times["s3 " + op]), a = Median(times["azure " + op]);
                var what = (op.StartsWith("sql first", StringComparison.Ordinal) ? "first query of an instance" : "same query again") + (op.EndsWith("unguarded", StringComparison.Ordinal) ? ", no audit" : "");
                Console.WriteLine($"| SQL, {what} | {l * 1000:F0} ms | {s * 1000:F0} ms | {a * 1000:F0} ms | {s / l:F2}x time | {a / l:F2}x time |");
            }
            foreach (var op in new[] { "object put", "object get" })
            {
                double l = Median(times["local " + op]), s = Median(times["s3 " + op]), a = Median(times["azure " + op]);
                Console.WriteLine($"| 64 MiB {op}, MB/s | {blob.Length / l / 1e6:F0} ({l:F2} s) | {blob.Length / s / 1e6:F0} ({s:F2} s) | {blob.Length / a / 1e6:F0} ({a:F2} s) | {l / s:F2}x | {l / a:F2}x |");
            }
        }
        finally
        {
            PostgresBench.Run(script, "stop", serverDir);
            PostgresBench.Run(azureScript, "stop", azureDir);
            Directory.Delete(work, true);
        }
    }
}
