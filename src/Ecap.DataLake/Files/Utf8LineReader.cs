namespace Ecap.DataLake.Files;

/// <summary>
/// Reads a stream line by line as UTF-8 bytes (no string per line): each line without its end (<c>\n</c> or <c>\r\n</c>;
/// for CSV also a lone <c>\r</c>), without a leading byte order mark, and (unless <c>keepBlankLines</c>) skipping lines that
/// are only whitespace. A line stays valid until the next call.
/// </summary>
internal sealed class Utf8LineReader(Stream stream, bool keepBlankLines = false, bool carriageReturnEndsLine = false) : IDisposable
{
    private byte[] _buffer = new byte[1 << 20];
    private int _start;
    private int _end;
    private bool _eof;
    private bool _first = true;

    /// <summary>The 1-based line number of the line returned last (blank lines counted).</summary>
    public long LineNumber { get; private set; }

    /// <summary>How the line returned last ended: "\n", "\r\n", "\r", or "" at the end of the stream.</summary>
    public string LineEnd { get; private set; } = "";

    /// <summary>The next line (non-blank unless blank lines are kept), or null at the end of the stream.</summary>
    public ReadOnlyMemory<byte>? Next()
    {
        while (true)
        {
            var pending = _buffer.AsSpan(_start, _end - _start);
            var newline = carriageReturnEndsLine ? pending.IndexOfAny((byte)'\n', (byte)'\r') : pending.IndexOf((byte)'\n');
            // A '\r' last in the buffer may be the first half of "\r\n": read on before deciding.
            if ((newline < 0 || (carriageReturnEndsLine && newline == pending.Length - 1 && pending[newline] == '\r')) && !_eof)
            {
                Fill();
                continue;
            }
            if (newline < 0 && _start == _end) return null;
            var length = newline < 0 ? _end - _start : newline;
            var line = _buffer.AsMemory(_start, length);
            var end = newline < 0 ? 0 : pending[newline] == '\r' && newline + 1 < pending.Length && pending[newline + 1] == '\n' ? 2 : 1;
            LineEnd = end == 0 ? "" : end == 2 ? "\r\n" : pending[newline] == '\r' ? "\r" : "\n";
            _start += length + end;
            LineNumber++;
            if (!carriageReturnEndsLine && line.Span is [.., (byte)'\r'])
            {
                line = line[..^1];
                LineEnd = "\r\n";
            }
            if (_first)
            {
                _first = false;
                if (line.Span.StartsWith("\uFEFF"u8)) line = line[3..];
            }
            if (keepBlankLines || !IsBlank(line.Span)) return line;
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
