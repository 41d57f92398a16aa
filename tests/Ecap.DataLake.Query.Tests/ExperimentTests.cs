using Ecap.DataLake.Query;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Xunit.Abstractions;

public class ExperimentTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Explain()
    {
        using var dir = new TempDir();
        var storage = new DataLakeStorage(dir.Sub("lake"));
        await storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 5000, 1, 1000, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), 5), "transactions", DataType.Transactions, WriteMode.Append, new WriteOptions());
        using var q = new LakeQuery(storage);
        await using (var r = await q.QueryAsync("SELECT count(*) FROM transactions WHERE day = 3"))
        {
            await foreach (var row in r.ReadRowsAsync()) output.WriteLine(row[^1]?.ToString());
            output.WriteLine(r.Stats.ToString());
        }
    }
}
