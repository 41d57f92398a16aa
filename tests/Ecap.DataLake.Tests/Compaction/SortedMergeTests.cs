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

    [Fact]
    public async Task Many_overlapping_files_with_duplicate_and_null_keys_merge_to_exactly_the_stable_sort()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        // 60 files over the same ids: "tiny" holds 0..99 and nulls, so every key is repeated across all files.
        var keys = new List<SortKey> { new("tiny", NullsFirst: true) };
        var files = new List<AddFile>();
        var all = new List<RecordBatch>();
        for (var f = 0; f < 60; f++)
        {
            var batch = ArrowSort.Sort(TestBatches.Make(f * 7, 400), keys);
            all.Add(batch);
            var written = (await ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, new[] { batch }.ToAsyncEnumerable(), i => $"f{f}-{i}.parquet")).Single();
            files.Add(new AddFile { Path = written.Key, Size = written.SizeBytes, ModificationTime = 0, Stats = written.Stats.ToJson() });
        }

        var merged = new List<RecordBatch>();
        await foreach (var b in SortedMerge.MergeAsync(store, files, TestBatches.Schema, keys, batchRows: 128, default, TestBatches.Schema, outputRows: 1000))
            merged.Add(b);

        // Equal keys come in the order of the inputs, then of their rows: the stable sort of all rows, row for row.
        Assert.Equal(Rows(ArrowSort.Sort(ArrowSort.Concat(all), keys)), Rows(ArrowSort.Concat(merged)));
    }

    public static TheoryData<string> KeyTypes => new(["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "date32", "date64",
        "timestamp", "decimal", "float", "double", "bool", "string", "binary", "int64 no nulls", "string,int32"]);

    [Theory]
    [MemberData(nameof(KeyTypes))]
    public async Task A_key_of_each_supported_type_merges_to_exactly_the_stable_sort(string type)
    {
        var rng = new Random(type.GetHashCode(StringComparison.Ordinal) & 0xffff);
        var keyTypes = type.Split(',');
        var keys = keyTypes.Select((_, i) => new SortKey("k" + i, NullsFirst: true)).ToList();
        var schema = new Schema(keyTypes.Select((t, i) => new Field("k" + i, KeyColumn(t, 1, rng).Data.DataType, true))
            .Append(new Field("row", Apache.Arrow.Types.Int32Type.Default, false)), null);
        // Seven inputs of 300 rows with few distinct values (duplicates within and across inputs), some nulls; each
        // sorted, then read back in batches of 64 rows so runs of equal keys cross batch boundaries.
        var inputs = new List<RecordBatch>();
        for (var f = 0; f < 7; f++)
        {
            var columns = keyTypes.Select(t => KeyColumn(t, 300, rng)).Append(new Int32Array.Builder().AppendRange(Enumerable.Range(f * 1000, 300)).Build());
            inputs.Add(ArrowSort.Sort(new RecordBatch(schema, columns, 300), keys));
        }
        var files = inputs.Select((_, i) => new AddFile { Path = $"in-{i}", Size = 1, ModificationTime = 0 }).ToList();
        IAsyncEnumerable<RecordBatch> Open(AddFile file, CancellationToken ct)
        {
            var batch = inputs[int.Parse(file.Path[3..])];
            return Enumerable.Range(0, (batch.Length + 63) / 64).Select(i => batch.Slice(i * 64, Math.Min(64, batch.Length - i * 64))).ToAsyncEnumerable();
        }

        var merged = new List<RecordBatch>();
        await foreach (var b in SortedMerge.MergeAsync(new LocalObjectStore(Path.GetTempPath()), files, schema, keys, 64, default, outputRows: 100, open: Open))
            merged.Add(b);

        var expected = ArrowSort.Sort(ArrowSort.Concat(inputs), keys);
        var actual = ArrowSort.Concat(merged);
        Assert.Equal(ArrowRowsOf(expected, "row"), ArrowRowsOf(actual, "row"));
        foreach (var k in keys) Assert.Equal(ArrowRowsOf(expected, k.Column), ArrowRowsOf(actual, k.Column));
    }

    /// <summary>Random values of a type with few distinct values (and nulls unless the type name says "no nulls").</summary>
    private static IArrowArray KeyColumn(string type, int n, Random rng)
    {
        var nulls = !type.Contains("no nulls", StringComparison.Ordinal);
        bool Null() => nulls && rng.Next(10) == 0;
        int V() => rng.Next(-20, 20);
        var epoch = DateTime.UnixEpoch;
        switch (type.Split(' ')[0])
        {
            case "int8": { var b = new Int8Array.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append((sbyte)V()); } return b.Build(); }
            case "int16": { var b = new Int16Array.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append((short)(V() * 1000)); } return b.Build(); }
            case "int32": { var b = new Int32Array.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(V() * 100_000); } return b.Build(); }
            case "int64": { var b = new Int64Array.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(V() * (long.MaxValue / 25)); } return b.Build(); }
            case "uint8": { var b = new UInt8Array.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append((byte)(V() + 20)); } return b.Build(); }
            case "uint16": { var b = new UInt16Array.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append((ushort)((V() + 20) * 1500)); } return b.Build(); }
            case "uint32": { var b = new UInt32Array.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append((uint)(V() + 20) * 100_000_000u); } return b.Build(); }
            case "uint64": { var b = new UInt64Array.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append((ulong)(V() + 20) * (ulong.MaxValue / 40)); } return b.Build(); }
            case "date32": { var b = new Date32Array.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(epoch.AddDays(V() * 100)); } return b.Build(); }
            case "date64": { var b = new Date64Array.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(epoch.AddDays(V() * 100)); } return b.Build(); }
            case "timestamp":
                {
                    var b = new TimestampArray.Builder(new Apache.Arrow.Types.TimestampType(Apache.Arrow.Types.TimeUnit.Microsecond, "UTC"));
                    for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(DateTimeOffset.UnixEpoch.AddSeconds(V() * 1e7)); }
                    return b.Build();
                }
            case "decimal":
                {
                    // Values beyond a long: the prefix (high 64 bits) ties and the full comparison decides.
                    var b = new Decimal128Array.Builder(new Apache.Arrow.Types.Decimal128Type(38, 2));
                    for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(V() * 1e20m + rng.Next(3)); }
                    return b.Build();
                }
            case "float":
                {
                    float[] special = [float.NaN, -0f, 0f, float.NegativeInfinity, float.PositiveInfinity];
                    var b = new FloatArray.Builder();
                    for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(rng.Next(8) == 0 ? special[rng.Next(special.Length)] : V() / 4f); }
                    return b.Build();
                }
            case "double":
                {
                    double[] special = [double.NaN, -0d, 0d, double.NegativeInfinity, double.PositiveInfinity];
                    var b = new DoubleArray.Builder();
                    for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(rng.Next(8) == 0 ? special[rng.Next(special.Length)] : V() / 4d); }
                    return b.Build();
                }
            case "bool": { var b = new BooleanArray.Builder(); for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(rng.Next(2) == 0); } return b.Build(); }
            case "string":
                {
                    // Shared 8-byte heads (equal prefixes), an empty string, and strings shorter than 8 bytes.
                    string[] words = ["", "a", "ab", "abcdefgh", "abcdefgh1", "abcdefgh2", "abcdefghij", "zz", "Z", "é"];
                    var b = new StringArray.Builder();
                    for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(words[rng.Next(words.Length)]); }
                    return b.Build();
                }
            case "binary":
                {
                    byte[][] values = [[], [0], [0, 0], [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7, 8, 0], [1, 2, 3, 4, 5, 6, 7, 8, 255], [255]];
                    var b = new BinaryArray.Builder();
                    for (var i = 0; i < n; i++) { if (Null()) b.AppendNull(); else b.Append(values[rng.Next(values.Length)].AsSpan()); }
                    return b.Build();
                }
            default: throw new ArgumentException(type);
        }
    }

    [Fact]
    public async Task Inputs_beyond_the_fan_in_merge_through_runs_to_exactly_the_stable_sort()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Sub("table"));
        // Nulls in the first key: no file has a key range, so all 25 overlap and more than the fan-in of 4 forces runs.
        var keys = new List<SortKey> { new("small", NullsFirst: true), new("status", NullsFirst: true) };
        var files = new List<AddFile>();
        var all = new List<RecordBatch>();
        for (var f = 0; f < 25; f++)
        {
            var batch = ArrowSort.Sort(TestBatches.Make(f * 1000 % 7000, 1500), keys);
            all.Add(batch);
            var written = (await ParquetDataWriter.WriteAllAsync(store, TestBatches.Schema, new[] { batch }.ToAsyncEnumerable(), i => $"f{f}-{i}.parquet")).Single();
            files.Add(new AddFile { Path = written.Key, Size = written.SizeBytes, ModificationTime = 0, Stats = written.Stats.ToJson() });
        }
        Assert.Equal(25, SortedMerge.OverlapDepth(files, keys, TestBatches.Schema, TestBatches.Schema));
        var spill = dir.Sub("spill");
        Directory.CreateDirectory(spill);

        var merged = new List<RecordBatch>();
        var sawRuns = false;
        await foreach (var b in SpilledMerge.MergeAsync(store, files, TestBatches.Schema, keys, batchRows: 300, fanIn: 4, TestBatches.Schema,
                           new TableFiles(null, null), default, spill))
        {
            merged.Add(b);
            sawRuns |= Directory.GetFiles(spill, "run-*", SearchOption.AllDirectories).Length > 0;
        }

        Assert.True(sawRuns);
        Assert.Equal(Rows(ArrowSort.Sort(ArrowSort.Concat(all), keys)), Rows(ArrowSort.Concat(merged)));
        Assert.Empty(Directory.GetFileSystemEntries(spill));
    }

    /// <summary>Every row of a batch as one string of all its columns, in order.</summary>
    private static List<string> Rows(RecordBatch b) => Enumerable.Range(0, b.Length)
        .Select(i => string.Join("|", b.Schema.FieldsList.Select(f => ArrowValues.Format(ArrowValues.Get(b.Column(f.Name), i)) ?? "null"))).ToList();

    private static List<string> ArrowRowsOf(RecordBatch batch, string column)
    {
        var array = batch.Column(batch.Schema.GetFieldIndex(column));
        return Enumerable.Range(0, batch.Length).Select(i => Ecap.DataLake.Arrow.ArrowValues.Format(Ecap.DataLake.Arrow.ArrowValues.Get(array, i)) ?? "null").ToList();
    }
}
