using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Tables;

public class DataLakeStorageWriteTests
{
    [Fact]
    public async Task Transactions_are_partitioned_by_utc_day_on_disk_and_sorted_by_transaction_id_inside_each_file()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        var input = Generate(DataType.Transactions, 30_000, days: 5);
        var result = await lake.WritePartitionedDataAsync(input, "tx", DataType.Transactions);

        Assert.Equal(0, result.Version);
        Assert.Equal(30_000, result.RowsWritten);
        var days = Directory.GetDirectories(Path.Combine(dir.Path, "tx", "year=2026", "month=8")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(new[] { "day=1", "day=2", "day=3", "day=4", "day=5" }, days);

        using var duck = new DuckDbReader();
        foreach (var file in await LiveFilesAsync(lake, dir.Path, "tx"))
        {
            var p = file.Replace("'", "''");
            // Partition columns live in the log, not in the files (DuckDB would add them from the path
            // unless told not to); the day of every row matches its folder.
            Assert.Equal(0L, duck.Scalar($"SELECT count(*) FROM (DESCRIBE SELECT * FROM read_parquet('{p}', hive_partitioning = false)) WHERE column_name IN ('year','month','day')"));
            var folderDay = int.Parse(Path.GetFileName(Path.GetDirectoryName(file))!.Split('=')[1]);
            Assert.Equal(0L, duck.Scalar($"SELECT count(*) FROM read_parquet('{p}') WHERE day(timestamp AT TIME ZONE 'UTC') <> {folderDay}"));
            // Sorted inside the file: no row has a smaller id than the row before it.
            Assert.Equal(0L, duck.Scalar(
                $"SELECT count(*) FROM (SELECT transaction_id < lag(transaction_id) OVER (ORDER BY file_row_number) AS down FROM read_parquet('{p}', file_row_number = true)) WHERE down"));
        }
        // DuckDB over the live files sees exactly the input's rows and sums.
        var files = DuckDbReader.FileList(await LiveFilesAsync(lake, dir.Path, "tx"));
        Assert.Equal(30_000L, duck.Scalar($"SELECT count(*) FROM read_parquet({files})"));
        var expectedSum = Column(input, "amount").Cast<decimal>().Sum();
        Assert.Equal(expectedSum, Convert.ToDecimal(duck.Scalar($"SELECT sum(amount) FROM read_parquet({files})")));
        Assert.Equal(30_000L, duck.Scalar($"SELECT count(DISTINCT transaction_id) FROM read_parquet({files})"));
    }

    [Theory]
    [InlineData(DataType.UserEvents, new[] { "year", "month", "day", "event_type" })]
    [InlineData(DataType.ProductUpdates, new[] { "category", "year", "month" })]
    [InlineData(DataType.AnalyticsResults, new[] { "result_type", "year", "month" })]
    [InlineData(DataType.CustomerProfiles, new[] { "customer_segment", "region" })]
    public async Task Each_data_type_gets_its_strategy_partition_columns(DataType type, string[] partitions)
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(type, 5_000, days: 40), "t", type);
        var snapshot = await lake.OpenTable("t").GetSnapshotAsync();
        Assert.Equal(partitions, snapshot.PartitionColumns);
        var first = snapshot.Files.First();
        var expectedDir = string.Join("/", partitions.Select(p => p + "=")); // every file sits under col=value/... in this order
        var segments = first.ObjectKey.Split('/');
        Assert.Equal(partitions, segments.Take(partitions.Length).Select(s => s.Split('=')[0]).ToArray());
        Assert.NotEmpty(expectedDir);
        var info = await lake.GetTableInfoAsync("t");
        Assert.Equal(5_000, info.RecordCount);
        Assert.Equal(type.ToName(), info.DataType);
    }

    [Fact]
    public async Task Customer_profiles_are_bucketed_by_iceberg_hash_in_file_names_and_tags()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        var input = Generate(DataType.CustomerProfiles, 8_000);
        await lake.WritePartitionedDataAsync(input, "customers", DataType.CustomerProfiles);
        var snapshot = await lake.OpenTable("customers").GetSnapshotAsync();
        using var duck = new DuckDbReader();
        foreach (var file in snapshot.Files)
        {
            var bucket = int.Parse(file.Tags![TableLayout.BucketTag]!);
            Assert.InRange(bucket, 0, 9);
            Assert.Contains($"-b{bucket:D2}.", Path.GetFileName(file.ObjectKey));
            var ids = duck.Rows($"SELECT customer_id FROM read_parquet('{Path.Combine(dir.Path, "customers", file.ObjectKey)}')").Select(r => (long)r[0]!);
            Assert.All(ids, id => Assert.Equal(bucket, IcebergBucket.Bucket(id, 10)));
        }
    }

    [Fact]
    public async Task Append_adds_a_version_and_overwrite_replaces_every_row()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 2_000, seed: 1), "tx", DataType.Transactions);
        var appended = await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 1_000, seed: 2), "tx", DataType.Transactions, WriteMode.Append);
        Assert.Equal(1, appended.Version);
        Assert.Equal(3_000, (await lake.GetTableInfoAsync("tx")).RecordCount);

        var overwritten = await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 500, seed: 3), "tx", DataType.Transactions, WriteMode.Overwrite);
        Assert.Equal(2, overwritten.Version);
        Assert.True(overwritten.FilesRemoved > 0);
        Assert.Equal(500, (await lake.GetTableInfoAsync("tx")).RecordCount);
        // The old versions stay readable.
        Assert.Equal(3_000, Rows(await ReadAllAsync(await lake.ReadPartitionedDataAsync("tx", new ReadOptions { Version = 1 }))));
    }

    [Fact]
    public async Task Overwrite_partitions_replaces_only_the_partitions_in_the_input()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 9_000, seed: 1, days: 3), "tx", DataType.Transactions);
        var before = (await lake.GetTableInfoAsync("tx")).Partitions.ToDictionary(p => p.Values["day"]!, p => p.RecordCount);
        // New data for day 2 only.
        var day2 = Generate(DataType.Transactions, 100, seed: 9, days: 1).Select(b => ShiftDays(b, "timestamp", 1)).ToList();
        var result = await lake.WritePartitionedDataAsync(day2, "tx", DataType.Transactions, WriteMode.OverwritePartitions);

        var after = (await lake.GetTableInfoAsync("tx")).Partitions.ToDictionary(p => p.Values["day"]!, p => p.RecordCount);
        Assert.Equal(100, after["2"]);
        Assert.Equal(before["1"], after["1"]);
        Assert.Equal(before["3"], after["3"]);
        Assert.NotEqual(100, before["2"]);
        Assert.True(result.FilesRemoved >= 1);
    }

    [Fact]
    public async Task Error_if_exists_fails_and_ignore_skips_when_the_table_exists()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        var data = Generate(DataType.Transactions, 100);
        await lake.WritePartitionedDataAsync(data, "tx", DataType.Transactions, WriteMode.ErrorIfExists);
        await Assert.ThrowsAsync<TableAlreadyExistsException>(() => lake.WritePartitionedDataAsync(data, "tx", DataType.Transactions, WriteMode.ErrorIfExists));
        var ignored = await lake.WritePartitionedDataAsync(data, "tx", DataType.Transactions, WriteMode.Ignore);
        Assert.True(ignored.Skipped);
        Assert.Equal(0, ignored.Version);
        Assert.Equal(100, (await lake.GetTableInfoAsync("tx")).RecordCount);
    }

    [Fact]
    public async Task A_new_column_is_refused_by_name_unless_merge_schema_adds_it()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100), "tx", DataType.Transactions);
        var wider = Generate(DataType.Transactions, 50, seed: 5).Select(b => WithColumn(b, "gift_wrap", true)).ToList();

        var e = await Assert.ThrowsAsync<SchemaMismatchException>(() => lake.WritePartitionedDataAsync(wider, "tx", DataType.Transactions));
        Assert.Contains("gift_wrap", e.Message);
        Assert.Equal(0, (await lake.OpenTable("tx").GetSnapshotAsync()).Version);

        var merged = await lake.WritePartitionedDataAsync(wider, "tx", DataType.Transactions, WriteMode.Append, new WriteOptions { MergeSchema = true });
        Assert.Equal(1, merged.Version);
        var rows = await ReadAllAsync(await lake.ReadPartitionedDataAsync("tx", new ReadOptions { Columns = ["transaction_id", "gift_wrap"] }));
        var values = Column(rows, "gift_wrap").ToList();
        Assert.Equal(150, values.Count);
        Assert.Equal(100, values.Count(v => v == null));   // old files have no such column: null
        Assert.Equal(50, values.Count(v => v is true));
    }

    [Fact]
    public async Task A_type_change_is_refused_naming_the_column_and_overwrite_schema_replaces_it()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100), "tx", DataType.Transactions);
        var changed = Generate(DataType.Transactions, 10).Select(b => ReplaceColumn(b, "quantity", new StringArray.Builder().AppendRange(Enumerable.Repeat("many", b.Length)).Build())).ToList();
        var e = await Assert.ThrowsAsync<SchemaMismatchException>(() => lake.WritePartitionedDataAsync(changed, "tx", DataType.Transactions));
        Assert.Contains("'quantity'", e.Message);

        await lake.WritePartitionedDataAsync(changed, "tx", DataType.Transactions, WriteMode.Overwrite, new WriteOptions { OverwriteSchema = true });
        var snapshot = await lake.OpenTable("tx").GetSnapshotAsync();
        Assert.IsType<StringType>(snapshot.Schema.GetFieldByName("quantity").DataType);
        Assert.Equal(10, (await lake.GetTableInfoAsync("tx")).RecordCount);
    }

    [Fact]
    public async Task Deduplication_keeps_the_last_row_per_key_by_the_ordering_column()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        var batch = Generate(DataType.Transactions, 1_000, days: 2, batchSize: 1_000)[0];
        // Every row twice, the copy 1 s later with quantity 99: the copy must win.
        var later = ReplaceColumn(ShiftSeconds(batch, "timestamp", 1), "quantity", new Int32Array.Builder().AppendRange(Enumerable.Repeat(99, batch.Length)).Build());
        var result = await lake.WritePartitionedDataAsync(new[] { later, batch }, "tx", DataType.Transactions, WriteMode.Append,
            new WriteOptions { DeduplicateKeys = ["transaction_id"], DeduplicateOrderBy = "timestamp" });

        Assert.Equal(1_000, result.DuplicatesDropped);
        Assert.Equal(1_000, result.RowsWritten);
        var rows = await ReadAllAsync(await lake.ReadPartitionedDataAsync("tx", new ReadOptions { Columns = ["quantity"] }));
        Assert.All(Column(rows, "quantity"), q => Assert.Equal(99, q));
    }

    [Fact]
    public async Task Skip_existing_keys_drops_input_rows_whose_key_is_already_in_their_partition_only()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        var batch = Generate(DataType.Transactions, 1_000, days: 2, batchSize: 1_000)[0];
        await lake.WritePartitionedDataAsync(new[] { batch }, "tx", DataType.Transactions);

        // Input: the first 500 rows again (same keys, same days: already there), and the other 500 moved 10 days on
        // (keys that exist, but in other partitions than the ones these rows go to: kept).
        var again = batch.Slice(0, 500);
        var moved = ShiftSeconds(batch.Slice(500, 500), "timestamp", 10 * 86_400);
        var options = new WriteOptions { DeduplicateKeys = ["transaction_id"], SkipExistingKeys = true };
        var result = await lake.WritePartitionedDataAsync(new[] { again, moved }, "tx", DataType.Transactions, WriteMode.Append, options);

        Assert.Equal(500, result.RowsWritten);
        Assert.Equal(500, result.DuplicatesDropped);
        using var duck = new DuckDbReader();
        var files = DuckDbReader.FileList(await LiveFilesAsync(lake, dir.Path, "tx"));
        Assert.Equal(1_500L, duck.Scalar($"SELECT count(*) FROM read_parquet({files})"));
        Assert.Equal(1_000L, duck.Scalar($"SELECT count(DISTINCT transaction_id) FROM read_parquet({files})"));
        // Each key at most once per day.
        Assert.Equal(0L, duck.Scalar($"SELECT count(*) FROM (SELECT transaction_id, CAST(timestamp AS DATE) d FROM read_parquet({files}) GROUP BY ALL HAVING count(*) > 1)"));

        // Without the key columns the option is refused before anything is written.
        await Assert.ThrowsAsync<InvalidInputException>(() => lake.WritePartitionedDataAsync(new[] { again }, "tx", DataType.Transactions,
            WriteMode.Append, new WriteOptions { SkipExistingKeys = true }));
        Assert.Equal(1, (await lake.OpenTable("tx").GetSnapshotAsync()).Version);
    }

    [Fact]
    public async Task A_missing_time_column_is_an_error_naming_it_and_the_option()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        var renamed = Generate(DataType.Transactions, 10).Select(b => Rename(b, "timestamp", "ts")).ToList();
        var e = await Assert.ThrowsAsync<SchemaMismatchException>(() => lake.WritePartitionedDataAsync(renamed, "tx", DataType.Transactions));
        Assert.Contains("timestamp", e.Message);
        Assert.Contains("TimeColumn", e.Message);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "tx", "_delta_log")));

        var ok = await lake.WritePartitionedDataAsync(renamed, "tx", DataType.Transactions, WriteMode.Append, new WriteOptions { TimeColumn = "ts" });
        Assert.Equal(10, ok.RowsWritten);
    }

    [Fact]
    public async Task A_failed_write_leaves_no_data_files_and_no_commit()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100), "tx", DataType.Transactions);
        var filesBefore = Directory.GetFiles(Path.Combine(dir.Path, "tx"), "*.parquet", SearchOption.AllDirectories).Length;

        static async IAsyncEnumerable<RecordBatch> FailingStream(IEnumerable<RecordBatch> first)
        {
            foreach (var b in first) { yield return b; await Task.Yield(); }
            throw new IOException("source went away");
        }
        await Assert.ThrowsAsync<IOException>(() => lake.WritePartitionedDataAsync(FailingStream(Generate(DataType.Transactions, 500, seed: 4)), "tx", DataType.Transactions));
        Assert.Equal(0, (await lake.OpenTable("tx").GetSnapshotAsync()).Version);
        Assert.Equal(filesBefore, Directory.GetFiles(Path.Combine(dir.Path, "tx"), "*.parquet", SearchOption.AllDirectories).Length);
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/b")]
    [InlineData("")]
    public async Task Table_names_that_are_not_folder_names_are_refused(string name)
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await Assert.ThrowsAsync<InvalidPathException>(() => lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10), name, DataType.Transactions));
    }

    // ---- batch helpers

    internal static RecordBatch ReplaceColumn(RecordBatch b, string name, IArrowArray array)
    {
        var i = b.Schema.GetFieldIndex(name);
        var fields = b.Schema.FieldsList.ToList();
        fields[i] = new Field(name, array.Data.DataType, true);
        var cols = Enumerable.Range(0, b.ColumnCount).Select(b.Column).ToList();
        cols[i] = array;
        return new RecordBatch(new Schema(fields, null), cols, b.Length);
    }

    internal static RecordBatch WithColumn(RecordBatch b, string name, bool value)
    {
        var fields = b.Schema.FieldsList.Append(new Field(name, BooleanType.Default, true)).ToList();
        var cols = Enumerable.Range(0, b.ColumnCount).Select(b.Column).Append(new BooleanArray.Builder().AppendRange(Enumerable.Repeat(value, b.Length)).Build()).ToList();
        return new RecordBatch(new Schema(fields, null), cols, b.Length);
    }

    internal static RecordBatch Rename(RecordBatch b, string from, string to)
    {
        var fields = b.Schema.FieldsList.Select(f => f.Name == from ? new Field(to, f.DataType, f.IsNullable) : f).ToList();
        return new RecordBatch(new Schema(fields, null), Enumerable.Range(0, b.ColumnCount).Select(b.Column), b.Length);
    }

    internal static RecordBatch ShiftDays(RecordBatch b, string column, int days) => ShiftSeconds(b, column, days * 86_400L);

    internal static RecordBatch ShiftSeconds(RecordBatch b, string column, long seconds)
    {
        var ts = (TimestampArray)b.Column(b.Schema.GetFieldIndex(column));
        var builder = new TimestampArray.Builder((TimestampType)ts.Data.DataType);
        for (var i = 0; i < ts.Length; i++) builder.Append(ts.GetTimestamp(i)!.Value.AddSeconds(seconds));
        return ReplaceColumnKeepNullability(b, column, builder.Build());
    }

    private static RecordBatch ReplaceColumnKeepNullability(RecordBatch b, string name, IArrowArray array)
    {
        var i = b.Schema.GetFieldIndex(name);
        var cols = Enumerable.Range(0, b.ColumnCount).Select(b.Column).ToList();
        cols[i] = array;
        return new RecordBatch(b.Schema, cols, b.Length);
    }
}
