using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using DuckDB.NET.Data;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Files;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Changes;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

/// <summary>
/// Row-level changes (issue 18), on a transactions table of N rows over 3 days (3 partitions of ~N/3 rows: files near the
/// 128 MB target at N = 10M):
/// (a) one row updated by MERGE: with deletion vectors, by copy-on-write of the touched file (a table without vectors), and
///     by overwrite-partitions of the affected day (read the day, change the row, write it back): time and bytes written;
/// (b) MERGE of S source rows (half updates of existing keys spread over the table, half new keys) into the table with
///     vectors, in a child process (its peak working set is the merge's), next to DuckDB in this process doing the
///     equivalent anti-join + union over the same Parquet files into one new file; source rows/s.
/// Each run works on a fresh copy of the tables (the copy is not timed); the first run is a warm-up; medians.
/// Usage: merge [rows] [source rows] [runs]
/// </summary>
internal static class MergeBench
{
    public static async Task RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? long.Parse(args[0], CultureInfo.InvariantCulture) : 10_000_000;
        var sourceRows = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000_000;
        var runs = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        var work = Path.Combine(Path.GetTempPath(), "ecap-mergebench-" + Guid.NewGuid().ToString("N")[..8]);
        var start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
        try
        {
            var master = new DataLakeStorage(Path.Combine(work, "master"));
            IEnumerable<RecordBatch> Target() => SampleDataGenerator.Generate(DataType.Transactions, rows, seed: 1, batchSize: 500_000, start, days: 3);
            await master.WritePartitionedDataAsync(Target(), "dv", DataType.Transactions);
            await master.WritePartitionedDataAsync(Target(), "cow", DataType.Transactions, options: new WriteOptions { DeletionVectors = false });
            var files = (await master.OpenTable("dv").GetSnapshotAsync()).Files;
            Console.WriteLine($"target: {rows:N0} transactions, {files.Count} files, {files.Sum(f => f.Size) / 1e6:F0} MB ({files.Max(f => f.Size) / 1e6:F0} MB largest); " +
                              $"{Environment.ProcessorCount} cores, load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");

            // (a) one row.
            var key = rows / 2;
            var one = Source(start, [key], []);
            var small = new Dictionary<string, List<(double Ms, long Bytes)>> { ["merge, deletion vectors"] = [], ["merge, copy-on-write"] = [], ["overwrite-partitions of the day"] = [] };
            // (b) S rows: half existing keys spread over the table, half new ones.
            var updates = Enumerable.Range(0, sourceRows / 2).Select(i => 1 + (long)((double)i * rows / (sourceRows / 2))).ToList();
            var inserts = Enumerable.Range(0, sourceRows - updates.Count).Select(i => rows + 1 + i).ToList();
            var big = Source(start, updates, inserts);
            var sourceFile = Path.Combine(work, "source.parquet");
            await RowExport.WriteAsync(sourceFile, big[0].Schema, big.ToAsyncEnumerable());
            var bigEcap = new List<(double Ms, long PeakMb)>();
            var bigDuck = new List<double>();

            for (var run = 0; run <= runs; run++)
            {
                var copy = Path.Combine(work, "run" + run);
                CopyDirectory(Path.Combine(work, "master"), copy);
                var lake = new DataLakeStorage(copy);
                var sw = Stopwatch.StartNew();
                var r = await lake.MergeAsync("dv", one.ToAsyncEnumerable(), new MergeOptions { On = ["transaction_id"] });
                Check(r.RowsUpdated == 1, "dv merge");
                Add(small, "merge, deletion vectors", run, sw.Elapsed.TotalMilliseconds, r.BytesWritten);
                sw.Restart();
                r = await lake.MergeAsync("cow", one.ToAsyncEnumerable(), new MergeOptions { On = ["transaction_id"] });
                Check(r.RowsUpdated == 1 && r.DeletionVectorsWritten == 0, "cow merge");
                Add(small, "merge, copy-on-write", run, sw.Elapsed.TotalMilliseconds, r.BytesWritten);
                sw.Restart();
                var bytes = await OverwriteDayAsync(lake, "cow", key);
                Add(small, "overwrite-partitions of the day", run, sw.Elapsed.TotalMilliseconds, bytes);

                // (b) big merge, in a child process of its own so that its peak working set is the merge's alone.
                var (ms, peakMb, summary) = RunChild(copy, sourceFile);
                Check(summary == $"{updates.Count}/{inserts.Count}", $"big merge {summary}");
                if (run > 0) bigEcap.Add((ms, peakMb));

                var targetFiles = string.Join(",", (await master.OpenTable("dv").GetSnapshotAsync()).Files
                    .Select(f => "'" + Path.Combine(work, "master", "dv", f.ObjectKey).Replace("'", "''") + "'"));
                var outFile = Path.Combine(copy, "duck.parquet");
                using (var duck = new DuckDBConnection("Data Source=:memory:"))
                {
                    duck.Open();
                    using var cmd = duck.CreateCommand();
                    sw.Restart();
                    cmd.CommandText = $"COPY (SELECT t.* FROM read_parquet([{targetFiles}], hive_partitioning = false) t " +
                                      $"ANTI JOIN read_parquet('{sourceFile}') s USING (transaction_id) UNION ALL SELECT * FROM read_parquet('{sourceFile}')) " +
                                      $"TO '{outFile}' (FORMAT parquet, COMPRESSION snappy)";
                    cmd.ExecuteNonQuery();
                    if (run > 0) bigDuck.Add(sw.Elapsed.TotalMilliseconds);
                }
                Directory.Delete(copy, true);
            }

            foreach (var (name, list) in small)
                Console.WriteLine($"1 row, {name,-32}: median {Median(list.Select(x => x.Ms)):F0} ms, {Median(list.Select(x => (double)x.Bytes)) / 1e6:F2} MB written");
            var e = Median(bigEcap.Select(x => x.Ms));
            var d = Median(bigDuck);
            Console.WriteLine($"merge of {sourceRows:N0} source rows ({updates.Count:N0} updates, {inserts.Count:N0} inserts): ecap median {e:F0} ms " +
                              $"({sourceRows / (e / 1000):N0} rows/s, peak working set {bigEcap.Max(x => x.PeakMb):N0} MB), DuckDB anti-join + union {d:F0} ms " +
                              $"({sourceRows / (d / 1000):N0} rows/s): {d / e:F2}x DuckDB's throughput");
        }
        finally
        {
            try { Directory.Delete(work, true); } catch (IOException) { }
        }
    }

    /// <summary>The child side: merges the source file into table 'dv' of the lake folder and prints its time, peak working set and counts.</summary>
    public static async Task RunChildAsync(string[] args)
    {
        var lake = new DataLakeStorage(args[0]);
        var sw = Stopwatch.StartNew();
        var merged = await lake.MergeAsync("dv", SourceFiles.ReadAsync(args[1], (await lake.OpenTable("dv").GetSnapshotAsync()).Schema),
            new MergeOptions { On = ["transaction_id"] });
        var ms = sw.Elapsed.TotalMilliseconds;
        using var self = Process.GetCurrentProcess();
        Console.WriteLine(FormattableString.Invariant($"{ms:F0} {self.PeakWorkingSet64 / (1024 * 1024)} {merged.RowsUpdated}/{merged.RowsInserted}"));
    }

    private static (double Ms, long PeakMb, string Summary) RunChild(string lake, string source)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") start.ArgumentList.Add(typeof(MergeBench).Assembly.Location);
        foreach (var a in new[] { "merge-child", lake, source }) start.ArgumentList.Add(a);
        using var child = Process.Start(start)!;
        var output = child.StandardOutput.ReadToEnd().Trim().Split('\n')[^1].Split(' ');
        child.WaitForExit();
        if (child.ExitCode != 0) throw new InvalidOperationException($"merge child failed ({child.ExitCode})");
        return (double.Parse(output[0], CultureInfo.InvariantCulture), long.Parse(output[1], CultureInfo.InvariantCulture), output[2]);
    }

    /// <summary>Source rows of the given ids: generated transactions (same time window) with status 'merged'.</summary>
    private static List<RecordBatch> Source(DateTimeOffset start, IReadOnlyList<long> existing, IReadOnlyList<long> fresh)
    {
        var ids = existing.Concat(fresh).ToList();
        var result = new List<RecordBatch>();
        var offset = 0;
        foreach (var batch in SampleDataGenerator.Generate(DataType.Transactions, ids.Count, seed: 5, batchSize: 250_000, start, days: 3))
        {
            var columns = Enumerable.Range(0, batch.ColumnCount).Select(batch.Column).ToArray();
            columns[batch.Schema.GetFieldIndex("transaction_id")] = new Int64Array.Builder().AppendRange(ids.Skip(offset).Take(batch.Length)).Build();
            columns[batch.Schema.GetFieldIndex("status")] = ArrowArrays.Constant(Apache.Arrow.Types.StringType.Default, "merged", batch.Length);
            result.Add(new RecordBatch(batch.Schema, columns, batch.Length));
            offset += batch.Length;
        }
        return result;
    }

    /// <summary>The day holding <paramref name="key"/> read whole, the row changed, written back with overwrite-partitions; returns bytes written.</summary>
    private static async Task<long> OverwriteDayAsync(DataLakeStorage lake, string table, long key)
    {
        var probe = await lake.ReadPartitionedDataAsync(table, new ReadOptions { Predicate = Predicate.Parse($"transaction_id = {key}"), Columns = ["day"] });
        var day = 0;
        await foreach (var b in probe.ReadBatchesAsync()) day = ((Int32Array)b.Column(0)).GetValue(0)!.Value;
        var scan = await lake.ReadPartitionedDataAsync(table, new ReadOptions { Predicate = Predicate.Parse($"day = {day}") });
        async IAsyncEnumerable<RecordBatch> Changed()
        {
            await foreach (var b in scan.ReadBatchesAsync())
            {
                var ids = (Int64Array)b.Column(b.Schema.GetFieldIndex("transaction_id"));
                var status = new StringArray.Builder();
                var s = (StringArray)b.Column(b.Schema.GetFieldIndex("status"));
                for (var i = 0; i < b.Length; i++) status.Append(ids.GetValue(i) == key ? "merged" : s.GetString(i));
                var columns = Enumerable.Range(0, b.ColumnCount).Select(b.Column).ToArray();
                columns[b.Schema.GetFieldIndex("status")] = status.Build();
                yield return new RecordBatch(b.Schema, columns, b.Length);
            }
        }
        var result = await lake.WritePartitionedDataAsync(Changed(), table, DataType.Transactions, WriteMode.OverwritePartitions);
        return result.BytesWritten;
    }

    private static void Add(Dictionary<string, List<(double, long)>> results, string name, int run, double ms, long bytes)
    {
        if (run > 0) results[name].Add((ms, bytes));
    }

    private static void Check(bool ok, string what)
    {
        if (!ok) throw new InvalidOperationException("bench check failed: " + what);
    }

    private static double Median(IEnumerable<double> xs)
    {
        var list = xs.Order().ToList();
        return list[list.Count / 2];
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(dir.Replace(from, to));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(file, file.Replace(from, to));
    }
}
