using System.CommandLine;
using System.Globalization;
using Ecap.Cli.Output;
using Ecap.DataLake;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Quality;
using Ecap.DataLake.Tables;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary><c>ecap data-lake quality ...</c>: table constraints (delta.constraints.*) and checks of the data against them.</summary>
internal static class QualityCommands
{
    public static Command Build()
    {
        var quality = new Command("quality", "Data quality: constraints enforced on every write and ingest, and checks of a table against them.");
        quality.Add(AddConstraint());
        quality.Add(DropConstraint());
        quality.Add(Check());
        return quality;
    }

    private static Argument<string> TableArgument() => new("TABLE") { Description = "Table name" };

    private static Option<string> NameOption() => new("--name") { Description = "Constraint name (letters, digits, _)", Required = true };

    private static Command AddConstraint()
    {
        var table = TableArgument();
        var name = NameOption();
        var check = new Option<string?>("--check") { Description = "A CHECK expression every row must make true, e.g. \"amount >= 0\"" };
        var notNull = new Option<string?>("--not-null") { Description = "A column that must not be null" };
        var allowed = new Option<string?>("--allowed-values") { Description = "COLUMN=v1,v2,...: the only values the column may hold" };
        var command = new Command("add-constraint", "Add a constraint after checking every existing row; later writes with a violating row are refused (ingestion sends such rows to dead letters).\n\nExample:\n  ecap data-lake quality add-constraint transactions --name amount_non_negative --check \"amount >= 0\"")
        {
            table, name, check, notNull, allowed,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var expression = (ctx.Get(check), ctx.Get(notNull), ctx.Get(allowed)) switch
            {
                ({ } c, null, null) => c,
                (null, { } column, null) => DataQuality.NotNull(column),
                (null, null, { } spec) when spec.IndexOf('=') is > 0 and var eq =>
                    DataQuality.AllowedValues(spec[..eq].Trim(), spec[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)),
                _ => throw new InvalidInputException("Give exactly one of --check EXPR, --not-null COLUMN or --allowed-values COLUMN=v1,v2."),
            };
            var constraints = await ctx.OpenDataLake().Quality.AddConstraintAsync(ctx.Get(table), ctx.Get(name), expression, ct);
            RenderConstraints(ctx, constraints);
            return 0;
        });
        return command;
    }

    private static Command DropConstraint()
    {
        var table = TableArgument();
        var name = NameOption();
        var command = new Command("drop-constraint", "Drop a constraint.\n\nExample:\n  ecap data-lake quality drop-constraint transactions --name amount_non_negative") { table, name };
        command.SetCliAction(async (ctx, ct) =>
        {
            RenderConstraints(ctx, await ctx.OpenDataLake().Quality.DropConstraintAsync(ctx.Get(table), ctx.Get(name), ct));
            return 0;
        });
        return command;
    }

    private static Command Check()
    {
        var table = TableArgument();
        var command = new Command("check", "Check every row of a table against its constraints: rows checked and failed per constraint. Exit code 1 when any row fails.\n\nExample:\n  ecap data-lake quality check transactions --output json") { table };
        command.SetCliAction(async (ctx, ct) =>
        {
            var results = await ctx.Status.Status().StartAsync($"checking {ctx.Get(table)}", _ =>
                ctx.OpenDataLake().Quality.CheckAsync(ctx.Get(table), ct));
            if (ctx.Json)
            {
                CliJson.Write(results);
            }
            else
            {
                var grid = new Table().Border(TableBorder.Rounded).AddColumns("constraint", "expression", "rows checked", "rows failed");
                foreach (var r in results)
                    grid.AddRow(Markup.Escape(r.Name), Markup.Escape(r.Expression), r.RowsChecked.ToString("N0", CultureInfo.InvariantCulture),
                        r.RowsFailed == 0 ? "[green]0[/]" : $"[red]{r.RowsFailed:N0}[/]");
                AnsiConsole.Write(grid);
                if (results.Count == 0) AnsiConsole.MarkupLine("[grey]the table has no constraints[/]");
            }
            return results.Any(r => r.RowsFailed > 0) ? 1 : 0;
        });
        return command;
    }

    private static void RenderConstraints(CliContext ctx, TableConstraints constraints)
    {
        if (ctx.Json)
        {
            CliJson.Write(constraints.All.Select(c => new ConstraintJson(c.Name, c.Expression)));
            return;
        }
        var grid = new Table().Border(TableBorder.Rounded).AddColumns("constraint", "expression");
        foreach (var c in constraints.All) grid.AddRow(Markup.Escape(c.Name), Markup.Escape(c.Expression));
        AnsiConsole.Write(grid);
        if (constraints.IsEmpty) AnsiConsole.MarkupLine("[grey]no constraints[/]");
    }
}
