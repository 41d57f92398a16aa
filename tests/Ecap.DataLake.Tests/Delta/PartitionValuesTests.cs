using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Arrow;
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
        Assert.Equal("2021-09-08T11:11:11.123456Z", PartitionValues.Format(One(ts, at), 0));
        Assert.Equal(at, PartitionValues.Parse("2021-09-08T11:11:11.123456Z", ts));
        Assert.Equal(new DateTimeOffset(2021, 9, 8, 11, 11, 11, TimeSpan.Zero), PartitionValues.Parse("2021-09-08 11:11:11", ts));
        Assert.Equal("2021-09-08", PartitionValues.Format(One(Date32Type.Default, new DateOnly(2021, 9, 8)), 0));
        Assert.Equal(new DateOnly(2021, 9, 8), PartitionValues.Parse("2021-09-08", Date32Type.Default));
        Assert.Equal("true", PartitionValues.Format(One(BooleanType.Default, true), 0));
        Assert.Equal("-2342342.23423", PartitionValues.Format(One(new Decimal128Type(12, 5), -2342342.23423m), 0));
        Assert.Equal(42L, PartitionValues.Parse("42", Int64Type.Default));
        Assert.Null(PartitionValues.Format(One(Int64Type.Default, null), 0));
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
        Assert.Equal(segment, PartitionPath.Build([new KeyValuePair<string, string?>("_2", value)]).TrimEnd('/'));
        if (value is not null) Assert.Equal(value, PartitionPath.Unescape(segment[3..]));
    }

    [Fact]
    public void GoldenEscapedChars_DirectoryThenLogPath()
    {
        // value bar+%21 -> directory _2=bar+%2521 -> log path _2=bar+%252521 (golden data-reader-escaped-chars)
        var key = PartitionPath.Build([new KeyValuePair<string, string?>("_2", "bar+%21")]) + "part-0.parquet";
        Assert.Equal("_2=bar+%252521/part-0.parquet", AddFile.EncodePath(key));
    }

    private static IArrowArray One(IArrowType type, object? value) => ArrowArrays.Constant(type, value, 1);

    public static TheoryData<string, IArrowType, object?, string?> EveryType() => new()
    {
        { "string", StringType.Default, "plain", "plain" },
        { "string with specials", StringType.Default, "a b%c/d=e:f#g?h\\i'j\"k*l[m]n^o{p}\u007f\u0001", "a b%c/d=e:f#g?h\\i'j\"k*l[m]n^o{p}\u007f\u0001" },
        { "string unicode", StringType.Default, "zürich 東京 🚀", "zürich 東京 🚀" },
        { "string 'null'", StringType.Default, "null", "null" },
        { "string empty", StringType.Default, "", null },
        { "string null", StringType.Default, null, null },
        { "int8", Int8Type.Default, (sbyte)-128, "-128" },
        { "int16", Int16Type.Default, (short)32767, "32767" },
        { "int32", Int32Type.Default, -2147483648, "-2147483648" },
        { "int64", Int64Type.Default, long.MaxValue, "9223372036854775807" },
        { "int64 null", Int64Type.Default, null, null },
        { "float", FloatType.Default, 0.1f, "0.1" },
        { "double", DoubleType.Default, -1.25e-300, "-1.25E-300" },
        { "decimal", new Decimal128Type(12, 5), -2342342.23423m, "-2342342.23423" },
        { "decimal keeps its scale", new Decimal128Type(10, 2), 7.5m, "7.50" },
        { "bool", BooleanType.Default, false, "false" },
        { "date", Date32Type.Default, new DateOnly(1969, 12, 31), "1969-12-31" },
        { "timestamp", new TimestampType(TimeUnit.Microsecond, "UTC"), new DateTimeOffset(2021, 9, 8, 11, 11, 11, TimeSpan.Zero).AddTicks(1234560), "2021-09-08T11:11:11.123456Z" },
        { "timestamp_ntz", new TimestampType(TimeUnit.Microsecond, (string?)null), new DateTime(2021, 9, 8, 11, 11, 11).AddTicks(1234560), "2021-09-08 11:11:11.123456" },
        { "binary", BinaryType.Default, new byte[] { 1, 2, 3, 0xFF }, "\u0001\u0002\u0003\u00ff" },
        { "binary empty", BinaryType.Default, System.Array.Empty<byte>(), null },
    };

    [Theory]
    [MemberData(nameof(EveryType))]
    public void EveryPartitionType_FormatsParsesAndEscapesBack(string name, IArrowType type, object? value, string? expected)
    {
        _ = name;
        var column = One(type, value);
        var logValue = PartitionValues.Format(column, 0);
        Assert.Equal(expected, logValue);
        // parse and build the column back: the same log string again
        Assert.Equal(expected, PartitionValues.Format(PartitionValues.ToArray(type, logValue, 3), 2));
        if (expected is not null && type is not BinaryType) Assert.Equal(value, PartitionValues.Parse(logValue, type));
        // the directory: Spark-escaped, null and empty as __HIVE_DEFAULT_PARTITION__, and unescaped back
        var directory = PartitionPath.Build([new KeyValuePair<string, string?>("p", logValue)]);
        var parsed = Assert.Single(PartitionPath.Parse(directory));
        Assert.Equal(expected, parsed.Value);
        if (expected is null) Assert.Equal("p=__HIVE_DEFAULT_PARTITION__/", directory);
        Assert.DoesNotContain('/', directory.TrimEnd('/'));
    }

    [Fact]
    public void Binary_round_trips_every_byte_value()
    {
        var bytes = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();
        var logValue = PartitionValues.Format(One(BinaryType.Default, bytes), 0);
        Assert.Equal(256, logValue!.Length);
        Assert.Equal(bytes, (byte[])PartitionValues.Parse(logValue, BinaryType.Default)!);
        Assert.Equal(logValue, Assert.Single(PartitionPath.Parse(PartitionPath.Build([new KeyValuePair<string, string?>("b", logValue)]))).Value);
    }

    [Fact]
    public void Timestamps_in_other_units_are_written_in_microseconds()
    {
        var ms = new TimestampArray.Builder(new TimestampType(TimeUnit.Millisecond, "UTC")).Append(DateTimeOffset.FromUnixTimeMilliseconds(-1)).Build();
        Assert.Equal("1969-12-31T23:59:59.999000Z", PartitionValues.Format(ms, 0));
        var ns = new TimestampArray(new ArrayData(new TimestampType(TimeUnit.Nanosecond, (string?)null), 1, 0, 0,
            [ArrowBuffer.Empty, new ArrowBuffer(BitConverter.GetBytes(-1L))]));
        Assert.Equal("1969-12-31 23:59:59.999999", PartitionValues.Format(ns, 0));
    }

    [Theory]
    [InlineData("data-reader-partition-values")]
    [InlineData("data-reader-escaped-chars")]
    public async Task GoldenTables_PartitionValuesParseReserializeAndNameTheirDirectories(string name)
    {
        var snapshot = await DeltaTestHelpers.Golden(name).GetSnapshotAsync();
        Assert.NotEmpty(snapshot.Files);
        foreach (var file in snapshot.Files)
        {
            var reserialized = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var column in snapshot.PartitionColumns)
            {
                var type = snapshot.Schema.GetFieldByName(column).DataType;
                var logValue = file.PartitionValues[column];
                var value = PartitionValues.Parse(logValue, type);
                var again = PartitionValues.Format(PartitionValues.ToArray(type, logValue, 1), 0);
                if (type is TimestampType && logValue is not null)
                {
                    // Spark wrote "2021-09-08 11:11:11"; this writer writes the ISO 8601 UTC form of the same instant.
                    Assert.Equal(new DateTimeOffset(2021, 9, 8, 11, 11, 11, TimeSpan.Zero), value);
                    Assert.Equal("2021-09-08T11:11:11.000000Z", again);
                    Assert.Equal(value, PartitionValues.Parse(again, type));
                }
                else if (type is FloatType or DoubleType && logValue is not null)
                {
                    // Spark writes Java's "0.0"; this writer writes .NET's round-trip "0": the same number.
                    Assert.Equal(value, PartitionValues.Parse(again, type));
                }
                else
                {
                    Assert.Equal(logValue, again);
                }
                reserialized[column] = logValue;
            }
            // Spark's directory names are this escaping of the log values (the object key is the decoded add.path).
            Assert.Equal(PartitionPath.Build(snapshot.PartitionColumns, reserialized), file.ObjectKey[..(file.ObjectKey.LastIndexOf('/') + 1)]);
            Assert.Equal(snapshot.PartitionColumns.Select(c => new KeyValuePair<string, string?>(c, file.PartitionValues[c])), PartitionPath.Parse(file.ObjectKey));
        }
    }
}
