using System.Text.Json;
using Ecap.DataLake.Compaction;
using Spectre.Console;
using static Ecap.Cli.Output.Render;
using Table = Spectre.Console.Table;

namespace Ecap.Cli.Output;

/// <summary>Prints the compaction group's results (JSON shapes documented in README "JSON output: compaction").</summary>
internal static class CompactionRender
{
    public static void Analysis(CliContext ctx, TableFileAnalysis a)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("table", a.TableName);
                w.WriteNumber("version", a.Version);
                w.WriteNumber("file_count", a.FileCount);
                w.WriteNumber("total_size_bytes", a.TotalSizeBytes);
                w.WriteNumber("average_file_size_bytes", a.AverageFileSizeBytes);
                w.WriteNumber("target_file_size_bytes", a.TargetFileSizeBytes);
                w.WriteNumber("small_file_threshold_bytes", a.SmallFileThresholdBytes);
                w.WriteNumber("small_file_count", a.SmallFileCount);
                w.WriteNumber("partition_count", a.PartitionCount);
                w.WriteNumber("partitions_over_small_file_limit", a.PartitionsOverSmallFileLimit);
                w.WriteNumber("partition_skew", Math.Round(a.PartitionSkew, 3));
                w.WriteNumber("files_without_stats", a.FilesWithoutStats);
                w.WriteBoolean("needs_compaction", a.NeedsCompaction);
                w.WriteString("compaction_reason", a.CompactionReason);
                w.WriteNumber("estimated_files_before", a.EstimatedFilesBefore);
                w.WriteNumber("estimated_files_after", a.EstimatedFilesAfter);
                w.WriteStartArray("size_histogram");
                foreach (var b in a.SizeHistogram)
                {
                    w.WriteStartObject();
                    w.WriteString("label", b.Label);
                    w.WriteNumber("min_bytes", b.MinBytes);
                    if (b.MaxBytes is { } max) w.WriteNumber("max_bytes", max); else w.WriteNull("max_bytes");
                    w.WriteNumber("file_count", b.FileCount);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("partitions_with_small_files");
                foreach (var p in a.PartitionsWithSmallFiles)
                {
                    w.WriteStartObject();
                    WriteValues(w, p.Values);
                    w.WriteNumber("file_count", p.FileCount);
                    w.WriteNumber("small_file_count", p.SmallFileCount);
                    w.WriteNumber("size_bytes", p.SizeBytes);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return;
        }
        var grid = new Grid().AddColumn().AddColumn();
        void Row(string k, string v) => grid.AddRow($"[grey]{k}[/]", Markup.Escape(v));
        Row("table", $"{a.TableName} v{a.Version}");
        Row("files", $"{a.FileCount:N0}, {Bytes(a.TotalSizeBytes)} (average {Bytes(a.AverageFileSizeBytes)}, target {Bytes(a.TargetFileSizeBytes)})");
        Row("small files", $"{a.SmallFileCount:N0} below {Bytes(a.SmallFileThresholdBytes)}; {a.PartitionsOverSmallFileLimit} partition(s) over the limit");
        Row("partitions", $"{a.PartitionCount:N0}, skew {a.PartitionSkew:F2}");
        Row("without stats", a.FilesWithoutStats.ToString("N0"));
        Row("estimate", $"{a.EstimatedFilesBefore:N0} -> {a.EstimatedFilesAfter:N0} files");
        AnsiConsole.Write(new Panel(grid).Header("file analysis"));
        var histogram = new Table().Border(TableBorder.Simple).AddColumns("size", "files");
        foreach (var b in a.SizeHistogram) histogram.AddRow(Markup.Escape(b.Label), b.FileCount.ToString("N0"));
        AnsiConsole.Write(histogram);
        AnsiConsole.MarkupLine((a.NeedsCompaction ? "[yellow]compaction needed:[/] " : "[green]no compaction needed:[/] ") + Markup.Escape(a.CompactionReason));
    }

    public static void Compaction(CliContext ctx, CompactionResult r)
    {
        if (ctx.Json)
        {
            Json(w => WriteCompaction(w, r));
            return;
        }
        WriteCompactionLine(r);
    }

    private static void WriteCompactionLine(CompactionResult r)
    {
        var rate = r.Duration.TotalSeconds > 0 ? r.BytesRemoved / r.Duration.TotalSeconds : 0;
        AnsiConsole.MarkupLine(r.FilesRemoved == 0
            ? $"[green]nothing to compact[/] in {Markup.Escape(r.TableName)} ({r.FilesBefore:N0} files)"
            : $"[green]compacted[/] {Markup.Escape(r.TableName)}: {r.FilesBefore:N0} -> {r.FilesAfter:N0} files, {Bytes(r.BytesBefore)} -> {Bytes(r.BytesAfter)}, " +
              $"{r.RowsRewritten:N0} rows rewritten in {r.PartitionGroupsCompacted} partition group(s), versions {string.Join(", ", r.CommitVersions)} " +
              $"[grey]({r.Duration.TotalSeconds:F1}s, {Bytes((long)rate)}/s)[/]");
        if (r.PartitionGroupsSkipped > 0)
            AnsiConsole.MarkupLine($"[yellow]{r.PartitionGroupsSkipped} partition group(s) skipped:[/] a concurrent rewrite replaced their files first; run again.");
        if (r.RestorePoint is { } p)
            AnsiConsole.MarkupLine($"restore point [bold]{Markup.Escape(p.Name)}[/] = v{p.Version}, kept until {p.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC");
    }

    private static void WriteCompaction(Utf8JsonWriter w, CompactionResult r)
    {
        w.WriteStartObject();
        w.WriteString("table", r.TableName);
        w.WriteNumber("read_version", r.ReadVersion);
        w.WriteStartArray("commit_versions");
        foreach (var v in r.CommitVersions) w.WriteNumberValue(v);
        w.WriteEndArray();
        w.WriteNumber("partition_groups_compacted", r.PartitionGroupsCompacted);
        w.WriteNumber("partition_groups_skipped", r.PartitionGroupsSkipped);
        w.WriteNumber("files_before", r.FilesBefore);
        w.WriteNumber("files_after", r.FilesAfter);
        w.WriteNumber("bytes_before", r.BytesBefore);
        w.WriteNumber("bytes_after", r.BytesAfter);
        w.WriteNumber("files_removed", r.FilesRemoved);
        w.WriteNumber("files_added", r.FilesAdded);
        w.WriteNumber("bytes_removed", r.BytesRemoved);
        w.WriteNumber("bytes_added", r.BytesAdded);
        w.WriteNumber("rows_rewritten", r.RowsRewritten);
        if (r.RestorePoint is { } p)
        {
            w.WritePropertyName("restore_point");
            WriteRestorePoint(w, p);
        }
        else w.WriteNull("restore_point");
        w.WriteNumber("duration_ms", (long)r.Duration.TotalMilliseconds);
        w.WriteEndObject();
    }

    public static void OptimizeAll(CliContext ctx, IReadOnlyList<TableOptimizeSummary> results)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartArray();
                foreach (var s in results)
                {
                    w.WriteStartObject();
                    w.WriteString("table", s.TableName);
                    w.WriteString("action", s.Action);
                    w.WriteString("reason", s.Reason);
                    w.WriteString("error", s.Error);
                    if (s.Result is { } r)
                    {
                        w.WritePropertyName("result");
                        WriteCompaction(w, r);
                    }
                    else w.WriteNull("result");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            });
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("table", "action", "files", "details");
        foreach (var s in results)
        {
            var color = s.Action switch { "compacted" => "green", "failed" => "red", _ => "grey" };
            table.AddRow(Markup.Escape(s.TableName), $"[{color}]{s.Action}[/]",
                s.Result is { } r ? $"{r.FilesBefore:N0} -> {r.FilesAfter:N0}" : "",
                Markup.Escape(s.Error ?? s.Reason));
        }
        AnsiConsole.Write(table);
        if (results.Count == 0) AnsiConsole.MarkupLine($"[grey]no Delta tables under {Markup.Escape(ctx.Lake)}[/]");
    }

    public static void Vacuum(CliContext ctx, VacuumResult r)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("table", r.TableName);
                w.WriteNumber("retention_hours", Math.Round(r.Retention.TotalHours, 3));
                w.WriteBoolean("dry_run", r.DryRun);
                w.WriteNumber("files_deleted", r.Files.Count);
                w.WriteNumber("bytes_deleted", r.BytesDeleted);
                w.WriteNumber("files_kept_for_restore_points", r.FilesKeptForRestorePoints);
                w.WriteNumber("expired_restore_points_deleted", r.ExpiredRestorePointsDeleted);
                w.WriteStartArray("files");
                foreach (var f in r.Files)
                {
                    w.WriteStartObject();
                    w.WriteString("path", f.Path);
                    w.WriteNumber("size_bytes", f.SizeBytes);
                    w.WriteString("reason", f.Reason);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return;
        }
        if (r.DryRun && r.Files.Count > 0)
        {
            var table = new Table().Border(TableBorder.Simple).AddColumns("file", "size", "reason");
            foreach (var f in r.Files.Take(50)) table.AddRow(Markup.Escape(f.Path), Bytes(f.SizeBytes), f.Reason);
            if (r.Files.Count > 50) table.AddRow($"[grey]... {r.Files.Count - 50} more[/]", "", "");
            AnsiConsole.Write(table);
        }
        AnsiConsole.MarkupLine($"{(r.DryRun ? "[yellow]dry run:[/] would delete" : "[green]deleted[/]")} {r.Files.Count:N0} file(s), {Bytes(r.BytesDeleted)} " +
                               $"from {Markup.Escape(r.TableName)} (retention {r.Retention.TotalHours.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)} h" +
                               (r.FilesKeptForRestorePoints > 0 ? $", {r.FilesKeptForRestorePoints} file(s) kept for restore points" : "") + ")");
    }

    public static void ZOrder(CliContext ctx, ZOrderResult r)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("table", r.TableName);
                w.WriteStartArray("columns");
                foreach (var c in r.Columns) w.WriteStringValue(c);
                w.WriteEndArray();
                if (r.Version is { } v) w.WriteNumber("version", v); else w.WriteNull("version");
                w.WriteNumber("partition_groups", r.PartitionGroups);
                w.WriteNumber("files_removed", r.FilesRemoved);
                w.WriteNumber("files_added", r.FilesAdded);
                w.WriteNumber("rows_rewritten", r.RowsRewritten);
                w.WriteNumber("duration_ms", (long)r.Duration.TotalMilliseconds);
                w.WriteEndObject();
            });
            return;
        }
        AnsiConsole.MarkupLine(r.Version is null
            ? $"[yellow]nothing Z-ordered[/] in {Markup.Escape(r.TableName)}"
            : $"[green]Z-ordered[/] {Markup.Escape(r.TableName)} by {Markup.Escape(string.Join(", ", r.Columns))} as v{r.Version}: " +
              $"{r.FilesRemoved:N0} -> {r.FilesAdded:N0} files in {r.PartitionGroups} partition group(s), {r.RowsRewritten:N0} rows [grey]({r.Duration.TotalSeconds:F1}s)[/]");
    }

    public static void Retention(CliContext ctx, RetentionResult r)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("table", r.TableName);
                w.WriteNumber("retention_days", r.RetentionDays);
                w.WriteString("cutoff", r.Cutoff.UtcDateTime.ToString("O"));
                w.WriteBoolean("dry_run", r.DryRun);
                w.WriteNumber("files_removed", r.FilesRemoved);
                w.WriteNumber("rows_removed", r.RowsRemoved);
                if (r.Version is { } v) w.WriteNumber("version", v); else w.WriteNull("version");
                w.WriteStartArray("partitions_removed");
                foreach (var p in r.PartitionsRemoved)
                {
                    w.WriteStartObject();
                    foreach (var (k, val) in p) w.WriteString(k, val);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            });
            return;
        }
        AnsiConsole.MarkupLine($"{(r.DryRun ? "[yellow]dry run:[/] would remove" : "[green]removed[/]")} {r.PartitionsRemoved.Count:N0} partition(s), " +
                               $"{r.FilesRemoved:N0} file(s), {r.RowsRemoved:N0} rows older than {r.Cutoff.UtcDateTime:yyyy-MM-dd HH:mm} UTC " +
                               $"({r.RetentionDays} day policy){(r.Version is { } v ? $" as v{v}" : "")}");
    }

    public static void RestorePoints(CliContext ctx, IReadOnlyList<RestorePoint> points)
    {
        if (ctx.Json)
        {
            Json(w =>
            {
                w.WriteStartArray();
                foreach (var p in points) WriteRestorePoint(w, p);
                w.WriteEndArray();
            });
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("name", "version", "created (UTC)", "expires (UTC)");
        foreach (var p in points)
            table.AddRow(Markup.Escape(p.Name), p.Version.ToString(), p.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm"), p.ExpiresAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm"));
        AnsiConsole.Write(table);
    }

    private static void WriteRestorePoint(Utf8JsonWriter w, RestorePoint p)
    {
        w.WriteStartObject();
        w.WriteString("name", p.Name);
        w.WriteNumber("version", p.Version);
        w.WriteString("created_at", p.CreatedAt.UtcDateTime.ToString("O"));
        w.WriteString("expires_at", p.ExpiresAt.UtcDateTime.ToString("O"));
        w.WriteEndObject();
    }

    private static void WriteValues(Utf8JsonWriter w, IReadOnlyDictionary<string, string?> values)
    {
        w.WriteStartObject("values");
        foreach (var (k, v) in values) w.WriteString(k, v);
        w.WriteEndObject();
    }
}

/// <summary>Progress bars on stderr, one per table being compacted (quiet with --output json or when redirected).</summary>
internal static class CompactionProgressDisplay
{
    public static async Task<T> RunAsync<T>(CliContext ctx, Func<IProgress<CompactionProgress>?, Task<T>> work)
    {
        if (ctx.Json || Console.IsErrorRedirected) return await work(null);
        T result = default!;
        await ctx.Status.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async progress =>
            {
                var bars = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                var reporter = new Reporter(p =>
                {
                    lock (bars)
                    {
                        if (!bars.TryGetValue(p.TableName, out var bar))
                            bars[p.TableName] = bar = progress.AddTask(Markup.Escape(p.TableName));
                        bar.MaxValue = Math.Max(1, p.BytesTotal);
                        bar.Value = p.BytesDone;
                        bar.Description = $"{Markup.Escape(p.TableName)} {p.GroupsDone}/{p.GroupsTotal} partitions";
                    }
                });
                result = await work(reporter);
            });
        return result;
    }

    private sealed class Reporter(Action<CompactionProgress> report) : IProgress<CompactionProgress>
    {
        public void Report(CompactionProgress value) => report(value);
    }
}
