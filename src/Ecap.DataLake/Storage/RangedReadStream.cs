using System.Globalization;

namespace Ecap.DataLake.Storage;

/// <summary>
/// A read-only, seekable view of a remote object (S3, Azure blob) that fetches what is read with ranged requests into one
/// window buffer. The window grows while reads are sequential (up to 8 MiB) and resets after a seek, so a Parquet reader
/// jumping to the footer and to column chunks downloads little, and a whole-file read few requests. An object up to
/// <c>wholeObjectUpTo</c> bytes is fetched whole on the first read that needs bytes. Memory is bounded by one window.
/// </summary>
/// <param name="name">The object, for messages.</param>
/// <param name="length">The object's length.</param>
/// <param name="fetchRange">Fetches (offset, count) bytes of the object.</param>
/// <param name="initialWindow">Bytes the open already fetched (the first or last ones), or null.</param>
/// <param name="initialWindowStart">Where <paramref name="initialWindow"/> starts in the object.</param>
/// <param name="wholeObjectUpTo">Objects this small are fetched in one request.</param>
internal sealed class RangedReadStream(string name, long length, Func<long, int, CancellationToken, Task<byte[]>> fetchRange,
    byte[]? initialWindow = null, long initialWindowStart = 0, long wholeObjectUpTo = 0) : Stream
{
    private const int MinWindow = 256 << 10;
    private const int MaxWindow = 8 << 20;
    private byte[] _window = initialWindow ?? [];
    private long _windowStart = initialWindowStart;
    private int _nextWindow = MinWindow;
    private long _position;

    /// <summary>The object's total length from a <c>Content-Range</c> answer ("bytes first-last/total"), else <paramref name="whenAbsent"/>.</summary>
    public static long TotalLength(string? contentRange, long whenAbsent)
    {
        var slash = contentRange?.LastIndexOf('/') ?? -1;
        return slash >= 0 && long.TryParse(contentRange.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var total) ? total : whenAbsent;
    }

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

    /// <summary>True when the read can be served (at least partly) from the current window, or there is nothing to read.</summary>
    private bool InWindow(int count) =>
        count == 0 || _position >= length || (_position >= _windowStart && _position < _windowStart + _window.Length);

    private async Task Fill(int count, CancellationToken ct)
    {
        if (length <= wholeObjectUpTo)
        {
            _window = await fetchRange(0, (int)length, ct).ConfigureAwait(false);
            _windowStart = 0;
        }
        else
        {
            var sequential = _window.Length > 0 && _position == _windowStart + _window.Length;
            _nextWindow = sequential ? Math.Min(MaxWindow, _nextWindow * 2) : MinWindow;
            var size = (int)Math.Min(length - _position, Math.Max(count, _nextWindow));
            _window = await fetchRange(_position, size, ct).ConfigureAwait(false);
            _windowStart = _position;
        }
        if (!InWindow(count)) throw new IOException($"The object '{name}' ended before its length ({length} bytes): it changed while being read.");
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
