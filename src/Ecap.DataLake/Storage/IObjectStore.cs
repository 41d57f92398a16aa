namespace Ecap.DataLake.Storage;

/// <summary>
/// An object store holds the bytes of tables: a local folder (the embedded default) or an S3 bucket.
/// Keys are relative, '/'-separated paths under the store's root; a store never reads or writes
/// outside its root. Everything above this layer (Delta log, Parquet files, catalog documents)
/// goes through it, so a lake behaves the same on every store.
/// </summary>
public interface IObjectStore
{
    /// <summary>The root as a URI-like string for messages (a folder path, file://..., s3://...).</summary>
    string Location { get; }

    /// <summary>A store rooted at a sub-prefix of this one (a table inside a lake).</summary>
    IObjectStore Child(string prefix);

    /// <summary>Objects whose key starts with <paramref name="prefix"/> (recursively), in ordinal key order.</summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken ct = default);

    /// <summary>
    /// The names of the "folders" directly under <paramref name="prefix"/> (keys grouped at the next '/'),
    /// without listing every object below them: how a lake finds its tables.
    /// </summary>
    IAsyncEnumerable<string> ListPrefixesAsync(string prefix, CancellationToken ct = default);

    /// <summary>Metadata of one object, or null when it does not exist.</summary>
    Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default);

    Task<byte[]> ReadAllAsync(string key, CancellationToken ct = default);

    Task<byte[]> ReadRangeAsync(string key, long offset, int length, CancellationToken ct = default);

    /// <summary>A readable (and, for local files, seekable) stream over the object.</summary>
    Task<Stream> OpenReadAsync(string key, CancellationToken ct = default);

    /// <summary>Writes (or replaces) an object. Used for data files, whose names are unique, and side files.</summary>
    Task WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default);

    /// <summary>A stream that writes an object; the object appears when the stream is disposed.</summary>
    Task<Stream> OpenWriteAsync(string key, CancellationToken ct = default);

    /// <summary>
    /// Creates the object only if no object with that key exists, atomically: at most one of several
    /// concurrent callers gets <see cref="PutResult.Created"/>, and readers never see partial content.
    /// </summary>
    Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default);

    /// <summary>Deletes an object; deleting a missing object is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken ct = default);

    /// <summary>Deletes many objects (S3 batches them, 1000 per request); missing objects are not an error.</summary>
    async Task DeleteManyAsync(IEnumerable<string> keys, CancellationToken ct = default)
    {
        foreach (var key in keys) await DeleteAsync(key, ct).ConfigureAwait(false);
    }

    /// <summary>The local file path of a key, when the store is a local folder (lets native readers open files directly).</summary>
    string? TryGetLocalPath(string key);
}

public readonly record struct ObjectInfo(string Key, long Size, DateTimeOffset LastModified);

public enum PutResult
{
    Created,
    AlreadyExists,
}
