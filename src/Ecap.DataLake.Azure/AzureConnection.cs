using Azure;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Azure;

/// <summary>The container client and what was learnt about the service, shared by a store and its children.</summary>
internal sealed class AzureConnection(AzureLocation location, BlobContainerClient container, AzureStoreOptions options)
{
    private readonly SemaphoreSlim _probeGate = new(1, 1);
    private bool? _conditionalPuts;

    public AzureLocation Location { get; } = location;

    public BlobContainerClient Container { get; } = container;

    public AzureStoreOptions Options { get; } = options;

    /// <summary>
    /// Whether the service refuses a second <c>If-None-Match: *</c> write of one blob, checked once per connection
    /// as the S3 store checks: create a probe blob conditionally, try again (it must be refused), delete it.
    /// </summary>
    public async Task<bool> EnforcesConditionalPutsAsync(AzureBlobObjectStore store, CancellationToken ct)
    {
        if (_conditionalPuts is { } known) return known;
        await _probeGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_conditionalPuts is { } again) return again;
            var key = store.ProbeKey();
            try
            {
                var enforced = await store.UploadAsync(key, "probe"u8.ToArray(), ifAbsent: true, ct).ConfigureAwait(false) == PutResult.Created &&
                    await store.UploadAsync(key, "probe"u8.ToArray(), ifAbsent: true, ct).ConfigureAwait(false) == PutResult.AlreadyExists;
                _conditionalPuts = enforced;
                return enforced;
            }
            finally
            {
                try { await Container.GetBlobClient(key).DeleteIfExistsAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false); }
                catch (RequestFailedException) { /* a leftover probe is harmless */ }
            }
        }
        finally
        {
            _probeGate.Release();
        }
    }

    /// <summary>The container client for a location: credentials from the options, first that is set.</summary>
    public static BlobContainerClient CreateContainerClient(AzureLocation location, AzureStoreOptions options)
    {
        var clientOptions = new BlobClientOptions();
        BlobServiceClient service;
        if (options.ConnectionString is { } cs)
        {
            try { service = new BlobServiceClient(cs, clientOptions); }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new InvalidInputException("AZURE_STORAGE_CONNECTION_STRING is not a valid storage connection string (its text is not shown).");
            }
            if (location.Account is { } named && !string.Equals(named, service.AccountName, StringComparison.OrdinalIgnoreCase))
                throw new InvalidInputException($"The location names account '{named}', but the connection string is for account '{service.AccountName}'.");
        }
        else
        {
            var account = location.Account ?? options.AccountName ?? throw new InvalidInputException(
                $"'{location.Root}' names no storage account: set AZURE_STORAGE_ACCOUNT_NAME or AZURE_STORAGE_CONNECTION_STRING, " +
                "or use abfss://container@ACCOUNT.dfs.core.windows.net/path.");
            var endpoint = new Uri(options.BlobEndpoint ?? $"https://{account}.blob.{location.EndpointSuffix}");
            service = options.AccountKey is { } key ? new BlobServiceClient(endpoint, SharedKey(account, key), clientOptions)
                : options.SasToken is { } sas ? new BlobServiceClient(endpoint, new AzureSasCredential(sas.TrimStart('?')), clientOptions)
                : new BlobServiceClient(endpoint, new DefaultAzureCredential(), clientOptions);
        }
        return service.GetBlobContainerClient(location.Container);
    }

    private static StorageSharedKeyCredential SharedKey(string account, string key)
    {
        try { return new StorageSharedKeyCredential(account, key); }
        catch (FormatException) { throw new InvalidInputException("The Azure account key is not valid base64 (its text is not shown)."); }
    }
}

/// <summary>An Azure location taken apart: scheme, container, account (when the host names it), prefix.</summary>
internal sealed record AzureLocation(string Scheme, string Container, string? Account, string EndpointSuffix, string Authority, string Prefix)
{
    /// <summary>The location without its prefix, as given: <c>az://container</c>, <c>abfss://container@host</c>.</summary>
    public string Root => $"{Scheme}://{Authority}";

    public static AzureLocation Parse(string location)
    {
        var sep = location.IndexOf("://", StringComparison.Ordinal);
        if (sep <= 0) throw new InvalidPathException($"'{location}' is not an Azure location (az://container/path).");
        var scheme = location[..sep].ToLowerInvariant();
        var rest = location[(sep + 3)..];
        var slash = rest.IndexOf('/');
        var authority = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (prefix.Length > 0) ObjectKeys.Validate(prefix);
        string container, suffix = "core.windows.net";
        string? account = null;
        var at = authority.IndexOf('@');
        if (at >= 0)
        {
            // container@account.dfs.core.windows.net (abfs) or container@account.blob.core.windows.net (wasb).
            container = authority[..at];
            var host = authority[(at + 1)..];
            var dot = host.IndexOf('.');
            account = dot < 0 ? host : host[..dot];
            if (dot >= 0)
            {
                var service = host[(dot + 1)..];
                var serviceDot = service.IndexOf('.');
                if (serviceDot > 0 && service[..serviceDot] is "dfs" or "blob") suffix = service[(serviceDot + 1)..];
            }
            if (account.Length == 0) throw new InvalidPathException($"'{location}' names no storage account after '@'.");
        }
        else
        {
            if (scheme is "abfs" or "abfss" or "wasb" or "wasbs")
                throw new InvalidPathException($"'{location}' names no account: use {scheme}://container@ACCOUNT.{(scheme.StartsWith("abfs", StringComparison.Ordinal) ? "dfs" : "blob")}.core.windows.net/path.");
            container = authority;
        }
        if (container.Length == 0) throw new InvalidPathException($"'{location}' names no container: use az://container/path.");
        return new AzureLocation(scheme, container, account, suffix, authority, prefix);
    }
}
