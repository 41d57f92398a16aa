using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Files;

/// <summary>Writes a stream of record batches to a Parquet, CSV or JSON lines file (by extension), batch by batch.</summary>
public static class RowExport
{
    /// <returns>The number of rows written.</returns>
    public static async Task<long> WriteAsync(string path, Schema schema, IAsyncEnumerable<RecordBatch> batches, CancellationToken ct = default)
    {
        var format = FileFormats.FromPath(path);
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        return format switch
        {
            FileFormat.Parquet => await WriteParquetAsync(path, schema, batches, ct),
            FileFormat.Csv => await WriteTextAsync(path, batches, csv: true, ct),
            _ => await WriteTextAsync(path, batches, csv: false, ct),
        };
    }

    private static async Task<long> WriteParquetAsync(string path, Schema schema, IAsyncEnumerable<RecordBatch> batches, CancellationToken ct)
    {
        using var props = new ParquetSharp.WriterPropertiesBuilder().Compression(ParquetSharp.Compression.Snappy).Build();
        using var arrowProps = new ParquetSharp.Arrow.ArrowWriterPropertiesBuilder().StoreSchema().Build();
        using var writer = new ParquetSharp.Arrow.FileWriter(path, schema, props, arrowProps);
        long rows = 0;
        await foreach (var batch in batches.WithCancellation(ct))
        {
            writer.WriteRecordBatch(batch);
            rows += batch.Length;
        }
        writer.Close();
        return rows;
    }

    private static async Task<long> WriteTextAsync(string path, IAsyncEnumerable<RecordBatch> batches, bool csv, CancellationToken ct)
    {
        await using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        await using var text = new StreamWriter(stream, new UTF8Encoding(false));
        long rows = 0;
        var headerWritten = false;
        var buffer = new MemoryStream();
        await foreach (var batch in batches.WithCancellation(ct))
        {
            if (csv && !headerWritten)
            {
                await text.WriteLineAsync(string.Join(",", batch.Schema.FieldsList.Select(f => CsvField(f.Name))));
                headerWritten = true;
            }
            for (var r = 0; r < batch.Length; r++, rows++)
            {
                if (csv)
                {
                    await text.WriteLineAsync(string.Join(",", Enumerable.Range(0, batch.ColumnCount)
                        .Select(c => ArrowValues.Format(ArrowValues.Get(batch.Column(c), r)) is { } v ? CsvField(v) : "")));
                }
                else
                {
                    buffer.SetLength(0);
                    using (var json = new Utf8JsonWriter(buffer))
                    {
                        json.WriteStartObject();
                        for (var c = 0; c < batch.ColumnCount; c++)
                        {
                            json.WritePropertyName(batch.Schema.FieldsList[c].Name);
                            ArrowValues.WriteJson(json, ArrowValues.Get(batch.Column(c), r));
                        }
                        json.WriteEndObject();
                    }
                    await text.WriteLineAsync(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
                }
            }
        }
        return rows;
    }

    private static string CsvField(string value) =>
        value.Length == 0 || value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;
}
