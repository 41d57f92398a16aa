using Apache.Arrow.Types;
using Ecap.DataLake.Expressions;
using Xunit;

namespace Ecap.DataLake.Tests.Expressions;

public class StatsEvaluatorTests
{
    private static readonly TimestampType Ts = new(TimeUnit.Microsecond, "UTC");

    private static Func<string, ColumnBounds?> Bounds(params (string Name, ColumnBounds Bounds)[] columns) =>
        name => columns.FirstOrDefault(c => c.Name == name).Bounds;

    private static ColumnBounds Long(long? min, long? max, long? nulls = 0, long? rows = 100) => new(Int64Type.Default, min, max, nulls, rows);

    [Theory]
    [InlineData("x = 5", false)]
    [InlineData("x = 15", true)]
    [InlineData("x = 50", false)]
    [InlineData("x != 5", true)]
    [InlineData("x > 20", false)]
    [InlineData("x >= 20", true)]
    [InlineData("x < 10", false)]
    [InlineData("x <= 10", true)]
    [InlineData("x IN (1, 2, 30)", false)]
    [InlineData("x IN (1, 15)", true)]
    [InlineData("NOT x > 5", false)]
    [InlineData("NOT x > 15", true)]
    [InlineData("NOT x >= 10", false)]
    [InlineData("x > 25 OR x < 5", false)]
    [InlineData("x > 25 OR x < 11", true)]
    [InlineData("x > 15 AND x < 12", true)] // columns are bounded independently: conservative
    [InlineData("x > 15 AND x < 5", false)]
    [InlineData("x > 10.5", true)]
    [InlineData("x > 20.5", false)]
    [InlineData("x IS NULL", false)]
    [InlineData("x IS NOT NULL", true)]
    [InlineData("NOT x IS NOT NULL", false)]
    [InlineData("missing = 1", true)]
    [InlineData("x = NULL", false)]
    [InlineData("NOT x = NULL", false)]
    [InlineData("x = 'not a number'", true)]
    public void Bounds_10_to_20_without_nulls(string predicate, bool canMatch) =>
        Assert.Equal(canMatch, StatsEvaluator.CanMatch(Predicate.Parse(predicate), Bounds(("x", Long(10, 20)))));

    [Fact]
    public void Mixed_numeric_comparisons_are_exact()
    {
        Assert.True(ValueDomain.Compare(9_007_199_254_740_993L, 9_007_199_254_740_992.0) > 0);
        Assert.True(ValueDomain.Compare(9_007_199_254_740_992.0, 9_007_199_254_740_993L) < 0);
        Assert.Equal(0, ValueDomain.Compare(5L, 5.0));
        Assert.True(ValueDomain.Compare(0.1m, 0.1) < 0); // the double 0.1 is 0.1000000000000000055...
        Assert.True(ValueDomain.Compare(-0.5m, -0.5000001) > 0);
        Assert.True(ValueDomain.Compare(long.MaxValue, 1e300) < 0);
        Assert.True(ValueDomain.Compare(long.MinValue, double.NegativeInfinity) > 0);
        Assert.True(ValueDomain.Compare(123456789012345678L, 123456789012345680.0) < 0);
        var b = Bounds(("x", Long(123456789012345678L, 123456789012345678L)));
        Assert.True(StatsEvaluator.CanMatch(new Comparison("x", ComparisonOp.Equal, 123456789012345678L), b));
        Assert.False(StatsEvaluator.CanMatch(new Comparison("x", ComparisonOp.GreaterThan, 123456789012345678.0 + 100), b));
    }

    [Fact]
    public void Constant_column_can_not_be_unequal()
    {
        var b = Bounds(("x", Long(7, 7)));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("x != 7"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("NOT x = 7"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("NOT x IN (7, 8)"), b));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x != 8"), b));
    }

    [Fact]
    public void Missing_stats_never_skip()
    {
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x > 1000"), _ => null));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x > 1000"), Bounds(("x", Long(null, null, null, null)))));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x > 1000"), Bounds(("x", Long(10, null)))));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x < 0"), Bounds(("x", Long(null, 20)))));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x IS NULL"), Bounds(("x", Long(10, 20, nulls: null)))));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x IS NOT NULL"), Bounds(("x", Long(null, null, nulls: 100, rows: null)))));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("NOT (x > 1000)"), Bounds(("x", Long(null, null, null, null)))));
    }

    [Fact]
    public void Null_counts_decide_is_null_and_all_null_columns()
    {
        var allNull = Bounds(("x", Long(null, null, nulls: 100, rows: 100)));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x IS NULL"), allNull));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("x IS NOT NULL"), allNull));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("x = 1"), allNull));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("NOT x = 1"), allNull));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x = 1 OR x IS NULL"), allNull));
        var someNull = Bounds(("x", Long(1, 5, nulls: 3)));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x IS NULL"), someNull));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("x IS NOT NULL"), someNull));
    }

    [Fact]
    public void Timestamps_compare_with_string_and_typed_literals()
    {
        var min = new DateTimeOffset(2024, 10, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1000;
        var max = new DateTimeOffset(2024, 10, 31, 23, 59, 59, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1000 + 999_999;
        var b = Bounds(("ts", new ColumnBounds(Ts, min, max, 0, 10)));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("ts >= '2024-10-15'"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("ts >= '2024-11-01'"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("ts < '2024-10-01T00:00:00Z'"), b));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("ts <= '2024-10-01T00:00:00Z'"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("ts > '2024-10-31T23:59:59.999999Z'"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("ts > '2024-11-01T03:00:00+02:00'"), b));
        Assert.True(StatsEvaluator.CanMatch(new Comparison("ts", ComparisonOp.Equal, new DateTime(2024, 10, 5, 0, 0, 0, DateTimeKind.Utc)), b));
        Assert.False(StatsEvaluator.CanMatch(new Comparison("ts", ComparisonOp.Equal, new DateOnly(2024, 9, 5)), b));
    }

    [Fact]
    public void Strings_decimals_doubles_dates_and_bools()
    {
        var b = Bounds(
            ("s", new ColumnBounds(StringType.Default, "apple", "mango", 0, 10)),
            ("m", new ColumnBounds(new Decimal128Type(10, 2), 1.25m, 99.99m, 0, 10)),
            ("d", new ColumnBounds(DoubleType.Default, -1.5, 2.5, 0, 10)),
            ("day", new ColumnBounds(Date32Type.Default, 19_997L, 19_999L, 0, 10)), // 2024-10-01..03
            ("f", new ColumnBounds(BooleanType.Default, false, false, 0, 10)));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("s = 'banana'"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("s = 'zebra'"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("s < 'apple'"), b));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("m = 1.25"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("m > 100"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("d > 2.5"), b));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("d >= 2"), b));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("day = '2024-10-02'"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("day > DATE '2024-10-03'"), b));
        Assert.False(StatsEvaluator.CanMatch(Predicate.Parse("f = true"), b));
        Assert.True(StatsEvaluator.CanMatch(Predicate.Parse("f = false"), b));
    }
}
