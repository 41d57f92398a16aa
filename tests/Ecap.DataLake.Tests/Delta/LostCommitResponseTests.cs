using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Delta.DeltaTestHelpers;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>
/// A put-if-absent whose request landed but whose answer was lost (the client retried and got "already exists", as on
/// S3 under load): the transaction must recognise its own commit, not conflict with itself or commit twice.
/// </summary>
public class LostCommitResponseTests
{
    // Stores every commit it is asked to, then answers the next n commit puts with AlreadyExists.
    private sealed class LostAnswerStore(IObjectStore inner, int lose) : IObjectStore
    {
        private int _lose = lose;
        public string Location => inner.Location;
        public IObjectStore Child(string prefix) => inner.Child(prefix);
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
            return result == PutResult.Created && key.StartsWith("_delta_log/", StringComparison.Ordinal) && Interlocked.Decrement(ref _lose) >= 0
                ? PutResult.AlreadyExists
                : result;
        }
    }

    [Fact]
    public async Task A_commit_whose_answer_was_lost_is_recognised_as_committed_once()
    {
        using var dir = new TempDir();
        await CreateIdTableAsync(dir.Path);
        var table = At(new LostAnswerStore(new LocalObjectStore(dir.Path), lose: 1));
        var tx = await table.StartTransactionAsync("WRITE");
        tx.SetTxn("app", 1);
        tx.Add(FakeAdd("a.parquet"));

        var result = await tx.CommitAsync();

        Assert.Equal(1, result.Version);
        var snapshot = await At(dir.Path).GetSnapshotAsync();
        Assert.Equal(1, snapshot.Version);           // nothing was committed a second time
        Assert.Equal(["a.parquet"], snapshot.Files.Select(f => f.Path));
        Assert.Equal(1, snapshot.GetTxnVersion("app"));
    }
}
