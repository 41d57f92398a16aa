using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Tables;

/// <summary>Appends to a table that does not exist yet, racing: the losers of version 0 append to the table the winner created.</summary>
public class ConcurrentCreateTests
{
    /// <summary>A store that runs <paramref name="before"/> once, just before the first put of table "tx"'s version 0.</summary>
    private sealed class RaceStore(IObjectStore inner, Func<Task> before) : IObjectStore
    {
        private int _fired;
        public string Location => inner.Location;
        public IObjectStore Child(string prefix) => prefix.TrimEnd('/') == "tx" ? new RaceStore(inner.Child(prefix), Fire) : inner.Child(prefix);
        private Task Fire() => Interlocked.Exchange(ref _fired, 1) == 0 ? before() : Task.CompletedTask;
        public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
        public IAsyncEnumerable<string> ListPrefixesAsync(string prefix, CancellationToken ct = default) => inner.ListPrefixesAsync(prefix, ct);
        public Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default) => inner.HeadAsync(key, ct);
        public Task<byte[]> ReadAllAsync(string key, CancellationToken ct = default) => inner.ReadAllAsync(key, ct);
        public Task<byte[]> ReadRangeAsync(string key, long offset, int length, CancellationToken ct = default) => inner.ReadRangeAsync(key, offset, length, ct);
        public Task<Stream> OpenReadAsync(string key, CancellationToken ct = default) => inner.OpenReadAsync(key, ct);
        public Task WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.WriteAsync(key, data, ct);
        public Task<Stream> OpenWriteAsync(string key, CancellationToken ct = default) => inner.OpenWriteAsync(key, ct);
        public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
        public string? TryGetLocalPath(string key) => inner.TryGetLocalPath(key);

        public async Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default)
        {
            if (key == $"_delta_log/{0:D20}.json") await before();
            return await inner.PutIfAbsentAsync(key, data, ct);
        }
    }

    private static async Task<long> DuckCountAsync(string lakeDir)
    {
        var snapshot = await new DataLakeStorage(lakeDir).OpenTable("tx").GetSnapshotAsync();
        using var duck = new DuckDbReader();
        return (long)duck.Scalar($"SELECT count(*) FROM read_parquet({DuckDbReader.FileList(snapshot.Files.Select(f => Path.Combine(lakeDir, "tx", f.ObjectKey)))})")!;
    }

    [Fact]
    public async Task An_append_that_loses_the_race_for_version_0_appends_to_the_winners_table()
    {
        using var dir = new TempDir();
        // While the first writer is about to create the table, another (its own DataLakeStorage) creates it.
        var other = new DataLakeStorage(dir.Path);
        var lake = new DataLakeStorage(new RaceStore(new LocalObjectStore(dir.Path),
            () => other.WritePartitionedDataAsync(Generate(DataType.Transactions, 700, seed: 2, days: 3), "tx", DataType.Transactions)));
        var result = await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 1_000, days: 3), "tx", DataType.Transactions);

        Assert.Equal(1, result.Version);
        Assert.Equal(1_000, result.RowsWritten);
        var history = await new DataLakeStorage(dir.Path).OpenTable("tx").GetHistoryAsync();
        Assert.Equal(["WRITE", "CREATE TABLE AS SELECT"], history.Select(h => h.Operation));
        Assert.Equal(1_700L, await DuckCountAsync(dir.Path));
    }

    [Fact]
    public async Task A_loser_whose_files_do_not_fit_the_winners_table_fails_and_leaves_no_files()
    {
        using var dir = new TempDir();
        var other = new DataLakeStorage(dir.Path);
        var lake = new DataLakeStorage(new RaceStore(new LocalObjectStore(dir.Path),
            () => other.WritePartitionedDataAsync(Generate(DataType.Transactions, 300, seed: 2, days: 3), "tx", DataType.Transactions)));
        // The loser's files carry metadata columns the winner's table does not have.
        var e = await Assert.ThrowsAsync<TableAlreadyExistsException>(() => lake.WritePartitionedDataAsync(
            Generate(DataType.Transactions, 1_000, days: 3), "tx", DataType.Transactions, options: new WriteOptions { AddMetadataColumns = true }));
        Assert.Contains("schema differs", e.Message);
        var snapshot = await new DataLakeStorage(dir.Path).OpenTable("tx").GetSnapshotAsync();
        Assert.Equal(0, snapshot.Version);
        var onDisk = Directory.GetFiles(Path.Combine(dir.Path, "tx"), "*.parquet", SearchOption.AllDirectories).Length;
        Assert.Equal(snapshot.Files.Count, onDisk); // the loser's files were deleted
    }

    [Fact]
    public async Task Eight_writers_appending_at_once_to_a_new_table_all_commit()
    {
        using var dir = new TempDir();
        using var start = new ManualResetEventSlim(false);
        var writers = Enumerable.Range(0, 8).Select(i =>
        {
            var data = Generate(DataType.Transactions, 200, seed: i + 1, days: 2);
            return Task.Run(async () =>
            {
                start.Wait();
                return await new DataLakeStorage(dir.Path).WritePartitionedDataAsync(data, "tx", DataType.Transactions);
            });
        }).ToList();
        start.Set();
        var results = await Task.WhenAll(writers);
        Assert.Equal(Enumerable.Range(0, 8).Select(v => (long)v), results.Select(r => r.Version).Order());
        Assert.Equal(1_600L, await DuckCountAsync(dir.Path));
    }
}
