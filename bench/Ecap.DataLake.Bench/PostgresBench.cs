using System.Diagnostics;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Postgres;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Npgsql;

/// <summary>
/// PostgreSQL -> table: a throwaway server (scripts/postgres-test-server.sh) with N seeded products; times a plain
/// Npgsql read of every column of every row (the raw rate) and IngestFromDatabaseAsync of the same query into a
/// product_updates table, alternating, in the same process.
/// </summary>
internal static class PostgresBench
{
    public static async Task RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0]) : 1_000_000;
        var runs = args.Length > 1 ? int.Parse(args[1]) : 3;
        var dir = Path.Combine("/tmp", "ecap-pgbench-" + Guid.NewGuid().ToString("N")[..8]);
        var script = Path.Combine(FindRoot(), "scripts", "postgres-test-server.sh");
        var url = Run(script, "start", dir, "55871").Trim();
        var work = Path.Combine(Path.GetTempPath(), "ecap-pgbench-lake-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var config = PostgresConnectionConfig.Parse(url, "ecap", "ecap");
            var cs = "Host=127.0.0.1;Port=55871;Database=ecap;Username=ecap;Password=ecap";
            await using (var conn = new NpgsqlConnection(cs))
            {
                await conn.OpenAsync();
                await using var cmd = new NpgsqlCommand($"""
                    CREATE TABLE products (product_id bigint PRIMARY KEY, category text, name text, price numeric(10,2), in_stock boolean, updated_at timestamptz);
                    INSERT INTO products SELECT i, 'cat_' || (i % 7), 'product ' || i, (i % 10000) / 100.0, i % 3 = 0,
                        TIMESTAMPTZ '2026-08-01 00:00:00+00' + make_interval(secs => i) FROM generate_series(1, {rows}) AS i;
                    """, conn) { CommandTimeout = 600 };
                await cmd.ExecuteNonQueryAsync();
                await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE products", conn) { CommandTimeout = 600 };
                await vacuum.ExecuteNonQueryAsync();
            }
            Console.WriteLine($"source: {rows:N0} products in PostgreSQL, {Environment.ProcessorCount} cores");
            const string query = "SELECT * FROM products";
            var raw = new List<double>();
            var ours = new List<double>();
            for (var run = 0; run < runs; run++)
            {
                var sw = Stopwatch.StartNew();
                long n = 0, check = 0;
                await using (var conn = new NpgsqlConnection(cs))
                {
                    await conn.OpenAsync();
                    await using var cmd = new NpgsqlCommand(query, conn);
                    await using var reader = await cmd.ExecuteReaderAsync();
                    while (await reader.ReadAsync())
                    {
                        check += reader.GetInt64(0) + reader.GetString(1).Length + reader.GetString(2).Length + (long)reader.GetDecimal(3)
                                 + (reader.GetBoolean(4) ? 1 : 0) + reader.GetDateTime(5).Ticks % 7;
                        n++;
                    }
                }
                raw.Add(sw.Elapsed.TotalSeconds);
                if (n != rows) throw new InvalidOperationException($"read {n} rows");

                if (Directory.Exists(work)) Directory.Delete(work, true);
                sw.Restart();
                var report = await new DataLakeIngester(BenchLake.Open(work)).IngestFromDatabaseAsync(config, query, "products", DataType.ProductUpdates);
                ours.Add(sw.Elapsed.TotalSeconds);
                if (report.RecordsWritten != rows) throw new InvalidOperationException($"wrote {report.RecordsWritten} rows");
                Console.WriteLine($"run {run + 1}: raw Npgsql read {rows / raw[^1] / 1e6:F2} M rows/s ({raw[^1]:F2}s); " +
                                  $"ecap ingest {rows / ours[^1] / 1e6:F2} M rows/s ({ours[^1]:F2}s, {report.Batches} commits)");
            }
            double Median(List<double> v) => v.Order().ElementAt(v.Count / 2);
            Console.WriteLine($"median: raw {rows / Median(raw) / 1e6:F2} M rows/s, ecap ingest {rows / Median(ours) / 1e6:F2} M rows/s " +
                              $"({Median(raw) / Median(ours):P0} of the raw rate)");
        }
        finally
        {
            Run(script, "stop", dir);
            if (Directory.Exists(work)) Directory.Delete(work, true);
        }
    }

    internal static string Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true };
        psi.ArgumentList.Add(script);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{script} {string.Join(' ', args)} failed");
        return output;
    }

    internal static string FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EcapDataLake.slnx"))) return d.FullName;
        throw new DirectoryNotFoundException("repository root (EcapDataLake.slnx) not found");
    }
}
