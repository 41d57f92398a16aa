using System.Buffers;
using Amazon.S3.Model;

namespace Ecap.DataLake.Storage.S3;

/// <summary>
/// A write-only stream into one S3 object holding at most one part in memory: small objects become one PutObject
/// when the stream is disposed; once a part fills, a multipart upload starts and each full part is uploaded as it
/// fills; disposing uploads the last part and completes the upload (the object appears only then, whole). A failure
/// aborts the multipart upload so no parts are left billed.
/// </summary>
internal sealed class S3WriteStream : Stream
{
    private readonly S3Connection _connection;
    private readonly string _key;
    private readonly CancellationToken _ct;
    private byte[] _buffer;
    private int _filled;
    private long _written;
    private string? _uploadId;
    private readonly List<PartETag> _parts = new();
    private bool _disposed;

    public S3WriteStream(S3Connection connection, string fullKey, CancellationToken ct)
    {
        _connection = connection;
        _key = fullKey;
        _ct = ct;
        // Start small and grow to one part: most data files are far smaller than a part.
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(connection.Options.PartSize, 256 << 10));
    }

    private int PartSize => _connection.Options.PartSize;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => !_disposed;
    public override long Length => _written;
    public override long Position { get => _written; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var n = Append(data);
            data = data[n..];
            if (_filled == PartSize) UploadPartAsync(_ct).GetAwaiter().GetResult();
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        while (data.Length > 0)
        {
            var n = Append(data.Span);
            data = data[n..];
            if (_filled == PartSize) await UploadPartAsync(ct).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    private int Append(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_filled == _buffer.Length && _buffer.Length < PartSize)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(PartSize, _buffer.Length * 2));
            _buffer.AsSpan(0, _filled).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        var n = Math.Min(data.Length, Math.Min(PartSize, _buffer.Length) - _filled);
        data[..n].CopyTo(_buffer.AsSpan(_filled));
        _filled += n;
        _written += n;
        return n;
    }

    private async Task UploadPartAsync(CancellationToken ct)
    {
        try
        {
            _uploadId ??= (await _connection.Client.InitiateMultipartUploadAsync(
                new InitiateMultipartUploadRequest { BucketName = _connection.Bucket, Key = _key }, ct).ConfigureAwait(false)).UploadId;
            var number = _parts.Count + 1;
            var response = await _connection.Client.UploadPartAsync(new UploadPartRequest
            {
                BucketName = _connection.Bucket,
                Key = _key,
                UploadId = _uploadId,
                PartNumber = number,
                InputStream = new MemoryStream(_buffer, 0, _filled, writable: false),
                UseChunkEncoding = !_connection.Options.Compat,
            }, ct).ConfigureAwait(false);
            _parts.Add(new PartETag(number, response.ETag));
            _filled = 0;
        }
        catch (Exception e)
        {
            await AbortAsync().ConfigureAwait(false);
            if (e is Amazon.Runtime.AmazonServiceException service) throw S3StoreException.From("write", $"s3://{_connection.Bucket}/{_key}", service);
            throw;
        }
    }

    private async Task AbortAsync()
    {
        if (_uploadId is null) return;
        var id = _uploadId;
        _uploadId = null;
        try { await _connection.Client.AbortMultipartUploadAsync(_connection.Bucket, _key, id).ConfigureAwait(false); }
        catch (Amazon.Runtime.AmazonServiceException) { /* the bucket's lifecycle rule cleans up what is left */ }
    }

    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override Task FlushAsync(CancellationToken ct) => Task.CompletedTask;

    public override async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (_uploadId is null && _parts.Count == 0)
            {
                await _connection.Client.PutObjectAsync(_connection.NewPut(_key, _buffer.AsMemory(0, _filled)), _ct).ConfigureAwait(false);
                return;
            }
            if (_filled > 0) await UploadPartAsync(_ct).ConfigureAwait(false);
            await _connection.Client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _connection.Bucket, Key = _key, UploadId = _uploadId, PartETags = _parts,
            }, _ct).ConfigureAwait(false);
            _uploadId = null;
        }
        catch (Exception e)
        {
            await AbortAsync().ConfigureAwait(false);
            if (e is Amazon.Runtime.AmazonServiceException service) throw S3StoreException.From("write", $"s3://{_connection.Bucket}/{_key}", service);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            GC.SuppressFinalize(this);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
