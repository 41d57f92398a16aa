using Ecap.DataLake.Storage.S3;

namespace Ecap.DataLake.Storage;

/// <summary>Opens the store a lake or table location names: a plain folder, file://, s3:// or s3a://.</summary>
public static class ObjectStoreFactory
{
    /// <summary>Opens a location; S3 settings come from <paramref name="s3"/>, and what it leaves unset from the environment.</summary>
    public static IObjectStore Open(string location, S3StoreOptions? s3 = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        if (IsS3(location)) return S3ObjectStore.Open(location, s3);
        if (location.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
            return new LocalObjectStore(new Uri(location).LocalPath);
        if (location.Contains("://", StringComparison.Ordinal))
            throw new StoreNotConfiguredException($"Unsupported lake location '{location}': use a folder, file://, s3:// or s3a://.");
        return new LocalObjectStore(location);
    }

    public static bool IsS3(string location) =>
        location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("s3a://", StringComparison.OrdinalIgnoreCase);
}
