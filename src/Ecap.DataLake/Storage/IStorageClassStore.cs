namespace Ecap.DataLake.Storage;

/// <summary>
/// A store whose objects have storage classes that can change in place (S3: a copy onto the same key with another
/// <c>x-amz-storage-class</c>), so readers keep reading the same key. Stores without classes (a local folder) do not
/// implement it.
/// </summary>
public interface IStorageClassStore
{
    /// <summary>The object's storage class as the server reports it (<c>STANDARD</c> when it names none).</summary>
    Task<string> GetStorageClassAsync(string key, CancellationToken ct = default);

    /// <summary>
    /// Rewrites the object onto its own key with <paramref name="storageClass"/> (data and metadata unchanged).
    /// Throws <see cref="NotSupportedException"/> when the server refuses the class itself (it has no such classes).
    /// </summary>
    Task SetStorageClassAsync(string key, string storageClass, CancellationToken ct = default);

    /// <summary>
    /// The class of every object under <paramref name="prefix"/>, from the listing (S3's ListObjectsV2 names each object's
    /// class): one request per thousand objects, not one per object.
    /// </summary>
    IAsyncEnumerable<StoredObjectClass> ListStorageClassesAsync(string prefix, CancellationToken ct = default);
}

/// <summary>An object's key and the storage class the store reports for it (<c>STANDARD</c> when it names none).</summary>
public readonly record struct StoredObjectClass(string Key, string StorageClass);
