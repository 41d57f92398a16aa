using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Type facts and the slice-based fallback used by <see cref="RowScatter"/> (the partitioner's split of a
/// batch into groups). Gathering rows by index is <see cref="ArrowGather"/>.
/// </summary>
internal static class RowGather
{
    /// <summary>True for the types the buffer-level gather and scatter handle; others use <see cref="TakeBySlices"/>.</summary>
    public static bool IsSupported(IArrowType type) =>
        type.TypeId is ArrowTypeId.Boolean or ArrowTypeId.String or ArrowTypeId.Binary
        || (type is FixedWidthType && type is not DictionaryType && type.TypeId != ArrowTypeId.Null);

    /// <summary>
    /// Fallback for any other type (lists, structs, maps, ...): slices runs of consecutive indices and
    /// concatenates them. Correct for every type Arrow can concatenate; slower than the typed paths.
    /// </summary>
    public static IArrowArray TakeBySlices(IArrowArray array, ReadOnlySpan<int> indices)
    {
        if (indices.Length == 0) return ArrowArrayFactory.Slice(array, 0, 0);
        var parts = new List<IArrowArray>();
        int start = indices[0], length = 1;
        for (int k = 1; k <= indices.Length; k++)
        {
            if (k < indices.Length && indices[k] == start + length)
            {
                length++;
                continue;
            }
            parts.Add(ArrowArrayFactory.Slice(array, start, length));
            if (k < indices.Length)
            {
                start = indices[k];
                length = 1;
            }
        }
        return ArrowArrayConcatenator.Concatenate(parts);
    }

    /// <summary>Byte width of a fixed-width type; throws for types the gather does not support.</summary>
    public static int FixedWidth(IArrowType type) => type switch
    {
        FixedWidthType { TypeId: not ArrowTypeId.Boolean } fw when type is not DictionaryType => (fw.BitWidth + 7) / 8,
        _ => throw new NotSupportedException($"Row gather does not support Arrow type {type.Name}."),
    };
}
