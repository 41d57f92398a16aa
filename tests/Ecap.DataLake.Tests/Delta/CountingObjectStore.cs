using System.Collections.Concurrent;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>Test-only store wrapper that records which keys were listed and opened, to pin down how much I/O an operation does.</summary>
internal sealed class CountingObjectStore(IObjectStore inner) : IObjectStore
{
    public ConcurrentQueue<string> Listed { get; } = new();
    public ConcurrentQueue<string> Opened { get; } = new();

    public void Reset()
    {
        Listed.Clear();
        Opened.Clear();
    }

    public string Location => inner.Location;
    public IObjectStore Child(string prefix) => inner.Child(prefix);

    public IAsyncEnumerable<string> ListPrefixesAsync(string prefix, CancellationToken ct = default) => inner.ListPrefixesAsync(prefix, ct);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken ct = default)
    {
        Listed.Enqueue(prefix);
        return inner.ListAsync(prefix, ct);
    }

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default) => inner.HeadAsync(key, ct);

    public Task<byte[]> ReadAllAsync(string key, CancellationToken ct = default)
    {
        Opened.Enqueue(key);
        return inner.ReadAllAsync(key, ct);
    }

    public Task<byte[]> ReadRangeAsync(string key, long offset, int length, CancellationToken ct = default)
    {
        Opened.Enqueue(key);
        return inner.ReadRangeAsync(key, offset, length, ct);
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken ct = default)
    {
        Opened.Enqueue(key);
        return inner.OpenReadAsync(key, ct);
    }

    public Task WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.WriteAsync(key, data, ct);
    public Task<Stream> OpenWriteAsync(string key, CancellationToken ct = default) => inner.OpenWriteAsync(key, ct);
    public Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.PutIfAbsentAsync(key, data, ct);
    public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
    public string? TryGetLocalPath(string key) => inner.TryGetLocalPath(key);
}
