using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Delta;
using Xunit;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>The Spark JSON schema of metaData.schemaString and its Arrow form map to each other without loss.</summary>
public class DeltaSchemaTests
{
    private const string AllTypes =
        "{\"type\":\"struct\",\"fields\":[" +
        "{\"name\":\"b\",\"type\":\"byte\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"s\",\"type\":\"short\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"i\",\"type\":\"integer\",\"nullable\":false,\"metadata\":{}}," +
        "{\"name\":\"l\",\"type\":\"long\",\"nullable\":true,\"metadata\":{\"comment\":\"the id\",\"delta.identity.start\":1,\"x\":{\"a\":[1,2]}}}," +
        "{\"name\":\"f\",\"type\":\"float\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"d\",\"type\":\"double\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"bo\",\"type\":\"boolean\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"st\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"bi\",\"type\":\"binary\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"da\",\"type\":\"date\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"ts\",\"type\":\"timestamp\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"tn\",\"type\":\"timestamp_ntz\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"de\",\"type\":\"decimal(38,10)\",\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"str\",\"type\":{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"integer\",\"nullable\":false,\"metadata\":{}}]},\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"arr\",\"type\":{\"type\":\"array\",\"elementType\":\"string\",\"containsNull\":false},\"nullable\":true,\"metadata\":{}}," +
        "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":{\"type\":\"array\",\"elementType\":\"long\",\"containsNull\":true},\"valueContainsNull\":true},\"nullable\":true,\"metadata\":{}}" +
        "]}";

    [Fact]
    public void SparkJson_RoundTripsThroughArrow_Exactly()
    {
        var arrow = DeltaSchema.ToArrowSchema(AllTypes);
        Assert.Equal(AllTypes, DeltaSchema.ToSchemaString(arrow));
    }

    [Fact]
    public void SparkTypes_MapToTheArrowTypesOfTheDesign()
    {
        var s = DeltaSchema.ToArrowSchema(AllTypes);
        Assert.IsType<Int8Type>(s.GetFieldByName("b").DataType);
        Assert.IsType<Int16Type>(s.GetFieldByName("s").DataType);
        Assert.IsType<Int32Type>(s.GetFieldByName("i").DataType);
        Assert.False(s.GetFieldByName("i").IsNullable);
        Assert.IsType<Int64Type>(s.GetFieldByName("l").DataType);
        Assert.IsType<Date32Type>(s.GetFieldByName("da").DataType);
        var ts = Assert.IsType<TimestampType>(s.GetFieldByName("ts").DataType);
        Assert.Equal((TimeUnit.Microsecond, "UTC"), (ts.Unit, ts.Timezone));
        var tn = Assert.IsType<TimestampType>(s.GetFieldByName("tn").DataType);
        Assert.True(string.IsNullOrEmpty(tn.Timezone));
        var de = Assert.IsType<Decimal128Type>(s.GetFieldByName("de").DataType);
        Assert.Equal((38, 10), (de.Precision, de.Scale));
        var arr = Assert.IsType<ListType>(s.GetFieldByName("arr").DataType);
        Assert.False(arr.ValueField.IsNullable);
        var map = Assert.IsType<MapType>(s.GetFieldByName("m").DataType);
        Assert.True(map.ValueField.IsNullable);
        Assert.Equal("the id", s.GetFieldByName("l").Metadata["comment"]);
    }

    [Fact]
    public void ArrowSchema_RoundTripsThroughSparkJson()
    {
        var arrow = new Schema([
            new Field("id", Int64Type.Default, false),
            new Field("at", new TimestampType(TimeUnit.Microsecond, "UTC"), true),
            new Field("amount", new Decimal128Type(12, 2), true),
            new Field("tags", new MapType(new Field("key", StringType.Default, false), new Field("value", StringType.Default, true)), true),
            new Field("items", new ListType(new Field("element", new StructType([new Field("n", Int32Type.Default, true)]), true)), true),
        ], null);
        var json = DeltaSchema.ToSchemaString(arrow);
        var back = DeltaSchema.ToArrowSchema(json);
        Assert.Equal(json, DeltaSchema.ToSchemaString(back));
        Assert.Equal(arrow.FieldsList.Select(f => (f.Name, f.IsNullable, f.DataType.TypeId)), back.FieldsList.Select(f => (f.Name, f.IsNullable, f.DataType.TypeId)));
    }

    [Fact]
    public void UnsignedArrowTypes_AreASchemaMismatch()
    {
        var e = Assert.Throws<SchemaMismatchException>(() => DeltaSchema.ToSchemaString(new Schema([new Field("u", UInt32Type.Default, true)], null)));
        Assert.Contains("'u'", e.Message);
    }

    [Fact]
    public void MalformedSchemaString_IsCorruptTable()
    {
        Assert.Throws<CorruptTableException>(() => DeltaSchema.ToArrowSchema("{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"varchar\"}]}"));
    }

    [Fact]
    public void TimestampNtz_NeedsTheTimestampNtzFeature()
    {
        var p = TableFeatures.ProtocolFor(DeltaSchema.ToArrowSchema(AllTypes));
        Assert.Equal((3, 7), (p.MinReaderVersion, p.MinWriterVersion));
        Assert.Contains("timestampNtz", p.ReaderFeatures!);
    }
}
