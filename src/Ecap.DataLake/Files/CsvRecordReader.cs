using System.Text;

namespace Ecap.DataLake.Files;

/// <summary>
/// Reads CSV records (RFC 4180: quoted fields, doubled quotes, newlines inside quotes) one at a time,
/// so a file of any size streams. Tracks the line a record started on, for error messages.
/// </summary>
internal sealed class CsvRecordReader(TextReader reader, char delimiter = ',', string? nullText = null)
{
    private readonly StringBuilder _field = new();
    private long _line = 1;

    public long RecordStartLine { get; private set; }

    /// <summary>Why the last record is malformed (a quote not closed before the end of the input), else null.</summary>
    public string? RecordError { get; private set; }

    /// <summary>The next record's fields, or null at the end of the input. Blank lines are skipped.</summary>
    public List<string?>? Read()
    {
        while (true)
        {
            RecordStartLine = _line;
            RecordError = null;
            var first = reader.Peek();
            if (first < 0) return null;
            if (first is '\n' or '\r')
            {
                ConsumeNewline(reader.Read());
                continue;
            }
            return ReadRecord();
        }
    }

    private List<string?> ReadRecord()
    {
        var fields = new List<string?>();
        _field.Clear();
        var quoted = false;
        var wasQuoted = false;
        while (true)
        {
            var c = reader.Read();
            if (c < 0)
            {
                if (quoted) RecordError = "a quoted field is not closed before the end of the file";
                fields.Add(Finish(wasQuoted));
                return fields;
            }
            if (quoted)
            {
                if (c == '"')
                {
                    if (reader.Peek() == '"') { reader.Read(); _field.Append('"'); }
                    else quoted = false;
                }
                else
                {
                    if (c == '\n') _line++;
                    _field.Append((char)c);
                }
                continue;
            }
            if (c == '"' && _field.Length == 0) { quoted = true; wasQuoted = true; continue; }
            if (c == delimiter) { fields.Add(Finish(wasQuoted)); wasQuoted = false; continue; }
            if (c is '\n' or '\r')
            {
                ConsumeNewline(c);
                fields.Add(Finish(wasQuoted));
                return fields;
            }
            _field.Append((char)c);
        }
    }

    private void ConsumeNewline(int c)
    {
        if (c == '\r' && reader.Peek() == '\n') reader.Read();
        _line++;
    }

    /// <summary>An unquoted empty field (or the configured null text) is null; a quoted empty field ("") is the empty string.</summary>
    private string? Finish(bool wasQuoted)
    {
        var value = _field.ToString();
        _field.Clear();
        if (!wasQuoted && (value.Length == 0 || (nullText != null && value == nullText))) return null;
        return value;
    }
}
