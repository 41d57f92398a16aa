using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Npgsql;

namespace Ecap.DataLake.Postgres;

/// <summary>
/// One result column as an Arrow column. Types: smallint/integer/bigint, real/double, numeric(p,s) with p &lt;= 28 as
/// decimal(p,s) (other numerics as text, exactly), boolean, date, timestamp/timestamptz (UTC microseconds),
/// text-like, uuid and json/jsonb as strings, bytea as binary, arrays as JSON text, anything else as its text.
/// </summary>
internal sealed class PgColumn
{
    private Action<NpgsqlDataReader, int> _append = null!;
    private Func<IArrowArray> _build = null!;

    public required Field Field { get; init; }

    public void Append(NpgsqlDataReader reader, int i) => _append(reader, i);

    public IArrowArray Build() => _build();

    public static PgColumn For(NpgsqlDataReader reader, int i)
    {
        var name = reader.GetName(i);
        // The data type name carries modifiers ("numeric(12, 2)", "timestamp(3) without time zone"); the switch
        // goes by the base type, the modifiers come from the column schema.
        var pgType = reader.GetPostgresType(i).Name;
        var schema = reader.GetColumnSchema()[i];
        if (reader.GetDataTypeName(i).EndsWith("[]", StringComparison.Ordinal))
            return Make(name, StringType.Default, new StringArray.Builder(), (b, r, o) => b.Append(JsonSerializer.Serialize(r.GetValue(o))), b => b.Build());
        switch (pgType)
        {
            case "smallint": return Make(name, Int16Type.Default, new Int16Array.Builder(), (b, r, o) => b.Append(r.GetInt16(o)), b => b.Build());
            case "integer": return Make(name, Int32Type.Default, new Int32Array.Builder(), (b, r, o) => b.Append(r.GetInt32(o)), b => b.Build());
            case "bigint": return Make(name, Int64Type.Default, new Int64Array.Builder(), (b, r, o) => b.Append(r.GetInt64(o)), b => b.Build());
            case "real": return Make(name, FloatType.Default, new FloatArray.Builder(), (b, r, o) => b.Append(r.GetFloat(o)), b => b.Build());
            case "double precision": return Make(name, DoubleType.Default, new DoubleArray.Builder(), (b, r, o) => b.Append(r.GetDouble(o)), b => b.Build());
            case "boolean": return Make(name, BooleanType.Default, new BooleanArray.Builder(), (b, r, o) => b.Append(r.GetBoolean(o)), b => b.Build());
            case "date": return Make(name, Date32Type.Default, new Date32Array.Builder(), (b, r, o) => b.Append(r.GetFieldValue<DateOnly>(o)), b => b.Build());
            case "bytea": return Make(name, BinaryType.Default, new BinaryArray.Builder(), (b, r, o) => b.Append(r.GetFieldValue<byte[]>(o).AsSpan()), b => b.Build());
            case "timestamp without time zone" or "timestamp with time zone":
            {
                var type = new TimestampType(TimeUnit.Microsecond, "UTC");
                return Make(name, type, new TimestampArray.Builder(type),
                    (b, r, o) => b.Append(new DateTimeOffset(DateTime.SpecifyKind(r.GetDateTime(o), DateTimeKind.Utc))), b => b.Build());
            }
            case "numeric" when schema.NumericPrecision is { } p and > 0 and <= 28 && schema.NumericScale is { } s:
            {
                var type = new Decimal128Type(p, s);
                return Make(name, type, new Decimal128Array.Builder(type), (b, r, o) => b.Append(r.GetDecimal(o)), b => b.Build());
            }
            case "numeric":
                return Make(name, StringType.Default, new StringArray.Builder(), (b, r, o) => b.Append(r.GetFieldValue<string>(o)), b => b.Build());
            case "uuid":
                return Make(name, StringType.Default, new StringArray.Builder(), (b, r, o) => b.Append(r.GetGuid(o).ToString()), b => b.Build());
            case "text" or "json" or "jsonb" or "character varying" or "character" or "name":
                return Make(name, StringType.Default, new StringArray.Builder(), (b, r, o) => b.Append(r.GetString(o)), b => b.Build());
            default:
                return Make(name, StringType.Default, new StringArray.Builder(),
                    (b, r, o) => b.Append(Convert.ToString(r.GetValue(o), System.Globalization.CultureInfo.InvariantCulture)), b => b.Build());
        }
    }

    private static void AppendNull(IArrowArrayBuilder builder)
    {
        switch (builder)
        {
            case Int16Array.Builder b: b.AppendNull(); break;
            case Int32Array.Builder b: b.AppendNull(); break;
            case Int64Array.Builder b: b.AppendNull(); break;
            case FloatArray.Builder b: b.AppendNull(); break;
            case DoubleArray.Builder b: b.AppendNull(); break;
            case BooleanArray.Builder b: b.AppendNull(); break;
            case Date32Array.Builder b: b.AppendNull(); break;
            case BinaryArray.Builder b: b.AppendNull(); break;
            case TimestampArray.Builder b: b.AppendNull(); break;
            case Decimal128Array.Builder b: b.AppendNull(); break;
            case StringArray.Builder b: b.AppendNull(); break;
            default: throw new InvalidOperationException(builder.GetType().Name);
        }
    }

    private static PgColumn Make<TBuilder>(string name, IArrowType type, TBuilder builder, Action<TBuilder, NpgsqlDataReader, int> append,
        Func<TBuilder, IArrowArray> build) where TBuilder : IArrowArrayBuilder
    {
        var column = new PgColumn { Field = new Field(name, type, nullable: true) };
        var current = builder;
        Func<TBuilder> fresh = () => (TBuilder)Activator.CreateInstance(typeof(TBuilder), type is Decimal128Type or TimestampType ? [type] : [])!;
        column._append = (r, o) =>
        {
            if (r.IsDBNull(o)) AppendNull(current);
            else append(current, r, o);
        };
        column._build = () =>
        {
            var array = build(current);
            current = fresh();
            return array;
        };
        return column;
    }
}
