using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Tables;

public class ExpectedTransactionsTests
{
    [Fact]
    public async Task A_write_expecting_txn_versions_the_table_no_longer_holds_fails_before_writing_any_file()
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 1), "tx", DataType.Transactions,
            options: new WriteOptions { Transactions = new Dictionary<string, long> { ["src-0"] = 50 } });
        var files = Directory.GetFiles(Path.Combine(dir.Path, "tx"), "*.parquet", SearchOption.AllDirectories).Length;

        // Another writer moved src-0 to 50: a writer that started from 0 must not commit its copy of those records.
        await Assert.ThrowsAsync<ConcurrentModificationException>(() => lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 1), "tx",
            DataType.Transactions, options: new WriteOptions
            {
                Transactions = new Dictionary<string, long> { ["src-0"] = 60 },
                ExpectedTransactions = new Dictionary<string, long> { ["src-0"] = 0 },
            }));
        Assert.Equal(files, Directory.GetFiles(Path.Combine(dir.Path, "tx"), "*.parquet", SearchOption.AllDirectories).Length);

        // Expecting what the table holds (and 0 for an appId it has never seen) commits.
        var ok = await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 1), "tx", DataType.Transactions, options: new WriteOptions
        {
            Transactions = new Dictionary<string, long> { ["src-0"] = 60, ["src-1"] = 5 },
            ExpectedTransactions = new Dictionary<string, long> { ["src-0"] = 50, ["src-1"] = 0 },
        });
        var snapshot = await lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal(ok.Version, snapshot.Version);
        Assert.Equal(60, snapshot.GetTxnVersion("src-0"));
        Assert.Equal(5, snapshot.GetTxnVersion("src-1"));
    }
}
