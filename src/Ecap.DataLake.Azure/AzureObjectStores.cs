using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Azure;

/// <summary>
/// Registers the Azure store with a lake's <see cref="ObjectStoreRegistry"/>:
/// <code>var lake = new DataLakeBuilder("az://container/lake").UseAzure().Build();</code>
/// </summary>
public static class AzureObjectStores
{
    /// <summary>The URI schemes of Azure locations: <c>az</c>, <c>azure</c>, <c>abfs</c>, <c>abfss</c>, <c>wasb</c>, <c>wasbs</c>.</summary>
    public static IReadOnlyList<string> Schemes { get; } = ["az", "azure", "abfs", "abfss", "wasb", "wasbs"];

    /// <summary>The registry plus the Azure schemes, opened with <paramref name="options"/> (unset values from the environment).</summary>
    public static ObjectStoreRegistry WithAzure(this ObjectStoreRegistry registry, AzureStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        foreach (var scheme in Schemes) registry = registry.With(scheme, (location, _) => AzureBlobObjectStore.Open(location, options));
        return registry;
    }

    /// <summary>Lets the builder open Azure locations (the lake's and a catalog folder's).</summary>
    public static DataLakeBuilder UseAzure(this DataLakeBuilder builder, AzureStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.UseObjectStores(builder.ObjectStores.WithAzure(options));
    }

    /// <summary>True when the location's scheme is an Azure one.</summary>
    public static bool IsAzure(string location) =>
        ObjectStoreRegistry.SchemeOf(location) is { } scheme && Schemes.Contains(scheme, StringComparer.OrdinalIgnoreCase);
}
