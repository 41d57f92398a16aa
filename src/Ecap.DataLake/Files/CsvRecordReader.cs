using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace Ecap.DataLake.Files;

/// <summary>
/// Reads CSV records (RFC 4180: quoted fields, doubled quotes, newlines inside quotes) one at a time from UTF-8 bytes,
/// so a file of any size streams. Tracks the line a record started on and its text as in the file, for dead letters.
/// <para>
/// A broken record costs only itself: a quoted field that runs across a line end and then does not close properly (a
/// closing quote followed by something other than the delimiter or the line end, the end of the file, or more than
/// <c>maxQuotedFieldLength</c> characters) is taken to be an unclosed quote, so the record is only the line the quote opened
/// on, and the lines after it are read again as records of their own (the end-of-line heuristic of DuckDB's sniffer).
/// A record with bytes that are not UTF-8 is bad too; its raw text is then its bytes in base64.
/// </para>
/// </summary>
internal sealed class CsvRecordReader(Stream stream, char delimiter = ',', string? nullText = null, int maxQuotedFieldLength = CsvRecordReader.DefaultMaxQuotedFieldLength) : IDisposable
{
    /// <summary>Characters a quoted field may hold once it runs across a line end (1 Mi).</summary>
    public const int DefaultMaxQuotedFieldLength = 1 << 20;

    private readonly Utf8LineReader _lines = new(stream, keepBlankLines: true, carriageReturnEndsLine: true);
    private readonly StringBuilder _field = new();
    private readonly Stack<Line> _reread = new();
    private readonly List<Line> _record = [];
    private char[] _chars = new char[1024];

    /// <summary>A physical line: its text, how it ended, its number, and (when it is not UTF-8) its bytes and where they break.</summary>
    private sealed record Line(string Text, string End, long Number, byte[]? Bytes, int InvalidAt);

    public long RecordStartLine { get; private set; }

    /// <summary>Why the last record is malformed (an unclosed quote, bytes that are not UTF-8), else null.</summary>
    public string? RecordError { get; private set; }

    /// <summary>The last record as in the file (its lines and the line ends between them); base64 of its bytes when they are not UTF-8.</summary>
    public string RecordRaw { get; private set; } = "";

    /// <summary>The next record's fields, or null at the end of the input. Empty lines are skipped.</summary>
    public List<string?>? Read()
    {
        while (true)
        {
            RecordError = null;
            var first = NextLine();
            if (first == null) return null;
            if (first.Text.Length == 0 && first.Bytes == null) continue;
            RecordStartLine = first.Number;
            return ReadRecord(first);
        }
    }

    private List<string?> ReadRecord(Line first)
    {
        _record.Clear();
        _record.Add(first);
        var fields = new List<string?>();
        _field.Clear();
        var text = first.Text;
        var pos = 0;
        var quoted = false;
        var wasQuoted = false;
        var quoteLine = 0; // the line (of this record) the open quote started on
        while (true)
        {
            if (pos == text.Length)
            {
                if (!quoted)
                {
                    fields.Add(Finish(wasQuoted));
                    return Done(fields, _record.Count);
                }
                if (_field.Length > maxQuotedFieldLength)
                    return Broken(fields, quoteLine, $"a quoted field opened on line {_record[quoteLine].Number} runs past {maxQuotedFieldLength:N0} characters: its quote is taken to be unclosed");
                var next = NextLine();
                if (next == null)
                {
                    // Closed by nothing: the quote opened on a line of its own is the broken part, unless that is the only line.
                    if (_record.Count - 1 == quoteLine)
                        return Done(fields, _record.Count, "a quoted field is not closed before the end of the file");
                    return Broken(fields, quoteLine, $"a quoted field opened on line {_record[quoteLine].Number} is not closed before the end of the file");
                }
                _field.Append(_record[^1].End);
                _record.Add(next);
                text = next.Text;
                pos = 0;
                continue;
            }
            if (quoted && text[pos] != '"')
            {
                // The run of text up to the next quote (or the line end) in one append.
                var quote = text.IndexOf('"', pos);
                var end = quote < 0 ? text.Length : quote;
                _field.Append(text, pos, end - pos);
                pos = end;
                continue;
            }
            if (!quoted && text[pos] != '"' && text[pos] != delimiter)
            {
                // An unquoted run up to the next delimiter (or the line end); quotes inside it are text.
                var next = text.IndexOf(delimiter, pos);
                var end = next < 0 ? text.Length : next;
                _field.Append(text, pos, end - pos);
                pos = end;
                continue;
            }
            var c = text[pos++];
            if (quoted)
            {
                if (pos < text.Length && text[pos] == '"') { _field.Append('"'); pos++; }
                else
                {
                    quoted = false;
                    // A quote that ran across a line end and closes into more text was most likely never meant to be open.
                    if (_record.Count - 1 > quoteLine && pos < text.Length && text[pos] != delimiter)
                        return Broken(fields, quoteLine, $"a quoted field opened on line {_record[quoteLine].Number} runs across the line end " +
                            $"and closes into malformed text on line {_record[^1].Number}: its quote is taken to be unclosed");
                }
                continue;
            }
            if (c == '"' && _field.Length == 0)
            {
                quoted = wasQuoted = true;
                quoteLine = _record.Count - 1;
                continue;
            }
            if (c == delimiter)
            {
                fields.Add(Finish(wasQuoted));
                wasQuoted = false;
                continue;
            }
            _field.Append(c);
        }
    }

    /// <summary>The record is the lines up to <paramref name="lastLine"/> (the line its unclosed quote opened on); the lines after it are read again.</summary>
    private List<string?> Broken(List<string?> fields, int lastLine, string error)
    {
        for (var i = _record.Count - 1; i > lastLine; i--) _reread.Push(_record[i]);
        fields.Add(Finish(true));
        return Done(fields, lastLine + 1, error);
    }

    private List<string?> Done(List<string?> fields, int lines, string? error = null)
    {
        var invalid = -1;
        for (var i = 0; i < lines && invalid < 0; i++) if (_record[i].Bytes != null) invalid = i;
        if (invalid >= 0)
        {
            // Not text: the bytes as they are (base64), so nothing is silently replaced.
            var bytes = new List<byte>();
            for (var i = 0; i < lines; i++)
            {
                bytes.AddRange(_record[i].Bytes ?? Encoding.UTF8.GetBytes(_record[i].Text));
                if (i < lines - 1) bytes.AddRange(Encoding.ASCII.GetBytes(_record[i].End));
            }
            var bad = _record[invalid];
            RecordRaw = Convert.ToBase64String(bytes.ToArray());
            RecordError = $"not valid UTF-8: byte 0x{bad.Bytes![bad.InvalidAt]:X2} at byte {bad.InvalidAt} of line {bad.Number}" +
                (error != null ? $" (and {error})" : "") + "; raw holds the record's bytes in base64";
            return fields;
        }
        RecordError = error;
        if (lines == 1) RecordRaw = _record[0].Text;
        else
        {
            var raw = new StringBuilder();
            for (var i = 0; i < lines; i++) raw.Append(_record[i].Text).Append(i < lines - 1 ? _record[i].End : "");
            RecordRaw = raw.ToString();
        }
        return fields;
    }

    private Line? NextLine()
    {
        if (_reread.Count > 0) return _reread.Pop();
        if (_lines.Next() is not { } bytes) return null;
        var span = bytes.Span;
        if (_chars.Length < span.Length) _chars = new char[Math.Max(span.Length, _chars.Length * 2)];
        var status = Utf8.ToUtf16(span, _chars, out var read, out var written, replaceInvalidSequences: false);
        if (status == OperationStatus.Done) return new Line(new string(_chars, 0, written), _lines.LineEnd, _lines.LineNumber, null, -1);
        // Decoded with replacement characters for the structure only (quotes and delimiters are ASCII, never swallowed); the record is dead-lettered.
        return new Line(Encoding.UTF8.GetString(span), _lines.LineEnd, _lines.LineNumber, span.ToArray(), read);
    }

    /// <summary>An unquoted empty field (or the configured null text) is null; a quoted empty field ("") is the empty string.</summary>
    private string? Finish(bool wasQuoted)
    {
        var value = _field.ToString();
        _field.Clear();
        if (!wasQuoted && (value.Length == 0 || (nullText != null && value == nullText))) return null;
        return value;
    }

    public void Dispose() => _lines.Dispose();
}
