using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using Ecap.DataLake.Query;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

/// <summary>
/// The join of transactions with customer_profiles and an aggregate by day, through <see cref="LakeQuery"/>
/// (view registration from the log included in each run) vs DuckDB over the same table files directly.
/// </summary>
internal static class QueryBench
{
    public static async Task RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 5_000_000;
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var customers = Math.Min(SampleDataGenerator.Customers, rows);
        var work = Path.Combine(Path.GetTempPath(), "ecap-qbench-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
            var lakeDir = Path.Combine(work, "lake");
            var lake = BenchLake.Open(lakeDir);
            await lake.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, rows, 1, 500_000, start, 90),
                "transactions", DataType.Transactions, WriteMode.Append, new WriteOptions());
            await lake.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.CustomerProfiles, customers, 2, 500_000, start, 90),
                "customer_profiles", DataType.CustomerProfiles, WriteMode.Append, new WriteOptions());
            var txFiles = Directory.GetFiles(Path.Combine(lakeDir, "transactions"), "*.parquet", SearchOption.AllDirectories).Length;
            var cpFiles = Directory.GetFiles(Path.Combine(lakeDir, "customer_profiles"), "*.parquet", SearchOption.AllDirectories).Length;
            Console.WriteLine($"lake: {rows:N0} transactions ({txFiles} files), {customers:N0} customer profiles ({cpFiles} files), {Environment.ProcessorCount} cores");

            const string lakeSql = """
                SELECT make_date(t.year, t.month, t.day) AS d, c.customer_segment, count(*) AS n, sum(t.amount) AS total
                FROM transactions t JOIN customer_profiles c ON t.customer_id = c.customer_id
                GROUP BY ALL ORDER BY ALL
                """;
            var directSql = $"""
                SELECT make_date(t.year, t.month, t.day) AS d, c.customer_segment, count(*) AS n, sum(t.amount) AS total
                FROM read_parquet('{lakeDir}/transactions/**/*.parquet', hive_partitioning = true) t
                JOIN read_parquet('{lakeDir}/customer_profiles/**/*.parquet', hive_partitioning = true) c ON t.customer_id = c.customer_id
                GROUP BY ALL ORDER BY ALL
                """;

            var ours = new List<double>();
            var direct = new List<double>();
            string? oursResult = null, directResult = null;
            // Alternate the two so machine noise hits both alike; the first run of each is a warm-up.
            for (var run = 0; run < runs + 1; run++)
            {
                var sw = Stopwatch.StartNew();
                await using (var q = new LakeQuery(lake) { CollectStats = Environment.GetEnvironmentVariable("ECAP_BENCH_NO_STATS") == null })
                await using (var result = await q.QueryAsync(lakeSql))
                {
                    var text = new System.Text.StringBuilder();
                    await foreach (var row in result.ReadRowsAsync()) text.AppendLine(string.Join("|", row.Select(SqlValues.Format)));
                    oursResult = text.ToString();
                }
                if (run > 0) ours.Add(sw.Elapsed.TotalMilliseconds);

                sw.Restart();
                using (var duck = new DuckDBConnection("DataSource=:memory:"))
                {
                    duck.Open();
                    using var cmd = duck.CreateCommand();
                    cmd.CommandText = directSql;
                    using var reader = cmd.ExecuteReader();
                    var text = new System.Text.StringBuilder();
                    while (reader.Read())
                        text.AppendLine(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => SqlValues.Format(reader.IsDBNull(i) ? null : reader.GetValue(i)))));
                    directResult = text.ToString();
                }
                if (run > 0) direct.Add(sw.Elapsed.TotalMilliseconds);
                if (oursResult != directResult) throw new InvalidOperationException("lake views and direct DuckDB disagree");
                Console.WriteLine(run == 0 ? "warm-up done" : $"run {run}: lake views {ours[^1]:F0} ms, DuckDB direct {direct[^1]:F0} ms");
            }
            static double Median(List<double> v) { var s = v.Order().ToList(); return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
            var m1 = Median(ours);
            var m2 = Median(direct);
            Console.WriteLine($"median: lake views {m1:F0} ms, DuckDB direct {m2:F0} ms, overhead {(m1 / m2 - 1) * 100:F1}% (goal <= 10%)");
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, true);
        }
    }
}
