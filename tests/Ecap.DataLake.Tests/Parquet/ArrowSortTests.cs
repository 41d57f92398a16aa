using Apache.Arrow;
using Ecap.DataLake.Parquet;
using Xunit;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Parquet;

public class ArrowSortTests
{
    private static List<int> Reference(RecordBatch batch, IReadOnlyList<SortKey> keys)
    {
        IOrderedEnumerable<int>? ordered = null;
        var rows = Enumerable.Range(0, batch.Length);
        foreach (var k in keys)
        {
            var col = batch.Column(k.Column);
            Func<int, (int, IComparable?)> sel = i =>
                col.IsNull(i) ? (k.NullsFirst ? -1 : 1, null) : (0, ParquetWriterTests.Value(col, i) is IComparable c ? c : null);
            var cmp = Comparer<(int Bucket, IComparable? V)>.Create((x, y) =>
                x.Bucket != y.Bucket ? x.Bucket.CompareTo(y.Bucket)
                : x.V is null ? 0 : (k.Descending ? -1 : 1) * (x.V is string sx ? string.CompareOrdinal(sx, (string)y.V!) : x.V.CompareTo(y.V)));
            ordered = ordered is null ? rows.OrderBy(sel, cmp) : ordered.ThenBy(sel, cmp);
        }
        return ordered!.ToList();
    }

    [Theory]
    [InlineData("ts", false, false)]
    [InlineData("ts", true, true)]
    [InlineData("small", false, true)]
    [InlineData("status,small", false, false)]
    [InlineData("name", true, false)]
    [InlineData("price,id", false, false)]
    [InlineData("amount", true, false)]
    [InlineData("day,flag", false, true)]
    public void Sort_indices_match_a_stable_reference_order(string columns, bool descending, bool nullsFirst)
    {
        var batch = ArrowSort.Concat([TestBatches.Make(0, 700), TestBatches.Make(5000, 600).Slice(100, 400)]);
        var keys = columns.Split(',').Select(c => new SortKey(c, descending, nullsFirst)).ToList();
        Assert.Equal(Reference(batch, keys), ArrowSort.SortIndices(batch, keys));
        var sorted = ArrowSort.Sort(batch, keys);
        Assert.Equal(batch.Length, sorted.Length);
    }
}
