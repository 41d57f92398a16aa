using System.Buffers.Binary;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Parquet;

/// <summary>
/// A read-only seekable view of a Parquet file that holds only its tail (footer and metadata), fetched
/// with ranged reads, so footer statistics of a remote file cost one or two small requests instead of
/// a download. Reading outside the tail throws: use it only for metadata.
/// </summary>
internal sealed class FooterTail : Stream
{
    private const int InitialTail = 64 * 1024;
    private readonly byte[] _tail;
    private readonly long _tailStart;
    private readonly long _length;
    private long _position;

    private FooterTail(byte[] tail, long length)
    {
        _tail = tail;
        _length = length;
        _tailStart = length - tail.Length;
    }

    public static async Task<FooterTail> ReadAsync(IObjectStore store, string key, long size, CancellationToken ct)
    {
        if (size < 12) throw new CorruptTableException($"'{key}' is too small ({size} bytes) to be a Parquet file.");
        var take = (int)Math.Min(size, InitialTail);
        var tail = await store.ReadRangeAsync(key, size - take, take, ct);
        if (tail.Length < 8 || tail[^4] != 'P' || tail[^3] != 'A' || tail[^2] != 'R' || tail[^1] != '1')
            throw new CorruptTableException($"'{key}' does not end with the Parquet magic bytes.");
        var footer = BinaryPrimitives.ReadInt32LittleEndian(tail.AsSpan(tail.Length - 8, 4));
        var needed = (long)footer + 8;
        if (needed > size - 4) throw new CorruptTableException($"'{key}' has a footer length ({footer}) larger than the file.");
        if (needed > tail.Length) tail = await store.ReadRangeAsync(key, size - needed, (int)needed, ct);
        return new FooterTail(tail, size);
    }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => _position = value;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= _length) return 0;
        if (_position < _tailStart)
            throw new IOException($"Only the footer of this Parquet file was fetched (bytes {_tailStart}..{_length}); read at {_position} refused.");
        var n = (int)Math.Min(buffer.Length, _length - _position);
        _tail.AsSpan((int)(_position - _tailStart), n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override long Seek(long offset, SeekOrigin origin) => _position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => _length + offset,
    };

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
