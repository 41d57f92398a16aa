using System.Runtime.InteropServices;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Constant columns built straight into Arrow buffers: one value repeated for every row (a file's
/// partition value, a metadata column).
/// </summary>
internal static class ArrowArrays
{
    /// <summary>
    /// An array of <paramref name="type"/> holding <paramref name="value"/> <paramref name="length"/> times; null
    /// gives nulls. Values are the .NET types <see cref="ArrowValues.Get"/> returns: string, byte[], bool, sbyte,
    /// short, int, long, float, double, decimal, DateOnly, DateTimeOffset (timestamps), DateTime (timestamp_ntz).
    /// </summary>
    public static IArrowArray Constant(IArrowType type, object? value, int length)
    {
        if (value is null) return ArrowGather.Nulls(type, length);
        switch (type, value)
        {
            case (StringType or BinaryType, _):
            {
                var bytes = value is byte[] b ? b : Encoding.UTF8.GetBytes((string)value);
                var offsets = new int[length + 1];
                for (var i = 1; i <= length; i++) offsets[i] = i * bytes.Length;
                var values = new byte[(long)bytes.Length * length];
                for (var i = 0; i < length; i++) bytes.CopyTo(values, i * bytes.Length);
                return ArrowArrayFactory.BuildArray(new ArrayData(type, length, 0, 0,
                    [ArrowBuffer.Empty, new ArrowBuffer(MemoryMarshal.AsBytes(offsets.AsSpan()).ToArray()), new ArrowBuffer(values)]));
            }
            case (BooleanType, bool on):
            {
                var bits = new byte[(length + 7) / 8];
                if (on) System.Array.Fill(bits, (byte)0xFF);
                return ArrowArrayFactory.BuildArray(new ArrayData(type, length, 0, 0, [ArrowBuffer.Empty, new ArrowBuffer(bits)]));
            }
            case (_, sbyte v): return Fill(type, length, v);
            case (_, short v): return Fill(type, length, v);
            case (_, int v): return Fill(type, length, v);
            case (_, long v): return Fill(type, length, v);
            case (_, float v): return Fill(type, length, v);
            case (_, double v): return Fill(type, length, v);
            case (Date32Type, DateOnly d): return Fill(type, length, d.DayNumber - UnixEpochDay);
            case (TimestampType ts, DateTimeOffset t): return Fill(type, length, ToUnit(t.UtcTicks, ts.Unit));
            case (TimestampType ts, DateTime t): return Fill(type, length, ToUnit(t.Ticks, ts.Unit));
            case (Decimal128Type d, decimal m):
            {
                var builder = new Decimal128Array.Builder(d);
                for (var i = 0; i < length; i++) builder.Append(m);
                return builder.Build();
            }
            default:
                throw new InvalidInputException($"Partition columns of type {type.Name} are not supported.");
        }
    }

    private static readonly int UnixEpochDay = new DateOnly(1970, 1, 1).DayNumber;

    private static long ToUnit(long ticksSinceYear1, TimeUnit unit)
    {
        var ticks = ticksSinceYear1 - DateTime.UnixEpoch.Ticks;
        return unit switch
        {
            TimeUnit.Second => ticks / TimeSpan.TicksPerSecond,
            TimeUnit.Millisecond => ticks / TimeSpan.TicksPerMillisecond,
            TimeUnit.Microsecond => ticks / 10,
            _ => ticks * 100,
        };
    }

    private static IArrowArray Fill<T>(IArrowType type, int length, T value) where T : unmanaged
    {
        var values = new T[length];
        System.Array.Fill(values, value);
        return ArrowArrayFactory.BuildArray(new ArrayData(type, length, 0, 0,
            [ArrowBuffer.Empty, new ArrowBuffer(MemoryMarshal.AsBytes(values.AsSpan()).ToArray())]));
    }
}
