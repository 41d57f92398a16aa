using System.CommandLine;
using System.Globalization;
using Ecap.Cli.Output;
using Ecap.DataLake.Monitoring;
using Ecap.DataLake.Storage;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Ecap.Cli.Commands;

/// <summary><c>ecap data-lake monitor</c>: one screen over the lake (tables, streams, recent commits), refreshed live.</summary>
internal static class MonitorCommand
{
    public static Command Build()
    {
        var refresh = new Option<double>("--refresh") { Description = "Seconds between refreshes of the live view", DefaultValueFactory = _ => 5 };
        var commits = new Option<int>("--commits") { Description = "How many recent commits (all tables) to show", DefaultValueFactory = _ => 10 };
        var once = new Option<bool>("--once") { Description = "Print the screen once and exit (also when stdout is not a terminal)" };
        var command = new Command("monitor",
            "One screen over the lake: tables (size, files, small-file ratio, last write), streams (state, rate, lag from their " +
            "heartbeats; stale ones flagged), recent commits with their operation and metrics. Refreshes until Ctrl-C; " +
            "--output json prints one snapshot.\n\nExample:\n  ecap data-lake monitor --lake ./data-lake --refresh 2")
        {
            refresh, commits, once,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var seconds = ctx.Get(refresh);
            var count = ctx.Get(commits);
            if (seconds <= 0 || count < 0) throw new DataLake.InvalidInputException("--refresh must be > 0 and --commits >= 0.");
            var monitor = ctx.OpenDataLake().Monitor();
            if (ctx.Json)
            {
                CliJson.Write(await monitor.LookAsync(count, ct: ct));
                return 0;
            }
            if (ctx.Get(once) || Console.IsOutputRedirected)
            {
                AnsiConsole.Write(Screen(await monitor.LookAsync(count, ct: ct)));
                return 0;
            }
            try
            {
                await AnsiConsole.Live(new Text("loading...")).StartAsync(async live =>
                {
                    while (true)
                    {
                        live.UpdateTarget(Screen(await monitor.LookAsync(count, ct: ct)));
                        live.Refresh();
                        await Task.Delay(TimeSpan.FromSeconds(seconds), ct);
                    }
                });
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C is how the live view ends.
            }
            return 0;
        });
        return command;
    }

    private static IRenderable Screen(LakeOverview o)
    {
        var tables = new Table().Border(TableBorder.Rounded).Title("tables")
            .AddColumns("table", "version", "rows", "size", "files", "small files", "last write", "auto-compact");
        foreach (var t in o.Tables)
        {
            var ratio = t.SmallFileRatio.ToString("P0", CultureInfo.InvariantCulture);
            tables.AddRow(Markup.Escape(t.Name), t.Version.ToString(CultureInfo.InvariantCulture), t.RecordCount.ToString("N0", CultureInfo.InvariantCulture),
                Render.Bytes(t.SizeBytes), t.FileCount.ToString(CultureInfo.InvariantCulture),
                t.SmallFileRatio > 0.5 && t.FileCount > 1 ? $"[yellow]{t.SmallFileCount} ({ratio})[/]" : $"{t.SmallFileCount} ({ratio})",
                Ago(o.GeneratedAt - t.LastWrite),
                !t.AutoCompact ? "[grey]off[/]" : t.LastAutoCompaction is not { } last ? "never ran"
                    : last.Outcome is "failed" or "timeout" ? $"[red]{last.Outcome}[/] {Ago(o.GeneratedAt - last.LastRunAt)}"
                    : $"{Ago(o.GeneratedAt - last.LastRunAt)} ({Markup.Escape(last.Outcome)})");
        }

        var streams = new Table().Border(TableBorder.Rounded).Title("streams")
            .AddColumns("stream", "table", "state", "rec/s", "records", "lag", "dead", "ver", "beat");
        foreach (var s in o.Streams)
        {
            if (s.Heartbeat is not { } h)
            {
                streams.AddRow(Markup.Escape(s.StreamId), "", "[red]unreadable[/]", "", "", "", "", "", Markup.Escape(s.Error ?? ""));
                continue;
            }
            var state = h.State switch
            {
                "running" when s.Stale => "[red]stale[/]",
                "running" => "[green]running[/]",
                "failed" => "[red]failed[/]",
                _ => Markup.Escape(h.State),
            };
            if (s.StopPending || h.StopRequested) state += " [yellow](stop requested)[/]";
            streams.AddRow(Markup.Escape(s.StreamId), Markup.Escape(h.Table ?? ""), state,
                h.RecordsPerSecond.ToString("N1", CultureInfo.InvariantCulture), h.RecordsTotal.ToString("N0", CultureInfo.InvariantCulture),
                h.TotalLag.ToString("N0", CultureInfo.InvariantCulture), h.DeadLettersTotal.ToString("N0", CultureInfo.InvariantCulture),
                h.LastVersion?.ToString(CultureInfo.InvariantCulture) ?? "",
                s.HeartbeatAgeSeconds is { } age ? Ago(TimeSpan.FromSeconds(age)) : "never");
            if (h.LastError is { Length: > 0 } error) streams.AddRow("", "", $"[red]{Markup.Escape(error)}[/]", "", "", "", "", "", "");
        }

        var commits = new Table().Border(TableBorder.Rounded).Title("recent commits")
            .AddColumns("when", "table", "version", "operation", "metrics");
        foreach (var c in o.RecentCommits)
            commits.AddRow(Ago(o.GeneratedAt - c.Timestamp), Markup.Escape(c.Table), c.Version.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(c.Operation), Markup.Escape(string.Join(", ", c.Metrics.Select(m => $"{m.Key}={m.Value}"))));

        var daemons = new Table().Border(TableBorder.Rounded).Title("compaction daemons")
            .AddColumns("daemon", "state", "passes", "last pass", "tables", "compacted", "failed", "now", "beat");
        foreach (var d in o.CompactionDaemons)
        {
            var state = d.State switch
            {
                "running" when d.IsStale(o.GeneratedAt) => "[red]stale[/]",
                "running" => "[green]running[/]",
                "failed" => "[red]failed[/]",
                _ => Markup.Escape(d.State),
            };
            daemons.AddRow(Markup.Escape(d.DaemonId), state, d.PassesCompleted.ToString(CultureInfo.InvariantCulture),
                d.LastPassFinishedAt is { } f ? Ago(o.GeneratedAt - f) : "none yet", d.LastPassTables.ToString(CultureInfo.InvariantCulture),
                d.LastPassCompacted.ToString(CultureInfo.InvariantCulture), d.LastPassFailed > 0 ? $"[red]{d.LastPassFailed}[/]" : "0",
                Markup.Escape(d.CurrentTable ?? ""), Ago(o.GeneratedAt - d.LastHeartbeat));
            if (d.LastError is { Length: > 0 } error) daemons.AddRow("", $"[red]{Markup.Escape(error)}[/]", "", "", "", "", "", "", "");
        }

        var header = new Markup($"[bold]{Markup.Escape(o.Lake)}[/]  [grey]{o.GeneratedAt:yyyy-MM-dd HH:mm:ss}Z, " +
            $"{o.Tables.Count} tables, {Render.Bytes(o.Tables.Sum(t => t.SizeBytes))}, {o.Streams.Count} streams[/]");
        return new Rows(header, tables, o.Streams.Count > 0 ? streams : new Markup("[grey]no streams[/]"),
            o.CompactionDaemons.Count > 0 ? daemons : new Markup("[grey]no compaction daemon[/]"), commits);
    }

    private static string Ago(TimeSpan span) => span.TotalSeconds switch
    {
        < 0 => "now",
        < 90 => $"{span.TotalSeconds:F0}s ago",
        < 5400 => $"{span.TotalMinutes:F0}m ago",
        < 172800 => $"{span.TotalHours:F0}h ago",
        _ => $"{span.TotalDays:F0}d ago",
    };
}
