using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Tests.Parquet;
using Xunit;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Arrow;

public class ArrowGatherTests
{
    [Fact]
    public void Take_gathers_every_column_type_with_repeats_and_nulls()
    {
        var batch = TestBatches.Make(0, 500);
        int[] indices = [499, 0, 3, 3, 250, 1, 17, 499, 42];
        var taken = ArrowGather.Take(batch, indices);
        Assert.Equal(indices.Length, taken.Length);
        for (var c = 0; c < batch.ColumnCount; c++)
        {
            var nulls = 0;
            for (var k = 0; k < indices.Length; k++)
            {
                Assert.Equal(ParquetWriterTests.Value(batch.Column(c), indices[k]), ParquetWriterTests.Value(taken.Column(c), k));
                if (taken.Column(c).IsNull(k)) nulls++;
            }
            Assert.Equal(nulls, taken.Column(c).NullCount);
        }
    }

    [Fact]
    public void Split_groups_rows_in_order_and_skips_empty_groups()
    {
        var batch = TestBatches.Make(0, 1000);
        var groups = Enumerable.Range(0, 1000).Select(i => i % 7 == 0 ? 4 : i % 3).ToArray();
        var parts = ArrowGather.Split(batch, groups, 6);
        Assert.Null(parts[3]);
        Assert.Null(parts[5]);
        Assert.Equal(1000, parts.Sum(p => p?.Length ?? 0));
        for (var g = 0; g < 6; g++)
        {
            if (parts[g] is not { } part) continue;
            var expected = Enumerable.Range(0, 1000).Where(i => groups[i] == g).Select(i => (long)i);
            Assert.Equal(expected, ((Int64Array)part.Column("id")).Values.ToArray());
        }
        Assert.Same(batch, ArrowGather.Split(batch, new int[1000], 1)[0]);
    }

    [Fact]
    public void Take_respects_sliced_inputs()
    {
        var batch = TestBatches.Make(0, 100).Slice(37, 40);
        var taken = ArrowGather.Take(batch, [0, 39, 5]);
        ParquetWriterTests.AssertBatchesEqual(TestBatches.Make(37, 1), ArrowGather.Take(taken, [0]));
        ParquetWriterTests.AssertBatchesEqual(TestBatches.Make(76, 1), ArrowGather.Take(taken, [1]));
        ParquetWriterTests.AssertBatchesEqual(TestBatches.Make(42, 1), ArrowGather.Take(taken, [2]));
    }

    [Fact]
    public void Take_gathers_lists_and_empty_selections()
    {
        var values = new Int32Array.Builder().AppendRange([1, 2, 3, 4, 5, 6]).Build();
        var offsets = new ArrowBuffer.Builder<int>().AppendRange([0, 2, 2, 6]).Build();
        var list = new ListArray(new ListType(Int32Type.Default), 3, offsets, values, ArrowBuffer.Empty, 0);
        var taken = (ListArray)ArrowGather.Take(list, [2, 0]);
        Assert.Equal([3, 4, 5, 6], ((Int32Array)taken.GetSlicedValues(0)).Values.ToArray());
        Assert.Equal([1, 2], ((Int32Array)taken.GetSlicedValues(1)).Values.ToArray());
        Assert.Equal(0, ArrowGather.Take(TestBatches.Make(0, 10), ReadOnlySpan<int>.Empty).Length);
    }
}
