using System.CommandLine;
using System.Diagnostics;
using Ecap.Cli.Output;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary>
/// <c>ecap data-lake demo</c>: the tour a new user runs first. Generates the five data types, writes
/// them with their strategies, reads a pruned slice, prints table info and history. No server needed.
/// </summary>
internal static class DemoCommand
{
    private static readonly (DataType Type, long Rows)[] Plan =
    [
        (DataType.Transactions, 300_000),
        (DataType.UserEvents, 300_000),
        (DataType.ProductUpdates, 50_000),
        (DataType.AnalyticsResults, 20_000),
        (DataType.CustomerProfiles, 50_000),
    ];

    public static Command Build()
    {
        var scale = new Option<double>("--scale") { Description = "Multiply the demo's row counts (e.g. 0.1 for a quick run)", DefaultValueFactory = _ => 1.0 };
        var command = new Command("demo", "Generate sample data for the five data types, write, read a pruned slice, show info and history.\n\nExample:\n  ecap data-lake demo --lake ./data-lake") { scale };
        command.SetCliAction(async (ctx, ct) =>
        {
            var clock = Stopwatch.StartNew();
            var lake = ctx.OpenDataLake().Storage; // every write registers/syncs the catalog
            var start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
            ctx.Status.MarkupLine($"[bold]ecap data lake demo[/] on {Markup.Escape(ctx.Lake)}");

            foreach (var (type, baseRows) in Plan)
            {
                var rows = Math.Max(1000, (long)(baseRows * ctx.Get(scale)));
                var batches = SampleDataGenerator.Generate(type, rows, seed: 42, batchSize: 100_000, start, days: 90).ToAsyncEnumerable();
                var result = await WriteProgressDisplay.RunWriteAsync(ctx, $"writing {type.ToName()}", progress =>
                    lake.WritePartitionedDataAsync(batches, type.ToName(), type, WriteMode.Overwrite, new WriteOptions { Progress = progress }, ct));
                Render.WriteResult(ctx, result);
            }

            // A second, appended day of transactions, so the history shows more than one commit.
            var more = SampleDataGenerator.Generate(DataType.Transactions, 10_000, seed: 7, batchSize: 10_000, start.AddDays(90), days: 1).ToAsyncEnumerable();
            Render.WriteResult(ctx, await lake.WritePartitionedDataAsync(more, "transactions", DataType.Transactions, WriteMode.Append, null, ct));

            ctx.Status.MarkupLine("\n[bold]A pruned read:[/] transactions of 2026-10-01..03 over 100, three columns");
            var scan = await lake.ReadPartitionedDataAsync("transactions", new ReadOptions
            {
                PartitionFilters = [PartitionFilter.Equal("month", 10), PartitionFilter.Between("day", 1, 3)],
                Columns = ["transaction_id", "timestamp", "amount"],
                Predicate = PredicateParser.Parse("amount > 100"),
                Limit = 10,
            }, ct);
            await Render.RowsAsync(ctx, scan.Schema, scan.ReadBatchesAsync(ct), ct);
            Render.ReadMetrics(ctx, scan.Metrics);

            ctx.Status.MarkupLine("\n[bold]Table info[/]");
            var info = await lake.GetTableInfoAsync("transactions", ct);
            Render.TableInfo(ctx, info, StoragePricing.Default.Estimate(info));

            ctx.Status.MarkupLine("\n[bold]History[/]");
            Render.History(ctx, await lake.GetHistoryAsync("transactions", 5, ct));

            ctx.Status.MarkupLine("\n[bold]Tables[/]");
            Render.TableList(ctx, await lake.ListTablesAsync(ct));
            await CatalogTourAsync(ctx, ct);
            ctx.Status.MarkupLine($"[grey]demo finished in {clock.Elapsed.TotalSeconds:F1}s; try `ecap data-lake storage read transactions --lake {Markup.Escape(ctx.Lake)} --limit 5`[/]");
            return 0;
        });
        return command;
    }

    /// <summary>The catalog part: describe the tables, statistics, and the lineage of analytics_results.</summary>
    private static async Task CatalogTourAsync(CliContext ctx, CancellationToken ct)
    {
        var catalog = CatalogCommands.Open(ctx);
        var lake = ctx.OpenLake();
        await catalog.RegisterTableAsync("transactions", lake.Child("transactions").Location, "Orders and payments", "sales-data", ["finance", "pii"], ct: ct);
        await catalog.RegisterTableAsync("user_events", lake.Child("user_events").Location, "Clickstream events", "web-analytics", ["clickstream"], ct: ct);
        await catalog.RegisterTableAsync("analytics_results", lake.Child("analytics_results").Location, "Daily metrics derived from orders and events", "analytics", ["derived"], ct: ct);
        foreach (var table in new[] { "transactions", "user_events", "analytics_results" })
            await catalog.UpdateTableStatisticsAsync(table, computeColumnStats: true, sampleSize: 10_000, ct);
        await catalog.AddTableLineageAsync("analytics_results", upstream: ["transactions", "user_events"], ct: ct);
        ctx.Status.MarkupLine("\n[bold]Catalog:[/] ecap data-lake catalog show analytics_results");
        await CatalogCommands.ShowAsync(ctx, catalog, "analytics_results", ct);
    }
}
