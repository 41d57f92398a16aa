using System.CommandLine;
using Ecap.Cli.Output;
using Ecap.DataLake;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Files;
using Ecap.DataLake.Tables.Changes;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary><c>ecap data-lake storage delete|update|merge|erase</c>: row-level changes (deletion vectors where the table has them).</summary>
internal static class ChangeCommands
{
    public static IEnumerable<Command> Build() => [Delete(), Update(), Merge(), Erase()];

    private static Argument<string> TableArgument() => new("TABLE") { Description = "The table to change" };

    private static Option<string> WhereOption(bool required) => new("--where")
    {
        Description = "Row predicate, e.g. \"customer_id = 42 AND status IN ('pending','failed')\"", Required = required,
    };

    private static Command Delete()
    {
        var table = TableArgument();
        var where = WhereOption(required: true);
        var command = new Command("delete",
            "Delete the rows matching a predicate. Only files the predicate can match are opened; their deleted rows are marked in " +
            "deletion vectors (no file is rewritten) when the table has them, else the files are copied without them.\n\n" +
            "Example:\n  ecap data-lake storage delete transactions --where \"status = 'failed' AND year = 2026\"") { table, where };
        command.SetCliAction(async (ctx, ct) =>
        {
            var result = await ctx.OpenDataLake().Storage.DeleteAsync(ctx.Get(table), Predicate.Parse(ctx.Get(where)), ct);
            if (ctx.Json) CliJson.Write(new DeleteJson(result.Table, result.Version, result.RowsDeleted, result.FilesTouched, result.DeletionVectorsWritten,
                result.FilesRewritten, result.FilesScanned, CliJson.Ms(result.Duration)));
            else Summary(result, $"{result.RowsDeleted:N0} row(s) deleted");
            return 0;
        });
        return command;
    }

    private static Command Update()
    {
        var table = TableArgument();
        var set = new Option<string[]>("--set") { Description = "COLUMN=VALUE, repeatable: a literal of the column's type ('text' or text, 42, 2026-01-31T10:00:00Z, NULL)", Required = true };
        var where = WhereOption(required: false);
        where.Description = "Rows to update (default: every row)";
        var command = new Command("update",
            "Set columns to literal values on the rows matching a predicate: the old rows are deleted (deletion vectors where the table has " +
            "them) and the new rows written into their partitions.\n\n" +
            "Example:\n  ecap data-lake storage update transactions --set status=refunded --set discount_code=NULL --where \"transaction_id = 1042\"")
            { table, set, where };
        command.SetCliAction(async (ctx, ct) =>
        {
            var assignments = (ctx.Get(set) ?? []).Select(ColumnAssignment.Parse).ToList();
            var result = await ctx.OpenDataLake().Storage.UpdateAsync(ctx.Get(table), assignments, ctx.Get(where) is { } w ? Predicate.Parse(w) : null, ct);
            if (ctx.Json) CliJson.Write(new UpdateJson(result.Table, result.Version, result.RowsUpdated, result.FilesTouched, result.DeletionVectorsWritten,
                result.FilesRewritten, result.FilesScanned, CliJson.Ms(result.Duration)));
            else Summary(result, $"{result.RowsUpdated:N0} row(s) updated");
            return 0;
        });
        return command;
    }

    private static Command Merge()
    {
        var table = TableArgument();
        var source = new Option<string>("--source-path") { Description = "Source rows: .parquet, .csv or .jsonl/.json, as storage write takes", Required = true };
        var on = new Option<string>("--on") { Description = "Key column(s) rows match on, comma-separated", Required = true };
        var matched = new Option<string>("--when-matched") { Description = "update (default), delete or ignore", DefaultValueFactory = _ => "update" };
        var notMatched = new Option<string>("--when-not-matched") { Description = "insert (default) or ignore", DefaultValueFactory = _ => "insert" };
        var notMatchedBySource = new Option<string>("--when-not-matched-by-source") { Description = "ignore (default) or delete: target rows whose key is not in the source", DefaultValueFactory = _ => "ignore" };
        var deleteWhen = new Option<string?>("--delete-when") { Description = "Predicate on source columns: such a source row deletes its matched row and is not inserted (e.g. \"is_deleted = true\")" };
        var dedupOrder = new Option<string?>("--dedup-order-by") { Description = "Duplicate source keys keep the row with the greatest value of this column (default: duplicates are an error)" };
        var command = new Command("merge",
            "Upsert a file into a table by key (MERGE INTO ... ON ... WHEN MATCHED / NOT MATCHED / NOT MATCHED BY SOURCE). Only the files " +
            "that may hold a source key (partitions, buckets, stats) are opened; matched rows are changed through deletion vectors.\n\n" +
            "Examples:\n  ecap data-lake storage merge customer_profiles --source-path changes.parquet --on customer_id\n" +
            "  ecap data-lake storage merge products --source-path cdc.jsonl --on product_id --delete-when \"is_deleted = true\" --dedup-order-by updated_at")
            { table, source, on, matched, notMatched, notMatchedBySource, deleteWhen, dedupOrder };
        command.SetCliAction(async (ctx, ct) =>
        {
            var lake = ctx.OpenDataLake().Storage;
            var name = ctx.Get(table);
            var target = lake.OpenTable(name);
            if (!await target.ExistsAsync(ct))
                throw new TableNotFoundException($"Table '{name}' does not exist in {lake.Location} (no _delta_log); create it with `storage write` first.");
            var schema = (await target.GetSnapshotAsync(ct)).Schema;
            var sourcePath = ctx.Get(source);
            var options = new MergeOptions
            {
                On = ctx.Get(on).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                WhenMatched = Choice<MergeMatchedAction>(ctx.Get(matched), "--when-matched"),
                WhenNotMatched = Choice<MergeNotMatchedAction>(ctx.Get(notMatched), "--when-not-matched"),
                WhenNotMatchedBySource = Choice<MergeNotMatchedBySourceAction>(ctx.Get(notMatchedBySource), "--when-not-matched-by-source"),
                DeleteWhen = ctx.Get(deleteWhen) is { } d ? Predicate.Parse(d) : null,
                DeduplicateOrderBy = ctx.Get(dedupOrder),
                SourceName = sourcePath,
            };
            // Columns of the source that only the delete predicate reads (a soft-delete flag) are not written.
            options = options with
            {
                SourceOnlyColumns = (options.DeleteWhen?.Columns() ?? []).Select(c => c.Split('.')[0]).Where(c => schema.GetFieldIndex(c) < 0).Distinct().ToList(),
            };
            var result = await lake.MergeAsync(name, SourceFiles.ReadAsync(sourcePath, schema, ct), options, ct);
            if (ctx.Json) CliJson.Write(new MergeJson(result.Table, result.Version, result.RowsInserted, result.RowsUpdated, result.RowsDeleted, result.FilesTouched,
                result.DeletionVectorsWritten, result.FilesRewritten, result.FilesScanned, CliJson.Ms(result.Duration)));
            else Summary(result, $"{result.RowsInserted:N0} inserted, {result.RowsUpdated:N0} updated, {result.RowsDeleted:N0} deleted");
            return 0;
        });
        return command;
    }

    private static Command Erase()
    {
        var table = TableArgument();
        var where = WhereOption(required: true);
        var command = new Command("erase",
            "Erase rows for good (right to erasure): delete them and rewrite every file that held them (also rows an earlier delete left " +
            "behind a deletion vector), so no live file holds their bytes. Old versions keep the old files until vacuum removes them: run " +
            "`compaction vacuum` after the retention (or with --retention-hours 0 --force when no one reads old versions) to complete it.\n\n" +
            "Example:\n  ecap data-lake storage erase transactions --where \"customer_id = 42\"") { table, where };
        command.SetCliAction(async (ctx, ct) =>
        {
            var result = await ctx.OpenDataLake().Storage.EraseAsync(ctx.Get(table), Predicate.Parse(ctx.Get(where)), ct);
            const string note = "vacuum after the retention period removes the old files (compaction vacuum TABLE); until then time travel can still read the rows";
            if (ctx.Json) CliJson.Write(new EraseJson(result.Table, result.Version, result.RowsDeleted, result.FilesTouched, result.FilesRewritten, note, CliJson.Ms(result.Duration)));
            else
            {
                Summary(result, $"{result.RowsDeleted:N0} row(s) erased");
                if (result.Committed) AnsiConsole.MarkupLine("[yellow]note:[/] " + Markup.Escape(note));
            }
            return 0;
        });
        return command;
    }

    /// <summary>The purge command of <c>compaction</c> (Delta's REORG TABLE ... APPLY (PURGE)).</summary>
    public static Command Purge()
    {
        var table = TableArgument();
        var threshold = new Option<double>("--threshold") { Description = "Rewrite files whose deletion vectors delete at least this fraction of their rows (default 0.1)", DefaultValueFactory = _ => 0.1 };
        var all = new Option<bool>("--all") { Description = "Rewrite every file that has a deletion vector" };
        var command = new Command("purge",
            "Rewrite files without the rows their deletion vectors delete (REORG TABLE ... APPLY (PURGE)), committed as a rearrangement " +
            "(dataChange=false); a later vacuum removes the old files and with them the deleted rows' bytes.\n\n" +
            "Example:\n  ecap data-lake compaction purge transactions --threshold 0.2") { table, threshold, all };
        command.SetCliAction(async (ctx, ct) =>
        {
            var result = await new Ecap.DataLake.Compaction.DataCompactor(ctx.OpenDataLake().Storage).PurgeDeletedRowsAsync(ctx.Get(table), ctx.Get(all) ? 0 : ctx.Get(threshold), ct);
            if (ctx.Json) CliJson.Write(new PurgeJson(result.Table, result.Version, result.Committed, result.FilesRewritten, result.FilesAdded, result.BytesWritten, CliJson.Ms(result.Duration)));
            else if (!result.Committed) AnsiConsole.MarkupLine($"{Markup.Escape(result.Table)}: no file's deletion vectors reach the threshold; nothing rewritten");
            else AnsiConsole.MarkupLine($"[green]committed[/] {Markup.Escape(result.Table)} v{result.Version}: {result.FilesRewritten} file(s) purged into {result.FilesAdded} " +
                                        $"[grey]({result.Duration.TotalSeconds:F1}s)[/]");
            return 0;
        });
        return command;
    }

    private static T Choice<T>(string text, string option) where T : struct, Enum =>
        Enum.TryParse<T>(text.Replace("-", "", StringComparison.Ordinal), ignoreCase: true, out var value) && Enum.IsDefined(value)
            ? value
            : throw new InvalidInputException($"{option} '{text}' is not one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}.");

    private static void Summary(ChangeResult r, string what)
    {
        if (!r.Committed)
        {
            AnsiConsole.MarkupLine($"{Markup.Escape(r.Table)}: no row matched; nothing committed (still v{r.Version})");
            return;
        }
        AnsiConsole.MarkupLine($"[green]committed[/] {Markup.Escape(r.Table)} v{r.Version}: {Markup.Escape(what)} in {r.FilesTouched} file(s) " +
                               $"({r.FilesScanned} of {r.FilesTotal} opened): " +
                               $"{r.DeletionVectorsWritten} deletion vector(s), {r.FilesRewritten} file(s) rewritten, {r.FilesAdded} new [grey]({r.Duration.TotalSeconds:F1}s)[/]");
    }

    private sealed record DeleteJson(string Table, long Version, long RowsDeleted, int FilesTouched, int DeletionVectorsWritten, int FilesRewritten, int FilesScanned, long DurationMs);

    private sealed record UpdateJson(string Table, long Version, long RowsUpdated, int FilesTouched, int DeletionVectorsWritten, int FilesRewritten, int FilesScanned, long DurationMs);

    private sealed record MergeJson(string Table, long Version, long RowsInserted, long RowsUpdated, long RowsDeleted, int FilesTouched, int DeletionVectorsWritten,
        int FilesRewritten, int FilesScanned, long DurationMs);

    private sealed record EraseJson(string Table, long Version, long RowsDeleted, int FilesTouched, int FilesRewritten, string Note, long DurationMs);

    private sealed record PurgeJson(string Table, long Version, bool Committed, int FilesRewritten, int FilesAdded, long BytesWritten, long DurationMs);
}
