using System.Diagnostics;
using System.Globalization;
using Ecap.DataLake.Query;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

/// <summary>
/// Repeated snapshots and SQL queries of a table with a long log (a stream's many small commits), through a
/// <see cref="DataLakeStorage"/> with the snapshot cache vs one without it (SnapshotCacheCapacity = 0), in the same
/// process on the same table. Both sides get the same log; runs alternate; the first of each is a warm-up.
/// </summary>
internal static class SnapshotCacheBench
{
    public static async Task RunAsync(string[] args)
    {
        var commits = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 300;
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        const int snapshotsPerRun = 50, queriesPerRun = 10;
        var work = Path.Combine(Path.GetTempPath(), "ecap-scbench-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var lakeDir = Path.Combine(work, "lake");
            var writer = BenchLake.Open(lakeDir);
            var start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
            for (var i = 0; i < commits; i++)
                await writer.WritePartitionedDataAsync(
                    SampleDataGenerator.Generate(DataType.Transactions, 500, i, 500, start.AddDays(i % 30), 1),
                    "transactions", DataType.Transactions, WriteMode.Append, new WriteOptions());
            Console.WriteLine($"table: {commits} commits (checkpoint every 10), {commits * 500:N0} rows, {Environment.ProcessorCount} cores");

            var cached = BenchLake.Open(lakeDir);
            var uncached = new DataLakeStorage(lakeDir, new DataLakeStorageOptions { SnapshotCacheCapacity = 0 });
            const string sql = "SELECT count(*) AS n, sum(amount) AS total FROM transactions WHERE day = 3";

            async Task<double> Snapshots(DataLakeStorage lake)
            {
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < snapshotsPerRun; i++) await lake.OpenTable("transactions").GetSnapshotAsync();
                return sw.Elapsed.TotalMilliseconds / snapshotsPerRun;
            }

            async Task<(double Ms, string Result)> Queries(DataLakeStorage lake)
            {
                var sw = Stopwatch.StartNew();
                var text = "";
                await using var q = new LakeQuery(lake);
                for (var i = 0; i < queriesPerRun; i++)
                {
                    await using var result = await q.QueryAsync(sql);
                    await foreach (var row in result.ReadRowsAsync()) text = string.Join("|", row.Select(SqlValues.Format));
                }
                return (sw.Elapsed.TotalMilliseconds / queriesPerRun, text);
            }

            var snapCached = new List<double>();
            var snapUncached = new List<double>();
            var queryCached = new List<double>();
            var queryUncached = new List<double>();
            for (var run = 0; run < runs + 1; run++)
            {
                var a = await Snapshots(cached);
                var b = await Snapshots(uncached);
                var (qa, ra) = await Queries(cached);
                var (qb, rb) = await Queries(uncached);
                if (ra != rb) throw new InvalidOperationException($"results differ: {ra} vs {rb}");
                if (run == 0) continue;
                snapCached.Add(a);
                snapUncached.Add(b);
                queryCached.Add(qa);
                queryUncached.Add(qb);
                Console.WriteLine($"run {run}: snapshot {a:F2} vs {b:F2} ms, query {qa:F1} vs {qb:F1} ms");
            }
            static double Median(List<double> xs) { var s = xs.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
            Console.WriteLine($"snapshot (median ms per call): cached {Median(snapCached):F2}, uncached {Median(snapUncached):F2}, ratio {Median(snapUncached) / Median(snapCached):F1}x");
            Console.WriteLine($"query    (median ms per query): cached {Median(queryCached):F1}, uncached {Median(queryUncached):F1}, " +
                              $"cached/uncached {Median(queryCached) / Median(queryUncached):P0}");
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, recursive: true);
        }
    }
}
