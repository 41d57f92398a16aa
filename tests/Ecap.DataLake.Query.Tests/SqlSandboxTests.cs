using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.DataLake.Query.Tests;

/// <summary>
/// The attacks of the security review, as a principal with no grants (and one with masked columns) would run them:
/// SQL may read the caller's lake tables by name and nothing else, and the lake is unchanged afterwards.
/// </summary>
public sealed class SqlSandboxTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private string LakePath => _dir.Sub("lake");

    private DataLakeStorage As(string principal) =>
        new(LakePath, new DataLakeStorageOptions { Guard = LakeGuard.ForLake(ObjectStoreFactory.Open(LakePath), new StaticIdentity(principal)) });

    public async Task InitializeAsync()
    {
        var owner = As("owner");
        await owner.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 1_000, 1, 1_000, LakeQueryTests.Start, 3),
            "transactions", DataType.Transactions);
        await new AccessControl(owner.Guard).GrantAsync("analyst", Privilege.Read, "transactions", ["customer_id"]);
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    // Everything under the lake folder, with contents: what an attack must leave as it was.
    private Dictionary<string, string> LakeFiles() => Directory.GetFiles(LakePath, "*", SearchOption.AllDirectories)
        .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}_ecap{Path.DirectorySeparatorChar}audit", StringComparison.Ordinal)) // the audit records the refusals
        .ToDictionary(f => f, f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));

    // {lake} stands for the lake folder.
    public static TheoryData<string, string> AttackCases => new()
    {
        { "SELECT count(*), sum(customer_id) FROM read_parquet('{lake}/transactions/**/*.parquet')", "read_parquet" },
        { "SELECT * FROM read_text('{lake}/_catalog/tables/_ecap/grants/0000000000.json')", "read_text" },
        { "SELECT * FROM '{lake}/transactions/year=2026/**/*.parquet'", "does not exist in this lake" },
        { "SELECT * FROM '/etc/passwd'", "does not exist in this lake" },
        { "COPY (SELECT 'x' AS grants) TO '{lake}/_catalog/tables/_ecap/grants/0000000001.json' (FORMAT json)", "only SELECT" },
        { "COPY (SELECT 1) TO '{lake}/transactions/_delta_log/00000000000000000001.json' (FORMAT json)", "only SELECT" },
        { "ATTACH '{lake}/evil.duckdb' AS evil", "only SELECT" },
        { "INSTALL httpfs", "only SELECT" },
        { "LOAD httpfs", "only SELECT" },
        { "SET enable_external_access = true", "only SELECT" },
        { "PRAGMA database_list", "only SELECT" },
        { "CREATE TABLE t AS SELECT 1", "only SELECT" },
        { "SELECT getenv('HOME')", "getenv" },
        { "SELECT * FROM glob('{lake}/**')", "glob" },
        { "SELECT 1; COPY (SELECT 1) TO '{lake}/x.csv'", "only SELECT" },
        { "WITH t AS (SELECT * FROM read_csv('/etc/hosts')) SELECT * FROM t", "read_csv" },
    };

    [Theory]
    [MemberData(nameof(AttackCases))]
    public async Task A_principal_without_grants_cannot_escape_the_lake_through_sql(string attack, string reason)
    {
        var before = LakeFiles();
        await using var bob = new LakeQuery(As("bob"));
        var sql = attack.Replace("{lake}", LakePath, StringComparison.Ordinal);
        var e = await Assert.ThrowsAnyAsync<DataLakeException>(async () => { await using var r = await bob.QueryAsync(sql); });
        Assert.IsType<InvalidInputException>(e);
        Assert.Contains(reason, e.Message);
        Assert.Equal(before, LakeFiles());
        Assert.False(File.Exists(Path.Combine(LakePath, "evil.duckdb")));
    }

    [Fact]
    public async Task Masked_columns_cannot_be_read_from_the_files_behind_the_view()
    {
        await using var analyst = new LakeQuery(As("analyst"));
        await Assert.ThrowsAsync<InvalidInputException>(() =>
            analyst.QueryAsync($"SELECT sum(customer_id) FROM read_parquet('{LakePath}/transactions/**/*.parquet')"));
        await Assert.ThrowsAsync<InvalidInputException>(() =>
            analyst.CopyToAsync($"SELECT * FROM read_parquet('{LakePath}/transactions/**/*.parquet')", _dir.Sub("out.parquet")));
        await Assert.ThrowsAsync<InvalidInputException>(() =>
            analyst.ExplainAsync($"SELECT * FROM read_parquet('{LakePath}/transactions/**/*.parquet')"));
        // What the analyst may do still works: the table by name, with the excluded column NULL.
        await using var result = await analyst.QueryAsync(
            "WITH t AS (SELECT customer_id, amount FROM transactions) SELECT count(*), count(customer_id), count(amount) FROM t");
        var rows = new List<object?[]>();
        await foreach (var row in result.ReadRowsAsync()) rows.Add(row);
        Assert.Equal(new object?[] { 1_000L, 0L, 1_000L }, rows.Single());
    }

    [Fact]
    public async Task Legitimate_sql_still_runs_subqueries_time_travel_and_exports()
    {
        await using var owner = new LakeQuery(As("owner"));
        await using (var result = await owner.QueryAsync(
            "SELECT (SELECT count(*) FROM \"transactions@v0\") AS then, count(*) AS now FROM transactions WHERE amount > (SELECT min(amount) FROM transactions)"))
        {
            var rows = new List<object?[]>();
            await foreach (var row in result.ReadRowsAsync()) rows.Add(row);
            Assert.Equal(1_000L, rows.Single()[0]);
        }
        var exported = await owner.CopyToAsync("SELECT transaction_id FROM transactions", _dir.Sub("ids.parquet"));
        Assert.Equal(1_000L, exported);
    }
}
