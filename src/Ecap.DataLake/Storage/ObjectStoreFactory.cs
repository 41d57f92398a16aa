using System.Collections.Immutable;
using Ecap.DataLake.Storage.S3;

namespace Ecap.DataLake.Storage;

/// <summary>What an object store may need to open a location: S3 settings (unset values come from the environment).</summary>
public sealed record ObjectStoreSettings
{
    public S3StoreOptions? S3 { get; init; }
}

/// <summary>Opens the store of a location whose URI scheme it was registered for.</summary>
public delegate IObjectStore ObjectStoreOpener(string location, ObjectStoreSettings settings);

/// <summary>
/// The object stores a lake can live on, keyed by URI scheme (<c>s3</c>, <c>s3a</c>, <c>file</c>); a location without a
/// scheme is a local folder. Immutable: <see cref="With"/> returns a new registry, so a new store (say <c>az://</c>) is
/// one class plus one registration handed to <see cref="DataLakeBuilder"/>, with no global state.
/// </summary>
public sealed class ObjectStoreRegistry
{
    private readonly ImmutableDictionary<string, ObjectStoreOpener> _openers;

    private ObjectStoreRegistry(ImmutableDictionary<string, ObjectStoreOpener> openers) => _openers = openers;

    /// <summary>Local folders, <c>file://</c>, <c>s3://</c> and <c>s3a://</c>.</summary>
    public static ObjectStoreRegistry Default { get; } = new ObjectStoreRegistry(ImmutableDictionary.Create<string, ObjectStoreOpener>(StringComparer.OrdinalIgnoreCase))
        .With("file", (location, _) => new LocalObjectStore(LocalPath(location)))
        .With("s3", (location, settings) => S3ObjectStore.Open(location, settings.S3))
        .With("s3a", (location, settings) => S3ObjectStore.Open(location, settings.S3));

    private static string LocalPath(string fileUri)
    {
        try { return new Uri(fileUri).LocalPath; }
        catch (UriFormatException e) { throw new InvalidInputException($"'{fileUri}' is not a valid file:// location: {e.Message}"); }
    }

    public IEnumerable<string> Schemes => _openers.Keys.Order(StringComparer.Ordinal);

    /// <summary>This registry plus (or with a replaced) opener for <paramref name="scheme"/>.</summary>
    public ObjectStoreRegistry With(string scheme, ObjectStoreOpener opener)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scheme);
        ArgumentNullException.ThrowIfNull(opener);
        return new(_openers.SetItem(scheme, opener));
    }

    /// <summary>The scheme of a location (<c>s3</c> of <c>s3://bucket/lake</c>), null for a plain folder.</summary>
    public static string? SchemeOf(string location)
    {
        var colon = location.IndexOf("://", StringComparison.Ordinal);
        return colon > 0 ? location[..colon] : null;
    }

    public IObjectStore Open(string location, ObjectStoreSettings? settings = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        if (SchemeOf(location) is not { } scheme) return new LocalObjectStore(location);
        if (_openers.TryGetValue(scheme, out var open)) return open(location, settings ?? new ObjectStoreSettings());
        throw new StoreNotConfiguredException(
            $"Unsupported lake location '{location}': use a folder or one of {string.Join(", ", Schemes.Select(s => s + "://"))}.");
    }
}

/// <summary>Opens the store a lake or table location names with the <see cref="ObjectStoreRegistry.Default"/> stores.</summary>
public static class ObjectStoreFactory
{
    /// <summary>Opens a location; S3 settings come from <paramref name="s3"/>, and what it leaves unset from the environment.</summary>
    public static IObjectStore Open(string location, S3StoreOptions? s3 = null) =>
        ObjectStoreRegistry.Default.Open(location, new ObjectStoreSettings { S3 = s3 });

    public static bool IsS3(string location) =>
        location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("s3a://", StringComparison.OrdinalIgnoreCase);
}
