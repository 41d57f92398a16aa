using System.CommandLine;
using System.Globalization;
using Ecap.DataLake;
using Ecap.Cli.Output;
using Ecap.DataLake.Files;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary><c>ecap data-lake storage ...</c>: write, read, inspect and restore tables.</summary>
internal static class StorageCommands
{
    public static Command Build()
    {
        var storage = new Command("storage", "Write, read and inspect partitioned Delta tables.");
        storage.Add(Create());
        storage.Add(Write());
        storage.Add(Read());
        storage.Add(Info());
        storage.Add(ListTables());
        storage.Add(History());
        storage.Add(Restore());
        storage.Add(Alter());
        foreach (var change in ChangeCommands.Build()) storage.Add(change);
        return storage;
    }

    private static Argument<string> TableArgument() => new("TABLE")
    {
        Description = "Table name: a folder under the lake root holding _delta_log (letters, digits, _, -, .)",
    };

    private static Command Write()
    {
        var table = TableArgument();
        var layout = new LayoutOptions();
        var source = new Option<string>("--source-path") { Description = "Input file: .parquet, .csv or .jsonl/.json (JSON lines)", Required = true };
        var mode = new Option<string>("--mode") { Description = "append, overwrite, overwrite-partitions, error-if-exists, ignore", DefaultValueFactory = _ => "append" };
        var merge = new Option<bool>("--merge-schema") { Description = "Add new nullable columns of the input to the table" };
        var overwriteSchema = new Option<bool>("--overwrite-schema") { Description = "With --mode overwrite: replace the table's schema" };
        var dedup = new Option<string?>("--dedup-keys") { Description = "Drop duplicate keys within the input (comma-separated key columns), keeping the last" };
        var dedupOrder = new Option<string?>("--dedup-order-by") { Description = "Column deciding which duplicate is last (default: input order)" };
        var skipExisting = new Option<bool>("--skip-existing-keys") { Description = "With --dedup-keys and append: also drop rows whose key is already in the partitions the input touches" };
        var region = new Option<string?>("--region") { Description = "A new table's data must stay in this region (comma-separated list allowed; checked against ECAP_LAKE_REGION)" };
        var footerKey = new Option<string?>("--encrypt-footer-key") { Description = "Create the table encrypted: the key id of the Parquet footer key (keys from ECAP_KEY_FILE or ECAP_KEY_<ID>)" };
        var columnKeys = new Option<string[]>("--encrypt-column") { Description = "COLUMN:KEYID, repeatable: encrypt only these columns, each with its key (default: all columns with the footer key)" };
        var noStats = new Option<bool>("--no-encrypted-column-stats") { Description = "Keep min/max of encrypted columns out of the Delta log" };
        var noVectors = new Option<bool>("--no-deletion-vectors") { Description = "Create the table without deletion vectors (delete/update/merge then rewrite files; readers need no reader-3 support)" };
        var autoCompact = new Option<bool>("--auto-compact")
        {
            Description = "A new table compacts partitions left with many small files after commits (delta.autoOptimize.autoCompact; default true, --auto-compact false to turn off)",
            DefaultValueFactory = _ => true,
            Arity = ArgumentArity.ZeroOrOne,
        };
        var schema = new Option<string?>("--schema")
        {
            Description = "Column types, whole or some: a schema file or \"col type, col type, ...\" (other columns: the data type's, the table's or inferred)",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the schema the input is read with (in --schema syntax) and the layout; write nothing" };
        var command = new Command("write",
            "Write a file's rows into a table: with a data type's preset layout and schema, or any data with --partition-by/--sort-by " +
            "(columns inferred), or unpartitioned.\n\nExample:\n  ecap data-lake storage write transactions --data-type transactions --source-path tx.parquet --mode append\n" +
            "  ecap data-lake storage write weather --source-path weather.csv --partition-by \"year(date)\" --sort-by location")
        {
            table, source, mode, merge, overwriteSchema, dedup, dedupOrder, skipExisting, region, footerKey, columnKeys, noStats, autoCompact, noVectors,
            schema, dryRun,
        };
        foreach (var option in layout.All) command.Add(option);
        command.SetCliAction(async (ctx, ct) =>
        {
            var (type, strategy) = layout.Resolve(ctx);
            var writeMode = WriteModes.Parse(ctx.Get(mode));
            var sourcePath = ctx.Get(source);
            var lake = ctx.OpenDataLake().Storage; // registers/syncs the table in the catalog
            await LayoutOptions.EnsureFitsAsync(lake, ctx.Get(table), type, ct);
            // Text inputs take the types of --schema, over the data type's or an existing table's (e.g. one `storage create` made), not inference's.
            var basis = type is { } preset ? CanonicalSchemas.For(preset)
                : !ctx.Get(overwriteSchema) && FileFormats.FromPath(sourcePath) != FileFormat.Parquet ? await DryRun.TargetSchemaAsync(lake, ctx.Get(table), null, ct) : null;
            var target = DryRun.Over(DryRun.ParseSchemaOption(ctx.Get(schema)), basis);
            var batches = SourceFiles.ReadAsync(sourcePath, target, ct);
            if (ctx.Get(dryRun))
                return await DryRun.PreviewAsync(ctx, lake, ctx.Get(table), type, strategy, ctx.Get(layout.TimeColumn), sourcePath, batches, ct);
            var result = await WriteProgressDisplay.RunWriteAsync(ctx, $"writing {Path.GetFileName(sourcePath)} -> {ctx.Get(table)}", progress =>
            {
                var options = new WriteOptions
                {
                    MergeSchema = ctx.Get(merge),
                    OverwriteSchema = ctx.Get(overwriteSchema),
                    TimeColumn = ctx.Get(layout.TimeColumn),
                    DeduplicateKeys = ctx.Get(dedup)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                    DeduplicateOrderBy = ctx.Get(dedupOrder),
                    SkipExistingKeys = ctx.Get(skipExisting),
                    SourceName = sourcePath,
                    Progress = progress,
                    Region = ctx.Get(region),
                    Encryption = EncryptionOption(ctx.Get(footerKey), ctx.Get(columnKeys) ?? [], ctx.Get(noStats)),
                    DeletionVectors = !ctx.Get(noVectors),
                    AutoCompact = ctx.Get(autoCompact),
                };
                return type is { } t && strategy is null
                    ? lake.WritePartitionedDataAsync(batches, ctx.Get(table), t, writeMode, options, ct)
                    : lake.WritePartitionedDataAsync(batches, ctx.Get(table), strategy, writeMode, options, ct);
            });
            Render.WriteResult(ctx, result);
            return 0;
        });
        return command;
    }

    private static Command Create()
    {
        var table = TableArgument();
        var layout = new LayoutOptions();
        var schema = new Option<string?>("--schema")
        {
            Description = "The columns: a schema file (name:type lines or a Spark JSON schema) or the text \"col type, col type, ...\" " +
                          "(string, long, integer, double, boolean, date, timestamp, decimal(p,s), ...); optional with --data-type (its canonical schema)",
        };
        var command = new Command("create",
            "Create an empty table (one commit, no data files) with a schema and a layout.\n\nExample:\n" +
            "  ecap data-lake storage create weather --schema \"date timestamp, station string, temp double\" --partition-by \"year(date)\" --sort-by station")
        {
            table, schema,
        };
        foreach (var option in layout.All) command.Add(option);
        command.SetCliAction(async (ctx, ct) =>
        {
            var (type, strategy) = layout.Resolve(ctx);
            var columns = ctx.Get(schema) is { Length: > 0 } text
                ? DryRun.ParseSchemaOption(text)!
                : type is { } preset ? CanonicalSchemas.For(preset)
                : throw new InvalidInputException("storage create needs --schema FILE or \"col type, ...\" (or --data-type for its canonical schema).");
            strategy ??= type is { } t ? PartitionStrategy.For(t, ctx.Get(layout.TimeColumn)) : null;
            var lake = ctx.OpenDataLake().Storage;
            var result = await lake.CreateTableAsync(ctx.Get(table), columns, strategy, new WriteOptions { TimeColumn = ctx.Get(layout.TimeColumn) }, ct);
            var created = await lake.OpenTable(ctx.Get(table)).GetSnapshotAsync(ct);
            var layoutText = PartitionSpec.Format(TableLayout.FromMetadata(created.Metadata));
            var schemaText = Ecap.DataLake.Ingestion.SchemaFile.Format(created.Schema);
            if (ctx.Json) CliJson.Write(new CreateJson(ctx.Get(table), result.Version, layoutText, schemaText));
            else AnsiConsole.MarkupLine(Markup.Escape($"created {ctx.Get(table)} as v{result.Version} (no files): layout {layoutText}; schema {schemaText}"));
            return 0;
        });
        return command;
    }

    private sealed record CreateJson(string Table, long Version, string Layout, string Schema);

    private static Command Read()
    {
        var table = TableArgument();
        var partitionFilter = new Option<string[]>("--partition-filter")
        {
            Description = "k=v, k=v1,v2 (IN) or k=a..b (inclusive range); repeatable",
            AllowMultipleArgumentsPerToken = false,
        };
        var where = new Option<string?>("--where") { Description = "Row predicate, e.g. \"amount > 100 AND status IN ('paid','shipped')\"" };
        var columns = new Option<string?>("--columns") { Description = "Comma-separated columns to return (default: all)" };
        var limit = new Option<long?>("--limit") { Description = "At most this many rows (the terminal table shows 20 unless set)" };
        var version = new Option<long?>("--version") { Description = "Read the table as of this version" };
        var timestamp = new Option<string?>("--timestamp") { Description = "Read the table as of this time (ISO 8601, e.g. 2026-11-25T10:00:00Z)" };
        var output = new Option<string?>("--out") { Description = "Export the rows to a file instead: .parquet, .csv or .jsonl (by extension)" };
        var stats = new Option<bool>("--stats") { Description = "With --output json: print {\"rows\": [...], \"stats\": {pruning figures}} instead of the bare array" };
        var command = new Command("read", "Read rows with partition pruning, column projection and predicate pushdown.\n\nExample:\n  ecap data-lake storage read transactions --partition-filter month=10,11 --columns transaction_id,amount --where \"amount > 100\" --limit 10\n  ecap data-lake storage read transactions --partition-filter day=1 --output json --stats")
        {
            table, partitionFilter, where, columns, limit, version, timestamp, output, stats,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            if (ctx.Get(version) != null && ctx.Get(timestamp) != null)
                throw new InvalidInputException("Use either --version or --timestamp, not both.");
            var outPath = ctx.Get(output);
            var userLimit = ctx.Get(limit);
            if (userLimit < 0) throw new InvalidInputException($"--limit must be 0 or more, not {userLimit}.");
            var options = new ReadOptions
            {
                PartitionFilters = (ctx.Get(partitionFilter) ?? []).Select(ParsePartitionFilter).ToList(),
                Columns = ctx.Get(columns)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Predicate = ctx.Get(where) is { Length: > 0 } text ? Ecap.DataLake.Expressions.PredicateParser.Parse(text) : null,
                // A large result never floods the terminal: the table view stops at 20 rows unless asked.
                Limit = userLimit ?? (outPath == null && !ctx.Json ? Render.DefaultTerminalRows : null),
                Version = ctx.Get(version),
                Timestamp = ctx.Get(timestamp) is { } ts ? CliValues.Timestamp(ts, "--timestamp") : null,
            };
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var lake = ctx.OpenDataLake().Storage;
            // One audited operation from plan to last row: the record says how many rows left.
            var scan = await lake.ReadPartitionedDataAsync(ctx.Get(table), options, async scan =>
            {
                // The first batch is read before anything is printed or created: a --where that does not fit a column's type
                // fails there, leaving no half-written JSON and no partial --out file.
                var batches = await FirstBatchFirstAsync(scan.ReadBatchesAsync(ct), ct);
                if (outPath != null)
                {
                    var existed = File.Exists(outPath);
                    long rows;
                    try
                    {
                        rows = await RowExport.WriteAsync(outPath, scan.Schema, batches, ct);
                    }
                    catch when (!existed)
                    {
                        try { File.Delete(outPath); } catch (IOException) { }
                        throw;
                    }
                    ctx.Status.MarkupLine($"[green]exported[/] {rows:N0} rows to {Spectre.Console.Markup.Escape(outPath)}");
                }
                else
                {
                    await Render.RowsAsync(ctx, scan.Schema, batches, ct,
                        ctx.Get(stats) ? () => ReadStatsJson.From(scan.Metrics, clock.Elapsed) : null);
                }
                return scan;
            }, ct);
            if (ctx.Verbose || (!ctx.Json && outPath == null)) Render.ReadMetrics(ctx, scan.Metrics);
            return 0;
        });
        return command;
    }

    private static Ecap.DataLake.Parquet.Encryption.TableEncryption? EncryptionOption(string? footerKey, string[] columns, bool noStats)
    {
        if (footerKey is null)
            return columns.Length > 0 || noStats ? throw new InvalidInputException("--encrypt-column and --no-encrypted-column-stats need --encrypt-footer-key.") : null;
        var keys = CliValues.Unique(columns.Select(c => c.LastIndexOf(':') is > 0 and var i ? (c[..i].Trim(), c[(i + 1)..].Trim())
            : throw new InvalidInputException($"--encrypt-column '{c}' must look like COLUMN:KEYID.")), "--encrypt-column");
        return new Ecap.DataLake.Parquet.Encryption.TableEncryption(footerKey, keys, EncryptedColumnStats: !noStats);
    }

    /// <summary>Pulls the first batch now (its errors surface before any output), then streams it and the rest.</summary>
    private static async Task<IAsyncEnumerable<Apache.Arrow.RecordBatch>> FirstBatchFirstAsync(IAsyncEnumerable<Apache.Arrow.RecordBatch> batches, CancellationToken ct)
    {
        var e = batches.GetAsyncEnumerator(ct);
        var any = false;
        try { any = await e.MoveNextAsync(); }
        catch { await e.DisposeAsync(); throw; }
        return Rest(e, any);

        static async IAsyncEnumerable<Apache.Arrow.RecordBatch> Rest(IAsyncEnumerator<Apache.Arrow.RecordBatch> e, bool any)
        {
            await using (e)
            {
                if (!any) yield break;
                yield return e.Current;
                while (await e.MoveNextAsync()) yield return e.Current;
            }
        }
    }

    internal static PartitionFilter ParsePartitionFilter(string text)
    {
        var eq = text.IndexOf('=');
        if (eq <= 0) throw new InvalidInputException($"--partition-filter '{text}' must look like column=value, column=v1,v2 or column=from..to.");
        var column = text[..eq].Trim();
        var value = text[(eq + 1)..].Trim();
        var range = value.IndexOf("..", StringComparison.Ordinal);
        if (range >= 0)
        {
            var min = value[..range].Trim();
            var max = value[(range + 2)..].Trim();
            // A reversed range matches nothing: say so instead of returning no rows.
            var reversed = decimal.TryParse(min, NumberStyles.Number, CultureInfo.InvariantCulture, out var lo)
                           && decimal.TryParse(max, NumberStyles.Number, CultureInfo.InvariantCulture, out var hi)
                ? lo > hi
                : min.Length > 0 && max.Length > 0 && string.CompareOrdinal(min, max) > 0;
            if (reversed)
                throw new InvalidInputException($"--partition-filter '{text}': the range {min}..{max} is reversed (from must not be above to).");
            return new PartitionFilter(column, null, min.Length == 0 ? null : min, max.Length == 0 ? null : max);
        }
        return new PartitionFilter(column, value.Split(',').Select(v => v.Trim()).Select(v => v == "null" ? null : v).ToList());
    }

    private static Command Info()
    {
        var table = TableArgument();
        var price = new Option<string[]>("--price-per-gb-month")
        {
            Description = "Storage price per GB-month for the cost estimate: PRICE (standard class) or CLASS=PRICE; repeatable. " +
                "Defaults (USD, S3 us-east-1 list): standard=0.023, infrequent_access=0.0125 (STANDARD_IA), glacier_instant=0.004 (GLACIER_IR), " +
                "onezone_ia=0.01, intelligent_tiering=0.023",
        };
        var storageClass = new Option<string>("--storage-class")
        {
            Description = "Price the whole table in this class (standard, infrequent_access or S3's STANDARD_IA, ...). Default: each file " +
                "in the class the store reports for it (S3, after `compaction tier`), else standard",
        };
        var command = new Command("info",
            "Show a table's figures: rows, files, sizes, partitions, skew, compression, schema; a partition-size bar chart, a " +
            "file-size histogram and the estimated monthly storage cost.\n\nExample:\n  ecap data-lake storage info transactions " +
            "--price-per-gb-month 0.021 --price-per-gb-month archive=0.002 --output json") { table, price, storageClass };
        command.SetCliAction(async (ctx, ct) =>
        {
            var cost = StoragePricing.Parse(ctx.Get(price) ?? []);
            var info = await ctx.OpenDataLake().Storage.GetTableInfoAsync(ctx.Get(table), ct);
            Render.TableInfo(ctx, info, cost.Estimate(info, ctx.Get(storageClass)));
            return 0;
        });
        return command;
    }

    private static Command ListTables()
    {
        var command = new Command("list-tables", "List every Delta table under the lake root.\n\nExample:\n  ecap data-lake storage list-tables --lake ./data-lake");
        command.SetCliAction(async (ctx, ct) =>
        {
            var tables = await ctx.OpenDataLake().Storage.ListTablesAsync(ct);
            Render.TableList(ctx, tables);
            return 0;
        });
        return command;
    }

    private static Command History()
    {
        var table = TableArgument();
        var limit = new Option<int?>("--limit") { Description = "Show only the newest N commits" };
        var command = new Command("history", "List a table's commits, newest first: version, time, operation, parameters, metrics.\n\nExample:\n  ecap data-lake storage history transactions --limit 5") { table, limit };
        command.SetCliAction(async (ctx, ct) =>
        {
            if (ctx.Get(limit) < 0) throw new InvalidInputException($"--limit must be 0 or more, not {ctx.Get(limit)}.");
            var history = await ctx.OpenDataLake().Storage.GetHistoryAsync(ctx.Get(table), ctx.Get(limit), ct);
            Render.History(ctx, history);
            return 0;
        });
        return command;
    }

    private static Command Restore()
    {
        var table = TableArgument();
        var version = new Option<long?>("--version") { Description = "The version to return the table to" };
        var restorePoint = new Option<string?>("--restore-point") { Description = "A restore point's name (made by `compaction compact --backup`) to return the table to" };
        var command = new Command("restore", "Return a table to an earlier version or a restore point with a new commit (history is kept).\n\nExamples:\n  ecap data-lake storage restore transactions --version 3\n  ecap data-lake storage restore transactions --restore-point before-compaction") { table, version, restorePoint };
        command.SetCliAction(async (ctx, ct) =>
        {
            if ((ctx.Get(version) is null) == (ctx.Get(restorePoint) is null))
                throw new InvalidInputException("Give exactly one of --version V or --restore-point NAME.");
            var lake = ctx.OpenDataLake().Storage;
            var result = ctx.Get(restorePoint) is { } name
                ? await new Ecap.DataLake.Compaction.DataCompactor(lake).RestoreAsync(ctx.Get(table), name, ct)
                : await lake.RestoreAsync(ctx.Get(table), ctx.Get(version)!.Value, ct);
            Render.Restore(ctx, result);
            return 0;
        });
        return command;
    }

    private static Command Alter()
    {
        var table = TableArgument();
        var rename = new Option<string[]>("--rename-column") { Description = "OLD=NEW, repeatable: rename a top-level column (no data file is rewritten)" };
        var drop = new Option<string[]>("--drop-column") { Description = "NAME, repeatable: drop a top-level column (its values stay in the files, unread)" };
        var add = new Option<string[]>("--add-column") { Description = "NAME:TYPE, repeatable: add a nullable column (long, string, double, date, timestamp, decimal(10,2), ...)" };
        var enableVectors = new Option<bool>("--enable-deletion-vectors") { Description = "Turn deletion vectors on (reader 3 / writer 7): delete/update/merge then mark rows instead of rewriting files" };
        var setProperty = new Option<string[]>("--set-property") { Description = "KEY=VALUE, repeatable: set a table property (e.g. delta.autoOptimize.autoCompact=true, ecap.autoCompact.minNumFiles=50); unknown delta.*/ecap.* keys are refused" };
        var unsetProperty = new Option<string[]>("--unset-property") { Description = "KEY, repeatable: remove a table property" };
        var partitionBy = new Option<string?>("--partition-by")
        {
            Description = "Rewrite the table into these partitions (as for a new table: columns, year(col), month(col), day(col), hour(col), bucket(N, col), " +
                          "truncate(W, col); none: unpartitioned) in one commit, after a restore point",
        };
        var sortBy = new Option<string?>("--sort-by") { Description = "With or without --partition-by: rewrite the table sorted by these columns (default: its own sort)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "With --partition-by/--sort-by: show the old and new layout and the estimated files; write nothing" };
        var restorePoint = new Option<string?>("--restore-point") { Description = "With --partition-by/--sort-by: the name of the restore point made first (default repartition-v<version>-<time>)" };
        var command = new Command("alter",
            "Rename, drop or add columns with one metadata-only commit. A rename or drop turns on Delta column mapping (mode name) " +
            "first if the table has none, as Delta does: readers that do not support column mapping can no longer read the table.\n" +
            "With --partition-by or --sort-by the table is rewritten into the new layout instead: one commit removing every file and adding the " +
            "new ones (dataChange false: the rows are the same, deleted rows stay deleted), after a restore point of the version read; a commit by " +
            "another writer meanwhile fails the rewrite (run it again) and loses nothing. The old version stays readable by time travel.\n\n" +
            "Examples:\n  ecap data-lake storage alter transactions --rename-column amount=amount_eur\n" +
            "  ecap data-lake storage alter transactions --drop-column legacy_flag --add-column channel:string\n" +
            "  ecap data-lake storage alter transactions --set-property delta.autoOptimize.autoCompact=true --set-property ecap.autoCompact.minNumFiles=20\n" +
            "  ecap data-lake storage alter weather --partition-by \"month(date)\" --dry-run\n" +
            "  ecap data-lake storage alter weather --partition-by \"year(date)\" --sort-by location")
            { table, rename, drop, add, setProperty, unsetProperty, enableVectors, partitionBy, sortBy, dryRun, restorePoint };
        command.SetCliAction(async (ctx, ct) =>
        {
            if (ctx.Get(partitionBy) is not null || ctx.Get(sortBy) is not null)
            {
                if ((ctx.Get(rename) ?? []).Length + (ctx.Get(drop) ?? []).Length + (ctx.Get(add) ?? []).Length + (ctx.Get(setProperty) ?? []).Length
                    + (ctx.Get(unsetProperty) ?? []).Length > 0 || ctx.Get(enableVectors))
                    throw new InvalidInputException("--partition-by/--sort-by rewrite the table: give them without column or property changes (run those as another alter).");
                return await RepartitionAsync(ctx, ctx.Get(table), ctx.Get(partitionBy), ctx.Get(sortBy), ctx.Get(dryRun), ctx.Get(restorePoint), ct);
            }
            if (ctx.Get(dryRun) || ctx.Get(restorePoint) is not null)
                throw new InvalidInputException("--dry-run and --restore-point of storage alter go with --partition-by or --sort-by.");
            var renames = (ctx.Get(rename) ?? []).Select(r =>
            {
                var eq = r.IndexOf('=');
                if (eq <= 0 || eq == r.Length - 1) throw new InvalidInputException($"--rename-column '{r}' is not OLD=NEW.");
                return (r[..eq].Trim(), r[(eq + 1)..].Trim());
            }).ToList();
            var adds = (ctx.Get(add) ?? []).Select(a =>
            {
                var colon = a.IndexOf(':');
                if (colon <= 0 || colon == a.Length - 1) throw new InvalidInputException($"--add-column '{a}' is not NAME:TYPE.");
                return (a[..colon].Trim(), a[(colon + 1)..].Trim());
            }).ToList();
            var drops = (ctx.Get(drop) ?? []).Select(d => d.Trim()).ToList();
            var properties = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var p in ctx.Get(setProperty) ?? [])
            {
                var eq = p.IndexOf('=');
                if (eq <= 0 || eq == p.Length - 1) throw new InvalidInputException($"--set-property '{p}' is not KEY=VALUE.");
                properties[p[..eq].Trim()] = p[(eq + 1)..].Trim();
            }
            foreach (var k in ctx.Get(unsetProperty) ?? []) properties[k.Trim()] = null;
            var columnChanges = renames.Count + drops.Count + adds.Count > 0;
            if (!columnChanges && properties.Count == 0 && !ctx.Get(enableVectors))
                throw new InvalidInputException("Nothing to alter: give --rename-column, --drop-column, --add-column, --set-property, --unset-property or --enable-deletion-vectors.");
            var storage = ctx.OpenDataLake().Storage;
            long version = 0;
            if (ctx.Get(enableVectors)) version = await storage.EnableDeletionVectorsAsync(ctx.Get(table), ct);
            if (columnChanges) version = await storage.AlterColumnsAsync(ctx.Get(table), renames, drops, adds, ct);
            if (properties.Count > 0) version = await storage.SetTablePropertiesAsync(ctx.Get(table), properties, ct);
            if (ctx.Json) CliJson.Write(new AlterJson(version, renames.Select(r => r.Item1 + "=" + r.Item2).ToList(), drops, adds.Select(a => a.Item1 + ":" + a.Item2).ToList(),
                properties.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!), properties.Where(p => p.Value is null).Select(p => p.Key).ToList()));
            else Spectre.Console.AnsiConsole.MarkupLine(Spectre.Console.Markup.Escape(
                $"altered {ctx.Get(table)} as v{version}: {renames.Count} renamed, {drops.Count} dropped, {adds.Count} added" +
                (properties.Count > 0 ? $", properties {string.Join(", ", properties.Select(p => p.Key + "=" + (p.Value ?? "(unset)")))}" : "")));
            return 0;
        });
        return command;
    }

    private static async Task<int> RepartitionAsync(CliContext ctx, string tableName, string? partitionBy, string? sortBy, bool dryRun, string? restorePoint,
        CancellationToken ct)
    {
        var lake = ctx.OpenDataLake();
        var table = lake.Storage.OpenTable(tableName);
        if (!await table.ExistsAsync(ct))
            throw new TableNotFoundException($"Table '{tableName}' does not exist in {lake.Storage.Location} (no _delta_log).");
        // What is not given stays the table's own: its sort (and preset) with a new --partition-by, its partitions with only --sort-by.
        var own = TableLayout.FromMetadata((await table.GetSnapshotAsync(ct)).Metadata);
        var layout = PartitionSpec.Parse(partitionBy?.Trim().Equals("none", StringComparison.OrdinalIgnoreCase) == true ? "" : partitionBy, sortBy, own);
        var result = await lake.Compactor.RepartitionAsync(tableName, layout, new Ecap.DataLake.Compaction.RepartitionOptions { DryRun = dryRun, RestorePointName = restorePoint }, ct);
        if (ctx.Json)
        {
            CliJson.Write(RepartitionJson.From(result));
            return 0;
        }
        string Estimate(int? partitions, int? files) => files is null ? "files unknown until the rows are read (a column not partitioned now)"
            : $"about {files:N0} file(s)" + (partitions is > 0 ? $" in {partitions:N0} partition(s)" : "");
        var before = $"{result.FilesBefore:N0} file(s)" + (result.PartitionsBefore > 0 ? $" in {result.PartitionsBefore:N0} partition(s)" : "");
        if (result.DryRun)
        {
            Console.Out.WriteLine($"dry run: nothing written; {tableName} v{result.ReadVersion}");
            Console.Out.WriteLine($"layout now: {result.OldPartitionBy} ({before}, {Render.Bytes(result.BytesBefore)})");
            Console.Out.WriteLine($"new layout: {result.NewPartitionBy} ({Estimate(result.EstimatedPartitionsAfter, result.EstimatedFilesAfter)})");
            return 0;
        }
        AnsiConsole.MarkupLine(Markup.Escape(
            $"repartitioned {tableName} as v{result.Version}: {result.OldPartitionBy} -> {result.NewPartitionBy}; {before} -> {result.FilesAdded:N0} file(s)" +
            (result.PartitionsAfter > 0 ? $" in {result.PartitionsAfter:N0} partition(s)" : "") +
            $", {result.RowsRewritten:N0} rows rewritten ({result.Duration.TotalSeconds:F1}s)"));
        if (result.RestorePoint is { } p)
            AnsiConsole.MarkupLine(Markup.Escape($"restore point {p.Name} = v{p.Version} (undo: ecap data-lake storage restore {tableName} --restore-point {p.Name}); kept until {p.ExpiresAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC"));
        return 0;
    }

    private sealed record AlterJson(long Version, IReadOnlyList<string> Renamed, IReadOnlyList<string> Dropped, IReadOnlyList<string> Added,
        IReadOnlyDictionary<string, string> PropertiesSet, IReadOnlyList<string> PropertiesUnset);
}
