using Ecap.DataLake.Expressions;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Security;

/// <summary>A grant that excludes columns: they read as nulls, cannot be filtered on, and another full grant lifts the mask.</summary>
public sealed class ColumnExclusionTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private GovernedLake _lake = null!;

    public async Task InitializeAsync()
    {
        _lake = new GovernedLake(_dir.Sub("lake"));
        await _lake.As("owner").WritePartitionedDataAsync(Generate(DataType.Transactions, 3_000, days: 3), "tx", DataType.Transactions);
        var access = _lake.AccessAs("owner");
        await access.GrantAsync("masked", Privilege.Read, "tx", ["customer_id", "amount"]);
        await access.GrantAsync("analysts", Privilege.Read, "tx", ["customer_id"]);
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Excluded_columns_read_as_nulls_and_the_rest_as_stored()
    {
        var full = await ReadAllAsync(await _lake.As("owner").ReadPartitionedDataAsync("tx"));
        var scan = await _lake.As("masked").ReadPartitionedDataAsync("tx");
        var masked = await ReadAllAsync(scan);
        Assert.Equal(Rows(full), Rows(masked));
        Assert.True(scan.Schema.GetFieldByName("amount").IsNullable);
        Assert.All(Column(masked, "amount"), v => Assert.Null(v));
        Assert.All(Column(masked, "customer_id"), v => Assert.Null(v));
        Assert.Equal(Column(full, "transaction_id").Order(), Column(masked, "transaction_id").Order());
        Assert.Contains(Column(full, "amount"), v => v is not null);
    }

    [Fact]
    public async Task Catalog_statistics_do_not_reveal_excluded_columns()
    {
        var ownerCatalog = _lake.CatalogAs("owner");
        await ownerCatalog.RegisterTableAsync("tx", _dir.Sub("lake/tx"));
        await ownerCatalog.UpdateTableStatisticsAsync("tx", computeColumnStats: true, sampleSize: 1_000);
        var full = (await ownerCatalog.GetTableAsync("tx")).Statistics!.Columns.Single(c => c.Name == "amount");
        Assert.NotNull(full.Max);
        var seen = (await _lake.CatalogAs("masked").GetTableAsync("tx")).Statistics!.Columns;
        Assert.Null(seen.Single(c => c.Name == "amount").Max);
        Assert.Null(seen.Single(c => c.Name == "amount").Min);
        Assert.NotNull(seen.Single(c => c.Name == "transaction_id").Max);
    }

    [Fact]
    public async Task A_reader_sees_a_table_in_the_catalog_in_one_audited_read_with_excluded_values_left_out()
    {
        var ownerCatalog = _lake.CatalogAs("owner");
        await ownerCatalog.RegisterTableAsync("tx", _dir.Sub("lake/tx"));
        await ownerCatalog.UpdateTableStatisticsAsync("tx", computeColumnStats: true, sampleSize: 1_000);
        // A new commit the catalog has not seen: show brings the entry up to it for a reader, who holds no write grant.
        await _lake.As("owner").WritePartitionedDataAsync(Generate(DataType.Transactions, 10, seed: 9, days: 1), "tx", DataType.Transactions);
        var before = (await _lake.AuditRecordsAsync()).Count;

        var shown = await _lake.CatalogAs("masked").ShowTableAsync("tx");

        Assert.Equal(1, shown.Entry.TableVersion);
        Assert.NotEmpty(shown.SchemaHistory);
        Assert.Equal("data_lake.tx", shown.Lineage.Table);
        Assert.Null(shown.Entry.Statistics!.Columns.Single(c => c.Name == "amount").Max);
        var added = (await _lake.AuditRecordsAsync()).Skip(before).ToList();
        var record = Assert.Single(added);
        Assert.Equal(("catalog-show", "masked", "succeeded"), (record.Operation, record.Principal, record.Outcome));
        await Assert.ThrowsAsync<AccessDeniedException>(() => _lake.CatalogAs("nobody").ShowTableAsync("tx"));
    }

    [Fact]
    public async Task Whoami_names_the_caller_and_is_audited()
    {
        var before = (await _lake.AuditRecordsAsync()).Count;
        var principal = await _lake.AccessAs("masked", "analysts").WhoAmIAsync();
        Assert.Equal("masked", principal.Name);
        Assert.Equal(["analysts"], principal.Groups);
        var record = Assert.Single((await _lake.AuditRecordsAsync()).Skip(before));
        Assert.Equal(("whoami", "masked", "succeeded"), (record.Operation, record.Principal, record.Outcome));
    }

    [Fact]
    public async Task Filtering_on_an_excluded_column_is_refused()
    {
        var e = await Assert.ThrowsAsync<AccessDeniedException>(() =>
            _lake.As("masked").ReadPartitionedDataAsync("tx", new ReadOptions { Predicate = Predicate.Parse("amount > 100") }));
        Assert.Contains("amount", e.Message);
    }

    [Fact]
    public async Task A_column_is_masked_only_when_every_applicable_grant_excludes_it()
    {
        // masked (own grant: customer_id, amount) + analysts group (customer_id): only customer_id stays hidden.
        var rows = await ReadAllAsync(await _lake.As("masked", "analysts").ReadPartitionedDataAsync("tx"));
        Assert.All(Column(rows, "customer_id"), v => Assert.Null(v));
        Assert.Contains(Column(rows, "amount"), v => v is not null);
    }
}
