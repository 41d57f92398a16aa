using Ecap.DataLake.Expressions;
using Xunit;

namespace Ecap.DataLake.Tests.Expressions;

public class PredicateParserTests
{
    [Fact]
    public void Parses_the_documented_example_with_precedence()
    {
        var p = Predicate.Parse("amount > 100 AND (status IN ('paid','shipped') OR country = 'DE') AND coupon IS NULL");
        var expected = new And(
            new And(
                new Comparison("amount", ComparisonOp.GreaterThan, 100L),
                new Or(new InList("status", ["paid", "shipped"]), new Comparison("country", ComparisonOp.Equal, "DE"))),
            new IsNull("coupon"));
        Assert.Equal(expected, p);
        Assert.Equal(["amount", "status", "country", "coupon"], p.Columns());
    }

    [Fact]
    public void And_binds_tighter_than_or()
    {
        var p = Predicate.Parse("a = 1 OR b = 2 AND c = 3");
        Assert.Equal(new Or(new Comparison("a", ComparisonOp.Equal, 1L),
            new And(new Comparison("b", ComparisonOp.Equal, 2L), new Comparison("c", ComparisonOp.Equal, 3L))), p);
    }

    [Theory]
    [InlineData("x = 1", ComparisonOp.Equal)]
    [InlineData("x == 1", ComparisonOp.Equal)]
    [InlineData("x != 1", ComparisonOp.NotEqual)]
    [InlineData("x <> 1", ComparisonOp.NotEqual)]
    [InlineData("x < 1", ComparisonOp.LessThan)]
    [InlineData("x <= 1", ComparisonOp.LessThanOrEqual)]
    [InlineData("x > 1", ComparisonOp.GreaterThan)]
    [InlineData("x >= 1", ComparisonOp.GreaterThanOrEqual)]
    [InlineData("1 < x", ComparisonOp.GreaterThan)]
    [InlineData("1 >= x", ComparisonOp.LessThanOrEqual)]
    public void Parses_operators(string text, ComparisonOp op) =>
        Assert.Equal(new Comparison("x", op, 1L), Predicate.Parse(text));

    [Fact]
    public void Parses_literals_and_identifiers()
    {
        Assert.Equal(new Comparison("my col", ComparisonOp.Equal, "it's"), Predicate.Parse("\"my col\" = 'it''s'"));
        Assert.Equal(new Comparison("q\"x", ComparisonOp.Equal, true), Predicate.Parse("\"q\"\"x\" = TRUE"));
        Assert.Equal(new Comparison("x", ComparisonOp.Equal, -1.5m), Predicate.Parse("x = -1.5"));
        Assert.Equal(new Comparison("x", ComparisonOp.Equal, 1e3), Predicate.Parse("x = 1e3"));
        Assert.Equal(new Comparison("x", ComparisonOp.Equal, null), Predicate.Parse("x = NULL"));
        Assert.Equal(new Comparison("d", ComparisonOp.GreaterThanOrEqual, new DateOnly(2024, 10, 1)), Predicate.Parse("d >= DATE '2024-10-01'"));
        Assert.Equal(new Comparison("ts", ComparisonOp.LessThan, new DateTimeOffset(2024, 10, 1, 12, 0, 0, TimeSpan.Zero)),
            Predicate.Parse("ts < TIMESTAMP '2024-10-01T12:00:00Z'"));
        Assert.Equal(new Comparison("ts", ComparisonOp.GreaterThanOrEqual, "2024-10-01"), Predicate.Parse("ts >= '2024-10-01'"));
        Assert.Equal(new Comparison("a.b_c1", ComparisonOp.Equal, 5L), Predicate.Parse("a.b_c1=5"));
        Assert.Equal(new Not(new IsNotNull("x")), Predicate.Parse("not x is not null"));
        Assert.Equal(new Not(new InList("s", ["a"])), Predicate.Parse("s NOT IN ('a')"));
        Assert.Equal(new And(new Comparison("x", ComparisonOp.GreaterThanOrEqual, 1L), new Comparison("x", ComparisonOp.LessThanOrEqual, 5L)),
            Predicate.Parse("x BETWEEN 1 AND 5"));
        Assert.Equal(new Comparison("order", ComparisonOp.Equal, 1L), Predicate.Parse("\"order\" = 1"));
    }

    [Fact]
    public void To_string_parses_back_to_the_same_predicate()
    {
        var p = Predicate.Parse("amount > 100.5 AND NOT (status IN ('paid','it''s') OR \"weird name\" = 'DE') AND coupon IS NOT NULL");
        Assert.Equal(p, Predicate.Parse(p.ToString()!));
    }

    [Theory]
    [InlineData("", 1, "ended")]
    [InlineData("amount >", 9, "ended")]
    [InlineData("amount > 100 AND", 17, "ended")]
    [InlineData("amount 100", 8, "expected an operator")]
    [InlineData("(a = 1", 7, "')'")]
    [InlineData("a = 1)", 6, "unexpected")]
    [InlineData("a = 'abc", 5, "unterminated string")]
    [InlineData("\"abc = 1", 1, "unterminated quoted identifier")]
    [InlineData("a IN (1, 2", 11, "')'")]
    [InlineData("a IS 1", 6, "NULL")]
    [InlineData("a = b", 5, "expected a value")]
    [InlineData("= 1", 1, "column name")]
    [InlineData("a = DATE '2024-13-01'", 5, "DATE")]
    public void Bad_syntax_reports_the_position(string text, int position1Based, string fragment)
    {
        var ex = Assert.Throws<PredicateSyntaxException>(() => Predicate.Parse(text));
        Assert.Equal(position1Based - 1, ex.Position);
        Assert.Contains(fragment, ex.Message);
        Assert.Contains($"position {position1Based}", ex.Message);
    }

    [Theory]
    [InlineData("(", ")")]
    [InlineData("NOT (", ")")]
    [InlineData("NOT ", "")]
    public void A_filter_nested_30000_deep_is_bad_input_not_a_stack_overflow(string open, string close)
    {
        var text = string.Concat(Enumerable.Repeat(open, 30_000)) + "a = 1" + string.Concat(Enumerable.Repeat(close, 30_000));
        var e = Assert.ThrowsAny<InvalidInputException>(() => Predicate.Parse(text));
        Assert.Contains("256", e.Message);
        // 256 levels still parse
        var ok = string.Concat(Enumerable.Repeat("(", 256)) + "a = 1" + string.Concat(Enumerable.Repeat(")", 256));
        Assert.Equal(new Comparison("a", ComparisonOp.Equal, 1L), Predicate.Parse(ok));
    }

    [Fact]
    public void A_long_chain_of_terms_parses_shallow_and_every_recursive_path_copes()
    {
        var text = string.Join(" OR ", Enumerable.Range(0, 20_000).Select(i => $"a = {i}"));
        var p = Predicate.Parse(text);
        Assert.Equal(["a"], p.Columns());
        Assert.Contains("a = 19999", p.ToString());
        var schema = new Apache.Arrow.Schema([new Apache.Arrow.Field("a", Apache.Arrow.Types.Int64Type.Default, true)], null);
        var batch = new Apache.Arrow.RecordBatch(schema, [new Apache.Arrow.Int64Array.Builder().Append(5).Append(20_000).Build()], 2);
        Assert.Equal(1, RowFilter.Filter(batch, p).Length);
        Assert.True(StatsEvaluator.CanMatch(p, _ => null));
        Assert.Equal(p, Predicate.Parse(text)); // record equality recurses too
    }

    [Fact]
    public void A_deep_predicate_built_in_code_is_refused_before_it_is_evaluated()
    {
        Predicate p = new Comparison("a", ComparisonOp.Equal, 0L);
        for (var i = 1; i < 30_000; i++) p = p & new Comparison("a", ComparisonOp.Equal, (long)i);
        Assert.Throws<InvalidInputException>(() => Predicate.EnsureDepth(p));
    }
}
