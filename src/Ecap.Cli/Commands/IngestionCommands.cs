using Ecap.DataLake.Storage;
using System.CommandLine;
using Ecap.DataLake;
using Ecap.Cli.Output;
using Ecap.DataLake.Files;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary><c>ecap data-lake ingestion ...</c>: move records from sources into tables, exactly once.</summary>
internal static class IngestionCommands
{
    public static Command Build()
    {
        var ingestion = new Command("ingestion", "Ingest files, databases and Kafka topics into tables exactly once, with dead letters for bad records.");
        ingestion.Add(Files());
        ingestion.Add(Database());
        foreach (var kafka in KafkaCommands.Build()) ingestion.Add(kafka);
        return ingestion;
    }

    /// <summary>The exit code of a files ingestion that completed with dead letters, under --fail-on-dead-letters.</summary>
    internal const int DeadLettersExitCode = 3;

    /// <summary>The exit code of a files ingestion whose every record was dead-lettered (bad input, as the CLI's input errors).</summary>
    internal const int AllDeadLetteredExitCode = 2;

    private static Command Files()
    {
        var table = new Argument<string>("TABLE") { Description = "Table name: a folder under the lake root holding _delta_log" };
        var layout = new LayoutOptions();
        var path = new Option<string>("--path") { Description = "A file, a folder (its .csv/.jsonl/.parquet files) or a glob such as 'in/**/*.csv' (quote it)", Required = true };
        var format = new Option<string?>("--format") { Description = "csv, json (JSON lines) or parquet (default: from each file's extension)" };
        var schema = new Option<string?>("--schema") { Description = "Column types: a file with a Spark JSON schema or name:type lines, or the text \"col type, col type, ...\" (default: the table's, else the data type's canonical schema; other columns inferred)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the schema the first file is read with (in --schema syntax) and the layout; write nothing" };
        var maxBad = new Option<double?>("--max-bad-ratio") { Description = "Fail when bad records / records read goes over this (0..1); the commit that would cross it is not made" };
        var delimiter = new Option<string>("--delimiter") { Description = "CSV field separator (one character; 'tab' for a tab)", DefaultValueFactory = _ => "," };
        var noHeader = new Option<bool>("--no-header") { Description = "CSV files have no header line (columns: the schema's, else column_0..)" };
        var nullValue = new Option<string?>("--null-value") { Description = "CSV text that means null, e.g. NULL or \\N (an empty unquoted field always does)" };
        var batchSize = new Option<long>("--batch-size") { Description = "Records per commit (each commit holds its position)", DefaultValueFactory = _ => 1_000_000 };
        var failOnDead = new Option<bool>("--fail-on-dead-letters")
        {
            Description = $"Exit with code {DeadLettersExitCode} (\"completed with dead letters\") when the run dead-lettered any record; the good rows are committed either way",
        };
        var command = new Command("files",
            "Ingest CSV, JSON lines or Parquet files into a table. Each commit records which files (and records) are done, " +
            "so a rerun skips them and a crashed run resumes without duplicates. Bad records go to TABLE__dead_letters. " +
            "A new table gets the data type's canonical column types (values that do not convert are dead letters); without --data-type " +
            "the columns are inferred and the layout is --partition-by/--sort-by (else unpartitioned).\n\n" +
            $"Exit codes: 0 done (the summary says how many records were dead-lettered and where), 1 failed or over --max-bad-ratio, " +
            $"2 bad input (also when every record read was dead-lettered: nothing written), {DeadLettersExitCode} completed with dead letters " +
            "(only with --fail-on-dead-letters).\n\n" +
            "Example:\n  ecap data-lake ingestion files transactions --data-type transactions --path 'landing/*.csv' --max-bad-ratio 0.01 --output json\n" +
            "  ecap data-lake ingestion files airports --path airports.csv --partition-by state")
        {
            table, path, format, schema, maxBad, delimiter, noHeader, nullValue, batchSize, failOnDead, dryRun,
        };
        foreach (var option in layout.All) command.Add(option);
        command.SetCliAction(async (ctx, ct) =>
        {
            var (type, strategy) = layout.Resolve(ctx);
            var sep = ctx.Get(delimiter) is "tab" or "\\t" ? "\t" : ctx.Get(delimiter);
            if (sep.Length != 1) throw new InvalidInputException($"--delimiter must be one character, not '{sep}'.");
            if (ctx.Get(maxBad) is { } r && (r < 0 || r > 1)) throw new InvalidInputException("--max-bad-ratio must be between 0 and 1.");
            if (ctx.Get(batchSize) < 1) throw new InvalidInputException("--batch-size must be at least 1.");
            var fileOptions = new SourceFileOptions
            {
                Format = ctx.Get(format) is { } f ? FileFormats.Parse(f) : null,
                Schema = DryRun.ParseSchemaOption(ctx.Get(schema)),
                Delimiter = sep[0],
                HasHeader = !ctx.Get(noHeader),
                NullText = ctx.Get(nullValue),
                BatchRows = (int)Math.Min(SourceFiles.DefaultBatchRows, ctx.Get(batchSize)),
            };
            var source = new FileIngestionSource(ctx.Get(path), fileOptions);
            var ingester = ctx.OpenDataLake().Ingester; // keeps the catalog entry and its source lineage current
            await LayoutOptions.EnsureFitsAsync(ingester.Storage, ctx.Get(table), type, ct);
            if (ctx.Get(dryRun))
            {
                if (source.Files.Count == 0) throw new InvalidInputException($"No input files match '{ctx.Get(path)}'.");
                // The first file, read with the types the ingestion would use: --schema over the table's or the data type's.
                var first = source.Files[0];
                var options0 = fileOptions with { Schema = DryRun.Over(fileOptions.Schema, await DryRun.TargetSchemaAsync(ingester.Storage, ctx.Get(table), type, ct)) };
                var rows = SourceFiles.ReadRecordsAsync(first, options0, 0, ct).Where(c => c.Rows is not null).Select(c => c.Rows!);
                return await DryRun.PreviewAsync(ctx, ingester.Storage, ctx.Get(table), type, strategy, ctx.Get(layout.TimeColumn), first, rows, ct);
            }
            var options = new IngestionOptions
            {
                TimeColumn = ctx.Get(layout.TimeColumn),
                MaxBadRatio = ctx.Get(maxBad),
                MaxRecordsPerCommit = ctx.Get(batchSize),
                Progress = new Progress<IngestionReport>(p => ctx.Status.MarkupLine(
                    $"[grey]committed txn {p.TxnVersion} (table v{p.LastVersion}): {p.RecordsRead:N0} read, {p.RecordsWritten:N0} written, {p.RecordsDeadLettered:N0} dead-lettered[/]")),
            };
            ctx.Status.MarkupLine($"[grey]ingesting {source.Files.Count} file(s) from {Markup.Escape(source.Name)} into {Markup.Escape(ctx.Get(table))}[/]");
            try
            {
                var report = type is { } t && strategy is null
                    ? await ingester.IngestAsync(source, ctx.Get(table), t, options, ct)
                    : await ingester.IngestAsync(source, ctx.Get(table), strategy, options, ct);
                // Records read and every one dead-lettered: nothing of the input was usable, whatever its format. That is bad input.
                if (report.RecordsRead > 0 && report.RecordsWritten == 0 && report.RecordsDeadLettered == report.RecordsRead)
                {
                    var message = $"every one of the {report.RecordsRead:N0} record(s) read was dead-lettered (see {TableNames.DeadLetterTable(report.Table)} for why) " +
                                  $"and nothing was written to {report.Table}.";
                    Report(ctx, report, message);
                    Console.Error.WriteLine($"error: {message}");
                    Console.Error.WriteLine($"hint: read the errors with `ecap data-lake storage read {TableNames.DeadLetterTable(report.Table)}`, fix the input and ingest it again " +
                                            "(a file a commit recorded as done is skipped by a rerun: give the fixed file a new name).");
                    return AllDeadLetteredExitCode;
                }
                Report(ctx, report, null);
                return report.RecordsDeadLettered > 0 && ctx.Get(failOnDead) ? DeadLettersExitCode : 0;
            }
            catch (IngestionThresholdExceededException e)
            {
                Report(ctx, e.Report, e.Message);
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static Command Database()
    {
        var table = new Argument<string>("TABLE") { Description = "Table name: a folder under the lake root holding _delta_log" };
        var dataType = new Option<string>("--data-type") { Description = "transactions, user_events, product_updates, analytics_results or customer_profiles", Required = true };
        var url = new Option<string>("--url") { Description = "jdbc:postgresql://host:5432/db (or an Npgsql connection string)", Required = true };
        var user = new Option<string?>("--user") { Description = "Database user" };
        var passwordEnv = new Option<string?>("--password-env") { Description = "Name of the environment variable holding the password (never passed on the command line)" };
        var query = new Option<string>("--query") { Description = "The SQL query whose rows are ingested", Required = true };
        var incremental = new Option<string?>("--incremental-column") { Description = "A growing column (id, updated_at): each run reads rows above the last committed value" };
        var batchSize = new Option<long>("--batch-size") { Description = "Records per commit", DefaultValueFactory = _ => 1_000_000 };
        var mergeOn = new Option<string?>("--merge-on") { Description = "Change data: upsert each batch into the table by these key column(s) instead of appending (the newest row per key by --incremental-column wins)" };
        var deleteWhen = new Option<string?>("--delete-when") { Description = "With --merge-on: source rows matching this predicate delete their key (a soft-delete column, e.g. \"is_deleted\")" };
        var command = new Command("database",
            "Ingest the rows of a PostgreSQL query into a table; with --incremental-column the last value is committed with the rows " +
            "and the next run reads only newer rows.\n\n" +
            "Example:\n  PGPASS=... ecap data-lake ingestion database products --data-type product_updates --url jdbc:postgresql://127.0.0.1:5432/shop " +
            "--user etl --password-env PGPASS --query \"SELECT * FROM products\" --incremental-column updated_at\n" +
            "  ecap data-lake ingestion database products --data-type product_updates --url ... --query \"SELECT * FROM products\" " +
            "--incremental-column updated_at --merge-on product_id --delete-when is_deleted")
        {
            table, dataType, url, user, passwordEnv, query, incremental, batchSize, mergeOn, deleteWhen,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var type = DataTypes.Parse(ctx.Get(dataType));
            string? password = null;
            if (ctx.Get(passwordEnv) is { } env)
                password = Environment.GetEnvironmentVariable(env) ?? throw new InvalidInputException($"The environment variable '{env}' (--password-env) is not set.");
            var connection = Ecap.DataLake.Postgres.PostgresConnectionConfig.Parse(ctx.Get(url), ctx.Get(user), password);
            var ingester = ctx.OpenDataLake().Ingester; // keeps the catalog entry and its source lineage current
            ctx.Status.MarkupLine($"[grey]ingesting from {Markup.Escape(connection.Display)} into {Markup.Escape(ctx.Get(table))}[/]");
            try
            {
                var report = await Ecap.DataLake.Postgres.PostgresIngestion.IngestFromDatabaseAsync(ingester, connection, ctx.Get(query), ctx.Get(table), type,
                    new Ecap.DataLake.Postgres.PostgresIngestionOptions
                    {
                        IncrementalColumn = ctx.Get(incremental),
                        // A commit can only end between source batches: keep them no larger than a commit.
                        BatchRows = (int)Math.Min(new Ecap.DataLake.Postgres.PostgresIngestionOptions().BatchRows, ctx.Get(batchSize)),
                    },
                    new IngestionOptions { MaxRecordsPerCommit = ctx.Get(batchSize), Merge = MergeOption(ctx.Get(mergeOn), ctx.Get(deleteWhen), ctx.Get(incremental)) }, ct);
                Report(ctx, report, null);
                return 0;
            }
            catch (Npgsql.NpgsqlException e)
            {
                // Npgsql messages name the server, never the password.
                Console.Error.WriteLine($"error: {connection.Display}: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>The change-data merge of --merge-on/--delete-when: later rows of a key win (by the order column when given, else source order).</summary>
    internal static Ecap.DataLake.Tables.Changes.MergeOptions? MergeOption(string? mergeOn, string? deleteWhen, string? orderBy)
    {
        if (mergeOn is null)
        {
            if (deleteWhen is not null) throw new InvalidInputException("--delete-when needs --merge-on KEY (deletes are applied by key).");
            return null;
        }
        var keys = mergeOn.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (keys.Length == 0) throw new InvalidInputException("--merge-on needs at least one key column.");
        return new Ecap.DataLake.Tables.Changes.MergeOptions
        {
            On = keys,
            DeleteWhen = deleteWhen is null ? null : Ecap.DataLake.Expressions.Predicate.Parse(deleteWhen),
            DeduplicateOrderBy = orderBy,
            LastDuplicateWins = true,
        };
    }

    private static void Report(CliContext ctx, IngestionReport r, string? error)
    {
        if (ctx.Json)
        {
            CliJson.Write(IngestionJson.From(r, error));
            return;
        }
        var lead = error != null ? "[red]stopped[/]"
            : r.RecordsDeadLettered > 0 ? $"[yellow]ingested with {r.RecordsDeadLettered:N0} dead-lettered record(s)[/]" : "[green]ingested[/]";
        AnsiConsole.MarkupLine(
            $"{lead} {Markup.Escape(r.Table)}: {r.RecordsRead:N0} records read, {r.RecordsWritten:N0} written, " +
            $"{r.RecordsDeadLettered:N0} dead-lettered{(r.RecordsDeadLettered > 0 ? $" (in {Markup.Escape(TableNames.DeadLetterTable(r.Table))})" : "")}, " +
            $"{r.Batches} commit(s), {r.Retries} retries, " +
            string.Join(", ", r.SourceCounters.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key.Replace('_', ' ')} {k.Value}")) +
            $" [grey]({r.Duration.TotalSeconds:F1}s, {r.RecordsPerSecond:N0} records/s, txn version {r.TxnVersion})[/]");
    }
}
