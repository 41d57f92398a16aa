using Ecap.DataLake.Tables.Partitioning;
using Xunit;

namespace Ecap.DataLake.Tests.Tables.Partitioning;

public class DataTypeTests
{
    [Theory]
    [InlineData("transactions", DataType.Transactions)]
    [InlineData("user_events", DataType.UserEvents)]
    [InlineData("product_updates", DataType.ProductUpdates)]
    [InlineData("analytics_results", DataType.AnalyticsResults)]
    [InlineData("customer_profiles", DataType.CustomerProfiles)]
    [InlineData(" User_Events ", DataType.UserEvents)]
    public void Parse_accepts_snake_case_names(string name, DataType expected)
    {
        Assert.Equal(expected, DataTypes.Parse(name));
        Assert.Equal(name.Trim().ToLowerInvariant(), expected.ToName());
    }

    [Fact]
    public void Parse_of_an_unknown_name_lists_the_valid_ones()
    {
        var e = Assert.Throws<InvalidInputException>(() => DataTypes.Parse("orders"));
        Assert.Contains("'orders'", e.Message);
        foreach (var name in DataTypes.ValidNames) Assert.Contains(name, e.Message);
    }
}

public class DataFileNameTests
{
    private static readonly Guid Id = Guid.Parse("1b4e28ba-2fa1-11d2-883f-0016d3cca427");

    [Fact]
    public void Name_has_sequence_uuid_and_codec() =>
        Assert.Equal("part-00003-1b4e28ba-2fa1-11d2-883f-0016d3cca427.snappy.parquet", DataFileName.Create(3, Id));

    [Fact]
    public void Name_of_a_bucketed_file_carries_the_bucket() =>
        Assert.Equal("part-00012-1b4e28ba-2fa1-11d2-883f-0016d3cca427-b07.zstd.parquet", DataFileName.Create(12, Id, 7, "zstd"));

    [Fact]
    public void Names_parse_back_with_or_without_a_directory()
    {
        Assert.True(DataFileName.TryParse("year=2024/" + DataFileName.Create(42, Id, 3), out var seq, out var id, out var bucket, out var codec));
        Assert.Equal((42, Id, (int?)3, "snappy"), (seq, id, bucket, codec));
        Assert.True(DataFileName.TryParse(DataFileName.Create(1, Id), out _, out _, out bucket, out _));
        Assert.Null(bucket);
        Assert.False(DataFileName.TryParse("00000000000000000001.json", out _, out _, out _, out _));
    }
}

public class PartitionStrategyTests
{
    [Theory]
    [InlineData(DataType.Transactions, "timestamp", "year/month/day", "transaction_id")]
    [InlineData(DataType.UserEvents, "event_timestamp", "year/month/day/event_type", "session_id,event_timestamp")]
    [InlineData(DataType.ProductUpdates, "updated_at", "category/year/month", "product_id")]
    [InlineData(DataType.AnalyticsResults, "computed_at", "result_type/year/month", "computation_id")]
    [InlineData(DataType.CustomerProfiles, null, "customer_segment/region", "customer_id")]
    public void Built_in_strategies_match_the_table_of_the_design(DataType type, string? time, string partitions, string sort)
    {
        var s = PartitionStrategy.For(type);
        Assert.Equal(time, s.TimeColumn);
        Assert.Equal(partitions, string.Join('/', s.PartitionColumns));
        Assert.Equal(sort, string.Join(',', s.SortColumns));
        Assert.Equal(type == DataType.CustomerProfiles ? ("customer_id", 10) : (null, 0), (s.BucketColumn, s.BucketCount));
        Assert.All(s.DerivedColumns, d => Assert.Contains(d.Name, s.PartitionColumns));
    }

    [Theory]
    [MemberData(nameof(AllTypes))]
    public void Strategies_round_trip_through_table_properties(DataType type)
    {
        var s = PartitionStrategy.For(type);
        var back = PartitionStrategy.FromTableProperties(s.ToTableProperties())!;
        Assert.Equal(s.PartitionColumns, back.PartitionColumns);
        Assert.Equal(s.SortColumns, back.SortColumns);
        Assert.Equal(s.DerivedColumns, back.DerivedColumns);
        Assert.Equal((s.TimeColumn, s.BucketColumn, s.BucketCount, s.DataType), (back.TimeColumn, back.BucketColumn, back.BucketCount, back.DataType));
    }

    public static TheoryData<DataType> AllTypes => new(DataTypes.All);

    [Fact]
    public void Missing_or_malformed_table_properties()
    {
        Assert.Null(PartitionStrategy.FromTableProperties(new Dictionary<string, string>()));
        var bad = new Dictionary<string, string> { [PartitionStrategy.PropertyPrefix + "partitionColumns"] = "[not json" };
        Assert.Throws<CorruptTableException>(() => PartitionStrategy.FromTableProperties(bad));
    }
}
