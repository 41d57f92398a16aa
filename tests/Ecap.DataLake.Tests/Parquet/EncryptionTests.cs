using System.Text.Json;
using Ecap.DataLake.Parquet.Encryption;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Parquet;

/// <summary>Encryption at rest: Parquet modular encryption with footer and column keys from a key provider.</summary>
public sealed class EncryptionTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _keyFile;

    public EncryptionTests()
    {
        _keyFile = _dir.Sub("keys.json");
        LocalKeyFileProvider.Create(_keyFile, "footer-1", "pii-1");
    }

    public void Dispose() => _dir.Dispose();

    private DataLakeStorage Lake(IKeyProvider keys) => new(_dir.Sub("lake"), new DataLakeStorageOptions { KeyProvider = keys });

    private static readonly TableEncryption PiiColumns = new("footer-1",
        new Dictionary<string, string> { ["amount"] = "pii-1", ["customer_id"] = "pii-1" }, EncryptedColumnStats: false);

    [Fact]
    public async Task An_encrypted_table_round_trips_with_the_keys_and_its_files_are_unreadable_without()
    {
        var keys = new LocalKeyFileProvider(_keyFile);
        var lake = Lake(keys);
        var data = Generate(DataType.Transactions, 3_000, days: 3);
        await lake.WritePartitionedDataAsync(data, "tx", DataType.Transactions, options: new WriteOptions { Encryption = PiiColumns });
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 500, seed: 2, days: 3), "tx", DataType.Transactions);

        // With the keys: every row back, values as written.
        var rows = await ReadAllAsync(await lake.ReadPartitionedDataAsync("tx"));
        Assert.Equal(3_500, Rows(rows));
        var written = Column(data, "amount").Concat(Column(Generate(DataType.Transactions, 500, seed: 2, days: 3), "amount")).Select(v => Convert.ToDecimal(v)).Sum();
        Assert.Equal(written, Column(rows, "amount").Select(v => Convert.ToDecimal(v)).Sum());
        Assert.Equal(3_500, (await lake.GetTableInfoAsync("tx")).RecordCount);

        // The files of both writes are encrypted: DuckDB (no keys) cannot read them.
        var files = await LiveFilesAsync(lake, _dir.Sub("lake"), "tx");
        using var duck = new DuckDbReader();
        Assert.ThrowsAny<Exception>(() => duck.Scalar($"SELECT count(*) FROM read_parquet({DuckDbReader.FileList(files.Take(1))})"));
        Assert.ThrowsAny<Exception>(() => duck.Scalar($"SELECT count(*) FROM read_parquet({DuckDbReader.FileList(files.TakeLast(1))})"));

        // Without the keys: a clear error naming the key and where to put it.
        var noKeys = Lake(new EnvironmentKeyProvider(_ => null));
        var e = await Assert.ThrowsAsync<EncryptionKeyMissingException>(() => noKeys.ReadPartitionedDataAsync("tx"));
        Assert.Contains("'footer-1'", e.Message);
        Assert.Contains("ECAP_KEY_FILE", e.Message);
        await Assert.ThrowsAsync<EncryptionKeyMissingException>(() =>
            noKeys.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions));

        // With the footer key but not the column key, the plaintext columns still read; the encrypted ones do not.
        var footerOnly = Lake(new EnvironmentKeyProvider(n => n == EnvironmentKeyProvider.VariableName("footer-1")
            ? Convert.ToBase64String(keys.TryGetKey("footer-1")!) : null));
        var ids = await ReadAllAsync(await footerOnly.ReadPartitionedDataAsync("tx", new ReadOptions { Columns = ["transaction_id"] }));
        Assert.Equal(3_500, Rows(ids));
        await Assert.ThrowsAsync<EncryptionKeyMissingException>(() => footerOnly.ReadPartitionedDataAsync("tx", new ReadOptions { Columns = ["amount"] }));
    }

    [Fact]
    public async Task Stats_of_encrypted_columns_stay_out_of_the_log_when_the_table_says_so()
    {
        var lake = Lake(new LocalKeyFileProvider(_keyFile));
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 1_000, days: 2), "tx", DataType.Transactions,
            options: new WriteOptions { Encryption = PiiColumns });
        var snapshot = await lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal("footer-1", snapshot.Metadata.Configuration[TableEncryption.FooterKeyProperty]);
        foreach (var file in snapshot.Files)
        {
            using var stats = JsonDocument.Parse(file.Stats!);
            var min = stats.RootElement.GetProperty("minValues");
            Assert.False(min.TryGetProperty("amount", out _));
            Assert.False(min.TryGetProperty("customer_id", out _));
            Assert.True(min.TryGetProperty("transaction_id", out _));
            Assert.True(stats.RootElement.GetProperty("nullCount").TryGetProperty("amount", out _));
        }
        // Without the bounds nothing is skipped wrongly: a filter on the encrypted column still returns the right rows.
        var all = await ReadAllAsync(await lake.ReadPartitionedDataAsync("tx"));
        var expected = Column(all, "amount").Count(v => Convert.ToDecimal(v) > 100m);
        var filtered = await ReadAllAsync(await lake.ReadPartitionedDataAsync("tx", new ReadOptions { Predicate = Ecap.DataLake.Expressions.Predicate.Parse("amount > 100") }));
        Assert.Equal(expected, Rows(filtered));
    }

    [Fact]
    public async Task Uniform_encryption_encrypts_every_column_with_the_footer_key()
    {
        var lake = Lake(new LocalKeyFileProvider(_keyFile));
        await lake.WritePartitionedDataAsync(Generate(DataType.CustomerProfiles, 500, days: 2), "customers", DataType.CustomerProfiles,
            options: new WriteOptions { Encryption = new TableEncryption("footer-1", new Dictionary<string, string>()) });
        Assert.Equal(500, Rows(await ReadAllAsync(await lake.ReadPartitionedDataAsync("customers"))));
        var e = await Assert.ThrowsAsync<EncryptionKeyMissingException>(() =>
            Lake(new EnvironmentKeyProvider(_ => null)).ReadPartitionedDataAsync("customers", new ReadOptions { Columns = ["customer_id"] }));
        Assert.Contains(EnvironmentKeyProvider.VariableName("footer-1"), e.Message);
    }
}
