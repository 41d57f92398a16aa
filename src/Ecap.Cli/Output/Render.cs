using System.Text.Json;
using Apache.Arrow;
using Ecap.DataLake.Server.Json;
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

    /// <param name="stats">With JSON output: when given, the output is <c>{"rows": [...], "stats": {..}}</c>, the stats record made after the last row.</param>
    public static async Task RowsAsync(CliContext ctx, Schema schema, IAsyncEnumerable<RecordBatch> batches, CancellationToken ct,
        Func<object>? stats = null)
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
                CliJson.Write(writer, stats()); // after the rows: the scan has counted them
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

    public static void ReadMetrics(CliContext ctx, ReadMetrics m) =>
        ctx.Status.MarkupLine(
            $"[grey]scanned {m.FilesRead}/{m.FilesTotal} files ({m.FilesPrunedByPartition} pruned by partition, {m.FilesPrunedByStats} by stats, " +
            $"{m.FilesPrunedByBucket} by bucket), {m.RowGroupsTotal - m.RowGroupsPruned}/{m.RowGroupsTotal} row groups, {Bytes(m.BytesScanned)}[/]");

    public static void WriteResult(CliContext ctx, WriteResult r)
    {
        if (ctx.Json)
        {
            CliJson.Write(WriteJson.From(r));
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
            CliJson.Write(TableInfoJson.From(info, cost));
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
        if (info.AutoCompaction is { } auto) Row("auto-compaction", AutoCompaction(auto));
        AnsiConsole.Write(new Panel(grid).Header("table info"));
        PartitionAdvice(info.Name, info.PartitionAdvice);
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

    /// <summary>The advice to coarsen the partitions, with the command that does it (nothing when there is none).</summary>
    public static void PartitionAdvice(string table, PartitionAdvice? advice)
    {
        if (advice is null) return;
        AnsiConsole.MarkupLine("[yellow]partitions too small:[/] " + Markup.Escape(advice.Message));
        AnsiConsole.MarkupLine("[grey]rewrite it with:[/] " + Markup.Escape(PartitionAdviceJson.CommandFor(table, advice)));
    }

    /// <summary>"on (... ), last ran ...": the settings and the last run, in one line.</summary>
    public static string AutoCompaction(AutoCompactionInfo auto)
    {
        var settings = auto.Enabled ? $"on (partitions with {auto.MinNumFiles} files below {Bytes(auto.MaxFileSizeBytes / 4)}, into {Bytes(auto.MaxFileSizeBytes)} files)" : "off";
        if (auto.Last is not { } last) return settings + (auto.Enabled ? ", never ran" : "");
        var when = (DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture);
        var text = $"{settings}, last ran {when(last.LastRunAt)} after v{last.TriggeredBy}: {last.Outcome}";
        if (last.Outcome == "compacted") text += $" ({last.FilesRemoved} files into {last.FilesAdded}, v{last.LastCompactedVersion})";
        else
        {
            if (last.Error is { } error) text += $" ({error})";
            if (last.LastCompactedAt is { } at) text += $"; last compacted {when(at)} (v{last.LastCompactedVersion})";
        }
        return text;
    }

    public static void TableList(CliContext ctx, IReadOnlyList<TableSummary> tables)
    {
        if (ctx.Json)
        {
            CliJson.Write(tables);
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
            CliJson.Write(history.Select(HistoryJson.From));
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
            CliJson.Write(RestoreJson.From(r));
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
