using Ecap.DataLake.Delta;
using Xunit;

namespace Ecap.DataLake.Tests.Delta;

public class PartitionPathTests
{
    [Theory]
    [InlineData("a/b", "a%2Fb")]
    [InlineData("x=y", "x%3Dy")]
    [InlineData("100%", "100%25")]
    [InlineData("with space", "with space")]
    [InlineData("10:30", "10%3A30")]
    [InlineData("a#b?c*d", "a%23b%3Fc%2Ad")]
    [InlineData("{[x]}^", "%7B%5Bx%5D}%5E")]
    [InlineData("q\"'\\", "q%22%27%5C")]
    [InlineData("tab\there\nnl", "tab%09here%0Anl")]
    [InlineData("del\u007F", "del%7F")]
    [InlineData("ünïcødé 日本", "ünïcødé 日本")]
    [InlineData("plain-value_1.2", "plain-value_1.2")]
    public void Escape_follows_spark_escapePathName(string value, string escaped) =>
        Assert.Equal(escaped, PartitionPath.Escape(value));

    [Theory]
    [InlineData("a/b")]
    [InlineData("x=y")]
    [InlineData("100%")]
    [InlineData("%25 already escaped?")]
    [InlineData(" leading and trailing ")]
    [InlineData("ünïcødé 日本 🚀")]
    [InlineData("\u0001\u001F\u007F")]
    [InlineData("a%zz%")]
    public void Escape_then_unescape_round_trips(string value)
    {
        Assert.Equal(value, PartitionPath.Unescape(PartitionPath.Escape(value)));
        Assert.Equal(value, PartitionPath.UnescapeValue(PartitionPath.EscapeValue(value)));
    }

    [Fact]
    public void Null_and_empty_values_are_the_hive_default_partition()
    {
        Assert.Equal("__HIVE_DEFAULT_PARTITION__", PartitionPath.EscapeValue(null));
        Assert.Equal("__HIVE_DEFAULT_PARTITION__", PartitionPath.EscapeValue(""));
        Assert.Null(PartitionPath.UnescapeValue("__HIVE_DEFAULT_PARTITION__"));
    }

    [Fact]
    public void Unescape_keeps_a_percent_that_is_not_followed_by_two_hex_digits() =>
        Assert.Equal("50%off%2", PartitionPath.Unescape("50%off%2"));

    [Fact]
    public void Build_joins_columns_in_order_with_trailing_slash()
    {
        var values = new Dictionary<string, string?> { ["day"] = "5", ["year"] = "2024", ["month"] = "10" };
        Assert.Equal("year=2024/month=10/day=5/", PartitionPath.Build(["year", "month", "day"], values));
        Assert.Equal("", PartitionPath.Build([], values));
    }

    [Fact]
    public void Build_escapes_values_and_parse_reads_them_back()
    {
        var values = new Dictionary<string, string?> { ["category"] = "home/garden=50%", ["region"] = null };
        var path = PartitionPath.Build(["category", "region"], values);
        Assert.Equal("category=home%2Fgarden%3D50%25/region=__HIVE_DEFAULT_PARTITION__/", path);
        var parsed = PartitionPath.Parse(path + "part-00000-x.snappy.parquet");
        Assert.Equal([new("category", "home/garden=50%"), new("region", null)], parsed);
    }

    [Fact]
    public void Build_without_a_value_for_a_column_is_an_error() =>
        Assert.Throws<DataLakeException>(() => PartitionPath.Build(["year"], new Dictionary<string, string?>()));
}
