using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Tests.Parquet;
using Xunit;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Arrow;

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

    private static RecordBatch One(string name, IArrowArray array) =>
        new(new Schema.Builder().Field(new Field(name, array.Data.DataType, true)).Build(), [array], array.Length);

    [Fact]
    public void Floats_sort_in_total_order_with_NaN_largest_and_negative_zero_equal_to_zero()
    {
        var values = new DoubleArray.Builder().Append(double.NaN).Append(1.5).Append(-0.0).AppendNull().Append(0.0)
            .Append(double.NegativeInfinity).Append(double.NaN).Build();
        var batch = One("x", values);
        Assert.Equal([3, 5, 2, 4, 1, 0, 6], ArrowSort.SortIndices(batch, [new SortKey("x", NullsFirst: true)]));
        Assert.Equal([0, 6, 1, 2, 4, 5, 3], ArrowSort.SortIndices(batch, [new SortKey("x", Descending: true)]));
    }

    [Fact]
    public void Strings_sort_by_bytes_both_ways_and_ties_keep_their_order()
    {
        var values = new StringArray.Builder().Append("prefix-b").Append("prefix-a").AppendNull().Append("prefix-b")
            .Append("prefix-\u00e9").Append("prefix-").Build();
        var batch = One("s", values);
        Assert.Equal([5, 1, 0, 3, 4, 2], ArrowSort.SortIndices(batch, [new SortKey("s")]));
        Assert.Equal([2, 4, 0, 3, 1, 5], ArrowSort.SortIndices(batch, [new SortKey("s", Descending: true, NullsFirst: true)]));
    }

    [Fact]
    public void Wide_decimals_sort_descending_by_unscaled_value()
    {
        var type = new Decimal128Type(38, 0);
        var big = 12345678901234567890123456789m;
        var values = new Decimal128Array.Builder(type).Append(big).Append(-big).Append(1m).Append(big).Build();
        var batch = One("d", values);
        Assert.Equal([0, 3, 2, 1], ArrowSort.SortIndices(batch, [new SortKey("d", Descending: true)]));
        Assert.Equal([1, 2, 0, 3], ArrowSort.SortIndices(batch, [new SortKey("d")]));
    }

    [Fact]
    public void A_missing_sort_column_is_a_schema_mismatch() =>
        Assert.Throws<SchemaMismatchException>(() => ArrowSort.SortIndices(TestBatches.Make(0, 3), [new SortKey("nope")]));
}
