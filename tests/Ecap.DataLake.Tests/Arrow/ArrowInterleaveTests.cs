using Apache.Arrow;
using Ecap.DataLake.Tests.Parquet;
using Xunit;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Arrow;

public class ArrowInterleaveTests
{
    [Fact]
    public void Take_gathers_runs_of_rows_from_several_batches_for_every_column_type()
    {
        // Three sources, one of them a slice (non-zero offsets); every type of TestBatches (nulls, strings, a struct).
        RecordBatch[] sources = [TestBatches.Make(0, 300), TestBatches.Make(1000, 500).Slice(123, 200), TestBatches.Make(5000, 50)];
        (int Source, int Start, int Length)[] runs = [(1, 0, 1), (0, 10, 40), (2, 49, 1), (1, 1, 199), (0, 0, 10), (0, 299, 1), (2, 0, 49), (0, 50, 3)];

        var taken = ArrowInterleave.Take(sources[0].Schema, sources, runs.Select(r => r.Source).ToArray(), runs.Select(r => r.Start).ToArray(),
            runs.Select(r => r.Length).ToArray());

        var expected = runs.SelectMany(r => Enumerable.Range(r.Start, r.Length).Select(row => (r.Source, Row: row))).ToList();
        Assert.Equal(expected.Count, taken.Length);
        for (var c = 0; c < taken.ColumnCount; c++)
        {
            var nulls = 0;
            for (var i = 0; i < expected.Count; i++)
            {
                var (s, row) = expected[i];
                Assert.Equal(ParquetWriterTests.Value(sources[s].Column(c), row), ParquetWriterTests.Value(taken.Column(c), i));
                if (taken.Column(c).IsNull(i)) nulls++;
            }
            Assert.Equal(nulls, taken.Column(c).NullCount);
        }
    }

    [Fact]
    public void Take_rejects_rows_outside_a_source()
    {
        RecordBatch[] sources = [TestBatches.Make(0, 10)];
        Assert.Throws<ArgumentOutOfRangeException>(() => ArrowInterleave.Take(sources[0].Schema, sources, [0], [5], [6]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ArrowInterleave.Take(sources[0].Schema, sources, [1], [0], [1]));
    }
}
