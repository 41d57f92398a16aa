using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// In-memory sizes of Arrow data, for memory budgets. Counted from the rows an array covers, not the
/// buffers it points into: partition groups are views into buffers shared by a whole input batch.
/// </summary>
internal static class ArrowSizes
{
    public static long Of(RecordBatch batch)
    {
        long total = 0;
        for (var c = 0; c < batch.ColumnCount; c++) total += Of(batch.Column(c).Data);
        return total;
    }

    public static long Of(ArrayData data)
    {
        long rows = data.Length;
        long validity = (rows + 7) / 8;
        switch (data.DataType)
        {
            case BooleanType:
                return validity * 2;
            case StringType or BinaryType when data.Buffers.Length >= 3:
            {
                var offsets = MemoryMarshal.Cast<byte, int>(data.Buffers[1].Span);
                var first = offsets.Length > data.Offset ? offsets[data.Offset] : 0;
                var last = offsets.Length > data.Offset + rows ? offsets[data.Offset + (int)rows] : first;
                return validity + 4 * (rows + 1) + (last - first);
            }
            case FixedWidthType fixedWidth:
                return validity + rows * fixedWidth.BitWidth / 8;
            default:
            {
                long total = 0;
                foreach (var buffer in data.Buffers) total += buffer.Length;
                foreach (var child in data.Children ?? []) total += Of(child);
                return total;
            }
        }
    }
}
