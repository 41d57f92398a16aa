using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Unicode;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Files;

/// <summary>
/// Streams a Parquet, CSV or JSON lines file as Arrow record batches. With a target schema, columns
/// are converted to its types by name (input columns the schema lacks are inferred); without one, types
/// are inferred (long, double, boolean, timestamp, else string) from the whole file when it is small, else from chunks
/// spread over it (<see cref="InferenceSample"/>).
/// </summary>
public static class SourceFiles
{
    /// <summary>Rows per batch: large enough that per-batch costs (partitioning into groups, native calls) stay small.</summary>
    public const int DefaultBatchRows = 256 * 1024;

    /// <summary>The schema a CSV/JSON file reads with (the column types a sample infers, or the given ones).</summary>
    public static Schema? InferSchema(string path, SourceFileOptions options)
    {
        var format = options.Format ?? FileFormats.FromPath(path);
        if (format == FileFormat.Parquet) return null;
        var chunks = format == FileFormat.Csv ? ReadCsv(path, options with { BatchRows = 1 }, 0) : ReadJsonLines(path, options with { BatchRows = 1 }, 0);
        foreach (var chunk in chunks) return chunk.Rows?.Schema;
        return null;
    }

    public static IAsyncEnumerable<RecordBatch> ReadAsync(string path, Schema? target = null, CancellationToken ct = default) =>
        ReadAsync(path, FileFormats.FromPath(path), target, DefaultBatchRows, ct);

    /// <summary>Strict read: the first record that does not parse or convert fails the read (FormatException with file and line).</summary>
    public static async IAsyncEnumerable<RecordBatch> ReadAsync(string path, FileFormat format, Schema? target, int batchRows,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var chunk in ReadRecordsAsync(path, new SourceFileOptions { Format = format, Schema = target, BatchRows = batchRows }, 0, ct))
        {
            if (chunk.Bad.Count > 0)
                throw new InvalidInputException($"{path} {(chunk.Bad[0].Line > 0 ? $"line {chunk.Bad[0].Line}" : $"record {chunk.Bad[0].RecordNumber}")}: {chunk.Bad[0].Error}");
            yield return chunk.Rows!;
        }
    }

    /// <summary>
    /// Lenient read: each chunk holds the good rows as a batch and the records that failed to parse or
    /// convert (raw text, error, line) separately, so one bad value costs one record, not the file.
    /// Records are numbered from 0 (header and blank lines excluded); the first <paramref name="skipRecords"/> are skipped (resume).
    /// A Parquet file that cannot be read past some row yields one bad record for the unreadable rest.
    /// </summary>
    public static async IAsyncEnumerable<SourceChunk> ReadRecordsAsync(string path, SourceFileOptions options, long skipRecords = 0,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Source file '{path}' does not exist.", path);
        var format = options.Format ?? FileFormats.FromPath(path);
        if (format == FileFormat.Parquet)
        {
            await foreach (var chunk in ReadParquet(path, options.BatchRows, options.Schema, skipRecords, ct)) yield return chunk;
            yield break;
        }
        var chunks = format switch
        {
            FileFormat.Csv => ReadCsv(path, options, skipRecords),
            _ => ReadJsonLines(path, options, skipRecords),
        };
        foreach (var chunk in chunks)
        {
            ct.ThrowIfCancellationRequested();
            yield return chunk;
            await Task.Yield();
        }
    }

    /// <summary>A Parquet file's batches; with a target schema its columns are cast to the target's types (<see cref="SchemaConversion"/>).</summary>
    private static async IAsyncEnumerable<SourceChunk> ReadParquet(string path, int batchRows, Schema? target, long skipRecords, [EnumeratorCancellation] CancellationToken ct)
    {
        // The Parquet reader of the table layer: threaded decoding, batches of batchRows.
        var full = Path.GetFullPath(path);
        var store = new Storage.LocalObjectStore(Path.GetDirectoryName(full)!);
        var batches = Parquet.ParquetDataReader.ReadAsync(store, Path.GetFileName(full), new Parquet.ParquetReadOptions { BatchSize = batchRows }, null, ct);
        await using var e = batches.GetAsyncEnumerator(ct);
        long next = 0;
        while (true)
        {
            string? error = null;
            try
            {
                if (!await e.MoveNextAsync()) yield break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not IOException)
            {
                error = ex.Message;
            }
            if (error != null)
            {
                // A damaged file: the rows from here on cannot be read, so they are one dead letter.
                var size = new FileInfo(path).Length;
                var bad = new BadRecord(next, 0, $"<unreadable Parquet file, {size} bytes, rows from {next}>", $"unreadable Parquet file: {error}");
                yield return new SourceChunk(null, [bad], next, next >= skipRecords ? 1 : 0);
                yield break;
            }
            var batch = e.Current;
            var first = next;
            next += batch.Length;
            if (next <= skipRecords) continue;
            if (first < skipRecords) batch = batch.Slice((int)(skipRecords - first), (int)(next - skipRecords));
            var start = Math.Max(first, skipRecords);
            if (target == null)
            {
                yield return new SourceChunk(batch, [], start, batch.Length);
                continue;
            }
            var (rows, unconverted) = SchemaConversion.Convert(batch, target, start);
            yield return new SourceChunk(rows, unconverted, start, batch.Length);
        }
    }

    private static IEnumerable<SourceChunk> ReadCsv(string path, SourceFileOptions options, long skipRecords)
    {
        using var csv = new CsvRecordReader(File.OpenRead(path), options.Delimiter, options.NullText, options.MaxQuotedFieldLength);
        List<string> names;
        var sample = new List<CsvRecord>();
        if (options.HasHeader)
        {
            var header = csv.Read() ?? throw new InvalidInputException($"'{path}' is empty: a CSV file needs a header line.");
            if (csv.RecordError != null) throw new InvalidInputException($"'{path}': the header line cannot be read: {csv.RecordError}");
            names = header.Select((h, i) => string.IsNullOrWhiteSpace(h) ? $"column_{i}" : h!.Trim()).ToList();
        }
        else
        {
            names = [];
        }

        // Without a header the first record tells the column count; it is read again with the rest.
        if (!options.HasHeader && csv.Read() is { } rec) sample.Add(new CsvRecord(csv.RecordStartLine, rec, csv.RecordError, csv.RecordRaw));
        if (!options.HasHeader)
            names = options.Schema?.FieldsList.Select(f => f.Name).ToList()
                ?? Enumerable.Range(0, sample.Count > 0 ? sample[0].Fields.Count : 0).Select(i => $"column_{i}").ToList();
        // The types of the columns the target lacks, from one pass over the sample (the whole file when small, else a spread).
        ColumnTypeSniffer[]? sniffers = null;
        IArrowType InferColumn(int i)
        {
            if (sniffers is null)
            {
                sniffers = names.Select(_ => new ColumnTypeSniffer()).ToArray();
                foreach (var record in InferenceSample.Csv(path, options, names.Count))
                    for (var c = 0; c < sniffers.Length; c++) sniffers[c].Add(record[c]);
            }
            return sniffers[i].Type;
        }
        var schema = ResolveSchema(names, options.Schema, InferColumn);

        IEnumerable<CsvRecord> All()
        {
            foreach (var s in sample) yield return s;
            while (csv.Read() is { } rec) yield return new CsvRecord(csv.RecordStartLine, rec, csv.RecordError, csv.RecordRaw);
        }

        var rows = new ColumnRows(schema);
        Func<ColumnBuilder[], CsvRecord, string?> append = (columns, record) =>
        {
            if (record.Error != null) return record.Error;
            if (record.Fields.Count != names.Count) return $"{record.Fields.Count} fields where the header has {names.Count}";
            for (var i = 0; i < columns.Length; i++) columns[i].AppendText(record.Fields[i]);
            return null;
        };
        // Iterated here (not returned) so the reader stays open while the chunks stream.
        foreach (var chunk in Batch(options.BatchRows, All(), skipRecords, r => rows.TryAppend(r, append), rows.Build, r => r.Line, r => r.Raw))
            yield return chunk;
    }

    /// <summary>A CSV record: the line it starts on, its fields, why it is malformed (else null) and its text as in the file.</summary>
    private sealed record CsvRecord(long Line, List<string?> Fields, string? Error, string Raw);

    /// <summary>
    /// JSON lines: the column names come from the sample (in order of first appearance; see InferenceSample), then every
    /// line goes straight from its UTF-8 bytes into the columns (<see cref="JsonRecordBatchBuilder"/>, the converter
    /// Kafka messages use), with no string or document per line. A line that is not a JSON object, has a value not of its
    /// column's type or lacks a required column is a bad record with the reason.
    /// </summary>
    private static IEnumerable<SourceChunk> ReadJsonLines(string path, SourceFileOptions options, long skipRecords)
    {
        // A file holding one JSON array ([{...},{...}]) is read element by element, each like a line.
        using var lines = JsonArrayReader.StartsWithArray(path)
            ? (IJsonRecordSource)new ArrayRecords(new JsonArrayReader(File.OpenRead(path)))
            : new LineRecords(new Utf8LineReader(File.OpenRead(path)));
        // The sample (the whole file when small, else a spread) is read apart; its bad lines are skipped here and become bad
        // records when they are read for real.
        var inferred = JsonRecordBatchBuilder.InferSchema(InferenceSample.Json(path).Where(s => Utf8.IsValid(s.Span)))?.FieldsList ?? [];
        var schema = ResolveSchema(inferred.Select(f => f.Name).ToList(), options.Schema, i => inferred[i].DataType);

        IEnumerable<(long Line, ReadOnlyMemory<byte> Bytes)> All()
        {
            while (lines.Next() is { } next) yield return (lines.LineNumber, next);
        }

        var builder = new JsonRecordBatchBuilder(schema, recordNoun: "line");
        // Iterated here (not returned) so the reader stays open while the chunks stream.
        // A line that is not UTF-8 is a bad record with its bytes (base64) as raw: never text with replacement characters.
        foreach (var chunk in Batch(options.BatchRows, All(), skipRecords, r => InvalidUtf8(r.Bytes.Span) ?? builder.TryAppend(r.Bytes), builder.Build,
                     r => r.Line, r => Utf8.IsValid(r.Bytes.Span) ? System.Text.Encoding.UTF8.GetString(r.Bytes.Span) : Convert.ToBase64String(r.Bytes.Span)))
            yield return chunk;
    }

    private interface IJsonRecordSource : IDisposable
    {
        long LineNumber { get; }
        ReadOnlyMemory<byte>? Next();
    }

    private sealed class LineRecords(Utf8LineReader reader) : IJsonRecordSource
    {
        public long LineNumber => reader.LineNumber;
        public ReadOnlyMemory<byte>? Next() => reader.Next();
        public void Dispose() => reader.Dispose();
    }

    private sealed class ArrayRecords(JsonArrayReader reader) : IJsonRecordSource
    {
        public long LineNumber => reader.LineNumber;
        public ReadOnlyMemory<byte>? Next() => reader.Next();
        public void Dispose() => reader.Dispose();
    }

    /// <summary>Why bytes are not UTF-8 (the first bad byte and where it is), or null when they are.</summary>
    private static string? InvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        if (Utf8.IsValid(bytes)) return null;
        var at = 0;
        while (System.Text.Rune.DecodeFromUtf8(bytes[at..], out _, out var consumed) == System.Buffers.OperationStatus.Done) at += consumed;
        return $"not valid UTF-8: byte 0x{bytes[at]:X2} at byte {at}; raw holds the line's bytes in base64";
    }

    /// <summary>
    /// Groups records into chunks of batchRows records (after the first skipRecords): each record is appended with
    /// <paramref name="tryAppend"/>, which keeps it or says why not (then it is a bad record with its line and raw text),
    /// and each chunk's kept rows come from <paramref name="build"/>.
    /// </summary>
    private static IEnumerable<SourceChunk> Batch<T>(int batchRows, IEnumerable<T> records, long skipRecords,
        Func<T, string?> tryAppend, Func<RecordBatch> build, Func<T, long> lineOf, Func<T, string> rawOf)
    {
        var bad = new List<BadRecord>();
        long number = -1, first = -1;
        var count = 0;
        foreach (var record in records)
        {
            if (++number < skipRecords) continue;
            if (first < 0) first = number;
            if (tryAppend(record) is { } error) bad.Add(new BadRecord(number, lineOf(record), rawOf(record), error));
            if (++count < batchRows) continue;
            yield return new SourceChunk(build(), bad, first, count);
            bad = [];
            count = 0;
            first = -1;
        }
        if (count > 0) yield return new SourceChunk(build(), bad, first, count);
    }

    /// <summary>The schema of an input: target types for the columns the target knows, inferred types for the rest.</summary>
    private static Schema ResolveSchema(List<string> names, Schema? target, Func<int, IArrowType> inferType)
    {
        var builder = new Schema.Builder();
        for (var i = 0; i < names.Count; i++)
        {
            var known = target?.FieldsList.FirstOrDefault(f => f.Name == names[i]);
            builder.Field(known ?? new Field(names[i], inferType(i), nullable: true));
        }
        return builder.Build();
    }

    /// <summary>The narrowest type all the values parse as (<see cref="ColumnTypeSniffer"/>).</summary>
    internal static IArrowType Infer(IEnumerable<string?> values)
    {
        var sniffer = new ColumnTypeSniffer();
        foreach (var v in values) sniffer.Add(v);
        return sniffer.Type;
    }
}

/// <summary>
/// The date/time texts every reader of files accepts and infers as timestamps (UTC unless the text has an offset):
/// ISO-8601 (<c>2015-01-01</c>, <c>2015-01-01T01:00:00Z</c>), RFC 1123 (<c>Thu, 01 Jan 2015 01:00:00 GMT</c>),
/// <c>yyyy/MM/dd HH:mm:ss</c>, <c>yyyy/MM/dd</c> and <c>MMM d yyyy</c> (<c>Jan 1 2000</c>).
/// </summary>
internal static class TimestampText
{
    private static readonly string[] Formats =
        ["r", "yyyy/MM/dd HH:mm:ss", "yyyy/MM/dd HH:mm", "yyyy/MM/dd", "MMM d yyyy", "MMM d yyyy HH:mm:ss", "MMM d, yyyy"];

    private const DateTimeStyles Styles = DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces;

    public static bool TryParse(string text, out DateTimeOffset value)
    {
        // ISO-8601 only when it starts like a year: the general parser alone also takes "1/2" or "3:00".
        if (text.Length >= 10 && text[4] == '-' && char.IsAsciiDigit(text[0])
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, Styles, out value))
            return true;
        return DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture, Styles, out value);
    }
}

/// <summary>How <see cref="SourceFiles.ReadRecordsAsync"/> reads a file.</summary>
public sealed record SourceFileOptions
{
    /// <summary>The format (default: from the extension).</summary>
    public FileFormat? Format { get; init; }

    /// <summary>Column types by name; other columns are inferred from the whole file when small, else from chunks spread over it.</summary>
    public Schema? Schema { get; init; }

    public int BatchRows { get; init; } = SourceFiles.DefaultBatchRows;

    /// <summary>CSV: the field separator.</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>CSV: whether the first line names the columns (else column_0.. or the schema's names in order).</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>CSV: an unquoted field with this text is null (an unquoted empty field always is).</summary>
    public string? NullText { get; init; }

    /// <summary>
    /// CSV: the characters a quoted field may hold once it runs across a line end. Past it the quote is taken to be
    /// unclosed: the record is dead-lettered as the line the quote opened on, and the lines after it are read as records.
    /// </summary>
    public int MaxQuotedFieldLength { get; init; } = CsvRecordReader.DefaultMaxQuotedFieldLength;
}

/// <summary>A record that did not parse or convert: its number in the file (from 0), line (0 when none), raw text and the error.</summary>
public sealed record BadRecord(long RecordNumber, long Line, string Raw, string Error);

/// <summary>
/// Consecutive records of a file: the good ones as <see cref="Rows"/> (null when none could be read), the bad ones apart.
/// <see cref="RecordCount"/> counts both, from <see cref="FirstRecord"/>.
/// </summary>
public sealed record SourceChunk(RecordBatch? Rows, IReadOnlyList<BadRecord> Bad, long FirstRecord, long RecordCount);
