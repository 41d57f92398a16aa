using System.Globalization;
using Ecap.DataLake.Azure;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.DataLake.Query.Tests;

/// <summary>
/// SQL on a lake in Azure Blob Storage (Azurite): the same queries return the same rows as on a local lake holding the
/// same data, with no DuckDB extension (the data files are fetched through the store into the query's spill folder).
/// </summary>
public class RemoteLakeQueryTests : IClassFixture<RemoteLakeQueryTests.Lakes>
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The same two appends of transactions (90 days) and one of customer profiles, once locally and once on Azurite.</summary>
    public sealed class Lakes : IDisposable
    {
        public AzuriteTestServer Azurite { get; } = new();
        public TempDir Dir { get; } = new();
        public DataLakeStorage Local { get; }
        public DataLakeStorage Remote { get; }

        public Lakes()
        {
            try
            {
                Local = new DataLakeStorage(Dir.Sub("lake"));
                Remote = new DataLakeStorage(Open(Azurite.NewLocation()));
                foreach (var storage in new[] { Local, Remote })
                {
                    storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 6000, 1, 2000, Start, 90),
                        "transactions", DataType.Transactions, WriteMode.Append, new WriteOptions()).GetAwaiter().GetResult();
                    storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 1000, 2, 1000, Start, 90),
                        "transactions", DataType.Transactions, WriteMode.Append, new WriteOptions()).GetAwaiter().GetResult();
                    storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.CustomerProfiles, 5000, 3, 2500, Start, 90),
                        "customer_profiles", DataType.CustomerProfiles, WriteMode.Append, new WriteOptions()).GetAwaiter().GetResult();
                }
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public IObjectStore Open(string location) =>
            AzureBlobObjectStore.Open(location, new AzureStoreOptions { ConnectionString = Azurite.ConnectionString });

        public void Dispose()
        {
            Azurite.Dispose();
            Dir.Dispose();
        }
    }

    private readonly Lakes _lakes;

    public RemoteLakeQueryTests(Lakes lakes) => _lakes = lakes;

    private static async Task<List<string>> Rows(LakeQuery q, string sql)
    {
        await using var result = await q.QueryAsync(sql);
        var rows = new List<string>();
        await foreach (var row in result.ReadRowsAsync()) rows.Add(string.Join("|", row.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
        return rows;
    }

    public static TheoryData<string, bool> Queries => new()
    {
        { "SELECT make_date(year, month, day) AS d, count(*), sum(amount) FROM transactions GROUP BY 1 ORDER BY 1", true },
        { "SELECT make_date(year, month, day) AS d, count(*), sum(amount) FROM transactions GROUP BY 1 ORDER BY 1", false },
        { "SELECT transaction_id, amount, customer_id FROM transactions WHERE month = 2 AND day = 3 ORDER BY transaction_id", true },
        { "SELECT c.customer_segment, count(*), sum(t.amount) FROM transactions t JOIN customer_profiles c USING (customer_id) GROUP BY ALL ORDER BY 1", true },
    };

    [Theory]
    [MemberData(nameof(Queries))]
    public async Task The_same_sql_on_the_azure_lake_returns_the_rows_it_returns_on_a_local_copy(string sql, bool hivePaths)
    {
        using var local = new LakeQuery(_lakes.Local) { PreferHivePaths = hivePaths };
        using var remote = new LakeQuery(_lakes.Remote) { PreferHivePaths = hivePaths };
        var expected = await Rows(local, sql);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, await Rows(remote, sql));
        Assert.True(remote.RemoteBytesFetched > 0);
        Assert.Equal(0, local.RemoteBytesFetched);
    }

    [Fact]
    public async Task Files_are_fetched_once_per_query_instance_and_a_new_commit_fetches_only_its_files()
    {
        var remote = new DataLakeStorage(_lakes.Open(_lakes.Azurite.NewLocation()));
        await remote.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 500, 7, 100, Start, 3),
            "t", DataType.Transactions, WriteMode.Append, new WriteOptions());
        using var q = new LakeQuery(remote);
        Assert.Equal(["500"], await Rows(q, "SELECT count(*) FROM t"));
        var first = q.RemoteBytesFetched;
        var files = (await remote.OpenTable("t").GetSnapshotAsync()).Files;
        Assert.Equal(files.Sum(f => f.Size), first);
        Assert.Equal(["500"], await Rows(q, "SELECT count(*) FROM t"));
        Assert.Equal(first, q.RemoteBytesFetched);

        await remote.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 200, 8, 100, Start, 3),
            "t", DataType.Transactions, WriteMode.Append, new WriteOptions());
        Assert.Equal(["700"], await Rows(q, "SELECT count(*) FROM t"));
        var all = (await remote.OpenTable("t").GetSnapshotAsync()).Files;
        Assert.Equal(all.Sum(f => f.Size), q.RemoteBytesFetched);
    }

    [Fact]
    public async Task A_table_larger_than_the_spill_limit_is_refused_before_anything_is_fetched()
    {
        using var q = new LakeQuery(_lakes.Remote) { RemoteSpillLimitBytes = 1000 };
        var e = await Assert.ThrowsAsync<InvalidInputException>(() => Rows(q, "SELECT count(*) FROM transactions"));
        Assert.Contains("RemoteSpillLimitBytes", e.Message);
        Assert.Equal(0, q.RemoteBytesFetched);
    }

    [Fact]
    public async Task A_table_with_deletion_vectors_on_azure_reads_its_expected_35_rows_in_sql()
    {
        var modern = Path.Combine(RepoPaths.Root, "tests", "conformance", "delta-modern", "dv-partitioned-with-checkpoint");
        var store = _lakes.Open(_lakes.Azurite.NewLocation());
        var table = Path.Combine(modern, "delta");
        foreach (var file in Directory.GetFiles(table, "*", SearchOption.AllDirectories))
            await store.WriteAsync("dv/" + Path.GetRelativePath(table, file).Replace('\\', '/'), await File.ReadAllBytesAsync(file));
        using var duck = new DuckDbReader();
        var expected = duck.Rows($"SELECT part, col1, col2 FROM read_parquet('{Path.Combine(modern, "expected")}/*.parquet') ORDER BY ALL")
            .Select(r => string.Join("|", r.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture)))).ToList();
        Assert.Equal(35, expected.Count);
        using var q = new LakeQuery(new DataLakeStorage(store));
        Assert.Equal(expected, await Rows(q, "SELECT part, col1, col2 FROM dv ORDER BY ALL"));
    }
}
