using System.Diagnostics;
using Apache.Arrow;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Xunit;
using Xunit.Abstractions;

namespace Ecap.DataLake.Tests.Tables.Partitioning;

/// <summary>
/// Throughput measurement, not a test: runs only when ECAP_BENCH=1 (use a Release build) and
/// prints rows/s of the generator and of the partitioner on 5M transactions over 90 days in 1M-row batches.
/// </summary>
public class PartitionerThroughput(ITestOutputHelper output)
{
    [Fact]
    public void Measure_partitioner_rows_per_second_when_ECAP_BENCH_is_set()
    {
        if (Environment.GetEnvironmentVariable("ECAP_BENCH") != "1") return;
        var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        foreach (var type in new[] { DataType.Transactions, DataType.UserEvents, DataType.CustomerProfiles })
        {
            long rows = type == DataType.Transactions ? 5_000_000 : 2_000_000;
            var sw = Stopwatch.StartNew();
            var batches = SampleDataGenerator.Generate(type, rows, seed: 1, batchSize: 1_000_000, start, days: 90).ToList();
            var generate = sw.Elapsed;
            var partitioner = new BatchPartitioner(PartitionStrategy.For(type));
            partitioner.Partition(batches[0]); // warm up the JIT
            long groups = 0, outRows = 0;
            var best = TimeSpan.MaxValue;
            var bestCpu = TimeSpan.MaxValue;
            for (int rep = 0; rep < 3; rep++)
            {
                GC.Collect();
                groups = 0; outRows = 0;
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                sw.Restart();
                foreach (var batch in batches)
                {
                    var result = partitioner.Partition(batch);
                    groups += result.Count;
                    foreach (var g in result) outRows += g.Rows.Length;
                }
                var wall = sw.Elapsed;
                var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
                if (wall < best) best = wall;
                if (cpu < bestCpu) bestCpu = cpu;
            }
            var partition = best;
            Assert.Equal(rows, outRows);
            output.WriteLine($"{type.ToName()}: {rows:N0} rows; generate {rows / generate.TotalSeconds:N0} rows/s ({generate.TotalMilliseconds:N0} ms); " +
                $"partition {rows / partition.TotalSeconds:N0} rows/s ({partition.TotalMilliseconds:N0} ms wall, {bestCpu.TotalMilliseconds:N0} ms process CPU, best of 3, {groups} groups)");
        }
    }
}
