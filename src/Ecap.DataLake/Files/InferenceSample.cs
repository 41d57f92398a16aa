using System.Globalization;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Files;

/// <summary>
/// The records type inference looks at, read apart from the rows (a second pass over the file, so nothing is buffered):
/// the whole file when it is at most <see cref="WholeFileBytes"/>, else <see cref="Chunks"/> chunks of
/// <see cref="ChunkRecords"/> records spread evenly from the start and the last <see cref="TailBytes"/> to the end, so a
/// column that widens late in the file (a text value after thousands of integers, a decimal at the end) is seen.
/// <para>
/// A chunk starts at a byte offset and skips to the next line. In CSV a line end may be inside a quoted field, so a start
/// is taken only when the first <see cref="AlignRecords"/> records parse with the header's field count (else the next line
/// is tried, as DuckDB's parallel reader aligns its chunks); a chunk that never aligns is left out. JSON lines cannot hold a
/// raw line end, so the next line is a record. A JSON array file is sampled from its start (its first
/// <see cref="Chunks"/> x <see cref="ChunkRecords"/> elements when large).
/// </para>
/// </summary>
internal static class InferenceSample
{
    public const long WholeFileBytes = 10L * 1024 * 1024;
    public const int Chunks = 8;
    public const int ChunkRecords = 2_500;
    public const long TailBytes = 256 * 1024;
    private const int AlignRecords = 4;
    private const int AlignAttempts = 32;

    /// <summary>The CSV records of the sample with <paramref name="columns"/> fields and no error (the header skipped when there is one).</summary>
    public static IEnumerable<List<string?>> Csv(string path, SourceFileOptions options, int columns)
    {
        var length = new FileInfo(path).Length;
        if (length <= WholeFileBytes)
        {
            foreach (var record in CsvFrom(path, options, 0, columns, int.MaxValue)) yield return record;
            yield break;
        }
        foreach (var (offset, records) in Offsets(length))
            foreach (var record in CsvFrom(path, options, offset, columns, records)) yield return record;
    }

    /// <summary>The JSON lines of the sample (each a copy), or a JSON array's first elements.</summary>
    public static IEnumerable<ReadOnlyMemory<byte>> Json(string path)
    {
        var length = new FileInfo(path).Length;
        if (JsonArrayReader.StartsWithArray(path))
        {
            using var array = new JsonArrayReader(File.OpenRead(path));
            var limit = length <= WholeFileBytes ? long.MaxValue : (long)Chunks * ChunkRecords;
            for (long n = 0; n < limit && array.Next() is { } element; n++) yield return element.ToArray();
            yield break;
        }
        IEnumerable<(long Offset, int Records)> chunks = length <= WholeFileBytes ? [(0L, int.MaxValue)] : Offsets(length);
        foreach (var (offset, records) in chunks)
        {
            using var stream = File.OpenRead(path);
            if (offset > 0 && !SkipLine(stream, offset)) continue;
            using var lines = new Utf8LineReader(stream);
            for (var n = 0; n < records && lines.Next() is { } line; n++) yield return line.ToArray();
        }
    }

    // Where each chunk of a large file starts and how many records it reads: spread from 0, then the tail read to the end.
    private static IEnumerable<(long Offset, int Records)> Offsets(long length)
    {
        for (var k = 0; k < Chunks; k++) yield return (length / Chunks * k, ChunkRecords);
        yield return (Math.Max(1, length - TailBytes), int.MaxValue);
    }

    private static IEnumerable<List<string?>> CsvFrom(string path, SourceFileOptions options, long offset, int columns, int records)
    {
        var start = offset;
        for (var attempt = 0; attempt < AlignAttempts; attempt++)
        {
            var stream = File.OpenRead(path);
            if (start > 0 && !SkipLine(stream, start))
            {
                stream.Dispose();
                yield break;
            }
            var next = stream.Position;
            using var csv = new CsvRecordReader(stream, options.Delimiter, options.NullText, options.MaxQuotedFieldLength);
            if (start == 0 && options.HasHeader) csv.Read();
            var first = new List<List<string?>>();
            var aligned = true;
            // At the file's start the records are aligned by definition; elsewhere the first few must all look right.
            while (first.Count < (start == 0 ? 0 : AlignRecords) && csv.Read() is { } record)
            {
                if (csv.RecordError != null || record.Count != columns)
                {
                    aligned = false;
                    break;
                }
                first.Add(record);
            }
            if (!aligned)
            {
                start = next; // the line after the one this attempt started on
                continue;
            }
            foreach (var record in first) yield return record;
            for (var n = first.Count; n < records && csv.Read() is { } record; n++)
                if (csv.RecordError == null && record.Count == columns) yield return record;
            yield break;
        }
    }

    // Moves the stream to the start of the first line beginning after `offset` - 1 (false: no line starts there).
    private static bool SkipLine(Stream stream, long offset)
    {
        stream.Seek(offset - 1, SeekOrigin.Begin);
        int b;
        while ((b = stream.ReadByte()) >= 0)
            if (b == '\n') return stream.Position < stream.Length;
        return false;
    }
}

/// <summary>
/// The narrowest type of a column's values, seen one at a time (nothing kept): long, else double, else boolean, else a
/// timestamp (<see cref="TimestampText"/>), else string. A value with a leading zero (zip codes <c>00501</c>, ids <c>0042</c>)
/// is no number, as in DuckDB's sniffer; a column of only nulls or empty values is string.
/// </summary>
internal sealed class ColumnTypeSniffer
{
    private bool _long = true, _double = true, _bool = true, _timestamp = true, _any;

    public void Add(string? v)
    {
        if (string.IsNullOrEmpty(v)) return;
        _any = true;
        if (!(_long || _double || _bool || _timestamp)) return; // already text: nothing can narrow it back
        // Each test only while it can still win: a whole-file sample of a wide file is millions of values.
        var numeric = !HasLeadingZero(v);
        var isLong = (_long || _double) && numeric && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);
        var isDouble = isLong || (_double && numeric && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _));
        _long &= isLong;
        _double &= isDouble;
        _bool &= _bool && v.Length is 4 or 5 && v.ToLowerInvariant() is "true" or "false";
        // No date/time format of TimestampText is a plain number.
        _timestamp &= _timestamp && !isDouble && TimestampText.TryParse(v, out _);
    }

    public IArrowType Type =>
        !_any ? StringType.Default
        : _long ? Int64Type.Default
        : _double ? DoubleType.Default
        : _bool ? BooleanType.Default
        : _timestamp ? new TimestampType(TimeUnit.Microsecond, "UTC")
        : StringType.Default;

    // "0", "0.5" and "-0.25" are numbers; "00501", "007" and "-01" keep their zeros as text.
    private static bool HasLeadingZero(string v)
    {
        int i = v.Length > 0 && v[0] is '-' or '+' ? 1 : 0;
        return v.Length > i + 1 && v[i] == '0' && char.IsAsciiDigit(v[i + 1]);
    }
}
