using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.DataLake.Query.Tests;

/// <summary>SQL under access control: read grants per table, excluded columns as NULL, the audit trail queryable as a table.</summary>
public sealed class GovernedQueryTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private string LakePath => _dir.Sub("lake");

    private DataLakeStorage As(string principal, params string[] groups) =>
        new(LakePath, new DataLakeStorageOptions { Guard = LakeGuard.ForLake(ObjectStoreFactory.Open(LakePath), new StaticIdentity(principal, groups)) });

    public async Task InitializeAsync()
    {
        var owner = As("owner");
        await owner.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 2_000, 1, 2_000, LakeQueryTests.Start, 5),
            "transactions", DataType.Transactions);
        await owner.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.CustomerProfiles, 500, 3, 500, LakeQueryTests.Start, 5),
            "customer_profiles", DataType.CustomerProfiles);
        var access = new AccessControl(owner.Guard);
        await access.GrantAsync("analyst", Privilege.Read, "transactions", ["customer_id", "amount"]);
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    private static async Task<List<object?[]>> RowsAsync(LakeQuery query, string sql)
    {
        await using var result = await query.QueryAsync(sql);
        var rows = new List<object?[]>();
        await foreach (var row in result.ReadRowsAsync()) rows.Add(row);
        return rows;
    }

    [Fact]
    public async Task Excluded_columns_are_null_in_sql_and_filters_on_them_match_nothing()
    {
        await using var owner = new LakeQuery(As("owner"));
        await using var analyst = new LakeQuery(As("analyst"));
        var all = await RowsAsync(owner, "SELECT count(*), count(amount), count(customer_id) FROM transactions");
        Assert.Equal(new object?[] { 2_000L, 2_000L, 2_000L }, all.Single());
        var masked = await RowsAsync(analyst, "SELECT count(*), count(amount), count(customer_id), count(transaction_id) FROM transactions");
        Assert.Equal(new object?[] { 2_000L, 0L, 0L, 2_000L }, masked.Single());
        Assert.Equal(0L, (await RowsAsync(analyst, "SELECT count(*) FROM transactions WHERE amount > 0")).Single()[0]);
    }

    [Fact]
    public async Task A_query_naming_a_table_without_read_access_is_denied()
    {
        await using var analyst = new LakeQuery(As("analyst"));
        var e = await Assert.ThrowsAsync<AccessDeniedException>(() =>
            analyst.QueryAsync("SELECT count(*) FROM transactions JOIN customer_profiles USING (customer_id)"));
        Assert.Contains("access denied: analyst lacks read on table customer_profiles", e.Message);
        await using var outsider = new LakeQuery(As("outsider"));
        await Assert.ThrowsAsync<AccessDeniedException>(() => outsider.QueryAsync("SELECT 1 FROM transactions"));
    }

    [Fact]
    public async Task An_encrypted_table_is_refused_with_a_clear_error_since_duckdb_cannot_decrypt()
    {
        var keyFile = _dir.Sub("keys.json");
        Parquet.Encryption.LocalKeyFileProvider.Create(keyFile, "k1");
        var storage = new DataLakeStorage(LakePath, new DataLakeStorageOptions
        {
            Guard = LakeGuard.ForLake(ObjectStoreFactory.Open(LakePath), new StaticIdentity("owner")),
            KeyProvider = new Parquet.Encryption.LocalKeyFileProvider(keyFile),
        });
        await storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 100, 1, 100, LakeQueryTests.Start, 2),
            "secret_tx", DataType.Transactions, options: new WriteOptions { Encryption = new("k1", new Dictionary<string, string>()) });
        await using var query = new LakeQuery(storage);
        var e = await Assert.ThrowsAsync<InvalidInputException>(() => query.QueryAsync("SELECT count(*) FROM secret_tx"));
        Assert.Contains("encrypted", e.Message);
    }

    [Fact]
    public async Task The_audit_trail_is_queryable_with_sql_by_lake_admins()
    {
        await using (var analyst = new LakeQuery(As("analyst")))
        {
            await RowsAsync(analyst, "SELECT count(*) FROM transactions");
            await Assert.ThrowsAsync<AccessDeniedException>(() => analyst.QueryAsync("SELECT 1 FROM customer_profiles"));
            // The audit trail is for lake admins only.
            await Assert.ThrowsAsync<AccessDeniedException>(() => analyst.QueryAsync($"SELECT count(*) FROM {AuditLog.SqlName}"));
        }
        await using var owner = new LakeQuery(As("owner"));
        var rows = await RowsAsync(owner,
            $"SELECT operation, \"table\", outcome, principal FROM {AuditLog.SqlName} WHERE principal = 'analyst' ORDER BY time");
        Assert.Equal(3, rows.Count);
        Assert.Equal(new object?[] { "query", "transactions", "succeeded", "analyst" }, rows[0]);
        Assert.Equal(new object?[] { "query", "customer_profiles", "denied", "analyst" }, rows[1]);
        Assert.Equal(new object?[] { "query", AuditLog.SqlName, "denied", "analyst" }, rows[2]);
        var writes = await RowsAsync(owner, $"SELECT count(*) FROM {AuditLog.SqlName} WHERE operation = 'write' AND outcome = 'succeeded'");
        Assert.Equal(2L, writes.Single()[0]);
    }
}
