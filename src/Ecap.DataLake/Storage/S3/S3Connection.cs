using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.S3;
using Amazon.S3.Model;

namespace Ecap.DataLake.Storage.S3;

/// <summary>
/// One configured S3 client for one bucket, shared by a lake's store and every child store (tables), together with
/// what was learned about the server once: whether it enforces conditional writes.
/// </summary>
internal sealed class S3Connection : IDisposable
{
    private readonly SemaphoreSlim _probeGate = new(1, 1);
    private bool? _conditionalPuts;

    public S3Connection(IAmazonS3 client, string bucket, S3StoreOptions options)
    {
        Client = client;
        Bucket = bucket;
        Options = options;
    }

    public IAmazonS3 Client { get; }

    public string Bucket { get; }

    public S3StoreOptions Options { get; }

    public static S3Connection Create(string bucket, S3StoreOptions options)
    {
        var region = options.Region ?? "us-east-1";
        var config = new AmazonS3Config { ForcePathStyle = options.PathStyle };
        if (options.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        }
        if (options.Compat)
        {
            config.RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED;
            config.ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED;
        }
        // Credentials: the SDK's default chain (environment, shared profile, container/instance role).
        var client = options.Credentials is { } credentials ? new CompatS3Client(credentials, config) : new CompatS3Client(config);
        return new S3Connection(client, bucket, options);
    }

    /// <summary>
    /// Whether the server enforces <c>If-None-Match: *</c> on PutObject, learned once per connection: a sentinel is put
    /// conditionally twice; only "created, then 412" proves enforcement (501 means unsupported; a second success
    /// means the header is silently ignored, which is the dangerous case).
    /// </summary>
    public async Task<bool> SupportsConditionalPutsAsync(string sentinelKey, CancellationToken ct)
    {
        if (_conditionalPuts is { } known) return known;
        await _probeGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_conditionalPuts is { } again) return again;
            var supported = await ProbeAsync(sentinelKey, ct).ConfigureAwait(false);
            _conditionalPuts = supported;
            return supported;
        }
        finally
        {
            _probeGate.Release();
        }
    }

    private async Task<bool> ProbeAsync(string key, CancellationToken ct)
    {
        try
        {
            if (await ConditionalPutAsync(key, "probe"u8.ToArray(), ct).ConfigureAwait(false) != PutResult.Created) return false;
            return await ConditionalPutAsync(key, "probe"u8.ToArray(), ct).ConfigureAwait(false) == PutResult.AlreadyExists;
        }
        catch (AmazonS3Exception e) when ((int)e.StatusCode is 501 or 400 or 405)
        {
            return false;
        }
        finally
        {
            try { await Client.DeleteObjectAsync(Bucket, key, ct).ConfigureAwait(false); }
            catch (AmazonS3Exception) { /* a leftover sentinel is harmless */ }
        }
    }

    /// <summary>PutObject with <c>If-None-Match: *</c>: 412 means the key exists. 409 (a concurrent conditional write in flight) is retried.</summary>
    public async Task<PutResult> ConditionalPutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var request = NewPut(key, data);
                request.IfNoneMatch = "*";
                await Client.PutObjectAsync(request, ct).ConfigureAwait(false);
                return PutResult.Created;
            }
            catch (AmazonS3Exception e) when ((int)e.StatusCode == 412)
            {
                return PutResult.AlreadyExists;
            }
            catch (AmazonS3Exception e) when ((int)e.StatusCode == 409 && attempt < 10)
            {
                await Task.Delay(10 * attempt, ct).ConfigureAwait(false);
            }
        }
    }

    public PutObjectRequest NewPut(string key, ReadOnlyMemory<byte> data) => new()
    {
        BucketName = Bucket,
        Key = key,
        InputStream = new MemoryStream(data.ToArray(), writable: false),
        AutoCloseStream = true,
        UseChunkEncoding = !Options.Compat,
    };

    public void Dispose()
    {
        Client.Dispose();
        _probeGate.Dispose();
    }

    /// <summary>
    /// The S3 client with one addition for compatible servers: DeleteObjects carries Content-MD5, which the S3 API
    /// requires for it and which the SDK no longer sends once flexible checksums are off (AWS accepts it as well).
    /// </summary>
    private sealed class CompatS3Client : AmazonS3Client
    {
        public CompatS3Client(AmazonS3Config config) : base(config) { }

        public CompatS3Client(AWSCredentials credentials, AmazonS3Config config) : base(credentials, config) { }

        // Called from the base constructor: no instance state of this class is set yet.
        protected override void CustomizeRuntimePipeline(RuntimePipeline pipeline)
        {
            base.CustomizeRuntimePipeline(pipeline);
            pipeline.AddHandlerAfter<Marshaller>(new ContentMd5Handler());
        }
    }

    private sealed class ContentMd5Handler : PipelineHandler
    {
        public override Task<T> InvokeAsync<T>(IExecutionContext executionContext)
        {
            var request = executionContext.RequestContext.Request;
            if (executionContext.RequestContext.OriginalRequest is DeleteObjectsRequest && !request.Headers.ContainsKey("Content-MD5"))
            {
                if (request.Content is { } body)
                    request.Headers["Content-MD5"] = Convert.ToBase64String(MD5.HashData(body));
                else if (request.ContentStream is { CanSeek: true } stream)
                {
                    var start = stream.Position;
                    request.Headers["Content-MD5"] = Convert.ToBase64String(MD5.HashData(stream));
                    stream.Position = start;
                }
            }
            return base.InvokeAsync<T>(executionContext);
        }
    }
}
