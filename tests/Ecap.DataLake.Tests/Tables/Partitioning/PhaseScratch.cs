using System.Diagnostics;
using Apache.Arrow;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Xunit;
using Xunit.Abstractions;

namespace Ecap.DataLake.Tests.Tables.Partitioning;

public class PhaseScratch(ITestOutputHelper output)
{
    [Fact]
    public void Phases()
    {
        if (Environment.GetEnvironmentVariable("ECAP_BENCH") != "1") return;
        var start = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var batch = SampleDataGenerator.Generate(DataType.Transactions, 1_000_000, 1, 1_000_000, start, 90).Single();
        var p = new BatchPartitioner(PartitionStrategy.For(DataType.Transactions));
        for (int rep = 0; rep < 3; rep++)
        {
            var sw = Stopwatch.StartNew();
            var t = p.AddDerivedColumns(batch);
            var a = sw.Elapsed.TotalMilliseconds;
            var c1 = GroupCodes.ForColumn(t.Column(t.Schema.GetFieldIndex("year")), out int n1);
            var c2 = GroupCodes.ForColumn(t.Column(t.Schema.GetFieldIndex("month")), out int n2);
            var c3 = GroupCodes.ForColumn(t.Column(t.Schema.GetFieldIndex("day")), out int n3);
            var b = sw.Elapsed.TotalMilliseconds;
            int count = n1;
            GroupCodes.Combine(c1, ref count, c2, n2);
            GroupCodes.Combine(c1, ref count, c3, n3);
            var c = sw.Elapsed.TotalMilliseconds;
            var perm = Enumerable.Range(0, batch.Length).OrderBy(i => c1[i]).ToArray();
            sw.Restart();
            foreach (var col in batch.Arrays) RowGather.Take(col, perm);
            var d = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            var sorter = new RowSorter(t, ["transaction_id"]);
            var e = sw.Elapsed.TotalMilliseconds;
            sw.Restart();
            p.Partition(batch);
            var f = sw.Elapsed.TotalMilliseconds;
            output.WriteLine($"derive {a:F0} codes {b - a:F0} combine {c - b:F0} gather-all {d:F0} sorter {e:F0} total {f:F0}");
        }
    }
}
