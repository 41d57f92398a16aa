using System.Collections.Concurrent;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>Test-only store wrapper that records which keys were listed and opened, to pin down how much I/O an operation does.</summary>
/// With <c>countChildren</c>, stores opened through <see cref="Child"/> record into the same queues, keys prefixed with their path.
internal sealed class CountingObjectStore(IObjectStore inner, bool countChildren = false, string path = "",
    ConcurrentQueue<string>? listed = null, ConcurrentQueue<string>? opened = null) : IObjectStore
{
    public ConcurrentQueue<string> Listed { get; } = listed ?? new();
    public ConcurrentQueue<string> Opened { get; } = opened ?? new();

    public void Reset()
    {
        Listed.Clear();
        Opened.Clear();
    }

    public string Location => inner.Location;
    public IObjectStore Child(string prefix) =>
        countChildren ? new CountingObjectStore(inner.Child(prefix), true, path + prefix.TrimEnd('/') + "/", Listed, Opened) : inner.Child(prefix);

    public IAsyncEnumerable<string> ListPrefixesAsync(string prefix, CancellationToken ct = default) => inner.ListPrefixesAsync(prefix, ct);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken ct = default)
    {
        Listed.Enqueue(path + prefix);
        return inner.ListAsync(prefix, ct);
    }

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default) => inner.HeadAsync(key, ct);

    public Task<byte[]> ReadAllAsync(string key, CancellationToken ct = default)
    {
        Opened.Enqueue(path + key);
        return inner.ReadAllAsync(key, ct);
    }

    public Task<byte[]> ReadRangeAsync(string key, long offset, int length, CancellationToken ct = default)
    {
        Opened.Enqueue(path + key);
        return inner.ReadRangeAsync(key, offset, length, ct);
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken ct = default)
    {
        Opened.Enqueue(path + key);
        return inner.OpenReadAsync(key, ct);
    }

    public Task WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.WriteAsync(key, data, ct);
    public Task<Stream> OpenWriteAsync(string key, CancellationToken ct = default) => inner.OpenWriteAsync(key, ct);
    public Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.PutIfAbsentAsync(key, data, ct);
    public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
    public string? TryGetLocalPath(string key) => inner.TryGetLocalPath(key);
}
