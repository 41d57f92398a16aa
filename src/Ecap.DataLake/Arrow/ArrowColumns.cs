using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>Columns of a record batch by name, including struct leaves by dotted path.</summary>
internal static class ArrowColumns
{
    /// <summary>
    /// A top-level column by name, or a struct leaf by dotted path (<c>point.x</c>) with the parents' nulls
    /// folded into its validity; null when there is no such column.
    /// </summary>
    public static IArrowArray? Resolve(RecordBatch batch, string name)
    {
        var index = batch.Schema.GetFieldIndex(name);
        if (index >= 0) return batch.Column(index);
        var parts = name.Split('.');
        if (parts.Length < 2) return null;
        index = batch.Schema.GetFieldIndex(parts[0]);
        if (index < 0) return null;
        var current = batch.Column(index).Data;
        for (var p = 1; p < parts.Length; p++)
        {
            if (current.DataType is not StructType st) return null;
            var ci = st.GetFieldIndex(parts[p]);
            if (ci < 0) return null;
            current = WithParentNulls(current.Children[ci], current);
        }
        return ArrowArrayFactory.BuildArray(current);
    }

    /// <summary>The child of a struct, aligned with the struct's rows, null where the struct is null.</summary>
    private static ArrayData WithParentNulls(ArrayData child, ArrayData parent)
    {
        var n = parent.Length;
        var childOffset = child.Offset + parent.Offset;
        var parentBits = parent.NullCount == 0 || parent.Buffers[0].IsEmpty ? default : parent.Buffers[0].Span;
        var childBits = child.NullCount == 0 || child.Buffers.Length == 0 || child.Buffers[0].IsEmpty ? default : child.Buffers[0].Span;
        if (parentBits.IsEmpty && childBits.IsEmpty)
            return new ArrayData(child.DataType, n, 0, childOffset, child.Buffers, child.Children, child.Dictionary);
        var bitmap = new byte[(childOffset + n + 7) / 8];
        var nulls = 0;
        for (var i = 0; i < n; i++)
        {
            var pj = parent.Offset + i;
            var cj = childOffset + i;
            var valid = (parentBits.IsEmpty || (parentBits[pj >> 3] & (1 << (pj & 7))) != 0)
                        && (childBits.IsEmpty || (childBits[cj >> 3] & (1 << (cj & 7))) != 0);
            if (valid) bitmap[cj >> 3] |= (byte)(1 << (cj & 7));
            else nulls++;
        }
        var buffers = child.Buffers.ToArray();
        buffers[0] = new ArrowBuffer(bitmap);
        return new ArrayData(child.DataType, n, nulls, childOffset, buffers, child.Children, child.Dictionary);
    }
}
