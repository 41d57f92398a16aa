namespace Ecap.DataLake.Storage.S3;

/// <summary>
/// A read-only, seekable view of an S3 object that fetches what is read with ranged GETs into one window buffer.
/// The window grows while reads are sequential (up to <see cref="MaxWindow"/>) and resets after a seek, so a
/// Parquet reader jumping to the footer and to column chunks downloads little, and a whole-file read few requests.
/// Objects up to <see cref="WholeObjectUpTo"/> are fetched whole on the first read (a typical data file is then one
/// GET instead of one for the footer and one per column chunk). Memory is bounded by one window.
/// </summary>
internal sealed class S3ReadStream(S3ObjectStore store, string fullKey, long length, byte[]? initialWindow = null, long initialWindowStart = 0)
    : Stream
{
    private const int MinWindow = 256 << 10;
    private const int MaxWindow = 8 << 20;
    internal const int WholeObjectUpTo = 4 << 20;
    private byte[] _window = initialWindow ?? [];
    private long _windowStart = initialWindowStart;
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
        if (!EnsureWindow(buffer.Length)) Fill(buffer.Length, CancellationToken.None).GetAwaiter().GetResult();
        return CopyOut(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
    {
        if (!EnsureWindow(buffer.Length)) await Fill(buffer.Length, ct).ConfigureAwait(false);
        return CopyOut(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
        ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

    /// <summary>True when the read can be served (at least partly) from the current window, or there is nothing to read.</summary>
    private bool EnsureWindow(int count) =>
        count == 0 || _position >= length || (_position >= _windowStart && _position < _windowStart + _window.Length);

    private async Task Fill(int count, CancellationToken ct)
    {
        if (length <= WholeObjectUpTo)
        {
            _window = await store.ReadRangeKnownAsync(fullKey, 0, length - 1, ct).ConfigureAwait(false);
            _windowStart = 0;
            return;
        }
        var sequential = _window.Length > 0 && _position == _windowStart + _window.Length;
        _nextWindow = sequential ? Math.Min(MaxWindow, _nextWindow * 2) : MinWindow;
        var size = Math.Min(length - _position, Math.Max(count, _nextWindow));
        _window = await store.ReadRangeKnownAsync(fullKey, _position, _position + size - 1, ct).ConfigureAwait(false);
        _windowStart = _position;
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
