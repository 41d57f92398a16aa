using Ecap.DataLake.Delta;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tests.Delta;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Lake;

public class DataLakeBuilderTests
{
    [Fact]
    public async Task Every_commit_of_a_built_lake_keeps_its_catalog_current_including_constraint_commits()
    {
        using var dir = new TempDir();
        var lake = new DataLakeBuilder(dir.Path).Build();
        await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 2), "tx", DataType.Transactions);
        var entry = await lake.Catalog.GetTableAsync("tx");
        Assert.Equal(0, entry.TableVersion);
        Assert.Equal(100, entry.RowCount);

        // A constraint is a metadata commit made by the quality layer: no caller notifies the catalog, the seam does.
        await lake.Quality.AddConstraintAsync("tx", "positive", "amount > 0");
        Assert.Equal(1, (await lake.Catalog.GetTableAsync("tx")).TableVersion);

        await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 50, seed: 2, days: 2), "tx", DataType.Transactions);
        entry = await lake.Catalog.GetTableAsync("tx");
        Assert.Equal(2, entry.TableVersion);
        Assert.Equal(150, entry.RowCount);
    }

    [Fact]
    public async Task The_catalog_follows_a_commit_from_what_it_carried_without_reading_the_log()
    {
        // The same second write with the catalog hook on and off: the hook adds no listing or read of _delta_log.
        async Task<(List<string> Listed, List<string> Opened)> LogIoOfSecondWriteAsync(bool catalog)
        {
            using var dir = new TempDir();
            var store = new CountingObjectStore(new LocalObjectStore(dir.Path), countChildren: true);
            var lake = new DataLakeBuilder(store).KeepCatalogCurrent(catalog).Build();
            await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 1), "tx", DataType.Transactions);
            store.Reset();
            await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, seed: 3, days: 1), "tx", DataType.Transactions);
            if (catalog) Assert.Equal(1, (await lake.Catalog.GetTableAsync("tx")).TableVersion);
            static bool Log(string key) => key.Contains("_delta_log", StringComparison.Ordinal);
            return (store.Listed.Where(Log).ToList(), store.Opened.Where(Log).ToList());
        }

        var without = await LogIoOfSecondWriteAsync(catalog: false);
        var with = await LogIoOfSecondWriteAsync(catalog: true);
        Assert.Equal(without.Listed, with.Listed);
        Assert.Equal(without.Opened, with.Opened);
    }

    [Fact]
    public async Task A_catalog_that_fell_behind_is_brought_up_to_date_from_the_log()
    {
        using var dir = new TempDir();
        // Two commits the catalog never hears of (catalog sync off), then one it does.
        var quiet = new DataLakeBuilder(dir.Path).KeepCatalogCurrent(false).Build();
        await quiet.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions);
        await quiet.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, seed: 2, days: 1), "tx", DataType.Transactions);
        var lake = new DataLakeBuilder(dir.Path).Build();
        await lake.Catalog.RegisterTableAsync("tx", Path.Combine(dir.Path, "tx"));
        await quiet.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, seed: 3, days: 1), "tx", DataType.Transactions);

        await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, seed: 4, days: 1), "tx", DataType.Transactions);

        var entry = await lake.Catalog.GetTableAsync("tx");
        Assert.Equal(3, entry.TableVersion);
        Assert.Equal(40, entry.RowCount);
    }

    [Fact]
    public async Task One_guard_serves_every_part_of_the_lake_and_a_nested_operation_is_audited_once()
    {
        using var dir = new TempDir();
        var lake = new DataLakeBuilder(dir.Path).UseIdentity(new StaticIdentity("alice")).Build();
        Assert.Same(lake.Guard, lake.Storage.Guard);
        Assert.Same(lake.Guard, lake.Catalog.Guard);

        var input = Path.Combine(dir.Path, "in.csv");
        await File.WriteAllTextAsync(input, "transaction_id,customer_id,product_id,timestamp,amount,currency,payment_method,status,quantity,country\n" +
            "1,7,3,2026-01-02T03:04:05Z,10.50,EUR,card,completed,1,DE\n");
        await lake.Ingester.IngestAsync(new FileIngestionSource(input), "tx", DataType.Transactions);

        var records = new List<AuditRecord>();
        await foreach (var r in lake.Guard.Audit!.ReadAsync()) records.Add(r);
        var record = Assert.Single(records);
        Assert.Equal("alice", record.Principal);
        Assert.Equal("succeeded", record.Outcome);
        Assert.Equal(0, (await lake.Catalog.GetTableAsync("tx")).TableVersion); // the write inside the ingest synced the catalog
    }

    [Fact]
    public async Task Grants_come_from_the_lake_even_when_the_catalog_lives_elsewhere()
    {
        using var dir = new TempDir();
        var owner = new DataLakeBuilder(dir.Sub("lake")).UseIdentity(new StaticIdentity("owner")).Build();
        await owner.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions);
        await new AccessControl(owner.Guard).GrantAsync("owner", Privilege.Admin, null);

        // bob points the catalog at an empty folder: access control must still be on.
        var bob = new DataLakeBuilder(dir.Sub("lake")).UseCatalogFolder(dir.Sub("empty-catalog")).UseIdentity(new StaticIdentity("bob")).Build();
        await Assert.ThrowsAsync<AccessDeniedException>(() => bob.Storage.ReadPartitionedDataAsync("tx"));
        await Assert.ThrowsAsync<AccessDeniedException>(() => bob.Catalog.UpdateTableStatisticsAsync("tx", computeColumnStats: true));
    }

    [Fact]
    public async Task A_store_registered_for_a_new_scheme_opens_lakes_at_that_scheme()
    {
        using var dir = new TempDir();
        var opened = new List<string>();
        var registry = ObjectStoreRegistry.Default.With("mem", (location, _) =>
        {
            opened.Add(location);
            return new LocalObjectStore(Path.Combine(dir.Path, location["mem://".Length..]));
        });
        var lake = new DataLakeBuilder("mem://shop").UseObjectStores(registry).Build();
        await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions);

        Assert.Equal(["mem://shop"], opened);
        Assert.True(Directory.Exists(Path.Combine(dir.Path, "shop", "tx", "_delta_log")));
        var error = Assert.Throws<StoreNotConfiguredException>(() => new DataLakeBuilder("gs://bucket/lake").Build());
        Assert.Contains("s3://", error.Message);
        Assert.Throws<StoreNotConfiguredException>(() => new DataLakeBuilder("mem://x").Build()); // the default registry has no mem://
    }
}
