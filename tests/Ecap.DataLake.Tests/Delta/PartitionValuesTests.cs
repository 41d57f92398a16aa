using Apache.Arrow.Types;
using Ecap.DataLake.Delta;
using Xunit;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>Partition values in the log (protocol serialization) and in directory names (Hive escaping).</summary>
public class PartitionValuesTests
{
    [Fact]
    public void Values_SerializeAsTheProtocolSays_AndParseBack()
    {
        var ts = new TimestampType(TimeUnit.Microsecond, "UTC");
        var at = new DateTimeOffset(2021, 9, 8, 11, 11, 11, TimeSpan.Zero).AddTicks(1234560);
        Assert.Equal("2021-09-08T11:11:11.123456Z", PartitionValues.Serialize(at, ts));
        Assert.Equal(at, PartitionValues.Parse("2021-09-08T11:11:11.123456Z", ts));
        Assert.Equal(new DateTimeOffset(2021, 9, 8, 11, 11, 11, TimeSpan.Zero), PartitionValues.Parse("2021-09-08 11:11:11", ts));
        Assert.Equal("2021-09-08", PartitionValues.Serialize(new DateOnly(2021, 9, 8), Date32Type.Default));
        Assert.Equal(new DateOnly(2021, 9, 8), PartitionValues.Parse("2021-09-08", Date32Type.Default));
        Assert.Equal("true", PartitionValues.Serialize(true, BooleanType.Default));
        Assert.Equal("-2342342.23423", PartitionValues.Serialize(-2342342.23423m, new Decimal128Type(12, 5)));
        Assert.Equal(42L, PartitionValues.Parse("42", Int64Type.Default));
        Assert.Null(PartitionValues.Serialize(null, Int64Type.Default));
        Assert.Null(PartitionValues.Parse(null, Int64Type.Default));
        Assert.Null(PartitionValues.Parse("", Int32Type.Default));
        Assert.Throws<CorruptTableException>(() => PartitionValues.Parse("x", Int32Type.Default));
    }

    [Theory]
    [InlineData("bar+%21", "_2=bar+%2521")]
    [InlineData("a/b=c:d", "_2=a%2Fb%3Dc%3Ad")]
    [InlineData("plain value", "_2=plain value")]
    [InlineData(null, "_2=__HIVE_DEFAULT_PARTITION__")]
    public void DirectoryNames_EscapeLikeHive(string? value, string segment)
    {
        Assert.Equal(segment, Ecap.DataLake.Tables.Partitioning.PartitionPath.Build([new KeyValuePair<string, string?>("_2", value)]).TrimEnd('/'));
        if (value is not null) Assert.Equal(value, Ecap.DataLake.Tables.Partitioning.PartitionPath.Unescape(segment[3..]));
    }

    [Fact]
    public void GoldenEscapedChars_DirectoryThenLogPath()
    {
        // value bar+%21 -> directory _2=bar+%2521 -> log path _2=bar+%252521 (golden data-reader-escaped-chars)
        var key = Ecap.DataLake.Tables.Partitioning.PartitionPath.Build([new KeyValuePair<string, string?>("_2", "bar+%21")]) + "part-0.parquet";
        Assert.Equal("_2=bar+%252521/part-0.parquet", AddFile.EncodePath(key));
    }
}
