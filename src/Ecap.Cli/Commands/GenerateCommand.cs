using System.CommandLine;
using System.Globalization;
using Ecap.Cli.Output;
using Ecap.DataLake;
using Ecap.DataLake.Files;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary><c>ecap data-lake generate</c>: deterministic sample data for a data type.</summary>
internal static class GenerateCommand
{
    public static Command Build()
    {
        var dataType = new Argument<string>("DATA_TYPE") { Description = "transactions, user_events, product_updates, analytics_results or customer_profiles" };
        var rows = new Option<long>("--rows") { Description = "Number of rows", Required = true };
        var output = new Option<string>("--out") { Description = "Output file: .parquet, .csv or .jsonl", Required = true };
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same data)", DefaultValueFactory = _ => 42 };
        var days = new Option<int>("--days") { Description = "Days the timestamps spread over", DefaultValueFactory = _ => 90 };
        var start = new Option<string>("--start") { Description = "First day (UTC), yyyy-MM-dd", DefaultValueFactory = _ => "2026-08-01" };
        var command = new Command("generate", "Generate realistic, deterministic e-commerce sample data.\n\nExample:\n  ecap data-lake generate transactions --rows 100000 --out tx.parquet --seed 7")
        {
            dataType, rows, output, seed, days, start,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var type = DataTypes.Parse(ctx.Get(dataType));
            var count = ctx.Get(rows);
            if (count <= 0) throw new InvalidInputException("--rows must be positive.");
            var from = CliValues.Timestamp(ctx.Get(start), "--start");
            var batches = SampleDataGenerator.Generate(type, count, ctx.Get(seed), 100_000, from, ctx.Get(days));
            var outPath = ctx.Get(output);
            var written = await RowExport.WriteAsync(outPath, CanonicalSchemas.For(type), batches.ToAsyncEnumerable(), ct);
            if (ctx.Json) CliJson.Write(new GenerateJson(written, outPath));
            else AnsiConsole.MarkupLine($"[green]generated[/] {written:N0} {type.ToName()} rows -> {Markup.Escape(outPath)}");
            return 0;
        });
        return command;
    }
}
