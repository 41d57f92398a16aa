namespace Ecap.DataLake.Storage;

/// <summary>Opens the store a lake or table location names: a plain folder, file://, s3:// or s3a://.</summary>
public static class ObjectStoreFactory
{
    public static IObjectStore Open(string location)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        if (location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase) ||
            location.StartsWith("s3a://", StringComparison.OrdinalIgnoreCase))
        {
            throw new StoreNotConfiguredException(
                $"S3 store not configured: '{location}' needs the S3 object store, which this build does not include yet. " +
                "Use a local folder or file:// path for now.");
        }
        if (location.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
            return new LocalObjectStore(new Uri(location).LocalPath);
        if (location.Contains("://", StringComparison.Ordinal))
            throw new StoreNotConfiguredException($"Unsupported lake location '{location}': use a folder, file://, s3:// or s3a://.");
        return new LocalObjectStore(location);
    }
}
