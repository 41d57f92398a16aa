using System.Text.Json;

namespace Ecap.DataLake.Files;

/// <summary>
/// The elements of a file holding one JSON array (<c>[{...},{...}]</c>), streamed: each element's UTF-8 bytes, found by
/// <see cref="Utf8JsonReader"/> (<c>TrySkip</c> over a buffer that grows only to the largest element), never the
/// whole file in memory. Commas and whitespace between elements are skipped; anything after the closing bracket
/// other than whitespace is an error.
/// </summary>
internal sealed class JsonArrayReader(Stream stream) : IDisposable
{
    private byte[] _buffer = new byte[64 * 1024];
    private int _start, _end;
    private bool _eof, _opened, _closed;

    /// <summary>The line the last element started on (1-based).</summary>
    public long LineNumber { get; private set; } = 1;

    private long _line = 1;

    /// <summary>Whether a file starts (after a BOM and whitespace) with '[' and then '{' or ']': a JSON array of objects rather than JSON lines.</summary>
    public static bool StartsWithArray(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4096];
        int n = file.Read(head);
        int i = n >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF ? 3 : 0;
        while (i < n && head[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') i++;
        if (i >= n || head[i] != (byte)'[') return false;
        // An array of objects ("[{" or "[]"): JSON lines whose first line is an array ("[1]") stay lines (bad records).
        i++;
        while (i < n && head[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n') i++;
        return i < n && head[i] is (byte)'{' or (byte)']';
    }

    /// <summary>The next element's bytes, or null after the last one.</summary>
    /// <exception cref="InvalidInputException">The file is not one JSON array.</exception>
    public ReadOnlyMemory<byte>? Next()
    {
        if (_closed) return null;
        if (!_opened)
        {
            Fill();
            if (_end - _start >= 3 && _buffer[_start] == 0xEF && _buffer[_start + 1] == 0xBB && _buffer[_start + 2] == 0xBF) _start += 3;
            if (!SkipSeparators(allowComma: false) || _buffer[_start] != (byte)'[')
                throw new InvalidInputException("The file does not start with '[': it is not a JSON array.");
            _start++;
            _opened = true;
        }
        if (!SkipSeparators(allowComma: true)) throw new InvalidInputException("The JSON array is not closed with ']'.");
        if (_buffer[_start] == (byte)']')
        {
            _start++;
            _closed = true;
            if (SkipSeparators(allowComma: false)) throw new InvalidInputException("The file has more after the JSON array's closing ']'.");
            return null;
        }
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _eof, default);
            bool complete;
            try
            {
                complete = reader.Read() && reader.TrySkip();
            }
            catch (JsonException e) when (!_eof)
            {
                // An element cut by the buffer's end can look malformed: read more first.
                complete = false;
                if (_end - _start >= 256 * 1024 * 1024) throw new InvalidInputException($"A JSON array element is not valid JSON: {e.Message}");
            }
            catch (JsonException e)
            {
                throw new InvalidInputException($"Element at line {_line} of the JSON array is not valid JSON: {e.Message}");
            }
            if (complete)
            {
                int length = (int)reader.BytesConsumed;
                var element = _buffer.AsMemory(_start, length).ToArray();
                LineNumber = _line;
                _line += element.AsSpan().Count((byte)'\n');
                _start += length;
                return element;
            }
            if (_eof) throw new InvalidInputException($"The JSON array ends inside an element (line {_line}).");
            Fill();
        }
    }

    // Skips whitespace (and commas between elements); false at the end of the file.
    private bool SkipSeparators(bool allowComma)
    {
        while (true)
        {
            while (_start < _end)
            {
                byte b = _buffer[_start];
                if (b == (byte)'\n') _line++;
                else if (!(b is (byte)' ' or (byte)'\t' or (byte)'\r' || (allowComma && b == (byte)','))) return true;
                _start++;
            }
            if (_eof) return false;
            Fill();
        }
    }

    // Moves the unread bytes to the front (growing the buffer when they fill it) and reads more.
    private void Fill()
    {
        int unread = _end - _start;
        if (unread == _buffer.Length) Array.Resize(ref _buffer, _buffer.Length * 2);
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, unread);
            _start = 0;
            _end = unread;
        }
        int n = stream.Read(_buffer, _end, _buffer.Length - _end);
        if (n == 0) _eof = true;
        _end += n;
    }

    public void Dispose() => stream.Dispose();
}
