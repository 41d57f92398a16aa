using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Delta timestamps are microseconds. Inputs in seconds, milliseconds or nanoseconds (pandas, DuckDB,
/// Kafka producers) are converted to microseconds on the way in, keeping their time zone flag.
/// </summary>
internal static class TimestampNormalizer
{
    public static RecordBatch ToMicros(RecordBatch batch)
    {
        var changed = false;
        for (var c = 0; c < batch.ColumnCount && !changed; c++)
            changed = batch.Schema.GetFieldByIndex(c).DataType is TimestampType { Unit: not TimeUnit.Microsecond };
        if (!changed) return batch;

        var fields = new List<Field>(batch.ColumnCount);
        var columns = new List<IArrowArray>(batch.ColumnCount);
        for (var c = 0; c < batch.ColumnCount; c++)
        {
            var field = batch.Schema.GetFieldByIndex(c);
            if (field.DataType is TimestampType { Unit: not TimeUnit.Microsecond } ts)
            {
                var target = new TimestampType(TimeUnit.Microsecond, ts.Timezone);
                fields.Add(new Field(field.Name, target, field.IsNullable, field.Metadata));
                columns.Add(Convert((TimestampArray)batch.Column(c), ts.Unit, target));
            }
            else
            {
                fields.Add(field);
                columns.Add(batch.Column(c));
            }
        }
        return new RecordBatch(new Schema(fields, batch.Schema.Metadata), columns, batch.Length);
    }

    private static TimestampArray Convert(TimestampArray source, TimeUnit unit, TimestampType target)
    {
        var values = source.Values;
        var result = new long[source.Length];
        switch (unit)
        {
            case TimeUnit.Second: for (var i = 0; i < result.Length; i++) result[i] = values[i] * 1_000_000; break;
            case TimeUnit.Millisecond: for (var i = 0; i < result.Length; i++) result[i] = values[i] * 1_000; break;
            default: for (var i = 0; i < result.Length; i++) result[i] = Math.DivRem(values[i], 1000, out var rem) - (rem < 0 ? 1 : 0); break;
        }
        var validity = source.NullCount == 0 ? ArrowBuffer.Empty : CopyBitmap(source);
        return new TimestampArray(new ArrayData(target, source.Length, source.NullCount, 0,
            [validity, new ArrowBuffer(MemoryMarshal.AsBytes(result.AsSpan()).ToArray())]));
    }

    private static ArrowBuffer CopyBitmap(IArrowArray array)
    {
        var bits = new byte[(array.Length + 7) / 8];
        for (var i = 0; i < array.Length; i++)
            if (array.IsValid(i)) bits[i >> 3] |= (byte)(1 << (i & 7));
        return new ArrowBuffer(bits);
    }
}
