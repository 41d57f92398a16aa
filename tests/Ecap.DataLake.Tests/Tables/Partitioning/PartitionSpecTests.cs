using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Files;
using Ecap.DataLake.Tables.Partitioning;
using Xunit;

namespace Ecap.DataLake.Tests.Tables.Partitioning;

/// <summary><see cref="PartitionSpec"/>: the text layouts of --partition-by/--sort-by, the hour transform, and inference of file values.</summary>
public class PartitionSpecTests
{
    [Fact]
    public void Transforms_become_derived_hive_columns_and_buckets()
    {
        var s = PartitionSpec.Parse("month(ts), station, bucket(8, id)", "temp,id2");
        Assert.Equal(["year", "month", "station"], s.PartitionColumns);
        Assert.Equal("ts", s.TimeColumn);
        Assert.Equal([new DerivedColumn("year", TimePart.Year), new DerivedColumn("month", TimePart.Month)], s.DerivedColumns);
        Assert.Equal(("id", 8), (s.BucketColumn, s.BucketCount));
        Assert.Equal(["temp", "id2"], s.SortColumns);
        Assert.Null(s.DataType);
        // Round trip through the table properties: reads, compaction and merges see the same layout.
        Assert.True(PartitionSpec.SameLayout(s, PartitionStrategy.FromTableProperties(s.ToTableProperties())!));
        Assert.Equal(["year", "month", "day", "hour"], PartitionSpec.Parse("hour(t)").PartitionColumns);
        Assert.Empty(PartitionSpec.Parse(null).PartitionColumns);
    }

    [Fact]
    public void A_preset_keeps_its_sort_and_type_with_another_granularity()
    {
        var s = PartitionSpec.Parse("month(timestamp)", null, PartitionStrategy.For(DataType.Transactions));
        Assert.Equal(["year", "month"], s.PartitionColumns);
        Assert.Equal(["transaction_id"], s.SortColumns);
        Assert.Equal(DataType.Transactions, s.DataType);
        Assert.False(PartitionSpec.SameLayout(s, PartitionStrategy.For(DataType.Transactions)));
    }

    [Theory]
    [InlineData("year(a),day(b)", "same column")]
    [InlineData("bucket(0, id)", "positive count")]
    [InlineData("bucket(2, a),bucket(3, b)", "at most one bucket")]
    [InlineData("truncate(0, name)", "positive width")]
    [InlineData("truncate(name)", "positive width")]
    [InlineData("week(ts)", "Unknown partition transform 'week'")]
    [InlineData("a,a", "distinct")]
    [InlineData("day(ts", "closing parenthesis")]
    public void Bad_layouts_are_input_errors(string text, string message)
    {
        var e = Assert.ThrowsAny<InvalidInputException>(() => PartitionSpec.Parse(text));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncate_floors_integers_to_a_multiple_and_cuts_strings_to_code_points_and_round_trips()
    {
        var s = PartitionSpec.Parse("truncate(10, n), truncate(3, zip)");
        Assert.Equal(["n_trunc", "zip_trunc"], s.PartitionColumns);
        Assert.Equal([new TruncateColumn("n_trunc", "n", 10), new TruncateColumn("zip_trunc", "zip", 3)], s.TruncateColumns);
        Assert.Equal("truncate(10, n),truncate(3, zip)", PartitionSpec.Format(s));
        // The table remembers it: its properties read back as the same layout.
        Assert.True(PartitionSpec.SameLayout(s, PartitionStrategy.FromTableProperties(s.ToTableProperties())!));
        Assert.False(PartitionSpec.SameLayout(s, PartitionSpec.Parse("truncate(5, n), truncate(3, zip)")));

        var n = new Int64Array.Builder().Append(7).Append(-3).Append(15).Append(-10).AppendNull().Append(0).Build();
        var zip = new StringArray.Builder().Append("00501").Append("ab").Append("über").Append("😀😀😀x").AppendNull().Append("").Build();
        var schema = new Schema.Builder().Field(new Field("n", Int64Type.Default, true)).Field(new Field("zip", StringType.Default, true)).Build();
        var batch = new BatchPartitioner(s).AddDerivedColumns(new RecordBatch(schema, [n, zip], 6));
        var nt = (Int64Array)batch.Column(batch.Schema.GetFieldIndex("n_trunc"));
        var zt = (StringArray)batch.Column(batch.Schema.GetFieldIndex("zip_trunc"));
        Assert.Equal([0L, -10L, 10L, -10L, null, 0L], Enumerable.Range(0, 6).Select(i => nt.GetValue(i)));
        Assert.Equal(["005", "ab", "übe", "😀😀😀", null, ""], Enumerable.Range(0, 6).Select(i => zt.IsNull(i) ? null : zt.GetString(i)));

        var bad = new RecordBatch(new Schema.Builder().Field(new Field("n", DoubleType.Default, true)).Field(new Field("zip", StringType.Default, true)).Build(),
            [new DoubleArray.Builder().Append(1).Build(), new StringArray.Builder().Append("a").Build()], 1);
        Assert.Contains("integer or string column", Assert.Throws<SchemaMismatchException>(() => new BatchPartitioner(s).AddDerivedColumns(bad)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Hour_is_derived_in_utc_and_a_date_is_hour_zero()
    {
        var micros = new[] { 0L, 3_600_000_000L * 5 + 59 * 60_000_000L, -1L, 86_400_000_000L * 400 + 3_600_000_000L * 23 };
        var ts = new TimestampArray.Builder(new TimestampType(TimeUnit.Microsecond, "UTC"));
        foreach (var m in micros) ts.Append(DateTimeOffset.UnixEpoch.AddTicks(m * 10));
        var schema = new Schema.Builder().Field(new Field("t", new TimestampType(TimeUnit.Microsecond, "UTC"), true)).Build();
        var batch = new RecordBatch(schema, [ts.Build()], micros.Length);
        var derived = new BatchPartitioner(PartitionSpec.Parse("hour(t)")).AddDerivedColumns(batch);
        var hours = (Int32Array)derived.Column(derived.Schema.GetFieldIndex("hour"));
        var days = (Int32Array)derived.Column(derived.Schema.GetFieldIndex("day"));
        Assert.Equal([0, 5, 23, 23], Enumerable.Range(0, 4).Select(i => hours.GetValue(i)!.Value));
        Assert.Equal([1, 1, 31, 5], Enumerable.Range(0, 4).Select(i => days.GetValue(i)!.Value)); // -1µs is 1969-12-31 23:59

        var date = new Date32Array.Builder().Append(new DateTime(2024, 2, 29)).Build();
        var dateBatch = new RecordBatch(new Schema.Builder().Field(new Field("t", Date32Type.Default, true)).Build(), [date], 1);
        var fromDate = new BatchPartitioner(PartitionSpec.Parse("hour(t)")).AddDerivedColumns(dateBatch);
        Assert.Equal(0, ((Int32Array)fromDate.Column(fromDate.Schema.GetFieldIndex("hour"))).GetValue(0));
    }

    [Fact]
    public void Inference_keeps_leading_zeros_and_mixed_text_as_strings()
    {
        Assert.IsType<StringType>(SourceFiles.Infer(["00501", "02134", "10001"]));
        Assert.IsType<StringType>(SourceFiles.Infer(["0042.5", "1.0"]));
        Assert.IsType<StringType>(SourceFiles.Infer(["12A", "400"]));
        Assert.IsType<Int64Type>(SourceFiles.Infer(["0", "-12", "501"]));
        Assert.IsType<DoubleType>(SourceFiles.Infer(["0.5", "-0.25", "10"]));
    }

    [Theory]
    [InlineData("2015-01-01", "2015-01-01T00:00:00Z")]
    [InlineData("2015-01-01T01:30:00+01:00", "2015-01-01T00:30:00Z")]
    [InlineData("Thu, 01 Jan 2015 01:00:00 GMT", "2015-01-01T01:00:00Z")]
    [InlineData("2015/01/01 01:00:00", "2015-01-01T01:00:00Z")]
    [InlineData("Jan 1 2000", "2000-01-01T00:00:00Z")]
    public void The_date_formats_are_inferred_and_parsed_alike(string text, string utc)
    {
        Assert.IsType<TimestampType>(SourceFiles.Infer([text]));
        var builder = new ColumnBuilder(new Field("t", new TimestampType(TimeUnit.Microsecond, "UTC"), true));
        builder.AppendText(text);
        var value = ((TimestampArray)builder.Build()).GetTimestamp(0)!.Value;
        Assert.Equal(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture), value);
    }

    [Fact]
    public void Loose_texts_are_not_inferred_as_times()
    {
        Assert.IsType<StringType>(SourceFiles.Infer(["1/2", "3:00"]));
        Assert.IsType<StringType>(SourceFiles.Infer(["May", "June"]));
    }
}
