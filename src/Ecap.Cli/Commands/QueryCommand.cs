using System.CommandLine;
using System.Text.Json;
using Ecap.Cli.Output;
using Ecap.DataLake.Server.Json;
using Ecap.DataLake;
using Ecap.DataLake.Query;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary><c>ecap data-lake query "SELECT ..."</c>: SQL over the lake's tables (DuckDB views over their snapshots).</summary>
internal static class QueryCommand
{
    public static Command Build()
    {
        var sql = new Argument<string>("sql") { Description = "The query; tables by name, \"table@v12\" or \"table@2026-11-01T00:00:00Z\" for an earlier version" };
        var limit = new Option<long?>("--limit") { Description = "At most this many rows (the terminal table shows 20 unless set)" };
        var output = new Option<string?>("--out") { Description = "Write the result to a file instead: .parquet, .csv, .json (array) or .jsonl (by extension)" };
        var withStats = new Option<bool>("--stats") { Description = "With --output json: print {\"rows\": [...], \"stats\": {files considered/read/pruned, bytes, ms}} instead of the bare array" };
        var command = new Command("query",
            "Run SQL over the lake: every table is a view over its current files, partition columns included.\n\n" +
            "Example:\n  ecap data-lake query \"SELECT day, count(*), sum(amount) FROM transactions WHERE month = 11 GROUP BY day ORDER BY day\"\n" +
            "  ecap data-lake query \"SELECT count(*) FROM \\\"transactions@v3\\\"\" --output json")
        {
            sql, limit, output, withStats,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var text = ctx.Get(sql);
            if (string.IsNullOrWhiteSpace(text)) throw new InvalidInputException("Give a SQL query, e.g. \"SELECT count(*) FROM transactions\".");
            var userLimit = ctx.Get(limit);
            if (userLimit < 0) throw new InvalidInputException($"--limit must be 0 or more, not {userLimit}.");
            if (userLimit is < 0) throw new InvalidInputException("--limit must be 0 or more.");
            var outPath = ctx.Get(output);
            await using var query = new LakeQuery(ctx.OpenDataLake());
            if (outPath != null)
            {
                var statement = userLimit is { } n ? $"SELECT * FROM ({text.Trim().TrimEnd(';')}) LIMIT {n}" : text;
                var written = await query.CopyToAsync(statement, outPath, ct);
                if (ctx.Json)
                {
                    CliJson.Write(new QueryOutJson(outPath, written));
                }
                else ctx.Status.MarkupLine($"[green]wrote[/] {written:N0} rows to {Markup.Escape(outPath)}");
                return 0;
            }

            // A large result never floods the terminal: the table view stops at 20 rows unless asked.
            var max = userLimit ?? (ctx.Json ? long.MaxValue : Output.Render.DefaultTerminalRows);
            // One audited operation to the last row: a failure while rows stream is audited as failed, the record counts the rows.
            var result = await query.QueryAsync(text, async result =>
            {
                var shown = 0L;
                var more = false;
                // The first row is computed before anything is printed: most SQL errors (a cast that does not hold) surface
                // there, so they leave no half-written JSON behind.
                await using var rows = result.ReadRowsAsync(ct).GetAsyncEnumerator(ct);
                var hasRow = await rows.MoveNextAsync();
                if (ctx.Json)
                {
                    await using var stdout = Console.OpenStandardOutput();
                    await using var writer = new Utf8JsonWriter(stdout);
                    if (ctx.Get(withStats))
                    {
                        writer.WriteStartObject();
                        writer.WritePropertyName("rows");
                    }
                    writer.WriteStartArray();
                    for (; hasRow; hasRow = await rows.MoveNextAsync())
                    {
                        if (shown >= max) { more = true; break; }
                        SqlValues.WriteJsonRow(writer, result.Columns, rows.Current);
                        if (++shown % 1024 == 0) await writer.FlushAsync(ct);
                    }
                    writer.WriteEndArray();
                    if (ctx.Get(withStats))
                    {
                        result.Dispose(); // completes the stats
                        writer.WritePropertyName("stats");
                        CliJson.Write(writer, QueryStatsJson.From(result.Stats));
                        writer.WriteEndObject();
                    }
                    await writer.FlushAsync(ct);
                    stdout.Write("\n"u8);
                }
                else
                {
                    var table = new Table().Border(TableBorder.Rounded);
                    foreach (var c in result.Columns) table.AddColumn(Markup.Escape(c));
                    for (; hasRow; hasRow = await rows.MoveNextAsync())
                    {
                        if (shown >= max) { more = true; break; }
                        table.AddRow(rows.Current.Select(v => Markup.Escape(SqlValues.Format(v) ?? "null")).ToArray());
                        shown++;
                    }
                    AnsiConsole.Write(table);
                    AnsiConsole.MarkupLine($"[grey]{shown:N0} row(s){(more ? " shown; more not shown (use --limit N or --out FILE)" : "")}[/]");
                }
                return result;
            }, ct);
            result.Dispose(); // completes the stats
            var s = result.Stats;
            if (ctx.Verbose || !ctx.Json)
                ctx.Status.MarkupLine($"[grey]scanned {(s.FilesRead < 0 ? "?" : s.FilesRead.ToString(System.Globalization.CultureInfo.InvariantCulture))}/{s.FilesConsidered} files " +
                    $"({s.FilesPruned} pruned), {Output.Render.Bytes(s.BytesScanned)}, {s.Elapsed.TotalMilliseconds:N0} ms[/]");
            return 0;
        });
        return command;
    }
}
