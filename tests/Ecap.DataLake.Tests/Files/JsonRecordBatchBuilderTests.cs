using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Files;

namespace Ecap.DataLake.Tests.Files;

public sealed class JsonRecordBatchBuilderTests
{
    private static readonly Schema Schema = new Schema.Builder()
        .Field(new Field("id", Int64Type.Default, false))
        .Field(new Field("n", Int32Type.Default, true))
        .Field(new Field("amount", new Decimal128Type(18, 2), true))
        .Field(new Field("at", new TimestampType(TimeUnit.Microsecond, "UTC"), true))
        .Field(new Field("ok", BooleanType.Default, true))
        .Field(new Field("text", StringType.Default, true))
        .Build();

    private static string? Append(JsonRecordBatchBuilder b, string json) => b.TryAppend(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Converts_Values_AsJsonLinesFilesDo_InAnyFieldOrder()
    {
        var b = new JsonRecordBatchBuilder(Schema);
        Assert.Null(Append(b, """{"text":"a","id":1,"n":7,"amount":12.5,"at":"2026-11-01T10:00:00Z","ok":true,"extra":{"x":[1]}}"""));
        Assert.Null(Append(b, """{"id":"2","n":"8","amount":"0.01","at":"2026-11-01T12:00:00+02:00","ok":"false","text":{"nested":[1,2]}}"""));
        Assert.Null(Append(b, """{"id":3,"at":1793527200000,"text":""}"""));
        var batch = b.Build();
        Assert.Equal(3, batch.Length);
        Assert.Equal([1L, 2L, 3L], ((Int64Array)batch.Column("id")).Values.ToArray());
        Assert.Equal(8, ((Int32Array)batch.Column("n")).GetValue(1));
        Assert.Null(((Int32Array)batch.Column("n")).GetValue(2));
        Assert.Equal(12.50m, ((Decimal128Array)batch.Column("amount")).GetValue(0));
        var at = (TimestampArray)batch.Column("at");
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.Zero), at.GetTimestamp(0));
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.Zero), at.GetTimestamp(1));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1793527200000), at.GetTimestamp(2));
        Assert.False(((BooleanArray)batch.Column("ok")).GetValue(1));
        var text = (StringArray)batch.Column("text");
        Assert.Equal("""{"nested":[1,2]}""", text.GetString(1));
        Assert.True(text.IsNull(2)); // an empty string is null, as in CSV and JSON lines files
    }

    [Theory]
    [InlineData("12.5", "12.50")]
    [InlineData("-12.5", "-12.50")]
    [InlineData("0", "0.00")]
    [InlineData("-0.01", "-0.01")]
    [InlineData("1.50", "1.50")]
    [InlineData("1e2", "100.00")]
    [InlineData("9999999999999999.99", "9999999999999999.99")]
    [InlineData("-9999999999999999.99", "-9999999999999999.99")]
    public void Decimals_KeepTheirExactValue_AtTheColumnsScale(string json, string expected)
    {
        var b = new JsonRecordBatchBuilder(Schema);
        Assert.Null(Append(b, $$"""{"id":1,"amount":{{json}}}"""));
        var amount = (Decimal128Array)b.Build().Column("amount");
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), amount.GetValue(0));
        // The unscaled value is what readers decode: the expected digits without the point.
        var unscaled = System.Buffers.Binary.BinaryPrimitives.ReadInt128LittleEndian(amount.ValueBuffer.Span[..16]);
        Assert.Equal(Int128.Parse(expected.Replace(".", ""), System.Globalization.CultureInfo.InvariantCulture), unscaled);
    }

    [Fact]
    public void Decimals_WithMoreDigitsThanThePrecision_AreRejected()
    {
        var b = new JsonRecordBatchBuilder(Schema);
        Assert.Contains("more digits than decimal(18,2)", Append(b, """{"id":1,"amount":10000000000000000.00}"""));
        Assert.Contains("more digits than decimal(18,2)", Append(b, """{"id":2,"amount":-10000000000000000}"""));
        Assert.Equal(0, b.Count);
    }

    [Fact]
    public void RejectsBadRecords_WithTheReason_AndKeepsTheOthers()
    {
        var b = new JsonRecordBatchBuilder(Schema);
        Assert.Null(Append(b, """{"id":1}"""));
        Assert.Contains("not valid JSON", Append(b, "{\"id\":2,"));
        Assert.Contains("not valid JSON", Append(b, "nonsense"));
        Assert.Contains("not valid JSON", Append(b, """{"id":3} trailing"""));
        Assert.Contains("JSON object, not array", Append(b, "[1,2]"));
        Assert.Contains("'id' is required", Append(b, """{"n":1}"""));
        Assert.Contains("'id' is required", Append(b, """{"id":null}"""));
        Assert.Contains("column 'n'", Append(b, """{"id":4,"n":1.5}"""));
        Assert.Contains("decimal places", Append(b, """{"id":5,"amount":1.234}"""));
        Assert.Contains("column 'ok'", Append(b, """{"id":6,"ok":"perhaps"}"""));
        Assert.Null(Append(b, """{"id":7,"n":2}"""));
        var batch = b.Build();
        Assert.Equal([1L, 7L], ((Int64Array)batch.Column("id")).Values.ToArray());
        Assert.Equal(2, ((Int32Array)batch.Column("n")).GetValue(1));
        Assert.Equal(0, b.Count);
    }
}
