using System.Globalization;
using Apache.Arrow;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Files;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Reading;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>
/// Tables with deletion vectors (reader+writer feature deletionVectors): the Spark-written conformance table and tables
/// whose vectors <see cref="DeletionVectorTable"/> encodes itself ('u' with and without a prefix, 'i', 'p', several
/// vectors in one file, array, bitmap and run containers). Rows are checked against DuckDB reading the raw Parquet minus
/// the deleted positions, in every read path: scans (with row-group pruning and filters), exports, compaction, info.
/// </summary>
public class DeletionVectorTests
{
    public static string Modern(string table) => Path.Combine(RepoPaths.Root, "tests", "conformance", "delta-modern", table);

    private static async Task<List<string>> ScanRowsAsync(DataLakeStorage storage, string table, ReadOptions? options = null)
    {
        var scan = await storage.ReadPartitionedDataAsync(table, options);
        var rows = new List<string>();
        await foreach (var batch in scan.ReadBatchesAsync())
            for (var r = 0; r < batch.Length; r++)
                rows.Add(string.Join("|", Enumerable.Range(0, batch.ColumnCount).Select(c => Cell(batch.Column(c), r))));
        return rows.Order(StringComparer.Ordinal).ToList();
    }

    private static string Cell(IArrowArray a, int i) => a.IsNull(i) ? "null" : a switch
    {
        Int64Array x => x.GetValue(i)!.Value.ToString(CultureInfo.InvariantCulture),
        Int32Array x => x.GetValue(i)!.Value.ToString(CultureInfo.InvariantCulture),
        StringArray x => x.GetString(i),
        _ => throw new NotSupportedException(a.Data.DataType.Name),
    };

    private static List<string> Sorted(IEnumerable<string> rows) => rows.Order(StringComparer.Ordinal).ToList();

    /// <summary>The conformance table copied into a lake as table 'dv'.</summary>
    private static DataLakeStorage ConformanceLake(TempDir dir)
    {
        TempDir.CopyDirectory(Path.Combine(Modern("dv-partitioned-with-checkpoint"), "delta"), Path.Combine(dir.Sub("lake"), "dv"));
        return new DataLakeStorage(dir.Sub("lake"));
    }

    private static List<string> ExpectedConformanceRows(DuckDbReader duck) => Sorted(duck.Rows(
            $"SELECT part, col1, col2 FROM read_parquet('{Path.Combine(Modern("dv-partitioned-with-checkpoint"), "expected")}/*.parquet')")
        .Select(r => $"{r[0]}|{r[1]}|{r[2]}"));

    [Fact]
    public async Task Conformance_table_reads_exactly_its_expected_35_rows()
    {
        using var dir = new TempDir();
        var storage = ConformanceLake(dir);
        using var duck = new DuckDbReader();
        var expected = ExpectedConformanceRows(duck);
        Assert.Equal(35, expected.Count);
        Assert.Equal(expected, await ScanRowsAsync(storage, "dv", new ReadOptions { Columns = ["part", "col1", "col2"] }));
        // The checkpoint at v10 carries the descriptors; later commits add more.
        var snapshot = await storage.OpenTable("dv").GetSnapshotAsync();
        Assert.Contains(snapshot.Files, f => f.DeletionVector is not null);
        Assert.Equal(35, (await storage.GetTableInfoAsync("dv")).RecordCount);
    }

    [Fact]
    public async Task Conformance_table_with_a_filter_and_an_export_holds_duckdb_rows()
    {
        using var dir = new TempDir();
        var storage = ConformanceLake(dir);
        using var duck = new DuckDbReader();
        var expected = ExpectedConformanceRows(duck).Where(r => int.Parse(r.Split('|')[1], CultureInfo.InvariantCulture) >= 20).ToList();
        var filtered = await ScanRowsAsync(storage, "dv", new ReadOptions { Columns = ["part", "col1", "col2"], Predicate = Predicate.Parse("col1 >= 20") });
        Assert.Equal(expected, filtered);

        var scan = await storage.ReadPartitionedDataAsync("dv", new ReadOptions { Columns = ["part", "col1", "col2"] });
        var export = dir.Sub("x.parquet");
        Assert.Equal(35, await RowExport.WriteAsync(export, scan.Schema, scan.ReadBatchesAsync()));
        Assert.Equal(ExpectedConformanceRows(duck), Sorted(duck.Rows($"SELECT part, col1, col2 FROM read_parquet('{export}')").Select(r => $"{r[0]}|{r[1]}|{r[2]}")));
    }

    /// <summary>Four files: 'u' without prefix (two vectors in one file), 'u' with a prefix, inline, 'p'; one file has none.</summary>
    private static (DataLakeStorage Storage, DeletionVectorTable Table, Dictionary<string, long[]> Deleted) StorageKindsLake(TempDir dir)
    {
        var t = new DeletionVectorTable(Path.Combine(dir.Sub("lake"), "kinds"));
        var deleted = new Dictionary<string, long[]>
        {
            ["a.parquet"] = [0, 3, 4, 5, 99],
            ["b.parquet"] = [1, 2, 50],
            ["c.parquet"] = [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 77],
            ["d.parquet"] = [98],
            ["e.parquet"] = [],
        };
        long Write(string name, long first) => t.WriteDataFile(name, first, 100, 30);
        var sizes = deleted.Keys.Select((n, i) => (n, Size: Write(n, i * 1000L))).ToDictionary(x => x.n, x => x.Size);
        // a and b share one file (offsets 1 and after a), without a prefix.
        var (id1, file1) = DeletionVectorTable.UuidVector("", Guid.NewGuid());
        var shared = t.WriteVectorFile(file1, deleted["a.parquet"], deleted["b.parquet"]);
        t.Add("a.parquet", sizes["a.parquet"], 100, DeletionVectorTable.Descriptor("u", id1, shared[0].Offset, shared[0].Size, 5), 0);
        t.Add("b.parquet", sizes["b.parquet"], 100, DeletionVectorTable.Descriptor("u", id1, shared[1].Offset, shared[1].Size, 3), 1000);
        var (id2, file2) = DeletionVectorTable.UuidVector("ab", Guid.NewGuid());
        var prefixed = t.WriteVectorFile(file2, deleted["c.parquet"]);
        t.Add("c.parquet", sizes["c.parquet"], 100, DeletionVectorTable.Descriptor("u", id2, prefixed[0].Offset, prefixed[0].Size, 12), 2000);
        var abs = t.WriteVectorFile("dvs/absolute.bin", deleted["d.parquet"]);
        var uri = new Uri(Path.Combine(t.Dir, "dvs", "absolute.bin")).AbsoluteUri;
        t.Add("d.parquet", sizes["d.parquet"], 100, DeletionVectorTable.Descriptor("p", uri, abs[0].Offset, abs[0].Size, 1), 3000);
        t.Add("e.parquet", sizes["e.parquet"], 100, null, 4000);
        t.Commit();
        return (new DataLakeStorage(dir.Sub("lake")), t, deleted);
    }

    private static List<string> DuckDbExpected(DeletionVectorTable t, Dictionary<string, long[]> deleted, string? where = null)
    {
        using var duck = new DuckDbReader();
        return Sorted(deleted.SelectMany(kv => t.DuckDbLiveRows(duck, kv.Key, kv.Value, where)));
    }

    [Fact]
    public async Task Uuid_prefixed_and_absolute_path_vectors_drop_exactly_their_rows()
    {
        using var dir = new TempDir();
        var (storage, t, deleted) = StorageKindsLake(dir);
        var expected = DuckDbExpected(t, deleted);
        Assert.Equal(500 - 21, expected.Count);
        Assert.Equal(expected, await ScanRowsAsync(storage, "kinds"));
        Assert.Equal(500 - 21, (await storage.GetTableInfoAsync("kinds")).RecordCount);
    }

    [Fact]
    public async Task Inline_vectors_drop_exactly_their_rows()
    {
        using var dir = new TempDir();
        var t = new DeletionVectorTable(Path.Combine(dir.Sub("lake"), "inline"));
        var deleted = new Dictionary<string, long[]> { ["a.parquet"] = [0, 1, 2, 40, 41, 59], ["b.parquet"] = [7] };
        var size = t.WriteDataFile("a.parquet", 0, 60, 25);
        t.Add("a.parquet", size, 60, DeletionVectorTable.Inline(deleted["a.parquet"]));
        size = t.WriteDataFile("b.parquet", 100, 10, 10);
        t.Add("b.parquet", size, 10, DeletionVectorTable.Inline(deleted["b.parquet"]), 100);
        t.Commit();
        var storage = new DataLakeStorage(dir.Sub("lake"));
        Assert.Equal(DuckDbExpected(t, deleted), await ScanRowsAsync(storage, "inline"));
        Assert.Equal(63, (await storage.GetTableInfoAsync("inline")).RecordCount);
    }

    [Fact]
    public async Task A_vector_over_many_row_groups_with_pruning_and_a_filter_drops_physical_positions()
    {
        using var dir = new TempDir();
        var t = new DeletionVectorTable(Path.Combine(dir.Sub("lake"), "big"));
        const int rows = 140_000;
        var size = t.WriteDataFile("big.parquet", 0, rows, 7_000);
        // Bitmap container (every other row of 0..10000), run container (20000..29999), a whole row group (63000..69999),
        // array containers beyond 65536 and 131072.
        var deletedRows = Enumerable.Range(0, 5000).Select(i => (long)i * 2)
            .Concat(Enumerable.Range(20_000, 10_000).Select(i => (long)i))
            .Concat(Enumerable.Range(63_000, 7_000).Select(i => (long)i))
            .Concat([65_536, 70_001, 99_999, 131_072, 139_999])
            .Distinct().Order().ToArray();
        var (id, file) = DeletionVectorTable.UuidVector("zz", Guid.NewGuid());
        var at = t.WriteVectorFile(file, deletedRows);
        t.Add("big.parquet", size, rows, DeletionVectorTable.Descriptor("u", id, at[0].Offset, at[0].Size, deletedRows.Length));
        t.Commit();
        var storage = new DataLakeStorage(dir.Sub("lake"));
        var deleted = new Dictionary<string, long[]> { ["big.parquet"] = deletedRows };

        Assert.Equal(DuckDbExpected(t, deleted), await ScanRowsAsync(storage, "big"));
        // The filter prunes the first ten row groups by stats: positions after them must still be file-global.
        var scan = await storage.ReadPartitionedDataAsync("big", new ReadOptions { Predicate = Predicate.Parse("id >= 70000 AND v != 'v99998'") });
        var got = new List<string>();
        await foreach (var b in scan.ReadBatchesAsync())
            for (var r = 0; r < b.Length; r++) got.Add(Cell(b.Column(0), r) + "|" + Cell(b.Column(1), r));
        Assert.True(scan.Metrics.RowGroupsPruned >= 10, $"pruned {scan.Metrics.RowGroupsPruned}");
        Assert.Equal(DuckDbExpected(t, deleted, "id >= 70000 AND v != 'v99998'"), Sorted(got));
        Assert.Equal(rows - deletedRows.Length, (await storage.GetTableInfoAsync("big")).RecordCount);
    }

    [Fact]
    public async Task Bitmaps_with_a_high_part_above_32_bits_decode()
    {
        long[] rows = [0, 5, 65_535, 65_536, (1L << 32) + 7, (1L << 32) + 8, (3L << 32) | 0xFFFF_FFFF];
        var bytes = DeletionVectorTable.Serialize(rows);
        var dv = new DeletionVectorDescriptor("i", DeletionVectorTable.Z85Encode(bytes), null, bytes.Length, rows.Length);
        Assert.Equal(rows, RoaringBitmapArray.Decode(bytes, dv));
        Assert.Equal(rows, await DeletionVectors.LoadAsync(new LocalObjectStore(Path.GetTempPath()), dv));
    }

    [Fact]
    public async Task A_vector_whose_crc_or_cardinality_is_wrong_or_whose_path_leaves_the_table_is_refused()
    {
        using var dir = new TempDir();
        var (storage, t, _) = StorageKindsLake(dir);
        var table = storage.OpenTable("kinds");
        var snapshot = await table.GetSnapshotAsync();
        var c = snapshot.Files.Single(f => f.Path == "c.parquet");
        var key = DeletionVectors.ObjectKey(c.DeletionVector!, table.Store.Location)!;
        Assert.StartsWith("ab/deletion_vector_", key);

        var wrongCount = c.DeletionVector! with { Cardinality = 11 };
        Assert.Contains("cardinality", (await Assert.ThrowsAsync<CorruptTableException>(() => DeletionVectors.LoadAsync(table.Store, wrongCount))).Message);
        var outside = c.DeletionVector! with { StorageType = "p", PathOrInlineDv = new Uri(Path.Combine(dir.Path, "elsewhere.bin")).AbsoluteUri };
        Assert.Contains("outside the table", (await Assert.ThrowsAsync<UnsupportedProtocolException>(() => DeletionVectors.LoadAsync(table.Store, outside))).Message);
        var climbing = outside with { PathOrInlineDv = new Uri(table.Store.Location + "/").AbsoluteUri + "../elsewhere.bin" };
        Assert.Contains("outside the table", (await Assert.ThrowsAsync<UnsupportedProtocolException>(() => DeletionVectors.LoadAsync(table.Store, climbing))).Message);
        // Spark writes local paths as file:/... (one slash): inside the table it is the same file.
        var sparkStyle = outside with { PathOrInlineDv = "file:" + Path.Combine(t.Dir, key), Offset = 1, SizeInBytes = c.DeletionVector!.SizeInBytes, Cardinality = 12 };
        Assert.Equal(12, (await DeletionVectors.LoadAsync(table.Store, sparkStyle)).Length);

        var bytes = await File.ReadAllBytesAsync(Path.Combine(t.Dir, key));
        bytes[^6] ^= 0x40; // a bitmap byte: the CRC no longer matches
        await File.WriteAllBytesAsync(Path.Combine(t.Dir, key), bytes);
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => ScanRowsAsync(storage, "kinds"));
        Assert.Contains("CRC32", e.Message);
    }

    [Fact]
    public async Task Compaction_drops_deleted_rows_and_leaves_no_vector_and_vacuum_keeps_referenced_vector_files()
    {
        using var dir = new TempDir();
        var (storage, t, deleted) = StorageKindsLake(dir);
        var before = await ScanRowsAsync(storage, "kinds");
        var vectorFiles = Directory.GetFiles(t.Dir, "*.bin", SearchOption.AllDirectories);
        Assert.Equal(3, vectorFiles.Length);
        foreach (var f in Directory.GetFiles(t.Dir, "*", SearchOption.AllDirectories)) File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddDays(-30));

        // Vacuum with no retention: every vector file is still referenced by a live file.
        var compactor = new DataCompactor(storage);
        var vacuum = await compactor.VacuumAsync("kinds", new VacuumOptions { Retention = TimeSpan.Zero, Force = true });
        Assert.DoesNotContain(vacuum.Files, f => f.Path.EndsWith(".bin", StringComparison.Ordinal));
        Assert.All(vectorFiles, f => Assert.True(File.Exists(f), f));
        Assert.Equal(before, await ScanRowsAsync(storage, "kinds"));

        // Files are large enough not to be "small": compaction still rewrites those with vectors (the purge).
        await compactor.CompactTableAsync("kinds", new CompactOptions { MinFileSizeBytes = 1 });
        var snapshot = await storage.OpenTable("kinds").GetSnapshotAsync();
        Assert.DoesNotContain(snapshot.Files, f => f.DeletionVector is not null);
        Assert.Equal(before, await ScanRowsAsync(storage, "kinds"));
        Assert.Equal(DuckDbExpected(t, deleted), before);
        Assert.Equal(before.Count, (await storage.GetTableInfoAsync("kinds")).RecordCount);
        // Independent check of the new files: DuckDB reads them raw, without any vector.
        using var duck = new DuckDbReader();
        var raw = snapshot.Files.SelectMany(f => t.DuckDbLiveRows(duck, f.ObjectKey, []));
        Assert.Equal(before, Sorted(raw));

        // Now the vectors are unreferenced (only by tombstones): a vacuum past their retention may delete them.
        var later = await compactor.VacuumAsync("kinds", new VacuumOptions { Retention = TimeSpan.Zero, Force = true, Now = DateTimeOffset.UtcNow.AddDays(1) });
        Assert.Contains(later.Files, f => f.Path.EndsWith(".bin", StringComparison.Ordinal));
        Assert.Equal(before, await ScanRowsAsync(storage, "kinds"));
    }

    [Fact]
    public async Task Z_ordering_rewrites_only_the_live_rows_into_files_without_vectors()
    {
        using var dir = new TempDir();
        var (storage, t, deleted) = StorageKindsLake(dir);
        var before = await ScanRowsAsync(storage, "kinds");
        await new DataCompactor(storage).ZOrderAsync("kinds", ["id", "v"]);
        var snapshot = await storage.OpenTable("kinds").GetSnapshotAsync();
        Assert.DoesNotContain(snapshot.Files, f => f.DeletionVector is not null);
        Assert.Equal(DuckDbExpected(t, deleted), await ScanRowsAsync(storage, "kinds"));
        Assert.Equal(before, await ScanRowsAsync(storage, "kinds"));
    }

    [Fact]
    public async Task An_append_and_a_checkpoint_keep_every_files_vector()
    {
        using var dir = new TempDir();
        var (storage, t, deleted) = StorageKindsLake(dir);
        var before = await ScanRowsAsync(storage, "kinds");
        var table = storage.OpenTable("kinds");
        var vectorsBefore = (await table.GetSnapshotAsync()).Files.ToDictionary(f => f.Path, f => f.DeletionVector);

        var schema = new Schema([new Field("id", Apache.Arrow.Types.Int64Type.Default, true), new Field("v", Apache.Arrow.Types.StringType.Default, true)], null);
        var batch = new RecordBatch(schema, [new Int64Array.Builder().Append(9_000_001).Build(), new StringArray.Builder().Append("new").Build()], 1);
        await storage.WritePartitionedDataAsync([batch], "kinds", DataType.AnalyticsResults);
        await table.CheckpointAsync();

        var reopened = await new DataLakeStorage(dir.Sub("lake")).OpenTable("kinds").GetSnapshotAsync();
        foreach (var (path, dv) in vectorsBefore)
            Assert.Equal(dv, reopened.Files.Single(f => f.Path == path).DeletionVector);
        Assert.Equal(Sorted(before.Append("9000001|new")), await ScanRowsAsync(new DataLakeStorage(dir.Sub("lake")), "kinds", new ReadOptions { Columns = ["id", "v"] }));
    }

    [Fact]
    public async Task Replay_keys_files_by_path_and_vector_a_new_vector_replaces_the_old()
    {
        using var dir = new TempDir();
        var (storage, t, _) = StorageKindsLake(dir);
        var table = storage.OpenTable("kinds");
        var e = (await table.GetSnapshotAsync()).Files.Single(f => f.Path == "e.parquet");
        // As a DELETE would: remove (e, no vector) and add (e, inline vector of rows 0 and 1) in one commit.
        var tx = await table.StartTransactionAsync("DELETE");
        tx.Remove(e);
        tx.Add(e with { DeletionVector = ParseInline(DeletionVectorTable.Inline([0, 1])) });
        await tx.CommitAsync();
        var snapshot = await new DataLakeStorage(dir.Sub("lake")).OpenTable("kinds").GetSnapshotAsync();
        Assert.Single(snapshot.Files, f => f.Path == "e.parquet");
        var rows = await ScanRowsAsync(new DataLakeStorage(dir.Sub("lake")), "kinds");
        Assert.DoesNotContain("4000|v4000", rows);
        Assert.DoesNotContain("4001|v4001", rows);
        Assert.Contains("4002|v4002", rows);

        // Restore to v0 brings the file back without its vector (same path, other vector: other rows).
        await storage.RestoreAsync("kinds", 0);
        Assert.Contains("4000|v4000", await ScanRowsAsync(new DataLakeStorage(dir.Sub("lake")), "kinds"));
    }

    [Fact]
    public void Row_counts_subtract_the_cardinality_and_column_statistics_do_not_take_a_vector_files_null_count()
    {
        var field = new Field("id", Apache.Arrow.Types.Int64Type.Default, true);
        const string json = "{\"numRecords\":10,\"minValues\":{\"id\":0},\"maxValues\":{\"id\":9},\"nullCount\":{\"id\":2}}";
        Assert.True(Ecap.DataLake.Parquet.DataFileStats.TryParse(json, new Schema([field], null), out var stats));
        var file = new AddFile { Path = "a.parquet", Size = 1, ModificationTime = 0, Stats = json };
        var withVector = file with { DeletionVector = new DeletionVectorDescriptor("i", "", null, 0, 3) };
        Assert.Equal(10, TableInspector.NumRecords(file));
        Assert.Equal(7, TableInspector.NumRecords(withVector));

        var plain = new Ecap.DataLake.Catalog.ColumnAccumulator(field, false);
        plain.AddFile(file, 10, stats);
        Assert.Equal(2, plain.Result(false).NullCount);
        // The 2 nulls may be among the 3 deleted rows: the count is unknown, not 2.
        var deleted = new Ecap.DataLake.Catalog.ColumnAccumulator(field, false);
        deleted.AddFile(withVector, 7, stats);
        Assert.Null(deleted.Result(false).NullCount);
    }

    private static DeletionVectorDescriptor ParseInline(string json)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var r = doc.RootElement;
        return new DeletionVectorDescriptor(r.GetProperty("storageType").GetString()!, r.GetProperty("pathOrInlineDv").GetString()!, null,
            r.GetProperty("sizeInBytes").GetInt32(), r.GetProperty("cardinality").GetInt64());
    }
}
