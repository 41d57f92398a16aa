using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Security;

/// <summary>
/// Grants enforced at every entry point: for each operation, the principals allowed by the grants succeed and the
/// others fail with "access denied" before any data or log changes.
/// </summary>
public sealed class AccessMatrixTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private GovernedLake _lake = null!;

    // owner: first granter (lake admin); reader: read on tx; writer: write on tx; tadmin: admin on tx; analyst: read via group; outsider: nothing.
    public static readonly string[] Principals = ["owner", "reader", "writer", "tadmin", "analyst", "outsider"];

    public async Task InitializeAsync()
    {
        _lake = new GovernedLake(_dir.Sub("lake"));
        var owner = _lake.As("owner");
        await owner.WritePartitionedDataAsync(Generate(DataType.Transactions, 2_000, days: 3), "tx", DataType.Transactions);
        await owner.WritePartitionedDataAsync(Generate(DataType.Transactions, 1_000, days: 3), "tx", DataType.Transactions);
        await owner.WritePartitionedDataAsync(Generate(DataType.Transactions, 500, days: 2), "other", DataType.Transactions);
        await _lake.CatalogAs("owner").RegisterTableAsync("tx", _dir.Sub("lake/tx"));
        var access = _lake.AccessAs("owner");
        await access.GrantAsync("reader", Privilege.Read, "tx");
        await access.GrantAsync("writer", Privilege.Write, "tx");
        await access.GrantAsync("tadmin", Privilege.Admin, "tx");
        await access.GrantAsync("analysts", Privilege.Read, "tx");
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    private static string[] GroupsOf(string p) => p == "analyst" ? ["analysts"] : [];

    private DataLakeStorage As(string p) => _lake.As(p, GroupsOf(p));

    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (var op in Allowed.Keys)
            foreach (var p in Principals)
                data.Add(op, p);
        return data;
    }

    private static readonly Dictionary<string, string[]> Allowed = new()
    {
        ["read"] = ["owner", "reader", "writer", "tadmin", "analyst"],
        ["info"] = ["owner", "reader", "writer", "tadmin", "analyst"],
        ["history"] = ["owner", "reader", "writer", "tadmin", "analyst"],
        ["write"] = ["owner", "writer", "tadmin"],
        ["restore"] = ["owner", "writer", "tadmin"],
        ["ingest"] = ["owner", "writer", "tadmin"],
        ["catalog-update-stats"] = ["owner", "writer", "tadmin"],
        ["catalog-set-status"] = ["owner", "tadmin"],
        ["grant-on-table"] = ["owner", "tadmin"],
        ["grant-on-lake"] = ["owner"],
        ["create-table"] = ["owner"],
        ["quality-add-constraint"] = ["owner", "tadmin"],
        ["quality-check"] = ["owner", "reader", "writer", "tadmin", "analyst"],
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Every_entry_point_enforces_the_grants(string operation, string principal)
    {
        var storage = As(principal);
        var tx = storage.OpenTable("tx");
        var versionBefore = (await tx.GetSnapshotAsync()).Version;
        var filesBefore = Directory.GetFiles(_dir.Sub("lake/tx"), "*.parquet", SearchOption.AllDirectories).Length;
        var grantsBefore = (await _lake.Guard("owner").GetGrantsAsync()).Grants.Count;

        Func<Task> run = operation switch
        {
            "read" => async () => await ReadAllAsync(await storage.ReadPartitionedDataAsync("tx")),
            "info" => () => storage.GetTableInfoAsync("tx"),
            "history" => () => storage.GetHistoryAsync("tx"),
            "write" => () => storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, seed: 9, days: 1), "tx", DataType.Transactions),
            "restore" => () => storage.RestoreAsync("tx", 0),
            "ingest" => async () =>
            {
                var input = _dir.Sub($"in-{principal}.parquet");
                var batches = Generate(DataType.Transactions, 50, seed: 5, days: 1);
                await Ecap.DataLake.Files.RowExport.WriteAsync(input, batches[0].Schema, batches.ToAsyncEnumerable());
                await new DataLakeIngester(storage).IngestAsync(new FileIngestionSource(input), "tx", DataType.Transactions);
            },
            "catalog-update-stats" => () => _lake.CatalogAs(principal, GroupsOf(principal)).UpdateTableStatisticsAsync("tx"),
            "catalog-set-status" => () => _lake.CatalogAs(principal, GroupsOf(principal)).SetTableStatusAsync("tx", Ecap.DataLake.Catalog.TableStatus.Deprecated),
            "grant-on-table" => () => _lake.AccessAs(principal, GroupsOf(principal)).GrantAsync("someone", Privilege.Read, "tx"),
            "grant-on-lake" => () => _lake.AccessAs(principal, GroupsOf(principal)).GrantAsync("someone", Privilege.Read, null),
            "create-table" => () => storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "brand_new", DataType.Transactions),
            "quality-add-constraint" => () => new Ecap.DataLake.Quality.DataQuality(storage).AddConstraintAsync("tx", "positive", "amount >= 0"),
            "quality-check" => () => new Ecap.DataLake.Quality.DataQuality(storage).CheckAsync("tx"),
            _ => throw new ArgumentException(operation),
        };

        var effective = principal;
        if (Allowed[operation].Contains(effective))
        {
            await run();
            return;
        }
        var denied = await Assert.ThrowsAsync<AccessDeniedException>(run);
        Assert.StartsWith($"access denied: {effective} lacks ", denied.Message);
        // Nothing changed: no commit, no data file, no grant, no table created.
        Assert.Equal(versionBefore, (await tx.GetSnapshotAsync()).Version);
        Assert.Equal(filesBefore, Directory.GetFiles(_dir.Sub("lake/tx"), "*.parquet", SearchOption.AllDirectories).Length);
        Assert.Equal(grantsBefore, (await _lake.Guard("owner").GetGrantsAsync()).Grants.Count);
        Assert.False(Directory.Exists(_dir.Sub("lake/brand_new")));
        // The refusal is audited.
        var audit = await _lake.AuditRecordsAsync(new AuditFilter(Principal: effective));
        Assert.Contains(audit, r => r.Outcome == AuditOutcome.Denied);
    }

    [Fact]
    public async Task List_tables_shows_only_readable_tables_once_access_is_on()
    {
        Assert.Equal(["other", "tx"], (await _lake.As("owner").ListTablesAsync()).Select(t => t.Name).Order());
        Assert.Equal(["tx"], (await _lake.As("reader").ListTablesAsync()).Select(t => t.Name));
        Assert.Empty(await _lake.As("outsider").ListTablesAsync());
    }

    [Fact]
    public async Task Access_is_off_until_the_first_grant_which_makes_its_caller_lake_admin()
    {
        var fresh = new GovernedLake(_dir.Sub("fresh"));
        // Off: anyone may create and read.
        await fresh.As("anyone").WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "t", DataType.Transactions);
        await fresh.As("someone_else").GetTableInfoAsync("t");

        var grants = await fresh.AccessAs("alice").GrantAsync("bob", Privilege.Read, "t");
        Assert.Contains(grants, g => g is { Grantee: "alice", Privilege: Privilege.Admin, Table: null });
        Assert.Contains(grants, g => g is { Grantee: "bob", Privilege: Privilege.Read, Table: "t" });

        // On: anyone is now refused; bob may read but not write; alice may do everything.
        await Assert.ThrowsAsync<AccessDeniedException>(() => fresh.As("anyone").GetTableInfoAsync("t"));
        await fresh.As("bob").GetTableInfoAsync("t");
        await Assert.ThrowsAsync<AccessDeniedException>(() =>
            fresh.As("bob").WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "t", DataType.Transactions));
        await fresh.As("alice").WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "t", DataType.Transactions);

        // Revoking bob's read takes effect at once; the last lake admin cannot be revoked while other grants exist.
        await fresh.AccessAs("alice").RevokeAsync("bob", Privilege.Read, "t");
        await Assert.ThrowsAsync<AccessDeniedException>(() => fresh.As("bob").GetTableInfoAsync("t"));
        await fresh.AccessAs("alice").GrantAsync("carol", Privilege.Write, "t");
        await Assert.ThrowsAsync<InvalidInputException>(() => fresh.AccessAs("alice").RevokeAsync("alice", Privilege.Admin, null));
    }

    [Fact]
    public async Task Catalog_listings_show_only_readable_tables_once_access_is_on()
    {
        await _lake.CatalogAs("owner").RegisterTableAsync("other", _dir.Sub("lake/other"));
        Assert.Equal(["other", "tx"], (await _lake.CatalogAs("owner").ListTablesAsync()).Select(e => e.Name).Order());
        Assert.Equal(["tx"], (await _lake.CatalogAs("reader").ListTablesAsync()).Select(e => e.Name));
        Assert.Empty(await _lake.CatalogAs("outsider").SearchTablesAsync("tx"));
        Assert.Single(await _lake.CatalogAs("analyst", "analysts").SearchTablesAsync("tx"));
    }

    [Fact]
    public async Task Grants_live_in_the_catalog_and_do_not_show_as_catalog_tables()
    {
        var catalog = _lake.CatalogAs("owner");
        var entries = await catalog.ListTablesAsync();
        Assert.DoesNotContain(entries, e => e.IsReserved);
        Assert.Equal(5, (await catalog.Store.GetGrantsAsync()).Count); // owner's lake admin + four grants
        Assert.Empty(await catalog.SearchTablesAsync("grants"));
    }

    [Fact]
    public async Task Writes_cannot_target_the_lakes_own_folders()
    {
        var owner = _lake.As("owner");
        foreach (var name in new[] { "_ecap", "_catalog", "_delta_log", "_ecap_audit", "_ECAP.x" })
            await Assert.ThrowsAsync<InvalidPathException>(() =>
                owner.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), name, DataType.Transactions));
        // The audit table is append-only in its own protocol too: a data-changing remove is refused by the commit.
        var audit = _lake.Audit.Table;
        var snapshot = await audit.GetSnapshotAsync();
        var tx = audit.StartTransaction(snapshot, "DELETE");
        tx.Remove(snapshot.Files.First());
        var refused = await Assert.ThrowsAsync<CommitValidationException>(() => tx.CommitAsync());
        Assert.Contains("append-only", refused.Message);
    }
}
