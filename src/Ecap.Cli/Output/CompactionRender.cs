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
            CliJson.Write(AnalysisJson.From(a));
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
        PartitionAdvice(a.TableName, a.PartitionAdvice);
    }

    public static void Compaction(CliContext ctx, CompactionResult r)
    {
        if (ctx.Json)
        {
            CliJson.Write(CompactionJson.From(r));
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


    public static void OptimizeAll(CliContext ctx, IReadOnlyList<TableOptimizeSummary> results)
    {
        if (ctx.Json)
        {
            CliJson.Write(results.Select(OptimizeJson.From));
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("table", "action", "files", "details");
        foreach (var s in results)
        {
            var color = s.Action switch { "compacted" => "green", "failed" or "denied" => "red", _ => "grey" };
            table.AddRow(Markup.Escape(s.TableName), $"[{color}]{s.Action}[/]",
                s.Result is { } r ? $"{r.FilesBefore:N0} -> {r.FilesAfter:N0}" : "",
                Markup.Escape(s.Error ?? s.Reason));
        }
        AnsiConsole.Write(table);
        if (results.Count == 0) AnsiConsole.MarkupLine($"[grey]no Delta tables under {Markup.Escape(ctx.Lake)}[/]");
    }

    public static string DaemonLine(DaemonTableResult r) =>
        $"{r.Table}: {r.Compaction}" + (r.Compaction == "compacted" ? $" ({r.FilesRemoved} files into {r.FilesAdded})" : "") +
        $", vacuum {r.FilesVacuumed} file(s)" + (r.RetentionFilesRemoved is { } n ? $", retention {n} file(s)" : "") +
        (r.FilesTiered is { } t ? $", tiered {t} file(s)" : "") + (r.Error is { } e ? $"; error: {e}" : "");

    public static void Tiering(CliContext ctx, TieringResult r)
    {
        if (ctx.Json)
        {
            CliJson.Write(r);
            return;
        }
        var verb = r.DryRun ? "would move" : "moved";
        var moving = r.DryRun ? r.FilesCold - r.FilesAlready : r.FilesMoved;
        AnsiConsole.MarkupLine(Markup.Escape(
            $"{r.TableName}: {r.FilesCold} file(s) with every row before {r.Cutoff.UtcDateTime:yyyy-MM-dd} ({r.ColdAfterDays} days); " +
            (r.Supported ? $"{verb} {moving} to {r.StorageClass}, {r.FilesAlready} already there" + (r.FilesIgnored > 0 ? $", {r.FilesIgnored} kept their class" : "") : "none moved")));
        if (r.Note is { } note) AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(note)}[/]");
    }

    public static void DaemonPass(CliContext ctx, DaemonPass pass)
    {
        if (ctx.Json)
        {
            CliJson.Write(pass);
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("table", "compaction", "files", "vacuumed", "retention", "details");
        foreach (var r in pass.Tables)
        {
            var color = r.Compaction switch { "compacted" => "green", "failed" => "red", _ => "grey" };
            table.AddRow(Markup.Escape(r.Table), $"[{color}]{r.Compaction}[/]", r.Compaction == "compacted" ? $"{r.FilesRemoved:N0} -> {r.FilesAdded:N0}" : "",
                r.FilesVacuumed.ToString("N0"), r.RetentionFilesRemoved?.ToString("N0") ?? "", Markup.Escape(r.Error ?? r.Reason));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"[grey]pass of {pass.Tables.Count} table(s) in {(pass.FinishedAt - pass.StartedAt).TotalSeconds:F1}s[/]");
    }

    public static void Vacuum(CliContext ctx, VacuumResult r)
    {
        if (ctx.Json)
        {
            CliJson.Write(VacuumJson.From(r));
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
            CliJson.Write(ZOrderJson.From(r));
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
            CliJson.Write(RetentionJson.From(r));
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
            CliJson.Write(points.Select(RestorePointJson.From));
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumns("name", "version", "created (UTC)", "expires (UTC)");
        foreach (var p in points)
            table.AddRow(Markup.Escape(p.Name), p.Version.ToString(), p.CreatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm"), p.ExpiresAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm"));
        AnsiConsole.Write(table);
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
