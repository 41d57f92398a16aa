using Ecap.DataLake.Residency;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Residency;

/// <summary>A table's declared region against the region of the lake's storage: writes elsewhere are refused, nothing written.</summary>
public sealed class DataResidencyTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private DataLakeStorage Lake(string? region) => new(_dir.Sub("lake"), new DataLakeStorageOptions { Region = region });

    [Fact]
    public async Task Writes_outside_the_declared_region_are_refused_and_write_nothing()
    {
        var eu = Lake("eu-west-1");
        await eu.WritePartitionedDataAsync(Generate(DataType.Transactions, 500, days: 2), "tx", DataType.Transactions,
            options: new WriteOptions { Region = "eu-west-1,eu-central-1" });
        Assert.Equal("eu-west-1,eu-central-1", (await eu.OpenTable("tx").GetSnapshotAsync()).Metadata.Configuration[DataResidency.RegionProperty]);
        await eu.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, seed: 2, days: 1), "tx", DataType.Transactions);
        await Lake("EU-CENTRAL-1").WritePartitionedDataAsync(Generate(DataType.Transactions, 100, seed: 3, days: 1), "tx", DataType.Transactions);

        var filesBefore = Directory.GetFiles(_dir.Sub("lake/tx"), "*.parquet", SearchOption.AllDirectories).Length;
        var e = await Assert.ThrowsAsync<ResidencyViolationException>(() =>
            Lake("us-east-1").WritePartitionedDataAsync(Generate(DataType.Transactions, 100, seed: 4, days: 1), "tx", DataType.Transactions));
        Assert.Contains("must stay in region eu-west-1 or eu-central-1", e.Message);
        Assert.Contains("us-east-1", e.Message);
        var unknown = await Assert.ThrowsAsync<ResidencyViolationException>(() =>
            Lake(null).WritePartitionedDataAsync(Generate(DataType.Transactions, 100, seed: 4, days: 1), "tx", DataType.Transactions));
        Assert.Contains(DataResidency.LakeRegionVariable, unknown.Message);
        await Assert.ThrowsAsync<ResidencyViolationException>(() => Lake("us-east-1").RestoreAsync("tx", 0));

        Assert.Equal(2, (await eu.OpenTable("tx").GetSnapshotAsync()).Version);
        Assert.Equal(filesBefore, Directory.GetFiles(_dir.Sub("lake/tx"), "*.parquet", SearchOption.AllDirectories).Length);
    }

    [Fact]
    public async Task A_new_table_cannot_be_created_outside_its_region_and_tables_without_one_go_anywhere()
    {
        await Assert.ThrowsAsync<ResidencyViolationException>(() =>
            Lake("us-east-1").WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "eu_only", DataType.Transactions,
                options: new WriteOptions { Region = "eu-west-1" }));
        Assert.False(Directory.Exists(_dir.Sub("lake/eu_only/_delta_log")));
        await Lake(null).WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "anywhere", DataType.Transactions);
        await Lake("us-east-1").WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "anywhere", DataType.Transactions);
    }
}
