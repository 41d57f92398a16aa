using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Azure;

/// <summary>
/// An object store in an Azure Blob Storage container (flat or ADLS Gen2 hierarchical namespace), rooted at
/// <c>az://container/prefix</c>, <c>abfss://container@account.dfs.core.windows.net/prefix</c> or
/// <c>wasbs://container@account.blob.core.windows.net/prefix</c> (ADLS locations go through the Blob API, which
/// serves hierarchical accounts too). Listing pages through List Blobs; reads are whole, ranged, or a seekable ranged
/// stream for Parquet; writes are one Put Blob or blocks staged as they fill and committed on dispose. Put-if-absent,
/// the commit primitive, is a Put Blob (or Put Block List) with <c>If-None-Match: *</c>; the first commit checks once
/// that the service enforces it (the probe the S3 store uses) and refuses to commit where it does not.
/// </summary>
public sealed class AzureBlobObjectStore : IObjectStore
{
    private readonly AzureConnection _connection;
    private readonly string _prefix; // "" or "a/b" (no leading or trailing '/')

    private AzureBlobObjectStore(AzureConnection connection, string prefix)
    {
        _connection = connection;
        _prefix = prefix.Trim('/');
    }

    /// <summary>Opens an <c>az://</c>, <c>abfs[s]://</c> or <c>wasb[s]://</c> location; unset options come from the environment.</summary>
    public static AzureBlobObjectStore Open(string location, AzureStoreOptions? options = null)
    {
        var parsed = AzureLocation.Parse(location);
        var resolved = (options ?? new AzureStoreOptions()).WithEnvironmentDefaults();
        if (resolved.BlockSize is < 64 << 10 or > 100 << 20) throw new InvalidInputException("The Azure block size must be between 64 KiB and 100 MiB.");
        return new AzureBlobObjectStore(new AzureConnection(parsed, AzureConnection.CreateContainerClient(parsed, resolved), resolved), parsed.Prefix);
    }

    public string Location => _connection.Location.Root + (_prefix.Length > 0 ? "/" + _prefix : "");

    /// <summary>The container's name.</summary>
    public string Container => _connection.Location.Container;

    internal BlobContainerClient ContainerClient => _connection.Container;

    public IObjectStore Child(string prefix) => new AzureBlobObjectStore(_connection, Full(ObjectKeys.Validate(prefix.TrimEnd('/'))));

    public string? TryGetLocalPath(string key) => null;

    private string Full(string key)
    {
        ObjectKeys.Validate(key);
        return _prefix.Length == 0 ? key : _prefix + "/" + key;
    }

    private string FullPrefix(string prefix) => _prefix.Length == 0 ? prefix : prefix.Length == 0 ? _prefix + "/" : _prefix + "/" + prefix;

    private string Relative(string fullKey) => _prefix.Length == 0 ? fullKey : fullKey[(_prefix.Length + 1)..];

    private BlobClient Blob(string fullKey) => _connection.Container.GetBlobClient(fullKey);

    // ------------------------------------------------------------------ listing

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var full = FullPrefix(prefix);
        var pages = _connection.Container.GetBlobsAsync(BlobTraits.Metadata, BlobStates.None, full, ct).AsPages();
        await using var e = pages.GetAsyncEnumerator(ct);
        while (await Next(e, "list", full).ConfigureAwait(false))
        {
            foreach (var blob in e.Current.Values)
            {
                // Folder markers: the directories of a hierarchical namespace, and the '/'-suffixed blobs some tools create.
                if (blob.Name.EndsWith('/') || IsDirectory(blob.Metadata)) continue;
                yield return new ObjectInfo(Relative(blob.Name), blob.Properties.ContentLength ?? 0, blob.Properties.LastModified ?? DateTimeOffset.UnixEpoch);
            }
        }
    }

    public async IAsyncEnumerable<string> ListPrefixesAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var p = prefix.Trim('/');
        var full = FullPrefix(p.Length == 0 ? "" : p + "/");
        var pages = _connection.Container.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", full, ct).AsPages();
        await using var e = pages.GetAsyncEnumerator(ct);
        while (await Next(e, "list", full).ConfigureAwait(false))
        {
            foreach (var item in e.Current.Values)
                if (item.IsPrefix) yield return item.Prefix[full.Length..].TrimEnd('/');
        }
    }

    private async Task<bool> Next<T>(IAsyncEnumerator<T> e, string operation, string fullKey)
    {
        try { return await e.MoveNextAsync().ConfigureAwait(false); }
        catch (RequestFailedException ex) { throw Fail(operation, fullKey, ex); }
    }

    private static bool IsDirectory(IDictionary<string, string>? metadata) =>
        metadata is not null && metadata.TryGetValue("hdi_isfolder", out var v) && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase);

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default)
    {
        var full = Full(key);
        try
        {
            var p = (await Blob(full).GetPropertiesAsync(cancellationToken: ct).ConfigureAwait(false)).Value;
            return IsDirectory(p.Metadata) ? null : new ObjectInfo(key, p.ContentLength, p.LastModified);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (RequestFailedException e)
        {
            throw Fail("head", full, e);
        }
    }

    // ------------------------------------------------------------------ reads

    public async Task<byte[]> ReadAllAsync(string key, CancellationToken ct = default)
    {
        var full = Full(key);
        try
        {
            return (await Blob(full).DownloadContentAsync(ct).ConfigureAwait(false)).Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw Missing(key, e);
        }
        catch (RequestFailedException e)
        {
            throw Fail("read", full, e);
        }
    }

    public async Task<byte[]> ReadRangeAsync(string key, long offset, int length, CancellationToken ct = default)
    {
        if (length <= 0) return [];
        var full = Full(key);
        try
        {
            return await DownloadRangeAsync(full, offset, length, ct).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw Missing(key, e);
        }
    }

    /// <summary>
    /// Bytes [offset, offset + length) of a blob, fewer at its end; none from at or past its end (416 from the
    /// service, after a check that the blob exists).
    /// </summary>
    internal async Task<byte[]> DownloadRangeAsync(string fullKey, long offset, int length, CancellationToken ct)
    {
        try
        {
            var result = await Blob(fullKey).DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(offset, length) }, ct).ConfigureAwait(false);
            return result.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 416)
        {
            if (await HeadAsync(Relative(fullKey), ct).ConfigureAwait(false) is null) throw Missing(Relative(fullKey), e);
            return [];
        }
        catch (RequestFailedException e) when (e.Status != 404)
        {
            throw Fail("read", fullKey, e);
        }
    }

    /// <summary>
    /// A seekable stream that fetches what is read with ranged GETs. Opening is one GET of the blob's first 4 MiB: its
    /// Content-Range tells the length, and it holds the whole of a typical data file or commit.
    /// </summary>
    /// <summary>Opening reads the first this-many bytes: a typical data file or commit is then one GET.</summary>
    internal const int FirstWindow = 4 << 20;

    public async Task<Stream> OpenReadAsync(string key, CancellationToken ct = default)
    {
        var full = Full(key);
        try
        {
            var result = (await Blob(full).DownloadContentAsync(
                new BlobDownloadOptions { Range = new HttpRange(0, FirstWindow) }, ct).ConfigureAwait(false)).Value;
            var first = result.Content.ToArray();
            // "bytes 0-N/TOTAL"; a whole-blob answer has no range.
            var total = RangedReadStream.TotalLength(result.Details.ContentRange, first.Length);
            return new RangedReadStream(full, total, (offset, count, token) => DownloadRangeAsync(full, offset, count, token), first);
        }
        catch (RequestFailedException e) when (e.Status == 416)
        {
            // An empty blob (no byte 0), or a missing one.
            if (await HeadAsync(key, ct).ConfigureAwait(false) is null) throw Missing(key, e);
            return new MemoryStream([], writable: false);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw Missing(key, e);
        }
        catch (RequestFailedException e)
        {
            throw Fail("read", full, e);
        }
    }

    private FileNotFoundException Missing(string key, Exception e) => new($"Object '{key}' does not exist in '{Location}'.", key, e);

    // ------------------------------------------------------------------ writes

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) =>
        await UploadAsync(Full(key), data, ifAbsent: false, ct).ConfigureAwait(false);

    public Task<Stream> OpenWriteAsync(string key, CancellationToken ct = default)
    {
        var full = Full(key);
        return Task.FromResult<Stream>(new AzureWriteStream(this, full, _connection.Container.GetBlockBlobClient(full), _connection.Options.BlockSize, ct));
    }

    public async Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        var full = Full(key);
        if (!await _connection.EnforcesConditionalPutsAsync(this, ct).ConfigureAwait(false))
            throw new StoreNotConfiguredException(
                $"Cannot commit safely to '{Location}': the service does not enforce conditional writes (If-None-Match: *), " +
                "so two writers could overwrite each other's commits.");
        return await UploadAsync(full, data, ifAbsent: true, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// One Put Blob (or, above a block, staged blocks and one Put Block List), with <c>If-None-Match: *</c> when
    /// <paramref name="ifAbsent"/>: the service answers 409 BlobAlreadyExists or 412 ConditionNotMet on an existing blob.
    /// </summary>
    internal async Task<PutResult> UploadAsync(string fullKey, ReadOnlyMemory<byte> data, bool ifAbsent, CancellationToken ct)
    {
        var block = _connection.Options.BlockSize;
        var options = new BlobUploadOptions
        {
            TransferOptions = new global::Azure.Storage.StorageTransferOptions { InitialTransferSize = block, MaximumTransferSize = block },
            Conditions = ifAbsent ? new BlobRequestConditions { IfNoneMatch = ETag.All } : null,
        };
        try
        {
            await Blob(fullKey).UploadAsync(BinaryData.FromBytes(data), options, ct).ConfigureAwait(false);
            return PutResult.Created;
        }
        catch (RequestFailedException e) when (ifAbsent && IsAlreadyExists(e))
        {
            return PutResult.AlreadyExists;
        }
        catch (RequestFailedException e)
        {
            throw Fail(ifAbsent ? "conditional write" : "write", fullKey, e);
        }
    }

    private static bool IsAlreadyExists(RequestFailedException e) =>
        e.Status == 412 || (e.Status == 409 && e.ErrorCode is "BlobAlreadyExists" or null);

    internal string ProbeKey() => Full("_ecap/conditional-put-probe-" + Guid.NewGuid().ToString("N"));

    // ------------------------------------------------------------------ deletes

    public async Task DeleteAsync(string key, CancellationToken ct = default)
    {
        var full = Full(key);
        try { await Blob(full).DeleteIfExistsAsync(cancellationToken: ct).ConfigureAwait(false); }
        catch (RequestFailedException e) { throw Fail("delete", full, e); }
    }

    /// <summary>Deletes many blobs, several requests in flight (blob batches need another package).</summary>
    public Task DeleteManyAsync(IEnumerable<string> keys, CancellationToken ct = default) =>
        Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
            async (key, token) => await DeleteAsync(key, token).ConfigureAwait(false));

    // ------------------------------------------------------------------ errors

    internal AzureStoreException Fail(string operation, string fullKey, RequestFailedException e) =>
        AzureStoreException.From(operation, $"{_connection.Location.Root}/{fullKey}", e);
}

/// <summary>An Azure Storage request failed (other than a missing blob): the operation, the blob, the service's status and error code.</summary>
public sealed class AzureStoreException(string message, Exception? inner = null) : DataLakeException(message, inner)
{
    internal static AzureStoreException From(string operation, string uri, RequestFailedException e)
    {
        var hint = (e.Status, e.ErrorCode) switch
        {
            (0, _) => $" The service did not answer: {FirstLine(e.InnerException?.Message ?? e.Message)}",
            (_, "ContainerNotFound") => " Create the container first.",
            (403, _) or (401, _) => " Check the credentials (AZURE_STORAGE_CONNECTION_STRING, account key, SAS token or DefaultAzureCredential) and the container's access.",
            _ => "",
        };
        // Only status, code and hint: the SDK's full message lists request headers, which the caller need not see.
        return new AzureStoreException($"Azure {operation} of {uri} failed: {e.Status} {e.ErrorCode}.{hint}".Replace(" .", ".", StringComparison.Ordinal), e);
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
