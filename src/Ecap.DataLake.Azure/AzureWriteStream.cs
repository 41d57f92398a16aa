using System.Buffers;
using System.Text;
using Azure;
using Azure.Storage.Blobs.Specialized;

namespace Ecap.DataLake.Azure;

/// <summary>
/// A write-only stream into one block blob holding at most one block in memory: a small object becomes one Put Blob
/// when the stream is disposed; once a block fills it is staged (Put Block), and disposing stages the last one and
/// commits the list (Put Block List), so the blob appears only then, whole. Staged blocks that are never committed
/// (a failed write) are discarded by the service.
/// </summary>
internal sealed class AzureWriteStream : Stream
{
    private readonly AzureBlobObjectStore _store;
    private readonly string _key;
    private readonly BlockBlobClient _blob;
    private readonly CancellationToken _ct;
    private readonly int _blockSize;
    private readonly string _uploadId = Guid.NewGuid().ToString("N");
    private readonly List<string> _blocks = [];
    private byte[] _buffer;
    private int _filled;
    private long _written;
    private bool _disposed;

    public AzureWriteStream(AzureBlobObjectStore store, string fullKey, BlockBlobClient blob, int blockSize, CancellationToken ct)
    {
        _store = store;
        _key = fullKey;
        _blob = blob;
        _blockSize = blockSize;
        _ct = ct;
        // Start small and grow to one block: most data files are far smaller than a block.
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Min(blockSize, 256 << 10));
    }

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
            data = data[Append(data)..];
            if (_filled == _blockSize) StageAsync(_ct).GetAwaiter().GetResult();
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        while (data.Length > 0)
        {
            data = data[Append(data.Span)..];
            if (_filled == _blockSize) await StageAsync(ct).ConfigureAwait(false);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken ct) => WriteAsync(buffer.AsMemory(offset, count), ct).AsTask();

    private int Append(ReadOnlySpan<byte> data)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_filled == _buffer.Length && _buffer.Length < _blockSize)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(_blockSize, _buffer.Length * 2));
            _buffer.AsSpan(0, _filled).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }
        var n = Math.Min(data.Length, Math.Min(_blockSize, _buffer.Length) - _filled);
        data[..n].CopyTo(_buffer.AsSpan(_filled));
        _filled += n;
        _written += n;
        return n;
    }

    private async Task StageAsync(CancellationToken ct)
    {
        // Block ids must all have the same length within a blob: upload id + zero-padded block number.
        var id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{_uploadId}-{_blocks.Count:D6}"));
        try
        {
            using var body = new MemoryStream(_buffer, 0, _filled, writable: false);
            await _blob.StageBlockAsync(id, body, cancellationToken: ct).ConfigureAwait(false);
        }
        catch (RequestFailedException e)
        {
            throw _store.Fail("write", _key, e);
        }
        _blocks.Add(id);
        _filled = 0;
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
            if (_blocks.Count == 0)
            {
                await _store.UploadAsync(_key, _buffer.AsMemory(0, _filled), ifAbsent: false, _ct).ConfigureAwait(false);
                return;
            }
            if (_filled > 0) await StageAsync(_ct).ConfigureAwait(false);
            try { await _blob.CommitBlockListAsync(_blocks, cancellationToken: _ct).ConfigureAwait(false); }
            catch (RequestFailedException e) { throw _store.Fail("write", _key, e); }
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
