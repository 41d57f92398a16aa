using Ecap.DataLake.Catalog;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Catalog;

/// <summary>
/// The catalog's behaviour, run once per store (<see cref="LakeStoreMetadataManagerTests"/>,
/// <see cref="PostgresStoreMetadataManagerTests"/>): both must mean the same thing.
/// </summary>
public abstract class MetadataManagerTests
{
    /// <summary>
    /// A catalog for the lake in <paramref name="dir"/>: every call gives a new manager over a new store instance (its own
    /// connections, as another process would have) on the same catalog.
    /// </summary>
    protected abstract MetadataManager OpenCatalog(TempDir dir);

    /// <summary>Asserts the store holds <paramref name="versions"/> versions of the entry (0 .. versions-1) so far.</summary>
    protected abstract void AssertStoredVersions(TempDir dir, string table, int versions);

    [Fact]
    public async Task Register_captures_schema_and_partition_columns_and_registering_again_updates_the_entry()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 500, days: 3), "tx", DataType.Transactions);
        var catalog = OpenCatalog(dir);

        var entry = await catalog.RegisterTableAsync("tx", Path.Combine(dir.Path, "tx"), "Orders", "sales", ["pii"]);
        Assert.Equal(MetadataManager.DefaultDatabase, entry.Database);
        Assert.Equal(["year", "month", "day"], entry.PartitionColumns);
        Assert.Contains(entry.Columns, c => c.Name == "transaction_id" && c.Type == "long" && !c.Nullable);
        Assert.Equal(500, entry.RowCount);
        Assert.Equal(0, entry.TableVersion);

        var again = await catalog.RegisterTableAsync("tx", Path.Combine(dir.Path, "tx"), description: "All orders", tags: ["finance"]);
        Assert.Equal("All orders", again.Description);
        Assert.Equal("sales", again.Owner);                    // kept: not given the second time
        Assert.Equal(["pii", "finance"], again.Tags);
        Assert.Single(await catalog.ListTablesAsync());
        AssertStoredVersions(dir, "tx", 2);
        // The catalog folder is not a table of the lake.
        Assert.Equal(["tx"], (await lake.ListTablesAsync()).Select(t => t.Name));
    }

    [Fact]
    public async Task Bad_paths_and_unknown_tables_fail_with_messages_that_name_them()
    {
        using var dir = new TempDir();
        var catalog = OpenCatalog(dir);
        Directory.CreateDirectory(dir.Sub("plain"));
        var notDelta = await Assert.ThrowsAsync<InvalidInputException>(() => catalog.RegisterTableAsync("t", dir.Sub("plain")));
        Assert.Contains("plain", notDelta.Message);
        Assert.Contains("not a Delta table", notDelta.Message);
        await Assert.ThrowsAsync<InvalidInputException>(() => catalog.RegisterTableAsync("t", dir.Sub("missing")));
        await Assert.ThrowsAsync<InvalidPathException>(() => catalog.RegisterTableAsync("../evil", dir.Sub("plain")));

        var unknown = await Assert.ThrowsAsync<TableNotFoundException>(() => catalog.GetTableAsync("nope"));
        Assert.Contains("'nope' is not registered", unknown.Message);
        await Assert.ThrowsAsync<TableNotFoundException>(() => catalog.UpdateTableStatisticsAsync("nope"));
        await Assert.ThrowsAsync<TableNotFoundException>(() => catalog.SetTableStatusAsync("nope", TableStatus.Archived));
        await Assert.ThrowsAsync<TableNotFoundException>(() => catalog.GetLineageAsync("nope"));
        await Assert.ThrowsAsync<TableNotFoundException>(() => catalog.SyncFromLogAsync("nope"));
        await Assert.ThrowsAsync<InvalidInputException>(() => catalog.SearchTablesAsync("x", ["colour"]));
    }

    [Fact]
    public async Task Search_ranks_exact_name_then_prefix_then_substring_then_other_fields_case_insensitively()
    {
        using var dir = new TempDir();
        var catalog = await CatalogWithAsync(dir, "orders_daily", "orders", "big_orders", "customers", "events");
        await catalog.RegisterTableAsync("customers", dir.Sub("customers"), description: "who places ORDERS");
        await catalog.RegisterTableAsync("events", dir.Sub("events"), owner: "orders-team");

        var hits = await catalog.SearchTablesAsync("Orders");
        Assert.Equal(["orders", "orders_daily", "big_orders", "customers", "events"], hits.Select(h => h.Entry.Name));
        Assert.Equal([0, 1, 2, 3, 3], hits.Select(h => h.Rank));
        Assert.Equal(["description"], hits[3].MatchedFields);

        Assert.Equal(["events"], (await catalog.SearchTablesAsync("orders", ["owner"])).Select(h => h.Entry.Name));
        // Column names are searchable: every table here has transaction_id.
        Assert.Equal(5, (await catalog.SearchTablesAsync("TRANSACTION_ID", ["columns"])).Count);
        Assert.Empty(await catalog.SearchTablesAsync("zzz"));
    }

    [Fact]
    public async Task Lineage_answers_direct_and_transitive_queries_and_terminates_on_cycles()
    {
        using var dir = new TempDir();
        var catalog = await CatalogWithAsync(dir, "raw", "clean", "report", "dashboard");
        await catalog.AddTableLineageAsync("clean", upstream: ["raw"]);
        await catalog.AddTableLineageAsync("report", upstream: ["clean"], downstream: ["dashboard"]);

        var report = await catalog.GetLineageAsync("report");
        Assert.Equal(["data_lake.clean"], report.DirectUpstream);
        Assert.Equal(["data_lake.dashboard"], report.DirectDownstream);
        Assert.Equal(["data_lake.clean", "data_lake.raw"], report.AllUpstream);
        var raw = await catalog.GetLineageAsync("raw");
        Assert.Equal(["data_lake.clean", "data_lake.report", "data_lake.dashboard"], raw.AllDownstream);

        // dashboard feeds raw back: a cycle. Queries still end and list each table once.
        await catalog.AddTableLineageAsync("raw", upstream: ["dashboard"]);
        var cyclic = await catalog.GetLineageAsync("clean");
        Assert.Equal(["data_lake.raw", "data_lake.dashboard", "data_lake.report"], cyclic.AllUpstream);
        Assert.Equal(["data_lake.report", "data_lake.dashboard", "data_lake.raw"], cyclic.AllDownstream);
        Assert.Equal(4, cyclic.Edges.Count);

        await Assert.ThrowsAsync<InvalidInputException>(() => catalog.AddTableLineageAsync("raw", upstream: ["raw"]));
        await Assert.ThrowsAsync<TableNotFoundException>(() => catalog.AddTableLineageAsync("raw", upstream: ["ghost"]));
    }

    [Fact]
    public async Task Status_changes_filter_listing_by_status_and_database()
    {
        using var dir = new TempDir();
        var catalog = await CatalogWithAsync(dir, "a", "b", "c");
        await catalog.RegisterTableAsync("d", dir.Sub("a"), database: "finance");
        await catalog.SetTableStatusAsync("b", TableStatus.Deprecated);
        await catalog.SetTableStatusAsync("c", TableStatus.Archived);

        Assert.Equal(["a", "b", "c", "d"], (await catalog.ListTablesAsync()).Select(e => e.Name));
        Assert.Equal(["a", "d"], (await catalog.ListTablesAsync(status: TableStatus.Active)).Select(e => e.Name));
        Assert.Equal(["b"], (await catalog.ListTablesAsync(status: TableStatus.Deprecated)).Select(e => e.Name));
        Assert.Equal(["d"], (await catalog.ListTablesAsync("finance")).Select(e => e.Name));
        Assert.Equal("finance", (await catalog.GetTableAsync("d")).Database);
        Assert.Equal("finance", (await catalog.GetTableAsync("finance.d")).Database);
        Assert.Equal(TableStatus.Archived, TableStatuses.Parse("ARCHIVED"));
        Assert.Throws<InvalidInputException>(() => TableStatuses.Parse("gone"));
    }

    [Fact]
    public async Task Concurrent_edits_through_separate_store_instances_lose_no_update()
    {
        using var dir = new TempDir();
        await CatalogWithAsync(dir, "shared");
        const int writers = 24;
        // Each task has its own object store and manager: nothing is shared but the folder.
        await Task.WhenAll(Enumerable.Range(0, writers).Select(i => Task.Run(async () =>
        {
            var own = OpenCatalog(dir);
            await own.AddTagsAsync("shared", [$"tag{i}"]);
        })));

        var entry = await OpenCatalog(dir).GetTableAsync("shared");
        Assert.Equal(writers, entry.Tags.Count);
        Assert.Equal(Enumerable.Range(0, writers).Select(i => $"tag{i}").Order(), entry.Tags.Order());
        AssertStoredVersions(dir, "shared", writers + 1);
    }

    [Fact]
    public async Task Writes_through_storage_with_the_catalog_hook_register_the_table_and_keep_it_in_step_with_the_log()
    {
        using var dir = new TempDir();
        var catalog = OpenCatalog(dir);
        var lake = new DataLakeStorage(dir.Path, catalog.WithCatalog());
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100), "tx", DataType.Transactions);

        var first = await catalog.GetTableAsync("tx");
        Assert.Equal(0, first.TableVersion);
        Assert.Equal(100, first.RowCount);
        Assert.Equal(Path.Combine(dir.Path, "tx"), first.Path);

        var wider = Generate(DataType.Transactions, 50, seed: 5)
            .Select(b => Tables.DataLakeStorageWriteTests.WithColumn(b, "gift_wrap", true)).ToList();
        await lake.WritePartitionedDataAsync(wider, "tx", DataType.Transactions, WriteMode.Append, new WriteOptions { MergeSchema = true });
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, seed: 9), "tx", DataType.Transactions);

        var entry = await catalog.GetTableAsync("tx");
        Assert.Equal(2, entry.TableVersion);
        Assert.Equal(160, entry.RowCount);
        Assert.Equal((await lake.GetTableInfoAsync("tx")).TotalSizeBytes, entry.SizeBytes);
        Assert.Equal([0L, 1L], entry.SchemaHistory.Select(s => s.Version));
        Assert.Contains(entry.Columns, c => c.Name == "gift_wrap");

        var history = await catalog.GetSchemaHistoryAsync("tx");
        Assert.Equal([0L, 1L], history.Select(h => h.Version));
        Assert.Contains("transaction_id", history[0].Added);
        Assert.Equal(["gift_wrap"], history[1].Added);
        Assert.Empty(history[1].Removed);
        Assert.Empty(history[1].Changed);

        // Restores also keep the entry current.
        await lake.RestoreAsync("tx", 0);
        var restored = await catalog.GetTableAsync("tx");
        Assert.Equal(3, restored.TableVersion);
        Assert.Equal(100, restored.RowCount);
        Assert.DoesNotContain(restored.Columns, c => c.Name == "gift_wrap");
        Assert.Equal(["gift_wrap"], (await catalog.GetSchemaHistoryAsync("tx"))[2].Removed);
    }

    [Fact]
    public async Task A_column_rename_shows_in_the_schema_history_as_a_rename_and_a_drop_as_a_removal()
    {
        using var dir = new TempDir();
        var catalog = OpenCatalog(dir);
        var lake = new DataLakeStorage(dir.Path, catalog.WithCatalog());
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 20), "tx", DataType.Transactions);
        var column = (await lake.ReadPartitionedDataAsync("tx")).Schema.FieldsList
            .Select(f => f.Name).First(n => n is "amount" or "currency" or "status" or "payment_method");
        await lake.AlterColumnsAsync("tx", [(column, column + "_v2")], [], []);
        await lake.AlterColumnsAsync("tx", [], [column + "_v2"], [("note", "string")]);

        var history = await catalog.GetSchemaHistoryAsync("tx");
        Assert.Equal([0L, 1L, 2L], history.Select(h => h.Version));
        Assert.Equal([new ColumnRename(column, column + "_v2")], history[1].Renamed);
        Assert.Empty(history[1].Added);
        Assert.Empty(history[1].Removed);
        Assert.Empty(history[1].Changed); // turning column mapping on changes nothing a reader sees
        Assert.Empty(history[2].Renamed);
        Assert.Equal([column + "_v2"], history[2].Removed);
        Assert.Equal(["note"], history[2].Added);
    }

    [Fact]
    public async Task The_sources_written_into_a_table_become_its_upstream_lineage()
    {
        using var dir = new TempDir();
        var catalog = OpenCatalog(dir);
        var lake = new DataLakeStorage(dir.Path, catalog.WithCatalog());
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions, WriteMode.Append,
            new WriteOptions { SourceName = "landing/day1.csv" });
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1, seed: 2), "tx", DataType.Transactions, WriteMode.Append,
            new WriteOptions { SourceName = "postgresql://etl@db:5432/shop" });
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1, seed: 3), "tx", DataType.Transactions, WriteMode.Append,
            new WriteOptions { SourceName = "landing/day1.csv" }); // the same source again is kept once
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1, seed: 4), "tx", DataType.Transactions); // no source

        var lineage = await catalog.GetLineageAsync("tx");
        Assert.Equal(["source:landing/day1.csv", "source:postgresql://etl@db:5432/shop"], lineage.DirectUpstream);
        Assert.Equal(3, (await catalog.GetTableAsync("tx")).TableVersion);
    }

    [Fact]
    public async Task Concurrent_writers_leave_the_entry_at_the_final_version_never_an_older_one()
    {
        using var dir = new TempDir();
        var catalog = OpenCatalog(dir);
        await new DataLakeStorage(dir.Path, catalog.WithCatalog()).WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions);
        // Separate storage and catalog instances per writer, as separate processes would have.
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(async () =>
        {
            var own = OpenCatalog(dir);
            var lake = new DataLakeStorage(dir.Path, own.WithCatalog());
            await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, seed: 10 + i, days: 1), "tx", DataType.Transactions);
        })));

        var snapshot = await new DataLakeStorage(dir.Path).OpenTable("tx").GetSnapshotAsync();
        var entry = await catalog.GetTableAsync("tx");
        Assert.Equal(6, snapshot.Version);
        Assert.Equal(6, entry.TableVersion);
        Assert.Equal(70, entry.RowCount);
    }

    /// <summary>A lake with one small transactions table per name, each registered.</summary>
    private async Task<MetadataManager> CatalogWithAsync(TempDir dir, params string[] names)
    {
        var lake = new DataLakeStorage(dir.Path);
        var catalog = OpenCatalog(dir);
        foreach (var name in names)
        {
            await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 20, days: 1), name, DataType.Transactions);
            await catalog.RegisterTableAsync(name, dir.Sub(name));
        }
        return catalog;
    }
}

/// <summary>The suite on the default store: versioned JSON documents in the lake's <c>_catalog</c> folder.</summary>
public sealed class LakeStoreMetadataManagerTests : MetadataManagerTests
{
    protected override MetadataManager OpenCatalog(TempDir dir) => new(new LocalObjectStore(dir.Path));

    protected override void AssertStoredVersions(TempDir dir, string table, int versions)
    {
        // The entry is a sequence of immutable versions in the lake's _catalog folder.
        var files = Directory.GetFiles(Path.Combine(dir.Path, "_catalog", "tables", "data_lake", table)).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(Enumerable.Range(0, versions).Select(v => $"{v:D10}.json"), files);
    }

    [Fact]
    public async Task Old_entry_versions_are_pruned_once_old_enough_and_the_newest_keeps_every_edit()
    {
        using var dir = new TempDir();
        await new DataLakeStorage(dir.Path).WritePartitionedDataAsync(Generate(DataType.Transactions, 20, days: 1), "t", DataType.Transactions);
        await OpenCatalog(dir).RegisterTableAsync("t", dir.Sub("t"));
        var lake = new LocalObjectStore(dir.Path);
        var catalog = new MetadataManager(new LakeCatalogStore(lake.Child("_catalog"), pruneAge: TimeSpan.Zero), lake);
        for (var i = 0; i < 30; i++) await catalog.AddTagsAsync("t", [$"tag{i}"]);

        var versions = Directory.GetFiles(Path.Combine(dir.Path, "_catalog", "tables", "data_lake", "t")).Select(Path.GetFileName).Order().ToList();
        Assert.Equal(LakeCatalogStore.KeptVersions, versions.Count);
        Assert.Equal("0000000030.json", versions[^1]);
        Assert.Equal(30, (await catalog.GetTableAsync("t")).Tags.Count);
    }

    [Fact]
    public async Task A_failing_catalog_hook_is_reported_and_never_fails_the_write()
    {
        using var dir = new TempDir();
        var failures = new List<string>();
        var lake = new DataLakeStorage(dir.Path, new DataLakeStorageOptions
        {
            PostCommitHooks = [new FailingHook()],
            PostCommitHookFailed = (table, e) => failures.Add($"{table}: {e.Message}"),
        });
        var result = await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10), "tx", DataType.Transactions);
        Assert.Equal(0, result.Version);
        Assert.Equal(["tx: catalog offline"], failures);
        Assert.Equal(0, (await lake.GetTableInfoAsync("tx")).Version);
    }

    private sealed class FailingHook : Ecap.DataLake.Delta.IPostCommitHook
    {
        public Task AfterCommitAsync(Ecap.DataLake.Delta.CommittedVersion commit, CancellationToken ct) => throw new IOException("catalog offline");
    }
}
