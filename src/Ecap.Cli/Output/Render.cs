using System.Text.Json;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Tables;
using Spectre.Console;
using Table = Spectre.Console.Table;

namespace Ecap.Cli.Output;

/// <summary>
/// Prints results: Spectre tables for people, JSON for scripts. The JSON shapes are part of the
/// CLI's contract (README "JSON output"); change them only with a note there.
/// </summary>
internal static class Render
{
    public const int DefaultTerminalRows = 20;

    private static readonly JsonWriterOptions Indented = new() { Indented = true };

    internal static void Json(Action<Utf8JsonWriter> write)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var writer = new Utf8JsonWriter(stdout, Indented)) write(writer);
        stdout.Write("\n"u8);
    }

    /// <param name="stats">With JSON output: when given, the output is <c>{"rows": [...], "stats": {..}}</c>, stats written after the last row.</param>
    public static async Task RowsAsync(CliContext ctx, Schema schema, IAsyncEnumerable<RecordBatch> batches, CancellationToken ct,
        Action<Utf8JsonWriter>? stats = null)
    {
        if (ctx.Json)
        {
            // A JSON array of row objects, streamed batch by batch.
            await using var stdout = Console.OpenStandardOutput();
            await using var writer = new Utf8JsonWriter(stdout);
            if (stats != null)
            {
                writer.WriteStartObject();
                writer.WritePropertyName("rows");
            }
            writer.WriteStartArray();
            await foreach (var batch in batches.WithCancellation(ct))
            {
                for (var r = 0; r < batch.Length; r++)
                {
                    writer.WriteStartObject();
                    for (var c = 0; c < batch.ColumnCount; c++)
                    {
                        writer.WritePropertyName(batch.Schema.FieldsList[c].Name);
                        ArrowValues.WriteJson(writer, ArrowValues.Get(batch.Column(c), r));
                    }
                    writer.WriteEndObject();
                }
                await writer.FlushAsync(ct);
            }
            writer.WriteEndArray();
            if (stats != null)
            {
                writer.WritePropertyName("stats");
                stats(writer);
                writer.WriteEndObject();
            }
            await writer.FlushAsync(ct);
            stdout.Write("\n"u8);
            return;
        }

        var table = new Table().Border(TableBorder.Rounded);
        foreach (var field in schema.FieldsList) table.AddColumn(Markup.Escape(field.Name));
        var rows = 0L;
        await foreach (var batch in batches.WithCancellation(ct))
        {
            for (var r = 0; r < batch.Length; r++, rows++)
                table.AddRow(Enumerable.Range(0, batch.ColumnCount)
                    .Select(c => Markup.Escape(ArrowValues.Format(ArrowValues.Get(batch.Column(c), r)) ?? "null")).ToArray());
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[grey]{rows:N0} row(s)[/]");
    }

    /// <summary>A read's pruning figures as JSON (the <c>stats</c> of <c>storage read --output json --stats</c>).</summary>
    public static void ReadMetricsJson(Utf8JsonWriter w, ReadMetrics m, TimeSpan elapsed)
    {
        w.WriteStartObject();
        w.WriteNumber("partitions_total", m.PartitionsTotal);
        w.WriteNumber("partitions_pruned", m.PartitionsPruned);
        w.WriteNumber("files_total", m.FilesTotal);
        w.WriteNumber("files_read", m.FilesRead);
        w.WriteNumber("files_pruned_by_partition", m.FilesPrunedByPartition);
        w.WriteNumber("files_pruned_by_stats", m.FilesPrunedByStats);
        w.WriteNumber("files_pruned_by_bucket", m.FilesPrunedByBucket);
        w.WriteNumber("row_groups_total", m.RowGroupsTotal);
        w.WriteNumber("row_groups_pruned", m.RowGroupsPruned);
        w.WriteNumber("bytes_scanned", m.BytesScanned);
        w.WriteNumber("rows_scanned", m.RowsScanned);
        w.WriteNumber("rows_returned", m.RowsReturned);
        w.WriteNumber("elapsed_ms", Math.Round(elapsed.TotalMilliseconds, 1));
        w.WriteEndObject();
    }

    public static void ReadMetrics(CliContext ctx, ReadMetrics m) =>
        ctx.Status.MarkupLine(
            $"[grey]scanned {m.FilesRead}/{m.FilesTotal} files ({m.FilesPrunedByPartition} pruned by partition, {m.FilesPrunedByStats} by stats, " +
            $"{m.FilesPrunedByBucket} by bucket), {m.RowGroupsTotal - m.RowGroupsPruned}/{m.RowGroupsTotal} row groups, {Bytes(m.BytesScanned)}[/]");

    public static void WriteResult(CliContext ctx, WriteResult r)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("table", r.TableName);
                w.WriteNumber("version", r.Version);
                w.WriteNumber("files_written", r.FilesWritten);
                w.WriteNumber("rows_written", r.RowsWritten);
                w.WriteNumber("bytes_written", r.BytesWritten);
                w.WriteNumber("files_removed", r.FilesRemoved);
                w.WriteNumber("duplicates_dropped", r.DuplicatesDropped);
                w.WriteBoolean("skipped", r.Skipped);
                w.WriteNumber("duration_ms", (long)r.Duration.TotalMilliseconds);
                w.WriteEndObject();
            });
            return;
        }
        if (r.Skipped)
        {
            AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(r.TableName)} exists: nothing written (mode ignore)[/]");
            return;
        }
        var rate = r.Duration.TotalSeconds > 0 ? r.RowsWritten / r.Duration.TotalSeconds : 0;
        AnsiConsole.MarkupLine(
            $"[green]committed[/] {Markup.Escape(r.TableName)} v{r.Version}: {r.RowsWritten:N0} rows in {r.FilesWritten} file(s), {Bytes(r.BytesWritten)}" +
            (r.FilesRemoved > 0 ? $", {r.FilesRemoved} file(s) replaced" : "") +
            (r.DuplicatesDropped > 0 ? $", {r.DuplicatesDropped:N0} duplicate(s) dropped" : "") +
            $" [grey]({r.Duration.TotalSeconds:F1}s, {rate:N0} rows/s)[/]");
    }

    public static void TableInfo(CliContext ctx, TableInfo info, StorageCostEstimate? cost = null)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("name", info.Name);
                w.WriteString("location", info.Location);
                w.WriteNumber("version", info.Version);
                w.WriteString("last_modified", info.LastModified.UtcDateTime.ToString("O"));
                w.WriteNumber("record_count", info.RecordCount);
                w.WriteNumber("file_count", info.FileCount);
                w.WriteNumber("total_size_bytes", info.TotalSizeBytes);
                w.WriteNumber("average_file_size_bytes", info.AverageFileSizeBytes);
                w.WriteNumber("small_file_count", info.SmallFileCount);
                w.WriteNumber("small_file_threshold_bytes", info.SmallFileThresholdBytes);
                w.WriteNumber("partition_count", info.PartitionCount);
                w.WriteNumber("partition_skew", Math.Round(info.PartitionSkew, 3));
                w.WriteNumber("compression_ratio", Math.Round(info.CompressionRatio, 3));
                if (info.DataType != null) w.WriteString("data_type", info.DataType);
                w.WriteStartArray("partition_columns");
                foreach (var c in info.PartitionColumns) w.WriteStringValue(c);
                w.WriteEndArray();
                w.WriteStartArray("partitions");
                foreach (var p in info.Partitions)
                {
                    w.WriteStartObject();
                    w.WriteStartObject("values");
                    foreach (var (k, v) in p.Values) w.WriteString(k, v);
                    w.WriteEndObject();
                    w.WriteNumber("file_count", p.FileCount);
                    w.WriteNumber("record_count", p.RecordCount);
                    w.WriteNumber("size_bytes", p.SizeBytes);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("file_size_histogram");
                foreach (var b in info.FileSizeHistogram)
                {
                    w.WriteStartObject();
                    w.WriteNumber("min_bytes", b.MinBytes);
                    if (b.MaxBytes is { } max) w.WriteNumber("max_bytes", max);
                    else w.WriteNull("max_bytes");
                    w.WriteNumber("file_count", b.FileCount);
                    w.WriteNumber("size_bytes", b.SizeBytes);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (cost is not null)
                {
                    w.WriteStartObject("storage_cost");
                    w.WriteNumber("size_gb", Math.Round(cost.Gb, 12));
                    w.WriteString("storage_class", cost.StorageClass);
                    w.WriteNumber("price_per_gb_month", cost.PricePerGbMonth);
                    w.WriteNumber("monthly_cost", Math.Round(cost.MonthlyCost, 10));
                    w.WriteString("currency", cost.Currency);
                    w.WriteStartArray("by_class");
                    foreach (var c in cost.ByClass)
                    {
                        w.WriteStartObject();
                        w.WriteString("storage_class", c.StorageClass);
                        w.WriteNumber("price_per_gb_month", c.PricePerGbMonth);
                        w.WriteNumber("monthly_cost", Math.Round(c.MonthlyCost, 10));
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteStartArray("schema");
                foreach (var c in info.Schema)
                {
                    w.WriteStartObject();
                    w.WriteString("name", c.Name);
                    w.WriteString("type", c.Type);
                    w.WriteBoolean("nullable", c.Nullable);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return;
        }

        var grid = new Grid().AddColumn().AddColumn();
        void Row(string k, string v) => grid.AddRow($"[grey]{k}[/]", Markup.Escape(v));
        Row("table", info.Name);
        Row("location", info.Location);
        if (info.DataType != null) Row("data type", info.DataType);
        Row("version", info.Version.ToString());
        Row("last modified", info.LastModified.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'"));
        Row("records", info.RecordCount.ToString("N0"));
        Row("files", $"{info.FileCount:N0} (average {Bytes(info.AverageFileSizeBytes)}, {info.SmallFileCount} below {Bytes(info.SmallFileThresholdBytes)})");
        Row("size", Bytes(info.TotalSizeBytes));
        Row("compression ratio", $"{info.CompressionRatio:F2}x");
        Row("partitions", $"{info.PartitionCount:N0} by {(info.PartitionColumns.Count == 0 ? "(none)" : string.Join(", ", info.PartitionColumns))}, skew {info.PartitionSkew:F2}");
        AnsiConsole.Write(new Panel(grid).Header("table info"));
        StorageCharts.Write(info, cost);

        var schema = new Table().Border(TableBorder.Simple).AddColumns("column", "type", "nullable");
        foreach (var c in info.Schema) schema.AddRow(Markup.Escape(c.Name), Markup.Escape(c.Type), c.Nullable ? "yes" : "no");
        AnsiConsole.Write(schema);

        var parts = new Table().Border(TableBorder.Simple).AddColumns("partition", "files", "records", "size");
        foreach (var p in info.Partitions.Take(15))
            parts.AddRow(Markup.Escape(string.Join("/", p.Values.Select(kv => $"{kv.Key}={kv.Value ?? "null"}"))), p.FileCount.ToString(), p.RecordCount.ToString("N0"), Bytes(p.SizeBytes));
        if (info.Partitions.Count > 15) parts.AddRow($"[grey]... {info.Partitions.Count - 15} more[/]", "", "", "");
        AnsiConsole.Write(parts);
    }

    public static void TableList(CliContext ctx, IReadOnlyList<TableSummary> tables)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartArray();
                foreach (var t in tables)
                {
                    w.WriteStartObject();
                    w.WriteString("name", t.Name);
                    w.WriteNumber("version", t.Version);
                    w.WriteNumber("record_count", t.RecordCount);
                    w.WriteNumber("total_size_bytes", t.TotalSizeBytes);
                    w.WriteNumber("file_count", t.FileCount);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("table", "version", "records", "files", "size");
        foreach (var t in tables) table.AddRow(Markup.Escape(t.Name), t.Version.ToString(), t.RecordCount.ToString("N0"), t.FileCount.ToString("N0"), Bytes(t.TotalSizeBytes));
        AnsiConsole.Write(table);
        if (tables.Count == 0) AnsiConsole.MarkupLine($"[grey]no Delta tables under {Markup.Escape(ctx.Lake)}[/]");
    }

    public static void History(CliContext ctx, IReadOnlyList<TableHistoryEntry> history)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartArray();
                foreach (var h in history)
                {
                    w.WriteStartObject();
                    w.WriteNumber("version", h.Version);
                    w.WriteString("timestamp", h.Timestamp.UtcDateTime.ToString("O"));
                    w.WriteString("operation", h.Operation);
                    w.WriteStartObject("parameters");
                    foreach (var (k, v) in h.Parameters) w.WriteString(k, v);
                    w.WriteEndObject();
                    w.WriteStartObject("metrics");
                    foreach (var (k, v) in h.Metrics) w.WriteString(k, v);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("version", "timestamp (UTC)", "operation", "parameters", "metrics");
        foreach (var h in history)
            table.AddRow(h.Version.ToString(), h.Timestamp.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss"), Markup.Escape(h.Operation),
                Markup.Escape(string.Join(", ", h.Parameters.Select(kv => $"{kv.Key}={kv.Value}"))),
                Markup.Escape(string.Join(", ", h.Metrics.Select(kv => $"{kv.Key}={kv.Value}"))));
        AnsiConsole.Write(table);
    }

    public static void Restore(CliContext ctx, RestoreResult r)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartObject();
                w.WriteNumber("restored_version", r.RestoredVersion);
                w.WriteNumber("version", r.NewVersion);
                w.WriteNumber("files_added", r.FilesAdded);
                w.WriteNumber("files_removed", r.FilesRemoved);
                w.WriteEndObject();
            });
            return;
        }
        AnsiConsole.MarkupLine($"[green]restored[/] to v{r.RestoredVersion} as v{r.NewVersion} ({r.FilesAdded} file(s) re-added, {r.FilesRemoved} removed)");
    }

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:F1} KiB",
        < 1024L * 1024 * 1024 => $"{bytes / (1024.0 * 1024):F1} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):F2} GiB",
    };
}
