using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tests.Parquet;
using Ecap.TestSupport;
using Xunit;

namespace Ecap.DataLake.Tests.Expressions;

public class RowFilterTests
{
    private static readonly TimestampType Ts = new(TimeUnit.Microsecond, "UTC");
    private static readonly Decimal128Type Dec = new(10, 2);

    private static readonly Schema RandomSchema = new([
        new Field("i", Int64Type.Default, true), new Field("n", Int32Type.Default, true), new Field("d", DoubleType.Default, true),
        new Field("s", StringType.Default, true), new Field("t", Ts, true), new Field("m", Dec, true), new Field("b", BooleanType.Default, true),
        new Field("day", Date32Type.Default, true),
    ], null);

    private const long T0 = 1_727_740_800_000_000L; // 2024-10-01T00:00:00Z

    private static RecordBatch RandomBatch(Random r, int n)
    {
        var i = new Int64Array.Builder(); var n32 = new Int32Array.Builder(); var d = new DoubleArray.Builder();
        var s = new StringArray.Builder(); var t = new TimestampArray.Builder(Ts); var m = new Decimal128Array.Builder(Dec);
        var b = new BooleanArray.Builder(); var day = new Date32Array.Builder();
        string[] words = ["", "a", "ab", "b", "paid", "shipped", "DE", "zz", "é", "😀"];
        for (var k = 0; k < n; k++)
        {
            if (r.Next(6) == 0) i.AppendNull(); else i.Append(r.Next(-20, 20));
            if (r.Next(6) == 0) n32.AppendNull(); else n32.Append(r.Next(-5, 5));
            if (r.Next(6) == 0) d.AppendNull(); else d.Append(r.Next(-8, 8) * 0.5);
            if (r.Next(6) == 0) s.AppendNull(); else s.Append(words[r.Next(words.Length)]);
            if (r.Next(6) == 0) t.AppendNull(); else t.Append(DateTimeOffset.UnixEpoch.AddTicks((T0 + r.Next(0, 5) * 86_400_000_000L + r.Next(0, 3) * 500) * 10));
            if (r.Next(6) == 0) m.AppendNull(); else m.Append(r.Next(-400, 400) / 100m);
            if (r.Next(6) == 0) b.AppendNull(); else b.Append(r.Next(2) == 0);
            if (r.Next(6) == 0) day.AppendNull(); else day.Append(new DateTime(2024, 10, 1).AddDays(r.Next(0, 5)));
        }
        return new RecordBatch(RandomSchema, [i.Build(), n32.Build(), d.Build(), s.Build(), t.Build(), m.Build(), b.Build(), day.Build()], n);
    }

    private static Predicate RandomPredicate(Random r, int depth)
    {
        if (depth > 0 && r.Next(3) > 0)
        {
            return r.Next(3) switch
            {
                0 => new And(RandomPredicate(r, depth - 1), RandomPredicate(r, depth - 1)),
                1 => new Or(RandomPredicate(r, depth - 1), RandomPredicate(r, depth - 1)),
                _ => new Not(RandomPredicate(r, depth - 1)),
            };
        }
        var col = RandomSchema.FieldsList[r.Next(RandomSchema.FieldsList.Count)].Name;
        var kind = r.Next(10);
        if (kind == 0) return new IsNull(col);
        if (kind == 1) return new IsNotNull(col);
        object? Lit() => r.Next(25) == 0 ? null : col switch
        {
            "i" => r.Next(3) == 0 ? r.Next(-25, 25) + 0.5m : (object)(long)r.Next(-25, 25),
            "n" => r.Next(4) == 0 ? 1e12 : (object)(long)r.Next(-6, 6),
            "d" => r.Next(2) == 0 ? r.Next(-9, 9) * 0.5 : (object)(long)r.Next(-4, 4),
            "s" => new[] { "", "a", "ab", "b", "paid", "DE", "zz", "é", "😀", "c" }[r.Next(10)],
            "t" => r.Next(2) == 0 ? $"2024-10-0{r.Next(1, 6)}" : (object)$"2024-10-0{r.Next(1, 6)}T00:00:00.0005Z",
            "m" => r.Next(-400, 400) / 100m,
            "b" => r.Next(2) == 0,
            _ => new DateOnly(2024, 10, r.Next(1, 6)),
        };
        if (kind == 2) return new InList(col, Enumerable.Range(0, r.Next(1, 4)).Select(_ => Lit()).ToList());
        var op = (ComparisonOp)r.Next(6);
        if (col == "b") op = r.Next(2) == 0 ? ComparisonOp.Equal : ComparisonOp.NotEqual;
        return new Comparison(col, op, Lit());
    }

    /// <summary>Row-at-a-time reference: SQL three-valued logic over canonical values.</summary>
    private static bool? Naive(Predicate p, RecordBatch batch, int row)
    {
        switch (p)
        {
            case And a:
                {
                    var l = Naive(a.Left, batch, row); var rr = Naive(a.Right, batch, row);
                    return l == false || rr == false ? false : l == true && rr == true ? true : null;
                }
            case Or o:
                {
                    var l = Naive(o.Left, batch, row); var rr = Naive(o.Right, batch, row);
                    return l == true || rr == true ? true : l == false && rr == false ? false : null;
                }
            case Not n:
                return Naive(n.Inner, batch, row) is { } inner ? !inner : null;
            case IsNull c: return batch.Column(c.Column).IsNull(row);
            case IsNotNull c: return !batch.Column(c.Column).IsNull(row);
            case Comparison c:
                {
                    var v = Canonical(batch, c.Column, row);
                    var lit = ValueDomain.Coerce(c.Value, batch.Schema.GetFieldByName(c.Column).DataType, c.Column);
                    if (v is null || lit is null) return null;
                    var cmp = ValueDomain.Compare(v, lit);
                    return c.Op switch
                    {
                        ComparisonOp.Equal => cmp == 0, ComparisonOp.NotEqual => cmp != 0, ComparisonOp.LessThan => cmp < 0,
                        ComparisonOp.LessThanOrEqual => cmp <= 0, ComparisonOp.GreaterThan => cmp > 0, _ => cmp >= 0,
                    };
                }
            case InList c:
                {
                    bool? acc = false;
                    foreach (var x in c.Values)
                    {
                        var e = Naive(new Comparison(c.Column, ComparisonOp.Equal, x), batch, row);
                        acc = acc == true || e == true ? true : acc == false && e == false ? false : null;
                    }
                    return acc;
                }
        }
        throw new NotSupportedException();
    }

    private static object? Canonical(RecordBatch batch, string column, int row)
    {
        var a = batch.Column(column);
        if (a.IsNull(row)) return null;
        return a switch
        {
            Int64Array x => x.GetValue(row)!.Value,
            Int32Array x => (long)x.GetValue(row)!.Value,
            DoubleArray x => x.GetValue(row)!.Value,
            StringArray x => x.GetString(row),
            TimestampArray x => (x.GetTimestamp(row)!.Value.UtcTicks - DateTime.UnixEpoch.Ticks) / 10,
            Decimal128Array x => x.GetValue(row)!.Value,
            BooleanArray x => x.GetValue(row)!.Value,
            Date32Array x => (long)x.GetValue(row)!.Value,
            _ => throw new NotSupportedException(),
        };
    }

    [Fact]
    public void Vectorized_filter_matches_a_naive_row_by_row_evaluation_on_random_data()
    {
        var r = new Random(12345);
        for (var round = 0; round < 300; round++)
        {
            var batch = RandomBatch(r, r.Next(0, 300));
            var p = RandomPredicate(r, 3);
            var expected = Enumerable.Range(0, batch.Length).Where(i => Naive(p, batch, i) == true).ToArray();
            var actual = RowFilter.SelectIndices(batch, p);
            Assert.True(expected.SequenceEqual(actual), $"round {round}: {p}\nexpected {string.Join(",", expected)}\nactual   {string.Join(",", actual)}");
            var filtered = RowFilter.Filter(batch, p);
            Assert.Equal(expected.Length, filtered.Length);
            for (var k = 0; k < expected.Length; k++)
                foreach (var f in RandomSchema.FieldsList)
                    Assert.Equal(Canonical(batch, f.Name, expected[k]), Canonical(filtered, f.Name, k));
        }
    }

    [Fact]
    public void Stats_evaluator_never_skips_a_batch_with_matching_rows()
    {
        var r = new Random(777);
        var skipped = 0;
        for (var round = 0; round < 2000; round++)
        {
            var batch = RandomBatch(r, r.Next(1, 12));
            var p = RandomPredicate(r, 2);
            var bounds = new Dictionary<string, ColumnBounds>();
            foreach (var f in RandomSchema.FieldsList)
            {
                object? min = null, max = null;
                long nulls = 0;
                for (var i = 0; i < batch.Length; i++)
                {
                    var v = Canonical(batch, f.Name, i);
                    if (v is null) { nulls++; continue; }
                    if (min is null || ValueDomain.Compare(v, min) < 0) min = v;
                    if (max is null || ValueDomain.Compare(v, max) > 0) max = v;
                }
                bounds[f.Name] = new ColumnBounds(f.DataType, min, max, nulls, batch.Length);
            }
            var matches = RowFilter.SelectIndices(batch, p).Length;
            var canMatch = StatsEvaluator.CanMatch(p, c => bounds.GetValueOrDefault(c));
            if (matches > 0) Assert.True(canMatch, $"round {round}: {p} matched {matches} rows but stats said no");
            if (!canMatch) skipped++;
        }
        Assert.True(skipped > 100, $"the evaluator should prove some batches empty, skipped {skipped}");
    }

    [Fact]
    public void Nested_struct_leaf_is_filtered_with_parent_nulls()
    {
        var batch = TestBatches.Make(0, 1000).Slice(100, 500);
        var ids = RowFilter.SelectIndices(batch, Predicate.Parse("point.x > 1000 OR point.label IS NULL"));
        var expected = Enumerable.Range(100, 500).Where(i => i % 9 == 1 || i * 2 > 1000 || i % 2 == 0).Select(i => i - 100);
        Assert.Equal(expected, ids);
        Assert.Equal(Enumerable.Range(100, 500).Count(i => i % 9 == 1), RowFilter.Filter(batch, Predicate.Parse("point.x IS NULL")).Length);
    }

    [Fact]
    public void Unknown_column_and_incomparable_literal_are_clear_errors()
    {
        var batch = RandomBatch(new Random(1), 10);
        Assert.Contains("'nope'", Assert.Throws<SchemaMismatchException>(() => RowFilter.Filter(batch, Predicate.Parse("nope = 1"))).Message);
        Assert.Contains("'i'", Assert.Throws<PredicateTypeException>(() => RowFilter.Filter(batch, Predicate.Parse("i = 'abc'"))).Message);
    }

    [Fact]
    public void Out_of_range_and_fractional_literals_on_integer_columns()
    {
        var schema = new Schema([new Field("x", Int32Type.Default, false)], null);
        var batch = new RecordBatch(schema, [new Int32Array.Builder().AppendRange([int.MinValue, -1, 0, 1, int.MaxValue]).Build()], 5);
        Assert.Equal(5, RowFilter.Filter(batch, Predicate.Parse("x < 1e12")).Length);
        Assert.Equal(0, RowFilter.Filter(batch, Predicate.Parse("x > 99999999999")).Length);
        Assert.Equal(5, RowFilter.Filter(batch, Predicate.Parse("x != 99999999999")).Length);
        Assert.Equal(2, RowFilter.Filter(batch, Predicate.Parse("x > 0.5")).Length);
        Assert.Equal(3, RowFilter.Filter(batch, Predicate.Parse("x <= 0.5")).Length);
        Assert.Equal(0, RowFilter.Filter(batch, Predicate.Parse("x = 0.5")).Length);
        var big = new RecordBatch(new Schema([new Field("y", Int64Type.Default, false)], null),
            [new Int64Array.Builder().AppendRange([9_007_199_254_740_993L, 1_234_567_890_124L]).Build()], 2);
        Assert.Equal(1, RowFilter.Filter(big, new Comparison("y", ComparisonOp.GreaterThan, 9_007_199_254_740_992.0)).Length);
        Assert.Equal(0, RowFilter.Filter(big, new Comparison("y", ComparisonOp.Equal, 9_007_199_254_740_992.0)).Length);
        Assert.Equal(2, RowFilter.Filter(big, new Comparison("y", ComparisonOp.GreaterThan, 1_234_567_890_123.999)).Length);
        Assert.Equal(0, RowFilter.Filter(big, new Comparison("y", ComparisonOp.LessThan, 1_234_567_890_123.999)).Length);
    }

    [Fact]
    public async Task Filtered_batches_write_to_parquet_and_duckdb_agrees()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var batch = TestBatches.Make(0, 10_000);
        var filtered = RowFilter.Filter(batch, Predicate.Parse("status IN ('paid', 'new') AND (amount > 0 OR amount IS NULL)"));
        var files = await ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, One(filtered), i => $"f{i}.parquet");
        var expected = Enumerable.Range(0, 10_000).Count(i => i % 4 is 0 or 2 && (TestBatches.AmountNull(i) || TestBatches.AmountOf(i) > 0));
        Assert.Equal(expected, filtered.Length);
        using var duck = new DuckDbReader();
        var path = store.TryGetLocalPath(files[0].Key);
        Assert.Equal((long)expected, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet('{path}') WHERE status IN ('paid','new')")));
        var ids = Enumerable.Range(0, 10_000).Where(i => i % 4 is 0 or 2 && (TestBatches.AmountNull(i) || TestBatches.AmountOf(i) > 0)).ToList();
        Assert.Equal(ids.Where(i => !TestBatches.PriceNull(i)).Sum(i => TestBatches.PriceOf(i)).ToString(System.Globalization.CultureInfo.InvariantCulture),
            Convert.ToString(duck.Scalar($"SELECT CAST(sum(price) AS VARCHAR) FROM read_parquet('{path}')")));
        Assert.Equal((long)ids.Count(i => i % 9 != 1), Convert.ToInt64(duck.Scalar($"SELECT count(point) FROM read_parquet('{path}')")));
    }

    private static async IAsyncEnumerable<RecordBatch> One(RecordBatch b)
    {
        yield return b;
        await Task.CompletedTask;
    }
}
