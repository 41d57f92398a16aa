namespace Ecap.DataLake.Files;

/// <summary>
/// Reads a stream line by line as UTF-8 bytes (no string per line): each line without its end (<c>\n</c> or <c>\r\n</c>),
/// skipping lines that are only whitespace, and without a leading byte order mark. A line stays valid until the next call.
/// </summary>
internal sealed class Utf8LineReader(Stream stream) : IDisposable
{
    private byte[] _buffer = new byte[1 << 20];
    private int _start;
    private int _end;
    private bool _eof;
    private bool _first = true;

    /// <summary>The 1-based line number of the line returned last (blank lines counted).</summary>
    public long LineNumber { get; private set; }

    /// <summary>The next non-blank line, or null at the end of the stream.</summary>
    public ReadOnlyMemory<byte>? Next()
    {
        while (true)
        {
            var newline = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (newline < 0 && !_eof)
            {
                Fill();
                continue;
            }
            if (newline < 0 && _start == _end) return null;
            var length = newline < 0 ? _end - _start : newline;
            var line = _buffer.AsMemory(_start, length);
            _start += newline < 0 ? length : length + 1;
            LineNumber++;
            if (line.Span is [.., (byte)'\r']) line = line[..^1];
            if (_first)
            {
                _first = false;
                if (line.Span.StartsWith("\uFEFF"u8)) line = line[3..];
            }
            if (!IsBlank(line.Span)) return line;
        }
    }

    private void Fill()
    {
        // Keep the partial line at the front; grow when one line fills the whole buffer.
        var kept = _end - _start;
        if (kept == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        else if (_start > 0) Array.Copy(_buffer, _start, _buffer, 0, kept);
        _start = 0;
        _end = kept;
        var read = stream.Read(_buffer, _end, _buffer.Length - _end);
        if (read == 0) _eof = true;
        _end += read;
    }

    private static bool IsBlank(ReadOnlySpan<byte> line)
    {
        foreach (var b in line)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\f' or (byte)'\v')) return false;
        return true;
    }

    public void Dispose() => stream.Dispose();
}
