using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Ecap.DataLake.Storage.S3;

/// <summary>
/// An object store in an S3 bucket (AWS or any S3-compatible server), rooted at <c>s3://bucket/prefix</c>.
/// Listing pages through ListObjectsV2; reads stream (whole, ranged, or a seekable ranged stream for Parquet);
/// writes are single puts or multipart uploads holding one part in memory; deletes are batched.
/// Put-if-absent, the commit primitive, uses the strongest mechanism the server offers, detected once:
/// conditional writes (<c>If-None-Match: *</c>), else the configured <see cref="ICommitCoordinator"/>
/// (<see cref="CoordinatedCommit"/>), else a plain check-then-put only when a single writer is declared;
/// with none of these it refuses, since a commit that could silently replace another would lose data.
/// </summary>
public sealed class S3ObjectStore : IObjectStore, IStorageClassStore
{
    private readonly S3Connection _connection;
    private readonly string _scheme;
    private readonly string _prefix; // "" or "a/b" (no leading or trailing '/')

    internal S3ObjectStore(S3Connection connection, string scheme, string prefix)
    {
        _connection = connection;
        _scheme = scheme;
        _prefix = prefix.Trim('/');
    }

    /// <summary>Opens <c>s3://bucket/prefix</c> (or <c>s3a://</c>) with options (unset values from the environment).</summary>
    public static S3ObjectStore Open(string location, S3StoreOptions? options = null)
    {
        var (scheme, bucket, prefix) = ParseLocation(location);
        var resolved = (options ?? new S3StoreOptions()).WithEnvironmentDefaults();
        if (resolved.PartSize < 5 << 20) throw new InvalidInputException("S3 multipart part size must be at least 5 MiB.");
        return new S3ObjectStore(S3Connection.Create(bucket, resolved), scheme, prefix);
    }

    internal static (string Scheme, string Bucket, string Prefix) ParseLocation(string location)
    {
        var sep = location.IndexOf("://", StringComparison.Ordinal);
        var scheme = location[..sep].ToLowerInvariant();
        var rest = location[(sep + 3)..];
        var slash = rest.IndexOf('/');
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..].Trim('/');
        if (bucket.Length == 0) throw new InvalidPathException($"'{location}' names no bucket: use s3://bucket/prefix.");
        if (prefix.Length > 0) ObjectKeys.Validate(prefix);
        return (scheme, bucket, prefix);
    }

    public string Location => $"{_scheme}://{_connection.Bucket}" + (_prefix.Length > 0 ? "/" + _prefix : "");

    public string Bucket => _connection.Bucket;

    internal S3Connection Connection => _connection;

    public IObjectStore Child(string prefix) =>
        new S3ObjectStore(_connection, _scheme, Full(ObjectKeys.Validate(prefix.TrimEnd('/'))));

    public string? TryGetLocalPath(string key) => null;

    /// <summary>The bucket key of a store key.</summary>
    internal string Full(string key)
    {
        ObjectKeys.Validate(key);
        return _prefix.Length == 0 ? key : _prefix + "/" + key;
    }

    private string FullPrefix(string prefix) => _prefix.Length == 0 ? prefix : prefix.Length == 0 ? _prefix + "/" : _prefix + "/" + prefix;

    private string Relative(string fullKey) => _prefix.Length == 0 ? fullKey : fullKey[(_prefix.Length + 1)..];

    // ------------------------------------------------------------------ listing

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await RecoverPendingCommitsAsync(prefix, ct).ConfigureAwait(false);
        await foreach (var o in ListObjectsAsync(prefix, ct).ConfigureAwait(false))
            yield return new ObjectInfo(Relative(o.Key), o.Size ?? 0, ToOffset(o.LastModified));
    }

    // Every object under the prefix, page by page (ListObjectsV2), without the folder markers some tools create.
    private async IAsyncEnumerable<S3Object> ListObjectsAsync(string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = FullPrefix(prefix) };
        do
        {
            var page = await Call("list", request.Prefix, () => _connection.Client.ListObjectsV2Async(request, ct)).ConfigureAwait(false);
            foreach (var o in page.S3Objects ?? [])
                if (!o.Key.EndsWith('/')) yield return o;
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (request.ContinuationToken is not null);
    }

    public async IAsyncEnumerable<string> ListPrefixesAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var p = prefix.Trim('/');
        var full = FullPrefix(p.Length == 0 ? "" : p + "/");
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = full, Delimiter = "/" };
        do
        {
            var page = await Call("list", full, () => _connection.Client.ListObjectsV2Async(request, ct)).ConfigureAwait(false);
            foreach (var common in page.CommonPrefixes ?? [])
                yield return common[full.Length..].TrimEnd('/');
            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        } while (request.ContinuationToken is not null);
    }

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default)
    {
        var info = await HeadFullAsync(Full(key), ct).ConfigureAwait(false);
        if (info is null && _connection.Options.CommitCoordinator is { } coordinator &&
            CoordinatedCommit.TryParse(this, key) is { } id && await coordinator.GetAsync(id.TableUri, id.Version, ct).ConfigureAwait(false) is { Complete: false } claim)
        {
            // A version claimed but not yet copied into place: it is committed, so finish it and show it.
            await new CoordinatedCommit(_connection, coordinator).FinishAsync(claim, ct).ConfigureAwait(false);
            info = await HeadFullAsync(Full(key), ct).ConfigureAwait(false);
        }
        return info is { } i ? i with { Key = key } : null;
    }

    public async Task<string> GetStorageClassAsync(string key, CancellationToken ct = default)
    {
        var full = Full(key);
        var m = await Call("head", full, () => _connection.Client.GetObjectMetadataAsync(Bucket, full, ct)).ConfigureAwait(false);
        return ClassName(m.StorageClass);
    }

    public async IAsyncEnumerable<StoredObjectClass> ListStorageClassesAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var o in ListObjectsAsync(prefix, ct).ConfigureAwait(false))
            yield return new StoredObjectClass(Relative(o.Key), ClassName(o.StorageClass));
    }

    // The class S3 names, STANDARD when it names none (listings and HEADs of STANDARD objects often leave it out).
    private static string ClassName(S3StorageClass? storageClass) => storageClass?.Value is { Length: > 0 } c ? c : "STANDARD";

    public async Task SetStorageClassAsync(string key, string storageClass, CancellationToken ct = default)
    {
        var full = Full(key);
        try
        {
            // A copy onto itself is allowed when something changes (here the class); metadata is copied as it is.
            await _connection.Client.CopyObjectAsync(new CopyObjectRequest
            {
                SourceBucket = Bucket, SourceKey = full, DestinationBucket = Bucket, DestinationKey = full,
                StorageClass = S3StorageClass.FindValue(storageClass), MetadataDirective = S3MetadataDirective.COPY,
            }, ct).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "InvalidStorageClass" or "NotImplemented")
        {
            // Servers without classes (Swift's s3api, MinIO without tiers) refuse the header: a setting, not a failure of the object.
            throw new NotSupportedException($"The S3 server at {Location} refuses storage class {storageClass} ({e.ErrorCode}: {e.Message}).", e);
        }
        catch (AmazonServiceException e)
        {
            throw Fail("copy", full, e);
        }
    }

    internal async Task<ObjectInfo?> HeadFullAsync(string fullKey, CancellationToken ct)
    {
        try
        {
            var m = await _connection.Client.GetObjectMetadataAsync(Bucket, fullKey, ct).ConfigureAwait(false);
            return new ObjectInfo(fullKey, m.ContentLength, ToOffset(m.LastModified));
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (AmazonServiceException e)
        {
            throw Fail("head", fullKey, e);
        }
    }

    // ------------------------------------------------------------------ reads

    public async Task<byte[]> ReadAllAsync(string key, CancellationToken ct = default)
    {
        await using var stream = await GetAsync(key, null, ct).ConfigureAwait(false);
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, ct).ConfigureAwait(false);
        return buffer.ToArray();
    }

    public async Task<byte[]> ReadRangeAsync(string key, long offset, int length, CancellationToken ct = default)
    {
        if (length <= 0) return [];
        var info = await HeadAsync(key, ct).ConfigureAwait(false)
            ?? throw new FileNotFoundException($"Object '{key}' does not exist in '{Location}'.", key);
        if (offset >= info.Size) return [];
        var end = Math.Min(info.Size, offset + length) - 1;
        return await ReadRangeKnownAsync(Full(key), offset, end, ct).ConfigureAwait(false);
    }

    /// <summary>Bytes [first, last] (inclusive) of an object known to be that long.</summary>
    internal async Task<byte[]> ReadRangeKnownAsync(string fullKey, long first, long last, CancellationToken ct)
    {
        await using var stream = await GetFullAsync(fullKey, new ByteRange(first, last), ct).ConfigureAwait(false);
        var result = new byte[last - first + 1];
        await stream.ReadExactlyAsync(result, ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// A seekable stream that fetches what is read with ranged GETs (Parquet readers jump to the footer and column
    /// chunks). Opening is one GET of the object's last 4 MiB (a suffix range): it tells the length and holds the whole
    /// of a typical data file or commit, or the footer of a larger one.
    /// </summary>
    /// <summary>Objects up to this size are read in one GET (a typical data file or commit): its tail on open, else whole.</summary>
    internal const int WholeObjectUpTo = 4 << 20;

    private RangedReadStream ReadStream(string fullKey, long length, byte[]? window = null, long windowStart = 0) =>
        new(fullKey, length, (offset, count, ct) => ReadRangeKnownAsync(fullKey, offset, offset + count - 1, ct), window, windowStart, WholeObjectUpTo);

    public async Task<Stream> OpenReadAsync(string key, CancellationToken ct = default)
    {
        var full = Full(key);
        try
        {
            using var response = await _connection.Client.GetObjectAsync(new GetObjectRequest
            {
                BucketName = Bucket, Key = full, ByteRange = new ByteRange($"bytes=-{WholeObjectUpTo}"),
            }, ct).ConfigureAwait(false);
            var tail = new MemoryStream();
            await response.ResponseStream.CopyToAsync(tail, ct).ConfigureAwait(false);
            // "bytes first-last/total"; a server that ignores the range sends the whole object without it.
            var total = RangedReadStream.TotalLength(response.ContentRange, tail.Length);
            return ReadStream(full, total, tail.ToArray(), total - tail.Length);
        }
        catch (AmazonS3Exception e) when (e.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            // Missing (or claimed but not yet copied into place: HeadAsync finishes that), or empty.
            var info = await HeadAsync(key, ct).ConfigureAwait(false)
                ?? throw new FileNotFoundException($"Object '{key}' does not exist in '{Location}'.", key, e);
            return ReadStream(full, info.Size);
        }
        catch (AmazonServiceException e)
        {
            throw Fail("read", full, e);
        }
    }

    private Task<Stream> GetAsync(string key, ByteRange? range, CancellationToken ct) => GetFullAsync(Full(key), range, ct);

    private async Task<Stream> GetFullAsync(string fullKey, ByteRange? range, CancellationToken ct)
    {
        try
        {
            var response = await _connection.Client.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = fullKey, ByteRange = range }, ct).ConfigureAwait(false);
            return new ResponseStream(response);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new FileNotFoundException($"Object '{Relative(fullKey)}' does not exist in '{Location}'.", fullKey, e);
        }
        catch (AmazonServiceException e)
        {
            throw Fail("read", fullKey, e);
        }
    }

    // ------------------------------------------------------------------ writes

    public Task WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) => PutFullAsync(Full(key), data, ct);

    internal async Task PutFullAsync(string fullKey, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        if (data.Length > _connection.Options.PartSize)
        {
            await using var stream = new S3WriteStream(_connection, fullKey, ct);
            await stream.WriteAsync(data, ct).ConfigureAwait(false);
            return;
        }
        await Call("write", fullKey, () => _connection.Client.PutObjectAsync(_connection.NewPut(fullKey, data), ct)).ConfigureAwait(false);
    }

    public Task<Stream> OpenWriteAsync(string key, CancellationToken ct = default) =>
        Task.FromResult<Stream>(new S3WriteStream(_connection, Full(key), ct));

    public async Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        var full = Full(key);
        if (await _connection.SupportsConditionalPutsAsync(SentinelKey(), ct).ConfigureAwait(false))
            return await Call("conditional write", full, () => _connection.ConditionalPutAsync(full, data, ct)).ConfigureAwait(false);
        if (_connection.Options.CommitCoordinator is { } coordinator)
        {
            var id = CoordinatedCommit.TryParse(this, key) ?? throw new InvalidOperationException(
                $"'{key}' is not a versioned object (<version>.json): only those can be committed through the commit coordinator.");
            return await new CoordinatedCommit(_connection, coordinator).PutIfAbsentAsync(id, full, data, ct).ConfigureAwait(false);
        }
        if (_connection.Options.SingleWriter)
        {
            // Declared single writer: nobody races us, so check-then-put is enough.
            if (await HeadFullAsync(full, ct).ConfigureAwait(false) is not null) return PutResult.AlreadyExists;
            await PutFullAsync(full, data, ct).ConfigureAwait(false);
            return PutResult.Created;
        }
        throw new StoreNotConfiguredException(
            $"Cannot commit safely to '{Location}': this S3 server does not enforce conditional writes (If-None-Match: *), " +
            "and no commit coordinator is configured, so two writers could overwrite each other's commits. " +
            "Set --commit-coordinator (ECAP_COMMIT_COORDINATOR) to a PostgreSQL URL, or to 'single-writer' if only one process ever writes.");
    }

    private string SentinelKey() => Full("_ecap/conditional-put-probe-" + Guid.NewGuid().ToString("N"));

    // ------------------------------------------------------------------ deletes

    public Task DeleteAsync(string key, CancellationToken ct = default) =>
        Call("delete", Full(key), () => _connection.Client.DeleteObjectAsync(Bucket, Full(key), ct));

    /// <summary>Deletes many objects with DeleteObjects, 1000 keys per request.</summary>
    public async Task DeleteManyAsync(IEnumerable<string> keys, CancellationToken ct = default)
    {
        foreach (var chunk in keys.Select(Full).Chunk(1000))
        {
            var request = new DeleteObjectsRequest { BucketName = Bucket, Quiet = true, Objects = chunk.Select(k => new KeyVersion { Key = k }).ToList() };
            var response = await Call("delete", chunk[0], () => _connection.Client.DeleteObjectsAsync(request, ct)).ConfigureAwait(false);
            if (response.DeleteErrors is { Count: > 0 } errors && errors.FirstOrDefault(e => e.Code != "NoSuchKey") is { } error)
                throw new S3StoreException($"Deleting '{error.Key}' in s3://{Bucket} failed: {error.Code} {error.Message}.");
        }
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Readers finish commits that a writer claimed but did not copy into place (it may have died).</summary>
    private async Task RecoverPendingCommitsAsync(string prefix, CancellationToken ct)
    {
        if (_connection.Options.CommitCoordinator is not { } coordinator) return;
        var slash = prefix.LastIndexOf('/');
        if (slash <= 0) return;
        var pending = await coordinator.ListIncompleteAsync(CoordinatedCommit.TableUriOf(this, prefix[..slash]), ct).ConfigureAwait(false);
        var commit = new CoordinatedCommit(_connection, coordinator);
        foreach (var claim in pending) await commit.FinishAsync(claim, ct).ConfigureAwait(false);
    }

    private static DateTimeOffset ToOffset(DateTime? t) =>
        t is { } v ? new DateTimeOffset(v.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : v.ToUniversalTime()) : DateTimeOffset.UnixEpoch;

    private async Task<T> Call<T>(string operation, string fullKey, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (AmazonServiceException e)
        {
            throw Fail(operation, fullKey, e);
        }
        catch (AmazonClientException e)
        {
            throw new S3StoreException(
                $"S3 {operation} of s3://{Bucket}/{fullKey} failed: {e.Message} " +
                "Credentials come from the AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role).", e);
        }
    }

    private async Task Call(string operation, string fullKey, Func<Task> call) =>
        await Call(operation, fullKey, async () => { await call().ConfigureAwait(false); return 0; }).ConfigureAwait(false);

    internal S3StoreException Fail(string operation, string fullKey, AmazonServiceException e) =>
        S3StoreException.From(operation, $"s3://{Bucket}/{fullKey}", e);

    /// <summary>A GET response body that disposes the response with it.</summary>
    private sealed class ResponseStream(GetObjectResponse response) : Stream
    {
        private readonly Stream _inner = response.ResponseStream;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => response.ContentLength;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) => _inner.ReadAsync(buffer, ct);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => _inner.ReadAsync(buffer, offset, count, ct);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) response.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>An S3 request failed (other than a missing object): the operation, the object, and the server's status and code.</summary>
public sealed class S3StoreException(string message, Exception? inner = null) : DataLakeException(message, inner)
{
    internal static S3StoreException From(string operation, string uri, AmazonServiceException e)
    {
        var hint = (int)e.StatusCode switch
        {
            403 => " Check the credentials (AWS chain) and the bucket policy.",
            301 or 307 => " The bucket is in another region: set --s3-region / AWS_REGION.",
            _ when e.ErrorCode == "NoSuchBucket" => " Create the bucket first.",
            _ => "",
        };
        return new S3StoreException(
            $"S3 {operation} of {uri} failed: {(int)e.StatusCode} {e.ErrorCode} {e.Message}.{hint}".Replace("..", ".", StringComparison.Ordinal), e);
    }
}
