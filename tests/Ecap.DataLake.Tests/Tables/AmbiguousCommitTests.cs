using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Tables;

/// <summary>
/// A commit whose put landed but whose answer was lost (a reset connection, a timeout at the store): the write fails,
/// yet the version it wrote must stay readable, so its data files must not be deleted.
/// </summary>
public class AmbiguousCommitTests
{
    /// <summary>A store whose put-if-absent of commit files succeeds, then throws as if the answer was lost.</summary>
    private sealed class LostAnswerStore(IObjectStore inner, Func<bool> failNow) : IObjectStore
    {
        public string Location => inner.Location;
        // Only the table "tx" loses answers (the audit table and catalog under _ecap/_catalog do not).
        public IObjectStore Child(string prefix) => prefix.TrimEnd('/') == "tx" ? new LostAnswerStore(inner.Child(prefix), failNow) : inner.Child(prefix);
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
            var result = await inner.PutIfAbsentAsync(key, data, ct);
            if (result == PutResult.Created && key.StartsWith("_delta_log/", StringComparison.Ordinal) && key.EndsWith(".json", StringComparison.Ordinal) && failNow())
                throw new IOException("connection reset by peer (after the store took the object)");
            return result;
        }
    }

    [Fact]
    public async Task A_commit_that_landed_but_reported_an_error_keeps_its_data_files()
    {
        using var dir = new TempDir();
        var fail = false;
        var lake = new DataLakeStorage(new LostAnswerStore(new LocalObjectStore(dir.Path), () => fail));
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 1_000, days: 3), "tx", DataType.Transactions);

        fail = true;
        await Assert.ThrowsAsync<IOException>(() =>
            lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 500, seed: 2, days: 3), "tx", DataType.Transactions));

        // Version 1 landed: every file it references is there and a fresh reader gets all rows.
        var reader = new DataLakeStorage(dir.Path);
        var snapshot = await reader.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal(1, snapshot.Version);
        Assert.All(snapshot.Files, f => Assert.True(File.Exists(Path.Combine(dir.Path, "tx", f.ObjectKey)), f.ObjectKey));
        using var duck = new DuckDbReader();
        var files = DuckDbReader.FileList(snapshot.Files.Select(f => Path.Combine(dir.Path, "tx", f.ObjectKey)));
        Assert.Equal(1_500L, duck.Scalar($"SELECT count(*) FROM read_parquet({files})"));
    }
}
