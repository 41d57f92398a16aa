using System.Globalization;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Changes;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Tests.Tables;

/// <summary>
/// DELETE, UPDATE, MERGE, purge and erasure on real tables. The independent reading is DuckDB over the raw data files: the
/// rows a change should hit are asked of DuckDB (with file_row_number), the vectors written are decoded and compared with
/// those positions, and the table read back equals DuckDB's rows minus the deleted positions.
/// </summary>
public class RowChangeTests
{
    private const string Table = "tx";

    private static async Task<DataLakeStorage> LakeAsync(TempDir dir, long rows = 20_000, bool vectors = true, int days = 10)
    {
        var storage = new DataLakeStorage(dir.Sub("lake"));
        await storage.WritePartitionedDataAsync(LakeTestData.Generate(DataType.Transactions, rows, days: days), Table, DataType.Transactions,
            options: new WriteOptions { DeletionVectors = vectors });
        return storage;
    }

    /// <summary>DuckDB's rows (transaction_id|status|amount) of the live files minus their vectors' positions, sorted.</summary>
    private static async Task<List<string>> DuckLiveRowsAsync(DataLakeStorage storage, TempDir dir, DuckDbReader duck, string? where = null)
    {
        var snapshot = await storage.OpenTable(Table).GetSnapshotAsync();
        var rows = new List<string>();
        foreach (var file in snapshot.Files)
        {
            var deleted = file.DeletionVector is { } dv ? await DeletionVectors.LoadAsync(storage.OpenTable(Table).Store, dv) : [];
            var path = Path.Combine(dir.Sub("lake"), Table, file.ObjectKey).Replace("'", "''");
            var sql = $"SELECT transaction_id, status, CAST(amount AS VARCHAR) FROM read_parquet('{path}', file_row_number = true) WHERE " +
                      (deleted.Length == 0 ? "true" : $"file_row_number NOT IN ({string.Join(",", deleted)})") + (where is null ? "" : $" AND ({where})");
            rows.AddRange(duck.Rows(sql).Select(r => $"{r[0]}|{r[1]}|{r[2]}"));
        }
        return rows.Order(StringComparer.Ordinal).ToList();
    }

    private static async Task<List<string>> LakeRowsAsync(DataLakeStorage storage, string? where = null)
    {
        var scan = await storage.ReadPartitionedDataAsync(Table, new ReadOptions
        {
            Columns = ["transaction_id", "status", "amount"], Predicate = where is null ? null : Predicate.Parse(where),
        });
        var rows = new List<string>();
        await foreach (var b in scan.ReadBatchesAsync())
            for (var r = 0; r < b.Length; r++)
                rows.Add($"{ArrowValues.Get(b.Column(0), r)}|{ArrowValues.Get(b.Column(1), r)}|{((decimal)ArrowValues.Get(b.Column(2), r)!).ToString(CultureInfo.InvariantCulture)}");
        return rows.Order(StringComparer.Ordinal).ToList();
    }

    private static string FilePath(TempDir dir, AddFile f) => Path.Combine(dir.Sub("lake"), Table, f.ObjectKey).Replace("'", "''");

    [Fact]
    public async Task Delete_writes_vectors_holding_exactly_the_positions_DuckDB_finds_and_reads_drop_them()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir);
        using var duck = new DuckDbReader();
        var before = await storage.OpenTable(Table).GetSnapshotAsync();
        // The positions DuckDB says match, per file, before the delete.
        var expected = new Dictionary<string, long[]>();
        foreach (var f in before.Files)
        {
            var positions = duck.Rows($"SELECT file_row_number FROM read_parquet('{FilePath(dir, f)}', file_row_number = true) WHERE status = 'refunded' OR amount > 900 ORDER BY 1")
                .Select(r => Convert.ToInt64(r[0], CultureInfo.InvariantCulture)).ToArray();
            if (positions.Length > 0) expected[f.ObjectKey] = positions;
        }
        Assert.NotEmpty(expected);
        var survivors = await DuckLiveRowsAsync(storage, dir, duck, "NOT (status = 'refunded' OR amount > 900)");

        var result = await storage.DeleteAsync(Table, Predicate.Parse("status = 'refunded' OR amount > 900"));

        Assert.True(result.Committed);
        Assert.Equal(expected.Values.Sum(p => p.LongLength), result.RowsDeleted);
        Assert.Equal(expected.Count, result.DeletionVectorsWritten);
        Assert.Equal(0, result.FilesRewritten);
        var after = await storage.OpenTable(Table).GetSnapshotAsync();
        Assert.Equal(before.Files.Count, after.Files.Count); // same files, now with vectors
        foreach (var f in after.Files)
        {
            if (!expected.TryGetValue(f.ObjectKey, out var positions)) { Assert.Null(f.DeletionVector); continue; }
            var dv = Assert.IsType<DeletionVectorDescriptor>(f.DeletionVector);
            Assert.Equal("u", dv.StorageType);
            Assert.Equal(positions, await DeletionVectors.LoadAsync(storage.OpenTable(Table).Store, dv));
        }
        Assert.Equal(survivors, await LakeRowsAsync(storage));
        Assert.Equal(survivors, await DuckLiveRowsAsync(storage, dir, duck));
        Assert.Equal(3, after.Protocol.MinReaderVersion);
        Assert.Contains("deletionVectors", after.Protocol.ReaderFeatures!);

        var history = await storage.GetHistoryAsync(Table, 1);
        Assert.Equal("DELETE", history[0].Operation);
        Assert.Equal(result.RowsDeleted.ToString(CultureInfo.InvariantCulture), history[0].Metrics["numDeletedRows"]);
        Assert.Equal(expected.Count.ToString(CultureInfo.InvariantCulture), history[0].Metrics["numDeletionVectorsAdded"]);
    }

    [Fact]
    public async Task A_second_delete_on_the_same_files_unions_the_vectors_and_a_file_losing_every_row_is_removed()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 5_000, days: 2);
        using var duck = new DuckDbReader();
        await storage.DeleteAsync(Table, Predicate.Parse("status = 'refunded'"));
        var second = await storage.DeleteAsync(Table, Predicate.Parse("status = 'pending'"));
        Assert.True(second.RowsDeleted > 0);
        Assert.Equal(await DuckLiveRowsAsync(storage, dir, duck), await LakeRowsAsync(storage));
        Assert.Empty(await LakeRowsAsync(storage, "status = 'refunded' OR status = 'pending'"));

        // Everything of one day: its files go whole (no vector that deletes every row).
        var day = await storage.DeleteAsync(Table, Predicate.Parse("day = 1"));
        Assert.True(day.RowsDeleted > 0);
        Assert.Equal(0, day.DeletionVectorsWritten);
        var snapshot = await storage.OpenTable(Table).GetSnapshotAsync();
        Assert.DoesNotContain(snapshot.Files, f => f.PartitionValues["day"] == "1");
        Assert.Equal(await DuckLiveRowsAsync(storage, dir, duck), await LakeRowsAsync(storage));
    }

    [Fact]
    public async Task Without_deletion_vectors_delete_copies_the_touched_files_and_no_vector_is_written()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 5_000, vectors: false);
        using var duck = new DuckDbReader();
        var survivors = await DuckLiveRowsAsync(storage, dir, duck, "status <> 'refunded'");
        var before = await storage.OpenTable(Table).GetSnapshotAsync();
        Assert.Equal(1, before.Protocol.MinReaderVersion);

        var result = await storage.DeleteAsync(Table, Predicate.Parse("status = 'refunded'"));

        Assert.Equal(0, result.DeletionVectorsWritten);
        Assert.True(result.FilesRewritten > 0);
        var after = await storage.OpenTable(Table).GetSnapshotAsync();
        Assert.All(after.Files, f => Assert.Null(f.DeletionVector));
        Assert.Equal(1, after.Protocol.MinReaderVersion);
        Assert.Equal(survivors, await LakeRowsAsync(storage));
        Assert.Equal(survivors, await DuckLiveRowsAsync(storage, dir, duck));

        // Turned on explicitly: the next delete writes vectors.
        await storage.EnableDeletionVectorsAsync(Table);
        var withVectors = await storage.DeleteAsync(Table, Predicate.Parse("status = 'pending'"));
        Assert.True(withVectors.DeletionVectorsWritten > 0);
        Assert.Equal(await DuckLiveRowsAsync(storage, dir, duck, "status <> 'refunded' AND status <> 'pending'"), await LakeRowsAsync(storage));
    }

    [Fact]
    public async Task Delete_by_key_opens_and_touches_only_the_file_holding_it()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 20_000, days: 20);
        var snapshot = await storage.OpenTable(Table).GetSnapshotAsync();
        Assert.True(snapshot.Files.Count > 10);
        var result = await storage.DeleteAsync(Table, Predicate.Parse("transaction_id = 1234"));
        Assert.Equal(1, result.RowsDeleted);
        Assert.Equal(1, result.FilesTouched);
        // Ids are spread over the days (every file's id range covers it), so each file is opened; a partition predicate prunes.
        Assert.Equal(snapshot.Files.Count, result.FilesScanned);
        var inDay = await storage.DeleteAsync(Table, Predicate.Parse("day = 3 AND transaction_id > 100"));
        Assert.Equal(snapshot.Files.Count(f => f.PartitionValues["day"] == "3"), inDay.FilesScanned);
        Assert.Empty(await LakeRowsAsync(storage, "transaction_id = 1234"));
        Assert.Equal(20_000 - 1 - inDay.RowsDeleted, (await LakeRowsAsync(storage)).Count);
        var nothing = await storage.DeleteAsync(Table, Predicate.Parse("transaction_id = 1234"));
        Assert.False(nothing.Committed);
        Assert.Equal(inDay.Version, nothing.Version);
    }

    [Fact]
    public async Task Update_sets_literals_on_matched_rows_only_and_a_changed_time_moves_the_row_to_its_partition()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 5_000, days: 5);
        using var duck = new DuckDbReader();
        var before = await LakeRowsAsync(storage);
        var matched = before.Count(r => r.Split('|')[1] == "pending");
        Assert.True(matched > 0);

        var result = await storage.UpdateAsync(Table, [ColumnAssignment.Parse("status='shipped'"), ColumnAssignment.Parse("discount_code=NULL")],
            Predicate.Parse("status = 'pending'"));

        Assert.Equal(matched, result.RowsUpdated);
        var after = await LakeRowsAsync(storage);
        Assert.Equal(before.Select(r => r.Replace("|pending|", "|shipped|")).Order(StringComparer.Ordinal), after);
        Assert.Equal(after, await DuckLiveRowsAsync(storage, dir, duck));
        Assert.Equal("UPDATE", (await storage.GetHistoryAsync(Table, 1))[0].Operation);

        // The time column changes: year/month/day follow, the row lives in the new partition.
        await storage.UpdateAsync(Table, [ColumnAssignment.Parse("timestamp=2030-01-02T03:04:05Z")], Predicate.Parse("transaction_id = 7"));
        var moved = await storage.ReadPartitionedDataAsync(Table, new ReadOptions { Predicate = Predicate.Parse("year = 2030 AND month = 1 AND day = 2") });
        var rows = await LakeTestData.ReadAllAsync(moved);
        Assert.Equal([7L], LakeTestData.Column(rows, "transaction_id").Cast<long>().ToList());
        Assert.Equal(5_000, (await LakeRowsAsync(storage)).Count);

        var bad = await Assert.ThrowsAsync<InvalidInputException>(() => storage.UpdateAsync(Table, [ColumnAssignment.Parse("quantity=lots")], null));
        Assert.Contains("quantity", bad.Message);
        var notNull = await Assert.ThrowsAsync<InvalidInputException>(() => storage.UpdateAsync(Table, [ColumnAssignment.Parse("status=NULL")], null));
        Assert.Contains("not nullable", notNull.Message);
        await Assert.ThrowsAsync<InvalidInputException>(() => storage.UpdateAsync(Table, [ColumnAssignment.Parse("day=3")], null));
    }

    /// <summary>Source rows: the given ids with a new status and amount (other columns from a generated row of the same id).</summary>
    private static async Task<List<RecordBatch>> SourceAsync(DataLakeStorage storage, IEnumerable<long> existing, IEnumerable<long> fresh, string status)
    {
        var ids = existing.ToList();
        var all = LakeTestData.Generate(DataType.Transactions, 200, seed: 9, days: 10);
        var template = all[0];
        var batches = new List<RecordBatch>();
        var keys = ids.Concat(fresh).ToList();
        var rows = Enumerable.Range(0, keys.Count).Select(i => i % template.Length).ToArray();
        var taken = ArrowGather.Take(template, rows);
        var columns = Enumerable.Range(0, taken.ColumnCount).Select(taken.Column).ToArray();
        columns[taken.Schema.GetFieldIndex("transaction_id")] = new Int64Array.Builder().AppendRange(keys).Build();
        columns[taken.Schema.GetFieldIndex("status")] = ArrowArrays.Constant(Apache.Arrow.Types.StringType.Default, status, keys.Count);
        batches.Add(new RecordBatch(taken.Schema, columns, keys.Count));
        await Task.CompletedTask;
        return batches;
    }

    [Fact]
    public async Task Merge_updates_matched_keys_inserts_new_ones_and_touches_only_files_holding_the_keys()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 20_000, days: 20);
        using var duck = new DuckDbReader();
        var existing = new long[] { 5, 6000, 17_000 };
        var fresh = new long[] { 1_000_001, 1_000_002 };
        var source = await SourceAsync(storage, existing, fresh, "merged");

        var result = await storage.MergeAsync(Table, source.ToAsyncEnumerable(), new MergeOptions { On = ["transaction_id"] });

        Assert.Equal(3, result.RowsUpdated);
        Assert.Equal(2, result.RowsInserted);
        Assert.Equal(0, result.RowsDeleted);
        Assert.True(result.FilesTouched <= 3);
        var rows = await LakeRowsAsync(storage);
        Assert.Equal(20_002, rows.Count);
        Assert.Equal(5, rows.Count(r => r.Split('|')[1] == "merged"));
        Assert.Equal(rows.Select(r => r.Split('|')[0]).Distinct().Count(), rows.Count); // no key twice
        Assert.Equal(rows, await DuckLiveRowsAsync(storage, dir, duck));
        var history = (await storage.GetHistoryAsync(Table, 1))[0];
        Assert.Equal("MERGE", history.Operation);
        Assert.Equal("2", history.Metrics["numTargetRowsInserted"]);
        Assert.Equal("3", history.Metrics["numTargetRowsUpdated"]);

        // The same merge again: all five now match, nothing is inserted.
        var again = await storage.MergeAsync(Table, source.ToAsyncEnumerable(), new MergeOptions { On = ["transaction_id"] });
        Assert.Equal(5, again.RowsUpdated);
        Assert.Equal(0, again.RowsInserted);
        Assert.Equal(20_002, (await LakeRowsAsync(storage)).Count);
    }

    [Fact]
    public async Task Merge_refuses_duplicate_source_keys_naming_one_or_keeps_the_greatest_by_dedup_order()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 2_000, days: 2);
        var source = await SourceAsync(storage, [10, 11, 10], [], "dup");
        var e = await Assert.ThrowsAsync<InvalidInputException>(() => storage.MergeAsync(Table, source.ToAsyncEnumerable(), new MergeOptions { On = ["transaction_id"] }));
        Assert.Contains("(10)", e.Message);

        var result = await storage.MergeAsync(Table, source.ToAsyncEnumerable(), new MergeOptions { On = ["transaction_id"], DeduplicateOrderBy = "quantity" });
        Assert.Equal(2, result.RowsUpdated);
        Assert.Equal(2_000, (await LakeRowsAsync(storage)).Count);
    }

    [Fact]
    public async Task Merge_delete_when_and_not_matched_by_source_delete_remove_the_right_rows()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 2_000, days: 2);
        // status 'gone' marks a delete event: matched rows are deleted, unmatched ones not inserted.
        var source = await SourceAsync(storage, [1, 2], [5_000], "gone");
        var deleted = await storage.MergeAsync(Table, source.ToAsyncEnumerable(),
            new MergeOptions { On = ["transaction_id"], DeleteWhen = Predicate.Parse("status = 'gone'") });
        Assert.Equal(2, deleted.RowsDeleted);
        Assert.Equal(0, deleted.RowsInserted);
        Assert.Empty(await LakeRowsAsync(storage, "transaction_id IN (1, 2, 5000)"));

        // Keep only the keys of the source: every other row goes.
        var keep = await SourceAsync(storage, [3, 4], [], "kept");
        var result = await storage.MergeAsync(Table, keep.ToAsyncEnumerable(), new MergeOptions
        {
            On = ["transaction_id"], WhenMatched = MergeMatchedAction.Ignore, WhenNotMatchedBySource = MergeNotMatchedBySourceAction.Delete,
        });
        Assert.Equal(1_996, result.RowsDeleted);
        var rows = await LakeRowsAsync(storage);
        Assert.Equal(["3", "4"], rows.Select(r => r.Split('|')[0]).Order(StringComparer.Ordinal).ToList());
        Assert.DoesNotContain(rows, r => r.Contains("|kept|", StringComparison.Ordinal)); // ignored, not updated
    }

    [Fact]
    public async Task Purge_rewrites_files_with_vectors_without_the_deleted_rows()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 5_000, days: 3);
        using var duck = new DuckDbReader();
        await storage.DeleteAsync(Table, Predicate.Parse("status = 'refunded'"));
        var rows = await LakeRowsAsync(storage);
        var result = await new DataCompactor(storage).PurgeDeletedRowsAsync(Table, 0);
        Assert.True(result.FilesRewritten > 0);
        var snapshot = await storage.OpenTable(Table).GetSnapshotAsync();
        Assert.All(snapshot.Files, f => Assert.Null(f.DeletionVector));
        Assert.Equal(rows, await LakeRowsAsync(storage));
        // The raw live files hold no refunded row any more.
        Assert.Equal(0L, Convert.ToInt64(duck.Scalar(
            $"SELECT count(*) FROM read_parquet([{string.Join(",", snapshot.Files.Select(f => "'" + FilePath(dir, f) + "'"))}]) WHERE status = 'refunded'"), CultureInfo.InvariantCulture));
        Assert.Equal("REORG", (await storage.GetHistoryAsync(Table, 1))[0].Operation);
    }

    [Fact]
    public async Task Erase_then_vacuum_leaves_no_file_of_the_table_holding_the_erased_customer()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 5_000, days: 3);
        using var duck = new DuckDbReader();
        var customer = Convert.ToInt64(duck.Scalar(
            $"SELECT customer_id FROM read_parquet('{Path.Combine(dir.Sub("lake"), Table).Replace("'", "''")}/**/*.parquet') GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"),
            CultureInfo.InvariantCulture);
        // An earlier delete left some of the customer's rows in files behind a vector: erasure must find those too.
        await storage.DeleteAsync(Table, Predicate.Parse($"customer_id = {customer} AND status = 'completed'"));
        var result = await storage.EraseAsync(Table, Predicate.Parse($"customer_id = {customer}"));
        Assert.True(result.Committed);
        Assert.Empty(await LakeRowsAsync(storage, $"customer_id = {customer}"));
        await new DataCompactor(storage).VacuumAsync(Table, new VacuumOptions { Retention = TimeSpan.Zero, Force = true });
        var all = Directory.GetFiles(Path.Combine(dir.Sub("lake"), Table), "*.parquet", SearchOption.AllDirectories);
        Assert.NotEmpty(all);
        Assert.Equal(0L, Convert.ToInt64(duck.Scalar(
            $"SELECT count(*) FROM read_parquet([{string.Join(",", all.Select(f => "'" + f.Replace("'", "''") + "'"))}]) WHERE customer_id = {customer}"), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Concurrent_deletes_appends_and_compaction_lose_no_row_and_resurrect_none()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 4_000, days: 2);
        var compactor = new DataCompactor(storage);
        var extra = LakeTestData.Generate(DataType.Transactions, 400, seed: 5, days: 2);
        // Appended rows get ids far above the table's: each append is 400 new keys.
        RecordBatch Shift(RecordBatch b, long by)
        {
            var cols = Enumerable.Range(0, b.ColumnCount).Select(b.Column).ToArray();
            var ids = (Int64Array)cols[b.Schema.GetFieldIndex("transaction_id")];
            cols[b.Schema.GetFieldIndex("transaction_id")] = new Int64Array.Builder().AppendRange(Enumerable.Range(0, b.Length).Select(i => ids.GetValue(i)!.Value + by)).Build();
            return new RecordBatch(b.Schema, cols, b.Length);
        }
        var tasks = new List<Task>();
        for (var i = 0; i < 4; i++)
        {
            var n = i;
            tasks.Add(Task.Run(() => storage.WritePartitionedDataAsync(extra.Select(b => Shift(b, 100_000 * (n + 1))), Table, DataType.Transactions)));
            tasks.Add(Task.Run(() => storage.DeleteAsync(Table, Predicate.Parse($"transaction_id > {n * 500} AND transaction_id <= {n * 500 + 250}"))));
        }
        tasks.Add(Task.Run(async () =>
        {
            try { await compactor.CompactTableAsync(Table, new CompactOptions { TargetFileSizeBytes = 64L << 20 }); }
            catch (ConcurrentModificationException) { /* compaction may lose the race: that is allowed */ }
        }));
        await Task.WhenAll(tasks);

        var rows = await LakeRowsAsync(storage);
        var ids = rows.Select(r => long.Parse(r.Split('|')[0], CultureInfo.InvariantCulture)).ToHashSet();
        Assert.Equal(rows.Count, ids.Count);
        Assert.Equal(4_000 - 4 * 250 + 4 * 400, rows.Count);
        for (var n = 0; n < 4; n++)
            Assert.DoesNotContain(ids, id => id > n * 500 && id <= n * 500 + 250);
    }

    [Fact]
    public async Task Two_concurrent_merges_inserting_the_same_new_key_leave_it_once()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 2_000, days: 2);
        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            var source = await SourceAsync(storage, [], [999_999], "merge" + i);
            return await storage.MergeAsync(Table, source.ToAsyncEnumerable(), new MergeOptions { On = ["transaction_id"] });
        })));
        Assert.True(1 == results.Sum(r => r.RowsInserted), string.Join("; ", results.Select(r => r.ToString())));
        Assert.Equal(3, results.Sum(r => r.RowsUpdated));
        Assert.Single(await LakeRowsAsync(storage, "transaction_id = 999999"));
        Assert.Equal(2_001, (await LakeRowsAsync(storage)).Count);
    }

    [Fact]
    public async Task Merge_on_a_bucketed_key_opens_only_the_buckets_of_the_source_keys()
    {
        using var dir = new TempDir();
        var storage = new DataLakeStorage(dir.Sub("lake"));
        var profiles = LakeTestData.Generate(DataType.CustomerProfiles, 5_000, days: 2);
        await storage.WritePartitionedDataAsync(profiles, "profiles", DataType.CustomerProfiles);
        var before = await storage.OpenTable("profiles").GetSnapshotAsync();
        var first = profiles[0];
        var source = ArrowGather.Take(first, [0]);
        var result = await storage.MergeAsync("profiles", new[] { source }.ToAsyncEnumerable(), new MergeOptions { On = ["customer_id"] });
        Assert.Equal(1, result.RowsUpdated);
        Assert.Equal(1, result.FilesTouched);
        // The read opened only files of the key's bucket: as many as a read filtering on the key opens.
        var scan = Ecap.DataLake.Tables.Reading.TableScan.Plan(storage.OpenTable("profiles").Store, before,
            new ReadOptions { Predicate = new InList("customer_id", [ArrowValues.Get(source.Column(source.Schema.GetFieldIndex("customer_id")), 0)]) });
        Assert.True(scan.Metrics.FilesPrunedByBucket > 0);
        Assert.Equal(scan.Files.Count, result.FilesScanned);
        Assert.True(result.FilesScanned < before.Files.Count / 5, $"{result.FilesScanned} of {before.Files.Count} files opened");
        Assert.Equal(5_000, LakeTestData.Rows(await LakeTestData.ReadAllAsync(await storage.ReadPartitionedDataAsync("profiles"))));
    }

    [Fact]
    public async Task A_source_larger_than_the_write_buffer_is_spilled_in_parts_and_merges_exactly_as_in_memory()
    {
        using var dir = new TempDir();
        var rows = LakeTestData.Generate(DataType.Transactions, 6_000, days: 2, batchSize: 500);
        var ids = Enumerable.Range(1, 3_000).Select(i => (long)i * 2).Concat(Enumerable.Range(0, 1_000).Select(i => 100_000L + i)).ToList();
        var source = await SourceAsync(null!, ids.Take(2_000), ids.Skip(2_000), "spilled");
        // Duplicates spread over the source: the last in source order wins, in whichever part the key falls.
        var dupes = await SourceAsync(null!, ids.Take(500), [], "last");
        var options = new MergeOptions { On = ["transaction_id"], LastDuplicateWins = true, WhenNotMatchedBySource = MergeNotMatchedBySourceAction.Delete };
        async Task<(ChangeResult Result, List<string> Rows)> Run(string name, long buffer)
        {
            var storage = new DataLakeStorage(dir.Sub(name), new DataLakeStorageOptions { WriteBufferBytes = buffer });
            await storage.WritePartitionedDataAsync(rows, Table, DataType.Transactions);
            var batches = source.SelectMany(b => Enumerable.Range(0, (b.Length + 99) / 100).Select(i => b.Slice(i * 100, Math.Min(100, b.Length - i * 100))))
                .Concat(dupes).ToList();
            var result = await storage.MergeAsync(Table, batches.ToAsyncEnumerable(), options);
            return (result, await LakeRowsAsync(storage));
        }
        var inMemory = await Run("memory", 512L << 20);
        var spilled = await Run("spilled", 64 * 1024);
        var history = await new DataLakeStorage(dir.Sub("spilled")).GetHistoryAsync(Table, 1);
        Assert.True(int.Parse(history[0].Metrics["numSourceParts"], CultureInfo.InvariantCulture) > 2);
        Assert.Equal(inMemory.Rows, spilled.Rows);
        Assert.Equal((inMemory.Result.RowsInserted, inMemory.Result.RowsUpdated, inMemory.Result.RowsDeleted),
            (spilled.Result.RowsInserted, spilled.Result.RowsUpdated, spilled.Result.RowsDeleted));
        Assert.Equal(ids.Count, spilled.Rows.Count); // only the source's keys are left
        Assert.Equal(500, spilled.Rows.Count(r => r.Contains("|last|", StringComparison.Ordinal)));
        Assert.Empty(Directory.GetDirectories(Path.GetTempPath(), $"ecap-merge-{Environment.ProcessId}-src*"));
    }

    [Fact]
    public void Written_vectors_are_byte_identical_to_an_independent_portable_encoder_and_decode_back()
    {
        // Sparse values (array containers), a dense container (> 4096 values: bitmap), and positions past 2^32 (a second bucket):
        // where the test encoder picks no run container, the portable format leaves one byte sequence.
        var random = new Random(3);
        var rows = Enumerable.Range(0, 3_000).Select(_ => (long)random.Next(0, 1 << 22))
            .Concat(Enumerable.Range(0, 6_000).Select(_ => (1L << 20) * 7 + random.Next(0, 65_536)))
            .Concat(Enumerable.Range(0, 50).Select(_ => (1L << 32) + random.Next(0, 1 << 20)))
            .Distinct().Order().ToArray();
        var ours = RoaringBitmapArray.Encode(rows);
        Assert.Equal(DeletionVectorTable.Serialize(rows), ours);
        var dv = new DeletionVectorDescriptor("i", "", null, ours.Length, rows.Length);
        Assert.Equal(rows, RoaringBitmapArray.Decode(ours, dv));
        Assert.Equal(DeletionVectorTable.Z85Encode(Guid.Empty.ToByteArray()), Z85.Encode(Guid.Empty.ToByteArray()));
    }

    [Fact]
    public async Task Deleting_from_the_Spark_written_table_unions_with_its_own_vectors()
    {
        using var dir = new TempDir();
        var modern = Path.Combine(RepoPaths.Root, "tests", "conformance", "delta-modern", "dv-partitioned-with-checkpoint");
        TempDir.CopyDirectory(Path.Combine(modern, "delta"), Path.Combine(dir.Sub("lake"), "dv"));
        var storage = new DataLakeStorage(dir.Sub("lake"));
        using var duck = new DuckDbReader();
        var expected = duck.Rows($"SELECT part, col1, col2 FROM read_parquet('{Path.Combine(modern, "expected")}/*.parquet') WHERE NOT (col1 % 3 = 0)")
            .Select(r => $"{r[0]}|{r[1]}|{r[2]}").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(expected);
        var result = await storage.DeleteAsync("dv", Predicate.Parse("col1 IN (0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48)"));
        Assert.True(result.Committed);
        var scan = await storage.ReadPartitionedDataAsync("dv", new ReadOptions { Columns = ["part", "col1", "col2"] });
        var rows = new List<string>();
        await foreach (var b in scan.ReadBatchesAsync())
            for (var r = 0; r < b.Length; r++)
                rows.Add($"{ArrowValues.Get(b.Column(0), r)}|{ArrowValues.Get(b.Column(1), r)}|{ArrowValues.Get(b.Column(2), r)}");
        Assert.Equal(expected, rows.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task A_source_with_some_columns_updates_those_and_keeps_the_others_of_the_matched_rows()
    {
        using var dir = new TempDir();
        var storage = await LakeAsync(dir, rows: 3_000, days: 3);
        var before = await LakeRowsAsync(storage);
        var ids = new long[] { 3, 1500, 2999 };
        var source = new RecordBatch(new Schema.Builder()
                .Field(new Field("transaction_id", Apache.Arrow.Types.Int64Type.Default, false))
                .Field(new Field("status", Apache.Arrow.Types.StringType.Default, false)).Build(),
            [new Int64Array.Builder().AppendRange(ids).Build(), ArrowArrays.Constant(Apache.Arrow.Types.StringType.Default, "partial", ids.Length)], ids.Length);
        var result = await storage.MergeAsync(Table, new[] { source }.ToAsyncEnumerable(),
            new MergeOptions { On = ["transaction_id"], WhenNotMatched = MergeNotMatchedAction.Ignore });
        Assert.Equal(3, result.RowsUpdated);
        var expected = before.Select(r =>
        {
            var parts = r.Split('|');
            return ids.Contains(long.Parse(parts[0], CultureInfo.InvariantCulture)) ? $"{parts[0]}|partial|{parts[2]}" : r; // amount kept
        }).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, await LakeRowsAsync(storage));
    }
}
