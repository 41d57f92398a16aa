using Ecap.DataLake.Catalog;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Security;

/// <summary>
/// The catalog cannot be used to read around grants: table statistics (min, max, top values) are the table's data, so
/// computing them needs read on the table itself, whatever name or catalog the entry is found under.
/// </summary>
public sealed class CatalogBypassTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<GovernedLake> GovernedLakeWithSecretAsync()
    {
        var lake = new GovernedLake(_dir.Sub("lake"));
        await lake.As("owner").WritePartitionedDataAsync(Generate(DataType.Transactions, 200, days: 2), "secret", DataType.Transactions);
        await lake.As("owner").WritePartitionedDataAsync(Generate(DataType.Transactions, 50, seed: 3, days: 1), "mine", DataType.Transactions);
        await lake.AccessAs("owner").GrantAsync("bob", Privilege.Admin, "mine");
        await lake.AccessAs("owner").GrantAsync("bob", Privilege.Admin, "alias");
        return lake;
    }

    [Fact]
    public async Task A_catalog_elsewhere_still_checks_the_lake_grants()
    {
        var lake = await GovernedLakeWithSecretAsync();
        // --catalog <empty folder>: bob's own catalog, the governed lake's tables.
        var elsewhere = new MetadataManager(new LakeCatalogStore(ObjectStoreFactory.Open(_dir.Sub("bobs-catalog"))), lake.Store) { Guard = lake.Guard("bob") };
        await Assert.ThrowsAsync<AccessDeniedException>(() => elsewhere.RegisterTableAsync("secret", Path.Combine(lake.Path, "secret")));
        await Assert.ThrowsAsync<AccessDeniedException>(() => elsewhere.UpdateTableStatisticsAsync("secret", computeColumnStats: true));
    }

    [Fact]
    public async Task An_entry_named_for_one_table_but_pointing_at_another_needs_read_on_the_other()
    {
        var lake = await GovernedLakeWithSecretAsync();
        var bob = lake.CatalogAs("bob");
        // bob administers 'alias' (a table that does not exist yet) and registers it at secret's folder.
        await bob.RegisterTableAsync("alias", Path.Combine(lake.Path, "secret"));
        var e = await Assert.ThrowsAsync<AccessDeniedException>(() => bob.UpdateTableStatisticsAsync("alias", computeColumnStats: true));
        Assert.Contains("lacks read on table secret", e.Message);
        // His own table works.
        await bob.SyncFromLogAsync("mine");
        var stats = await bob.UpdateTableStatisticsAsync("mine", computeColumnStats: true);
        Assert.Equal(50, stats.Statistics!.RowCount);
    }

    [Fact]
    public async Task A_governed_table_registered_in_another_lake_is_refused_there()
    {
        var lake = await GovernedLakeWithSecretAsync();
        // bob's own ungoverned lake, with the governed table's path registered in its catalog.
        var own = new GovernedLake(_dir.Sub("bobs-lake"));
        var catalog = own.CatalogAs("bob");
        await catalog.RegisterTableAsync("stolen", Path.Combine(lake.Path, "secret"));
        var e = await Assert.ThrowsAsync<AccessDeniedException>(() => catalog.UpdateTableStatisticsAsync("stolen", computeColumnStats: true));
        Assert.Contains("another lake", e.Message);
        Assert.Null((await catalog.GetTableAsync("stolen")).Statistics);

        // A table of an ungoverned lake is fine to describe from anywhere.
        var open = new GovernedLake(_dir.Sub("open-lake"));
        await open.As("anyone").WritePartitionedDataAsync(Generate(DataType.Transactions, 30, days: 1), "public", DataType.Transactions);
        await catalog.RegisterTableAsync("public", Path.Combine(open.Path, "public"));
        Assert.Equal(30, (await catalog.UpdateTableStatisticsAsync("public", computeColumnStats: true)).Statistics!.RowCount);
    }
}
