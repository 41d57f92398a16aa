using System.CommandLine;
using System.Globalization;
using Ecap.Cli.Output;
using Ecap.DataLake.Server.Json;
using Ecap.DataLake;
using Ecap.DataLake.Catalog;
using Ecap.DataLake.Postgres.Catalog;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary><c>ecap data-lake catalog ...</c>: register, describe, search and relate tables.</summary>
internal static class CatalogCommands
{
    public static Command Build()
    {
        var catalog = new Command("catalog", "The table catalog: owners, tags, status, schema history, statistics, lineage.");
        catalog.Add(Register());
        catalog.Add(UpdateStats());
        catalog.Add(ListTables());
        catalog.Add(Search());
        catalog.Add(Lineage());
        catalog.Add(SetStatus());
        catalog.Add(Show());
        return catalog;
    }

    /// <summary>The catalog of a command: --catalog / $ECAP_CATALOG when given (folder or PostgreSQL), else the lake's _catalog.</summary>
    internal static MetadataManager Open(CliContext ctx) => ctx.OpenDataLake().Catalog;

    private static Argument<string> TableArgument() => new("TABLE") { Description = "Table name (or database.name)" };

    private static Command Register()
    {
        var table = TableArgument();
        var path = new Argument<string>("PATH") { Description = "The Delta table's folder (holding _delta_log)" };
        var description = new Option<string?>("--description") { Description = "What the table holds" };
        var owner = new Option<string?>("--owner") { Description = "Who answers for the table" };
        var tag = new Option<string[]>("--tag") { Description = "A tag; repeatable" };
        var database = new Option<string>("--database") { Description = "Catalog database", DefaultValueFactory = _ => MetadataManager.DefaultDatabase };
        var command = new Command("register", "Register a Delta table (or update its entry): schema and partition columns are read from its log.\n\nExample:\n  ecap data-lake catalog register transactions ./data-lake/transactions --description \"Orders\" --owner sales --tag pii --tag finance")
        {
            table, path, description, owner, tag, database,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var entry = await Open(ctx).RegisterTableAsync(ctx.Get(table), ctx.Get(path), ctx.Get(description), ctx.Get(owner),
                ctx.Get(tag) ?? [], ctx.Get(database), ct);
            if (ctx.Json) CliJson.Write(entry);
            else AnsiConsole.MarkupLine($"[green]registered[/] {Markup.Escape(entry.QualifiedName)} (v{entry.TableVersion}, {entry.RowCount:N0} rows, {entry.Columns.Count} columns)");
            return 0;
        });
        return command;
    }

    private static Command UpdateStats()
    {
        var table = TableArgument();
        var columnStats = new Option<bool>("--compute-column-stats") { Description = "Also sample rows for distinct counts, string lengths and top values" };
        var sampleSize = new Option<int>("--sample-size") { Description = "Rows sampled for column statistics", DefaultValueFactory = _ => 10_000 };
        var command = new Command("update-stats", "Compute table statistics (counts; per column nulls, min, max; optionally distinct counts and top values).\n\nExample:\n  ecap data-lake catalog update-stats transactions --compute-column-stats --sample-size 100000")
        {
            table, columnStats, sampleSize,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var entry = await Open(ctx).UpdateTableStatisticsAsync(ctx.Get(table), ctx.Get(columnStats), ctx.Get(sampleSize), ct);
            if (ctx.Json) CliJson.Write(entry.Statistics);
            else RenderStatistics(entry.Statistics!);
            return 0;
        });
        return command;
    }

    private static Command ListTables()
    {
        var database = new Option<string?>("--database") { Description = "Only this database" };
        var status = new Option<string?>("--status") { Description = "Only tables with this status: active, deprecated, archived" };
        var command = new Command("list-tables", "List registered tables.\n\nExample:\n  ecap data-lake catalog list-tables --status active")
        {
            database, status,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var filter = ctx.Get(status) is { } s ? TableStatuses.Parse(s) : (TableStatus?)null;
            var entries = await Open(ctx).ListTablesAsync(ctx.Get(database), filter, ct);
            if (ctx.Json) { CliJson.Write(entries.Select(CatalogSummaryJson.From)); return 0; }
            var grid = new Table().Border(TableBorder.Rounded).AddColumns("database", "table", "status", "version", "rows", "size", "owner", "tags");
            foreach (var e in entries)
                grid.AddRow(Markup.Escape(e.Database), Markup.Escape(e.Name), e.Status.Name(), e.TableVersion.ToString(CultureInfo.InvariantCulture),
                    e.RowCount.ToString("N0", CultureInfo.InvariantCulture), Render.Bytes(e.SizeBytes), Markup.Escape(e.Owner ?? ""), Markup.Escape(string.Join(", ", e.Tags)));
            AnsiConsole.Write(grid);
            if (entries.Count == 0) AnsiConsole.MarkupLine("[grey]no registered tables[/]");
            return 0;
        });
        return command;
    }

    private static Command Search()
    {
        var term = new Argument<string>("TERM") { Description = "Text to look for (case-insensitive)" };
        var field = new Option<string[]>("--field") { Description = "Search only these fields: table_name, description, tags, columns, owner; repeatable" };
        var command = new Command("search", "Search tables by name, description, tags, column names and owner; exact names first, then prefixes, then substrings.\n\nExample:\n  ecap data-lake catalog search customer --field table_name --field columns")
        {
            term, field,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var hits = await Open(ctx).SearchTablesAsync(ctx.Get(term), ctx.Get(field), ct);
            if (ctx.Json)
            {
                CliJson.Write(hits.Select(CatalogSearchHitJson.From));
                return 0;
            }
            var grid = new Table().Border(TableBorder.Rounded).AddColumns("table", "matched", "description", "owner", "tags");
            foreach (var h in hits)
                grid.AddRow(Markup.Escape(h.Entry.QualifiedName), Markup.Escape(string.Join(", ", h.MatchedFields)), Markup.Escape(h.Entry.Description ?? ""),
                    Markup.Escape(h.Entry.Owner ?? ""), Markup.Escape(string.Join(", ", h.Entry.Tags)));
            AnsiConsole.Write(grid);
            if (hits.Count == 0) AnsiConsole.MarkupLine("[grey]no matches[/]");
            return 0;
        });
        return command;
    }

    private static Command Lineage()
    {
        var table = TableArgument();
        var upstream = new Option<string[]>("--upstream") { Description = "A table TABLE is derived from; repeatable" };
        var downstream = new Option<string[]>("--downstream") { Description = "A table derived from TABLE; repeatable" };
        var command = new Command("lineage", "Record lineage edges when --upstream/--downstream are given; otherwise show the lineage graph as a tree.\n\nExample:\n  ecap data-lake catalog lineage analytics_results --upstream transactions --upstream user_events")
        {
            table, upstream, downstream,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var catalog = Open(ctx);
            var ups = ctx.Get(upstream) ?? [];
            var downs = ctx.Get(downstream) ?? [];
            var graph = ups.Length + downs.Length > 0
                ? await catalog.AddTableLineageAsync(ctx.Get(table), ups, downs, ct)
                : await catalog.GetLineageAsync(ctx.Get(table), ct);
            if (ctx.Json) CliJson.Write(graph);
            else AnsiConsole.Write(LineageTree(graph));
            return 0;
        });
        return command;
    }

    private static Command SetStatus()
    {
        var table = TableArgument();
        var status = new Argument<string>("STATUS") { Description = "active, deprecated or archived" };
        var command = new Command("set-status", "Mark a table active, deprecated or archived.\n\nExample:\n  ecap data-lake catalog set-status old_orders deprecated")
        {
            table, status,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var entry = await Open(ctx).SetTableStatusAsync(ctx.Get(table), TableStatuses.Parse(ctx.Get(status)), ct);
            if (ctx.Json) CliJson.Write(CatalogSummaryJson.From(entry));
            else AnsiConsole.MarkupLine($"{Markup.Escape(entry.QualifiedName)} is now [bold]{entry.Status.Name()}[/]");
            return 0;
        });
        return command;
    }

    private static Command Show()
    {
        var table = TableArgument();
        var command = new Command("show", "Everything the catalog knows about a table: description, owner, tags, columns, schema history, statistics, lineage.\n\nExample:\n  ecap data-lake catalog show transactions --output json")
        {
            table,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            await ShowAsync(ctx, Open(ctx), ctx.Get(table), ct);
            return 0;
        });
        return command;
    }

    internal static async Task ShowAsync(CliContext ctx, MetadataManager catalog, string table, CancellationToken ct)
    {
        var (entry, history, lineage) = await catalog.ShowTableAsync(table, ct); // one read: a reader needs no write grant
        if (ctx.Json)
        {
            CliJson.Write(new CatalogShowJson(entry, history, lineage));
            return;
        }
        var about = new Grid().AddColumn().AddColumn();
        void Row(string k, string? v) => about.AddRow($"[grey]{k}[/]", Markup.Escape(v ?? "-"));
        Row("table", entry.QualifiedName);
        Row("path", entry.Path);
        Row("status", entry.Status.Name());
        Row("description", entry.Description);
        Row("owner", entry.Owner);
        Row("tags", string.Join(", ", entry.Tags));
        Row("version", entry.TableVersion.ToString(CultureInfo.InvariantCulture));
        Row("rows", entry.RowCount.ToString("N0", CultureInfo.InvariantCulture));
        Row("size", Render.Bytes(entry.SizeBytes) + $" in {entry.FileCount:N0} files");
        Row("partitioned by", string.Join(", ", entry.PartitionColumns));
        Row("updated", entry.UpdatedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture));
        AnsiConsole.Write(new Panel(about).Header("catalog entry").Border(BoxBorder.Rounded));

        var changes = new Table().Border(TableBorder.Rounded).Title("schema history").AddColumns("version", "timestamp (UTC)", "columns", "added", "removed", "renamed", "changed");
        foreach (var h in history)
            changes.AddRow(h.Version.ToString(CultureInfo.InvariantCulture), h.Timestamp?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-",
                h.Columns.Count.ToString(CultureInfo.InvariantCulture), Markup.Escape(string.Join(", ", h.Added)), Markup.Escape(string.Join(", ", h.Removed)),
                Markup.Escape(string.Join(", ", h.Renamed.Select(r => r.From + " -> " + r.To))), Markup.Escape(string.Join(", ", h.Changed)));
        AnsiConsole.Write(changes);

        if (entry.Statistics is { } stats) RenderStatistics(stats);
        else
        {
            var columns = new Table().Border(TableBorder.Rounded).Title("columns").AddColumns("column", "type", "nullable");
            foreach (var c in entry.Columns) columns.AddRow(Markup.Escape(c.Name), c.Type, c.Nullable ? "yes" : "no");
            AnsiConsole.Write(columns);
            AnsiConsole.MarkupLine($"[grey]no statistics yet: ecap data-lake catalog update-stats {Markup.Escape(entry.Name)}[/]");
        }
        AnsiConsole.Write(LineageTree(lineage));
    }

    private static void RenderStatistics(TableStatistics s)
    {
        AnsiConsole.MarkupLine($"[bold]statistics[/] at v{s.Version} ({s.ComputedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC): {s.RowCount:N0} rows, {Render.Bytes(s.SizeBytes)}, {s.FileCount:N0} files, {s.PartitionCount:N0} partitions" +
            (s.SampledRows > 0 ? $", {s.SampledRows:N0} rows sampled" : ""));
        var grid = new Table().Border(TableBorder.Rounded).AddColumns("column", "type", "nulls", "min", "max", "distinct~", "len avg/max", "top values");
        foreach (var c in s.Columns)
            grid.AddRow(Markup.Escape(c.Name), c.Type, c.NullCount?.ToString("N0", CultureInfo.InvariantCulture) ?? "?", Markup.Escape(Cut(c.Min)), Markup.Escape(Cut(c.Max)),
                c.DistinctCount?.ToString("N0", CultureInfo.InvariantCulture) ?? "",
                c.AvgLength is { } avg ? $"{avg.ToString("0.#", CultureInfo.InvariantCulture)}/{c.MaxLength}" : "",
                Markup.Escape(c.TopValues is { } top ? string.Join(", ", top.Take(2).Select(v => $"{Cut(v.Value)} ({v.Count:N0})")) : ""));
        AnsiConsole.Write(grid);
    }

    // Long bounds (timestamps, doubles, URLs) would make the terminal table unreadable; JSON has them whole.
    private static string Cut(string? text) => text is null ? "" : text.Length <= 20 ? text : text[..19] + "…";

    /// <summary>Upstream and downstream as two branches; a table met again on a path (a cycle) is marked and not expanded.</summary>
    private static Tree LineageTree(LineageGraph g)
    {
        var up = g.Edges.GroupBy(e => e.Downstream).ToDictionary(x => x.Key, x => x.Select(e => e.Upstream).Order(StringComparer.Ordinal).ToList());
        var down = g.Edges.GroupBy(e => e.Upstream).ToDictionary(x => x.Key, x => x.Select(e => e.Downstream).Order(StringComparer.Ordinal).ToList());
        var tree = new Tree($"[bold]{Markup.Escape(g.Table)}[/]");
        var upstream = tree.AddNode("[grey]upstream (derived from)[/]");
        Expand(upstream, g.Table, up, [g.Table]);
        var downstream = tree.AddNode("[grey]downstream (feeds)[/]");
        Expand(downstream, g.Table, down, [g.Table]);
        return tree;
    }

    private static void Expand(IHasTreeNodes parent, string node, Dictionary<string, List<string>> next, HashSet<string> path)
    {
        foreach (var child in next.GetValueOrDefault(node) ?? [])
        {
            if (path.Contains(child)) { parent.AddNode($"{Markup.Escape(child)} [yellow](cycle)[/]"); continue; }
            var n = parent.AddNode(Markup.Escape(child));
            path.Add(child);
            Expand(n, child, next, path);
            path.Remove(child);
        }
    }
}
