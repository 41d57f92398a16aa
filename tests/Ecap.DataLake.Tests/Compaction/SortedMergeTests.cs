using Apache.Arrow;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tests.Parquet;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Compaction;

/// <summary>The k-way merge of sorted files gives the order a full sort of all their rows gives, whatever the overlap.</summary>
public class SortedMergeTests
{
    [Theory]
    [InlineData("ts", 1 << 20)]            // integer-like first key with nulls: files opened lazily by stats min
    [InlineData("status,name", 1 << 20)]   // strings with nulls: every file opened at once
    [InlineData("small,id", 1 << 20)]
    [InlineData("price", 1 << 20)]
    [InlineData("id", 50)]                 // small merged batches: an output ends inside input batches
    [InlineData("status,name", 7)]
    public async Task Merging_sorted_files_gives_the_full_sort_order_with_every_row(string columns, int outputRows)
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        var keys = columns.Split(',').Select(c => new SortKey(c, NullsFirst: true)).ToList();
        // Overlapping and disjoint id ranges, one file each, each sorted by the keys.
        (long Start, int Rows)[] ranges = [(0, 3000), (1500, 2000), (10_000, 500), (20_000, 1), (2500, 4000)];
        var files = new List<AddFile>();
        var all = new List<RecordBatch>();
        for (var f = 0; f < ranges.Length; f++)
        {
            var batch = ArrowSort.Sort(TestBatches.Make(ranges[f].Start, ranges[f].Rows), keys);
            all.Add(batch);
            var written = (await ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, new[] { batch }.ToAsyncEnumerable(), i => $"f{f}-{i}.parquet")).Single();
            files.Add(new AddFile { Path = written.Key, Size = written.SizeBytes, ModificationTime = 0, Stats = written.Stats.ToJson() });
        }

        var merged = new List<RecordBatch>();
        await foreach (var b in SortedMerge.MergeAsync(store, files, TestBatches.Schema, keys, batchRows: 700, default, statsSchema: TestBatches.Schema, outputRows))
            merged.Add(b);

        var expected = ArrowSort.Sort(ArrowSort.Concat(all), keys);
        var actual = ArrowSort.Concat(merged);
        Assert.Equal(expected.Length, actual.Length);
        // Ties may come in another order: compare the key columns, and the rows as a multiset of ids.
        foreach (var k in keys)
            Assert.Equal(ArrowRowsOf(expected, k.Column), ArrowRowsOf(actual, k.Column));
        Assert.Equal(ArrowRowsOf(expected, "id").Order(), ArrowRowsOf(actual, "id").Order());
    }

    [Fact]
    public async Task More_overlapping_files_than_the_fan_in_are_merged_through_runs_never_opening_more_than_the_fan_in()
    {
        using var dir = new TempDir();
        var store = new StreamOnlyStore(new LocalObjectStore(dir.Sub("table")));
        var keys = new List<SortKey> { new("id", NullsFirst: true) };
        // 20 files whose id ranges all overlap (each starts 10 further and holds 5000 rows: runs of four files are
        // written in several slices).
        var files = new List<AddFile>();
        var all = new List<RecordBatch>();
        for (var f = 0; f < 20; f++)
        {
            var batch = ArrowSort.Sort(TestBatches.Make(f * 10, 5000), keys);
            all.Add(batch);
            var written = (await ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, new[] { batch }.ToAsyncEnumerable(), i => $"f{f}-{i}.parquet")).Single();
            files.Add(new AddFile { Path = written.Key, Size = written.SizeBytes, ModificationTime = 0, Stats = written.Stats.ToJson() });
        }
        var spill = dir.Sub("spill");
        Directory.CreateDirectory(spill);

        var merged = new List<RecordBatch>();
        await foreach (var b in SpilledMerge.MergeAsync(store, files, TestBatches.Schema, keys, batchRows: 8192, fanIn: 4, TestBatches.Schema,
                           new TableFiles(null, null), default, spill))
        {
            merged.Add(b);
            // Five runs of four files, then (five is still above four) two runs of those: they are on local disk meanwhile.
            Assert.NotEmpty(Directory.GetFiles(spill, "run-*", SearchOption.AllDirectories));
        }

        Assert.InRange(store.MaxOpenReads, 1, 4);
        var actual = ArrowSort.Concat(merged);
        var expected = ArrowSort.Sort(ArrowSort.Concat(all), keys);
        Assert.Equal(ArrowRowsOf(expected, "id"), ArrowRowsOf(actual, "id"));
        Assert.Equal(expected.Length, actual.Length);
        // Every column came through the runs intact (ties may be in another order: compare as multisets of rows).
        static IEnumerable<string> Rows(RecordBatch b) => Enumerable.Range(0, b.Length)
            .Select(i => string.Join("|", b.Schema.FieldsList.Select(f => Ecap.DataLake.Arrow.ArrowValues.Format(Ecap.DataLake.Arrow.ArrowValues.Get(b.Column(f.Name), i)) ?? "null")));
        Assert.Equal(Rows(expected).Order(), Rows(actual).Order());
        Assert.Empty(Directory.GetFileSystemEntries(spill)); // the runs are gone with their folder

        // Abandoned half way (a failed or cancelled compaction): the runs are deleted too.
        await foreach (var _ in SpilledMerge.MergeAsync(store, files, TestBatches.Schema, keys, 128, 4, TestBatches.Schema, new TableFiles(null, null), default, spill))
            break;
        Assert.Empty(Directory.GetFileSystemEntries(spill));
    }

    private static List<string> ArrowRowsOf(RecordBatch batch, string column)
    {
        var array = batch.Column(batch.Schema.GetFieldIndex(column));
        return Enumerable.Range(0, batch.Length).Select(i => Ecap.DataLake.Arrow.ArrowValues.Format(Ecap.DataLake.Arrow.ArrowValues.Get(array, i)) ?? "null").ToList();
    }
}
