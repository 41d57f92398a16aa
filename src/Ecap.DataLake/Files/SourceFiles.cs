using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ecap.DataLake.Files;

/// <summary>
/// Streams a Parquet, CSV or JSON lines file as Arrow record batches. With a target schema, columns
/// are converted to its types by name (input columns the schema lacks are inferred); without one, types
/// are inferred from a sample of the first rows (long, double, boolean, timestamp, else string).
/// </summary>
public static class SourceFiles
{
    /// <summary>Rows per batch: large enough that per-batch costs (partitioning into groups, native calls) stay small.</summary>
    public const int DefaultBatchRows = 256 * 1024;
    private const int InferenceSampleRows = 1000;

    public static IAsyncEnumerable<RecordBatch> ReadAsync(string path, Schema? target = null, CancellationToken ct = default) =>
        ReadAsync(path, FileFormats.FromPath(path), target, DefaultBatchRows, ct);

    public static async IAsyncEnumerable<RecordBatch> ReadAsync(string path, FileFormat format, Schema? target, int batchRows,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Source file '{path}' does not exist.", path);
        if (format == FileFormat.Parquet)
        {
            // The Parquet reader of the table layer: threaded decoding, batches of batchRows.
            var full = Path.GetFullPath(path);
            var store = new Storage.LocalObjectStore(Path.GetDirectoryName(full)!);
            await foreach (var batch in Parquet.ParquetDataReader.ReadAsync(store, Path.GetFileName(full), new Parquet.ParquetReadOptions { BatchSize = batchRows }, null, ct))
                yield return batch;
            yield break;
        }
        var batches = format switch
        {
            FileFormat.Csv => ReadCsv(path, target, batchRows),
            _ => ReadJsonLines(path, target, batchRows),
        };
        foreach (var batch in batches)
        {
            ct.ThrowIfCancellationRequested();
            yield return batch;
            await Task.Yield();
        }
    }

    private static IEnumerable<RecordBatch> ReadCsv(string path, Schema? target, int batchRows)
    {
        using var text = new StreamReader(path);
        var csv = new CsvRecordReader(text);
        var header = csv.Read() ?? throw new FormatException($"'{path}' is empty: a CSV file needs a header line.");
        var names = header.Select((h, i) => string.IsNullOrWhiteSpace(h) ? $"column_{i}" : h!.Trim()).ToList();

        // Buffer a sample for inference, then stream the rest.
        var sample = new List<(long Line, List<string?> Fields)>();
        while (sample.Count < InferenceSampleRows && csv.Read() is { } rec) sample.Add((csv.RecordStartLine, rec));
        var schema = ResolveSchema(names, target, i => sample.Select(s => i < s.Fields.Count ? s.Fields[i] : null));

        IEnumerable<(long, List<string?>)> All()
        {
            foreach (var s in sample) yield return s;
            while (csv.Read() is { } rec) yield return (csv.RecordStartLine, rec);
        }

        foreach (var batch in Batch(schema, batchRows, All(), (builders, record) =>
                 {
                     var (line, fields) = record;
                     if (fields.Count != names.Count)
                         throw new FormatException($"{path} line {line}: {fields.Count} fields where the header has {names.Count}");
                     for (var i = 0; i < builders.Length; i++) builders[i].AppendText(fields[i]);
                 }, r => r.Item1, path))
            yield return batch;
    }

    private static IEnumerable<RecordBatch> ReadJsonLines(string path, Schema? target, int batchRows)
    {
        using var text = new StreamReader(path);
        IEnumerable<(long Line, JsonElement Row)> Rows()
        {
            long line = 0;
            while (text.ReadLine() is { } raw)
            {
                line++;
                if (string.IsNullOrWhiteSpace(raw)) continue;
                JsonElement row;
                try
                {
                    using var doc = JsonDocument.Parse(raw);
                    row = doc.RootElement.Clone();
                }
                catch (JsonException e)
                {
                    throw new FormatException($"{path} line {line}: not valid JSON ({e.Message})", e);
                }
                if (row.ValueKind != JsonValueKind.Object) throw new FormatException($"{path} line {line}: each line must be a JSON object");
                yield return (line, row);
            }
        }

        using var rows = Rows().GetEnumerator();
        var sample = new List<(long Line, JsonElement Row)>();
        while (sample.Count < InferenceSampleRows && rows.MoveNext()) sample.Add(rows.Current);
        var names = new List<string>();
        foreach (var (_, row) in sample)
            foreach (var p in row.EnumerateObject())
                if (!names.Contains(p.Name)) names.Add(p.Name);
        var schema = ResolveSchema(names, target, i => sample.Select(s =>
            s.Row.TryGetProperty(names[i], out var v) && v.ValueKind != JsonValueKind.Null
                ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()
                : null));

        IEnumerable<(long, JsonElement)> All()
        {
            foreach (var s in sample) yield return s;
            while (rows.MoveNext()) yield return rows.Current;
        }

        var fields = schema.FieldsList.Select(f => f.Name).ToArray();
        foreach (var batch in Batch(schema, batchRows, All(), (builders, record) =>
                 {
                     for (var i = 0; i < builders.Length; i++)
                     {
                         if (record.Item2.TryGetProperty(fields[i], out var v)) builders[i].AppendJson(v);
                         else builders[i].AppendNull();
                     }
                 }, r => r.Item1, path))
            yield return batch;
    }

    private static IEnumerable<RecordBatch> Batch<T>(Schema schema, int batchRows, IEnumerable<T> records,
        Action<ColumnBuilder[], T> append, Func<T, long> lineOf, string path)
    {
        ColumnBuilder[] NewBuilders() => schema.FieldsList.Select(f => new ColumnBuilder(f)).ToArray();
        var builders = NewBuilders();
        var count = 0;
        foreach (var record in records)
        {
            try
            {
                append(builders, record);
            }
            catch (FormatException e) when (!e.Message.Contains(" line ", StringComparison.Ordinal))
            {
                throw new FormatException($"{path} line {lineOf(record)}: {e.Message}", e);
            }
            if (++count == batchRows)
            {
                yield return new RecordBatch(schema, builders.Select(b => b.Build()), count);
                builders = NewBuilders();
                count = 0;
            }
        }
        if (count > 0) yield return new RecordBatch(schema, builders.Select(b => b.Build()), count);
    }

    /// <summary>The schema of an input: target types for the columns the target knows, inferred types for the rest.</summary>
    private static Schema ResolveSchema(List<string> names, Schema? target, Func<int, IEnumerable<string?>> sampleOf)
    {
        var builder = new Schema.Builder();
        for (var i = 0; i < names.Count; i++)
        {
            var known = target?.FieldsList.FirstOrDefault(f => f.Name == names[i]);
            builder.Field(known ?? new Field(names[i], Infer(sampleOf(i)), nullable: true));
        }
        return builder.Build();
    }

    /// <summary>The narrowest type all sample values parse as, widening long -> double -> string.</summary>
    internal static IArrowType Infer(IEnumerable<string?> values)
    {
        bool isLong = true, isDouble = true, isBool = true, isTimestamp = true, any = false;
        foreach (var v in values)
        {
            if (string.IsNullOrEmpty(v)) continue;
            any = true;
            isLong &= long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _);
            isDouble &= double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
            isBool &= v.ToLowerInvariant() is "true" or "false";
            isTimestamp &= v.Length >= 10 && v[4] == '-' && DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _);
        }
        if (!any) return StringType.Default;
        if (isLong) return Int64Type.Default;
        if (isDouble) return DoubleType.Default;
        if (isBool) return BooleanType.Default;
        if (isTimestamp) return new TimestampType(TimeUnit.Microsecond, "UTC");
        return StringType.Default;
    }
}
