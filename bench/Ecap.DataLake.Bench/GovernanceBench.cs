using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Ecap.DataLake.Parquet.Encryption;
using Ecap.DataLake.Quality;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

/// <summary>
/// What governance costs, each against the same operation without it, runs alternated in one process:
///   (a) a pruned read (one month of three, 3 columns) with access control on + audit vs <see cref="LakeGuard.Unguarded"/>;
///   (b) a small write (10K rows) with access control + audit vs unguarded;
///   (c) the same pruned read of an encrypted copy (footer + 2 column keys) vs the plaintext table;
///   (d) a write into a table with three constraints vs one without;
///   (e) a single audit append (one record, one commit), median latency.
/// </summary>
internal static class GovernanceBench
{
    public static async Task RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        var work = Path.Combine(Path.GetTempPath(), "ecap-gbench-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
            var lakeDir = Path.Combine(work, "lake");
            var keyFile = Path.Combine(work, "keys.json");
            Directory.CreateDirectory(work);
            LocalKeyFileProvider.Create(keyFile, "footer", "pii");
            var store = ObjectStoreFactory.Open(lakeDir);
            var guarded = new DataLakeStorage(lakeDir, new DataLakeStorageOptions
            {
                Guard = LakeGuard.ForLake(store, new StaticIdentity("bench")),
                KeyProvider = new LocalKeyFileProvider(keyFile),
            });
            var unguarded = new DataLakeStorage(lakeDir, new DataLakeStorageOptions { Guard = LakeGuard.Unguarded, KeyProvider = new LocalKeyFileProvider(keyFile) });
            var data = SampleDataGenerator.Generate(DataType.Transactions, rows, 1, 500_000, start, 90).ToList();
            await unguarded.WritePartitionedDataAsync(data, "plain", DataType.Transactions);
            await unguarded.WritePartitionedDataAsync(data, "encrypted", DataType.Transactions, options: new WriteOptions
            {
                Encryption = new TableEncryption("footer", new Dictionary<string, string> { ["amount"] = "pii", ["customer_id"] = "pii" }),
            });
            await unguarded.WritePartitionedDataAsync(data.Take(1), "constrained", DataType.Transactions);
            await unguarded.WritePartitionedDataAsync(data.Take(1), "unconstrained", DataType.Transactions);
            var quality = new DataQuality(unguarded);
            await quality.AddConstraintAsync("constrained", "amount_non_negative", "amount >= 0");
            await quality.AddConstraintAsync("constrained", "id", DataQuality.NotNull("transaction_id"));
            await quality.AddConstraintAsync("constrained", "status", DataQuality.AllowedValues("status", ["completed", "pending", "failed", "refunded", "cancelled"]));
            // Access control on: the bench principal is lake admin, so every check runs and passes.
            await new AccessControl(guarded.Guard).GrantAsync("readers", Privilege.Read, "plain");
            var small = SampleDataGenerator.Generate(DataType.Transactions, 10_000, 3, 10_000, start, 1).ToList();
            Console.WriteLine($"lake: {rows:N0} transactions per table, {Environment.ProcessorCount} cores; {runs} runs per side, alternated (first 2 pairs warm-up)");

            async Task<long> Read(DataLakeStorage lake, string table)
            {
                var scan = await lake.ReadPartitionedDataAsync(table, new ReadOptions
                {
                    PartitionFilters = [PartitionFilter.Equal("month", 9)],
                    Columns = ["transaction_id", "customer_id", "amount"],
                });
                long n = 0;
                await foreach (var b in scan.ReadBatchesAsync()) n += b.Length;
                return n;
            }

            var results = new List<(string Name, double Ours, double Baseline)>();
            async Task Pair(string name, Func<Task> governed, Func<Task> baseline)
            {
                var a = new List<double>();
                var b = new List<double>();
                for (var run = 0; run < runs + 2; run++)
                {
                    var sw = Stopwatch.StartNew();
                    await governed();
                    var t1 = sw.Elapsed.TotalMilliseconds;
                    sw.Restart();
                    await baseline();
                    var t2 = sw.Elapsed.TotalMilliseconds;
                    if (run >= 2) { a.Add(t1); b.Add(t2); }
                }
                results.Add((name, Median(a), Median(b)));
                Console.WriteLine($"{name}: governed {Median(a):F1} ms, baseline {Median(b):F1} ms");
            }

            await Pair("(a) pruned read, access on + audit vs unguarded", () => Read(guarded, "plain"), () => Read(unguarded, "plain"));
            await Pair("(b) 10K-row write, access on + audit vs unguarded",
                () => guarded.WritePartitionedDataAsync(small, "plain", DataType.Transactions),
                () => unguarded.WritePartitionedDataAsync(small, "plain", DataType.Transactions));
            await Pair("(c) pruned read, encrypted vs plaintext", () => Read(unguarded, "encrypted"), () => Read(unguarded, "plain"));
            var batch = data[0];
            await Pair("(d) 500K-row write, 3 constraints vs none",
                () => unguarded.WritePartitionedDataAsync([batch], "constrained", DataType.Transactions),
                () => unguarded.WritePartitionedDataAsync([batch], "unconstrained", DataType.Transactions));

            var grantTimes = new List<double>();
            for (var i = 0; i < 50; i++)
            {
                var sw = Stopwatch.StartNew();
                await guarded.Guard.GetGrantsAsync();
                grantTimes.Add(sw.Elapsed.TotalMilliseconds);
            }
            Console.WriteLine($"(f) grants lookup (catalog list + read, {(await guarded.Guard.GetGrantsAsync()).Grants.Count} grants): median {Median(grantTimes):F2} ms");
            var audit = new AuditLog(store);
            var appends = new List<double>();
            for (var i = 0; i < 50; i++)
            {
                var sw = Stopwatch.StartNew();
                await audit.AppendAsync([new AuditRecord { Time = DateTimeOffset.UtcNow, Principal = "bench", Operation = "noop", Outcome = AuditOutcome.Succeeded }]);
                appends.Add(sw.Elapsed.TotalMilliseconds);
            }
            Console.WriteLine();
            foreach (var (name, ours, baseline) in results)
                Console.WriteLine($"{name}: {ours:F1} ms vs {baseline:F1} ms -> overhead {ours / baseline:F2}x (+{ours - baseline:F1} ms)");
            Console.WriteLine($"(e) audit append (1 record, 1 commit): median {Median(appends):F1} ms, p90 {appends.Order().ElementAt(appends.Count * 9 / 10):F1} ms over 50");
        }
        finally
        {
            Directory.Delete(work, true);
        }
    }

    private static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
}
