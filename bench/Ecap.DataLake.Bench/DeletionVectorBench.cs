using System.Diagnostics;
using System.Globalization;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Query;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.TestSupport;

/// <summary>
/// Deletion vectors: (a) load + decode of one large vector (file read, CRC32, portable RoaringBitmapArray) in three
/// shapes: sparse (array containers), every other row (bitmap containers), long ranges (run containers); (b) a full scan
/// of one file through TableScan without a vector vs with the sparse vector; (c) the same through SQL (anti-join on
/// file_row_number). Runs alternate; the first is a warm-up; medians are printed.
/// </summary>
internal static class DeletionVectorBench
{
    public static async Task RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5_000_000;
        var deleted = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 5;
        var work = Path.Combine(Path.GetTempPath(), "ecap-dvbench-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var random = new Random(7);
            var sparse = Enumerable.Range(0, deleted * 2).Select(_ => (long)random.NextInt64(rows)).Distinct().Take(deleted).Order().ToArray();
            var dense = Enumerable.Range(0, deleted).Select(i => (long)i * 2).Where(r => r < rows).ToArray();
            var ranges = Enumerable.Range(0, deleted).Select(i => (long)(i / 1000 * 5000 + i % 1000)).Where(r => r < rows).ToArray();

            var plain = new DeletionVectorTable(Path.Combine(work, "lake", "plain"));
            var size = plain.WriteDataFile("f.parquet", 0, rows, 1_000_000);
            plain.Add("f.parquet", size, rows);
            plain.Commit();
            var withDv = new DeletionVectorTable(Path.Combine(work, "lake", "dv"));
            File.Copy(Path.Combine(plain.Dir, "f.parquet"), Path.Combine(Directory.CreateDirectory(withDv.Dir).FullName, "f.parquet"));
            var (id, file) = DeletionVectorTable.UuidVector("", Guid.NewGuid());
            var at = withDv.WriteVectorFile(file, sparse, dense, ranges);
            withDv.Add("f.parquet", size, rows, DeletionVectorTable.Descriptor("u", id, at[0].Offset, at[0].Size, sparse.Length));
            withDv.Commit();
            var store = new LocalObjectStore(withDv.Dir);
            var shapes = new[] { ("sparse", sparse, at[0]), ("every other", dense, at[1]), ("ranges", ranges, at[2]) };
            Console.WriteLine($"file: {rows:N0} rows (id long, v string), row groups of 1M; vectors: " +
                              string.Join(", ", shapes.Select(s => $"{s.Item1} {s.Item2.Length:N0} rows = {s.Item3.Size:N0} bytes")));

            var lake = new DataLakeStorage(Path.Combine(work, "lake"));
            async Task<(double Ms, long Rows)> Scan(string table)
            {
                var sw = Stopwatch.StartNew();
                long n = 0;
                var scan = await lake.ReadPartitionedDataAsync(table);
                await foreach (var b in scan.ReadBatchesAsync()) { n += b.Length; b.Dispose(); }
                return (sw.Elapsed.TotalMilliseconds, n);
            }
            // First query of a connection (registers the view and the deleted rows), then a second one on the same views.
            async Task<(double Ms, double AgainMs, string Result)> Sql(string table)
            {
                var sw = Stopwatch.StartNew();
                await using var q = new LakeQuery(lake);
                var text = "";
                var first = 0.0;
                for (var i = 0; i < 2; i++)
                {
                    if (i == 1) { first = sw.Elapsed.TotalMilliseconds; sw.Restart(); }
                    await using var result = await q.QueryAsync($"SELECT count(*), sum(id) FROM {table}");
                    await foreach (var row in result.ReadRowsAsync()) text = string.Join("|", row.Select(SqlValues.Format));
                }
                return (first, sw.Elapsed.TotalMilliseconds, text);
            }

            var decode = shapes.ToDictionary(s => s.Item1, _ => new List<double>());
            var scanPlain = new List<double>();
            var scanDv = new List<double>();
            var sqlPlain = new List<double>();
            var sqlDv = new List<double>();
            var sqlPlainAgain = new List<double>();
            var sqlDvAgain = new List<double>();
            for (var run = 0; run <= runs; run++)
            {
                foreach (var (name, expected, place) in shapes)
                {
                    var dv = new DeletionVectorDescriptor("u", id, place.Offset, place.Size, expected.Length);
                    var sw = Stopwatch.StartNew();
                    var got = await DeletionVectors.LoadAsync(store, dv);
                    var ms = sw.Elapsed.TotalMilliseconds;
                    if (!got.AsSpan().SequenceEqual(expected)) throw new InvalidOperationException($"{name}: decoded rows differ");
                    if (run > 0) decode[name].Add(ms);
                }
                var a = await Scan("plain");
                var b = await Scan("dv");
                if (a.Rows != rows || b.Rows != rows - sparse.Length) throw new InvalidOperationException($"rows {a.Rows} / {b.Rows}");
                var c = await Sql("plain");
                var d = await Sql("dv");
                if (run == 0) Console.WriteLine($"sql: plain {c.Result}, with vector {d.Result}");
                if (run == 0) continue;
                scanPlain.Add(a.Ms);
                scanDv.Add(b.Ms);
                sqlPlain.Add(c.Ms);
                sqlDv.Add(d.Ms);
                sqlPlainAgain.Add(c.AgainMs);
                sqlDvAgain.Add(d.AgainMs);
            }
            static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
            foreach (var (name, expected, _) in shapes)
                Console.WriteLine($"load+decode {name,-12} {expected.Length,10:N0} rows: median {Median(decode[name]):F1} ms");
            Console.WriteLine($"scan without vector: median {Median(scanPlain):F0} ms; with the sparse vector: median {Median(scanDv):F0} ms");
            Console.WriteLine($"sql, first query  without vector: median {Median(sqlPlain):F0} ms; with the sparse vector: median {Median(sqlDv):F0} ms");
            Console.WriteLine($"sql, second query without vector: median {Median(sqlPlainAgain):F0} ms; with the sparse vector: median {Median(sqlDvAgain):F0} ms");
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { }
        }
    }
}
