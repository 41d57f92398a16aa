namespace Ecap.DataLake.Azure;

/// <summary>
/// A read-only, seekable view of a blob that fetches what is read with ranged GETs into one window buffer (the
/// design of the S3 store's read stream): the window grows while reads are sequential and resets after a seek, so a
/// Parquet reader jumping to the footer and column chunks downloads little. Memory is bounded by one window.
/// </summary>
internal sealed class AzureReadStream(AzureBlobObjectStore store, string fullKey, long length, byte[] initialWindow) : Stream
{
    private const int MinWindow = 256 << 10;
    private const int MaxWindow = 8 << 20;

    /// <summary>Opening reads the first this-many bytes: a typical data file or commit is then one GET.</summary>
    internal const int FirstWindow = 4 << 20;

    private byte[] _window = initialWindow;
    private long _windowStart;
    private int _nextWindow = MinWindow;
    private long _position;

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (!InWindow(buffer.Length)) Fill(buffer.Length, CancellationToken.None).GetAwaiter().GetResult();
        return CopyOut(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (!InWindow(buffer.Length)) await Fill(buffer.Length, ct).ConfigureAwait(false);
        return CopyOut(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    private bool InWindow(int count) =>
        count == 0 || _position >= length || (_position >= _windowStart && _position < _windowStart + _window.Length);

    private async Task Fill(int count, CancellationToken ct)
    {
        var sequential = _window.Length > 0 && _position == _windowStart + _window.Length;
        _nextWindow = sequential ? Math.Min(MaxWindow, _nextWindow * 2) : MinWindow;
        var size = (int)Math.Min(length - _position, Math.Max(count, _nextWindow));
        _window = await store.DownloadRangeAsync(fullKey, _position, size, ct).ConfigureAwait(false);
        _windowStart = _position;
        if (_window.Length == 0) throw new IOException($"The blob '{fullKey}' ended before its length ({length} bytes): it changed while being read.");
    }

    private int CopyOut(Span<byte> buffer)
    {
        if (buffer.Length == 0 || _position >= length) return 0;
        var from = (int)(_position - _windowStart);
        var n = Math.Min(buffer.Length, _window.Length - from);
        _window.AsSpan(from, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        return _position;
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
