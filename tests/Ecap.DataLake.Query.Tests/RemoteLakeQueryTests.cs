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
        // Partition filters in every form the pruning reads, and forms it must leave alone (each compared with the local rows).
        { "SELECT day, count(*), sum(amount) FROM transactions WHERE month = 2 GROUP BY day ORDER BY day", true },
        { "SELECT day, count(*), sum(amount) FROM transactions WHERE month = 2 GROUP BY day ORDER BY day", false },
        { "SELECT count(*), sum(amount) FROM transactions t WHERE 2 < t.month AND t.day IN (1, 5, 30) AND amount > 10", true },
        { "SELECT count(*), sum(amount) FROM transactions WHERE month >= 3 AND month <= 3 AND day <> 4", false },
        { "SELECT count(*) FROM transactions WHERE NOT (month = 2)", true },
        { "SELECT count(*) FROM transactions WHERE month = 2 OR day = 3", true },
        { "SELECT count(*) FROM transactions WHERE month = (SELECT 2)", true },
        { "SELECT count(*) FROM transactions WHERE month = 2 AND transaction_id IN (SELECT transaction_id FROM transactions WHERE month = 3)", true },
        { "SELECT count(*) FROM transactions WHERE month = 2.5", true },
        { "SELECT (SELECT count(*) FROM transactions), count(*) FROM transactions WHERE month = 1", true },
        { "WITH m AS (SELECT * FROM transactions WHERE month = 1) SELECT count(*) FROM m", true },
        { "SELECT count(*) FROM transactions WHERE month = 2 UNION ALL SELECT count(*) FROM transactions WHERE month = 3", true },
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
    public async Task A_filter_on_partition_columns_copies_only_the_matching_files_and_a_later_query_still_sees_every_row()
    {
        using var local = new LakeQuery(_lakes.Local);
        using var remote = new LakeQuery(_lakes.Remote);
        const string oneDay = "SELECT count(*), sum(amount) FROM transactions WHERE month = 2 AND day = 3";
        Assert.Equal(await Rows(local, oneDay), await Rows(remote, oneDay));
        var files = (await _lakes.Remote.OpenTable("transactions").GetSnapshotAsync()).Files;
        var wanted = files.Where(f => f.PartitionValues["month"] == "2" && f.PartitionValues["day"] == "3").ToList();
        Assert.NotEmpty(wanted);
        Assert.True(wanted.Count < files.Count);
        Assert.Equal(wanted.Sum(f => f.Size), remote.RemoteBytesFetched);

        // The same view name over every file: the pruned view is not reused for a query that needs more.
        const string all = "SELECT count(*), sum(amount) FROM transactions";
        Assert.Equal(await Rows(local, all), await Rows(remote, all));
        Assert.Equal(files.Sum(f => f.Size), remote.RemoteBytesFetched);
        Assert.Equal(await Rows(local, oneDay), await Rows(remote, oneDay));
        Assert.Equal(files.Sum(f => f.Size), remote.RemoteBytesFetched);
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
        using (var pruned = new LakeQuery(new DataLakeStorage(store)))
            Assert.Equal(expected.Where(r => r.StartsWith("3|", StringComparison.Ordinal)).ToList(),
                await Rows(pruned, "SELECT part, col1, col2 FROM dv WHERE part = 3 ORDER BY ALL"));
        using var q = new LakeQuery(new DataLakeStorage(store));
        Assert.Equal(expected, await Rows(q, "SELECT part, col1, col2 FROM dv ORDER BY ALL"));
    }
}

/// <summary>Which queries the remote pruning reads, and which terms it takes from them (DuckDB's own parse tree).</summary>
public class RemotePruningTests
{
    [Theory]
    [InlineData("SELECT * FROM t WHERE month = 2", "t", "month:2")]
    [InlineData("SELECT * FROM t x WHERE 2 < x.month AND x.day IN (1, 5) AND amount > 10", "t", "month:3|4|5,day:1|5,amount:")]
    [InlineData("SELECT * FROM t WHERE month >= 3 AND month <= 3", "t", "month:3|4|5,month:1|2|3")]
    [InlineData("SELECT * FROM \"t@v3\" WHERE month = 1", "t@v3", "month:1")]
    [InlineData("SELECT * FROM t WHERE month = 2 OR day = 3", "t", "")]
    [InlineData("SELECT * FROM t WHERE NOT (month = 2)", "t", "")]
    [InlineData("SELECT * FROM t WHERE month = 2.5", "t", "")]
    [InlineData("SELECT * FROM t WHERE u.month = 2", "t", "")]
    [InlineData("SELECT * FROM t WHERE month = (SELECT 2)", null, null)]
    [InlineData("SELECT * FROM t JOIN u USING (id) WHERE month = 2", null, null)]
    [InlineData("WITH m AS (SELECT * FROM t) SELECT * FROM m WHERE month = 2", null, null)]
    [InlineData("SELECT 1 FROM t WHERE month = 1 UNION ALL SELECT 2 FROM t", null, null)]
    public void Terms_come_only_from_the_top_level_and_of_a_single_table_select(string sql, string? table, string? expected)
    {
        using var connection = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        connection.Open();
        var result = RemotePruning.Analyze(connection, sql);
        if (table is null)
        {
            Assert.Null(result);
            return;
        }
        Assert.NotNull(result);
        Assert.Equal(table, result.Value.Table);
        // Each term shown as column:values-in-1..5-that-pass (terms on data columns are dropped later, by Keep).
        var shown = string.Join(",", result.Value.Terms.Select(t => t.Column + ":" + string.Join("|", Enumerable.Range(1, 5).Where(n => t.Passes(n)))));
        Assert.Equal(expected, shown);
    }
}
