using System.Diagnostics;
using Apache.Arrow;
using DuckDB.NET.Data;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

/// <summary>
/// Compaction: a one-day transactions table made of N small appends (one file each), compacted into 128 MB files
/// by DataCompactor (sorted merge by transaction_id, dataChange=false commit), against DuckDB rewriting the same
/// files: COPY (SELECT * FROM read_parquet([...]) ORDER BY transaction_id) TO dir (FILE_SIZE_BYTES 128MB).
/// Runs alternate; between our runs the table is restored to the pre-compaction version and the outputs vacuumed.
/// With "overlap", every append reuses the same ids, so the merge interleaves all inputs (its worst case);
/// without it, ids grow append by append, as they do with time.
/// </summary>
internal static class CompactionBench
{
    public static async Task RunAsync(string[] args)
    {
        var files = args.Length > 0 ? int.Parse(args[0]) : 1000;
        var rowsPerFile = args.Length > 1 ? int.Parse(args[1]) : 10_000;
        var runs = args.Length > 2 ? int.Parse(args[2]) : 3;
        var overlap = args.Length > 3 && args[3] == "overlap";
        // ECAP_BENCH_DIR keeps the source table between invocations (built once; each run restores it): for profiling.
        var kept = Environment.GetEnvironmentVariable("ECAP_BENCH_DIR");
        var work = kept ?? Path.Combine(Path.GetTempPath(), "ecap-compactbench-" + Guid.NewGuid().ToString("N")[..8]);
        var reuse = kept is not null && Directory.Exists(Path.Combine(work, "lake", "tx"));
        Directory.CreateDirectory(work);
        try
        {
            var lakeDir = Path.Combine(work, "lake");
            var lake = BenchLake.Open(lakeDir);
            var start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
            for (var i = 0; i < (reuse ? 0 : files); i++)
            {
                var offset = overlap ? 0 : (long)i * rowsPerFile;
                var batches = SampleDataGenerator.Generate(DataType.Transactions, rowsPerFile, seed: i + 1, batchSize: rowsPerFile, start, days: 1)
                    .Select(b => ShiftIds(b, offset));
                await lake.WritePartitionedDataAsync(batches, "tx", DataType.Transactions);
            }
            var table = lake.OpenTable("tx");
            var before = await table.GetSnapshotAsync();
            var inputs = before.Files.Select(f => Path.Combine(lakeDir, "tx", f.ObjectKey)).ToList();
            var bytes = before.TotalSize;
            var rows = (long)files * rowsPerFile;
            Console.WriteLine($"source: {before.Files.Count} files, {rows:N0} rows, {bytes / 1e6:F1} MB (ids {(overlap ? "overlapping" : "growing")}), {Environment.ProcessorCount} cores");

            var compactor = new DataCompactor(lake);
            using var duck = new DuckDBConnection("DataSource=:memory:");
            duck.Open();
            var fileList = "[" + string.Join(", ", inputs.Select(p => "'" + p.Replace("'", "''") + "'")) + "]";

            GC.Collect();
            var baseline = Process.GetCurrentProcess().WorkingSet64;
            Console.WriteLine($"working set before the runs: {baseline / 1e6:F0} MB (after building the table)");
            var ours = new List<double>();
            var theirs = new List<double>();
            long ourPeak = 0;
            int outFiles = 0, duckFiles = 0;
            for (var run = 0; run < runs; run++)
            {
                // Ours: sample the working set while compacting (the first run happens before DuckDB ever ran).
                using (var sampler = new PeakSampler())
                {
                    var sw = Stopwatch.StartNew();
                    var result = await compactor.CompactTableAsync("tx", new CompactOptions { TargetFileSizeBytes = 128L * 1024 * 1024 });
                    ours.Add(sw.Elapsed.TotalSeconds);
                    if (run == 0) ourPeak = sampler.Peak;
                    outFiles = result.FilesAdded;
                    if (result.FilesRemoved != before.Files.Count || result.RowsRewritten != rows)
                        throw new InvalidOperationException($"compacted {result.FilesRemoved} files, {result.RowsRewritten} rows");
                    Console.WriteLine($"ecap compact run {run + 1}: {ours[^1]:F2}s, {result.FilesAdded} files, {bytes / 1e6 / ours[^1]:F1} MB/s, " +
                                      $"{rows / ours[^1] / 1e6:F2} M rows/s, peak working set {sampler.Peak / 1e6:F0} MB");
                }
                await lake.RestoreAsync("tx", before.Version);
                await compactor.VacuumAsync("tx", new VacuumOptions { Retention = TimeSpan.Zero, Force = true });

                var outDir = Path.Combine(work, "duck");
                if (Directory.Exists(outDir)) Directory.Delete(outDir, true);
                using (var cmd = duck.CreateCommand())
                {
                    cmd.CommandText = $"COPY (SELECT * FROM read_parquet({fileList}) ORDER BY transaction_id) TO '{outDir}' " +
                                      "(FORMAT parquet, COMPRESSION snappy, FILE_SIZE_BYTES '128MB')";
                    var sw = Stopwatch.StartNew();
                    cmd.ExecuteNonQuery();
                    theirs.Add(sw.Elapsed.TotalSeconds);
                }
                duckFiles = Directory.GetFiles(outDir, "*.parquet").Length;
                Console.WriteLine($"duckdb copy run {run + 1}: {theirs[^1]:F2}s, {duckFiles} files, {bytes / 1e6 / theirs[^1]:F1} MB/s, {rows / theirs[^1] / 1e6:F2} M rows/s");
                Directory.Delete(outDir, true);
            }

            var ourMedian = Median(ours);
            var duckMedian = Median(theirs);
            Console.WriteLine();
            Console.WriteLine($"compaction of {files} files ({bytes / 1e6:F0} MB, {rows:N0} rows) into 128 MB files, median of {runs}:");
            Console.WriteLine($"  ecap   {ourMedian:F2}s  {bytes / 1e6 / ourMedian:F1} MB/s  {rows / ourMedian / 1e6:F2} M rows/s  ({outFiles} files, peak working set {ourPeak / 1e6:F0} MB)");
            Console.WriteLine($"  duckdb {duckMedian:F2}s  {bytes / 1e6 / duckMedian:F1} MB/s  {rows / duckMedian / 1e6:F2} M rows/s  ({duckFiles} files)");
            Console.WriteLine($"  ecap / duckdb throughput: {duckMedian / ourMedian:F2}x; process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:F0} MB (both sides)");
        }
        finally
        {
            if (kept is null)
                try { Directory.Delete(work, true); } catch (IOException) { }
        }
    }

    private static double Median(List<double> values)
    {
        var s = values.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    private static RecordBatch ShiftIds(RecordBatch batch, long offset)
    {
        if (offset == 0) return batch;
        var index = batch.Schema.GetFieldIndex("transaction_id");
        var ids = (Int64Array)batch.Column(index);
        var builder = new Int64Array.Builder().Reserve(ids.Length);
        for (var i = 0; i < ids.Length; i++) builder.Append(ids.GetValue(i)!.Value + offset);
        var arrays = batch.Arrays.ToList();
        arrays[index] = builder.Build();
        return new RecordBatch(batch.Schema, arrays, batch.Length);
    }

    /// <summary>The largest working set of this process seen while it lives (sampled every 20 ms).</summary>
    private sealed class PeakSampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private long _peak;

        public PeakSampler()
        {
            _loop = Task.Run(async () =>
            {
                using var process = Process.GetCurrentProcess();
                while (!_stop.IsCancellationRequested)
                {
                    process.Refresh();
                    _peak = Math.Max(_peak, process.WorkingSet64);
                    try { await Task.Delay(20, _stop.Token); } catch (OperationCanceledException) { }
                }
            });
        }

        public long Peak => Interlocked.Read(ref _peak);

        public void Dispose()
        {
            _stop.Cancel();
            _loop.Wait();
            _stop.Dispose();
        }
    }
}
