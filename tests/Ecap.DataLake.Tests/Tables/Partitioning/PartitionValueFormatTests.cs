using Apache.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Xunit;
using static Ecap.DataLake.Tests.Tables.Partitioning.BatchPartitionerTests;

namespace Ecap.DataLake.Tests.Tables.Partitioning;

public class PartitionValueFormatTests
{
    [Fact]
    public void Values_are_serialized_as_delta_partition_strings()
    {
        Assert.Equal("-42", PartitionValues.Format(Int64(-42), 0));
        Assert.Equal("7", PartitionValues.Format(Int32s(7), 0));
        Assert.Equal("a/b", PartitionValues.Format(Strings("a/b"), 0));
        Assert.Null(PartitionValues.Format(Strings(""), 0)); // the protocol reads an empty string as null
        Assert.Null(PartitionValues.Format(Strings([null]), 0));
        Assert.Equal("true", PartitionValues.Format(Bools(true), 0));
        Assert.Equal("2024-02-29", PartitionValues.Format(Date32s((int)(new DateTime(2024, 2, 29) - DateTime.UnixEpoch).TotalDays), 0));
        Assert.Equal("1969-12-31", PartitionValues.Format(Date32s(-1), 0));
        Assert.Equal("2024-10-05T23:59:59.999999Z",
            PartitionValues.Format(Timestamps((new DateTime(2024, 10, 6).Ticks - DateTime.UnixEpoch.Ticks) / 10 - 1), 0));
        Assert.Equal("1969-12-31T23:59:59.999999Z", PartitionValues.Format(Timestamps(-1), 0));
        Assert.Equal("-1234.50", PartitionValues.Format(Decimals(-1234.5m), 0));
        Assert.Equal("0.05", PartitionValues.Format(Decimals(0.05m), 0));
        Assert.Equal("1.5", PartitionValues.Format(Doubles(1.5), 0));
    }

    [Fact]
    public void Partitioning_by_date_and_timestamp_columns_uses_their_delta_strings()
    {
        var batch = Batch(("d", Date32s(0, 0, 1)), ("t", Timestamps(1_500_000, 1_500_000, 0)), ("id", Int64(3, 1, 2)));
        var groups = new BatchPartitioner(PartitionStrategy.Custom(["d", "t"], ["id"])).Partition(batch);
        Assert.Equal(["d=1970-01-01/t=1970-01-01T00%3A00%3A01.500000Z/", "d=1970-01-02/t=1970-01-01T00%3A00%3A00.000000Z/"],
            groups.Select(g => g.Directory));
        Assert.Equal([1L, 3L], ArrowRows.Column(groups[0].Rows, "id"));
    }
}

public class PartitionKeyTests
{
    [Fact]
    public void An_empty_log_value_is_the_same_partition_as_null()
    {
        // Older ecap versions wrote "" for an empty string partition value; it is null by the protocol and now written as null.
        string[] columns = ["k", "n"];
        Assert.Equal(DataLakeStorage.PartitionKey(new Dictionary<string, string?> { ["k"] = null, ["n"] = "1" }, columns),
            DataLakeStorage.PartitionKey(new Dictionary<string, string?> { ["k"] = "", ["n"] = "1" }, columns));
        Assert.NotEqual(DataLakeStorage.PartitionKey(new Dictionary<string, string?> { ["k"] = "null", ["n"] = "1" }, columns),
            DataLakeStorage.PartitionKey(new Dictionary<string, string?> { ["k"] = null, ["n"] = "1" }, columns));
    }
}

public class NestedColumnTests
{
    [Fact]
    public void Columns_of_other_types_such_as_lists_are_carried_through_by_the_slice_fallback()
    {
        var lists = new ListArray.Builder(Apache.Arrow.Types.Int64Type.Default);
        var valueBuilder = (Int64Array.Builder)lists.ValueBuilder;
        long[][] data = [[1], [2, 2], [], [4, 4, 4], [5]];
        for (int i = 0; i < data.Length; i++)
        {
            if (i == 2) { lists.AppendNull(); continue; }
            lists.Append();
            foreach (var v in data[i]) valueBuilder.Append(v);
        }
        var batch = Batch(("k", Strings("a", "b", "a", "b", "a")), ("id", Int64(5, 4, 3, 2, 1)), ("tags", lists.Build()));
        var groups = new BatchPartitioner(PartitionStrategy.Custom(["k"], ["id"])).Partition(batch);
        var a = groups.Single(g => g.PartitionValues["k"] == "a").Rows;
        var tags = (ListArray)a.Column(a.Schema.GetFieldIndex("tags"));
        Assert.Equal([1L, 3L, 5L], ArrowRows.Column(a, "id"));
        Assert.Equal([5L], ((Int64Array)tags.GetSlicedValues(0)).Values.ToArray());
        Assert.True(tags.IsNull(1));
        Assert.Equal([1L], ((Int64Array)tags.GetSlicedValues(2)).Values.ToArray());
        var b = groups.Single(g => g.PartitionValues["k"] == "b").Rows;
        var btags = (ListArray)b.Column(b.Schema.GetFieldIndex("tags"));
        Assert.Equal([4L, 4L, 4L], ((Int64Array)btags.GetSlicedValues(0)).Values.ToArray());
        Assert.Equal([2L, 2L], ((Int64Array)btags.GetSlicedValues(1)).Values.ToArray());
    }
}
