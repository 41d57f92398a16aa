using System.CommandLine;
using Ecap.DataLake;
using Ecap.Cli.Output;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Tables;

namespace Ecap.Cli.Commands;

/// <summary><c>ecap data-lake compaction ...</c>: analyze, compact, optimize-all, vacuum, zorder, retention, restore-points.</summary>
internal static class CompactionCommands
{
    private const long MiB = 1024 * 1024;

    public static Command Build()
    {
        var compaction = new Command("compaction", "Keep tables fast and small: compact small files, vacuum old ones, retention, Z-order.");
        compaction.Add(Analyze());
        compaction.Add(Compact());
        compaction.Add(OptimizeAll());
        compaction.Add(Vacuum());
        compaction.Add(ZOrder());
        compaction.Add(Retention());
        compaction.Add(RestorePointList());
        compaction.Add(ChangeCommands.Purge());
        compaction.Add(Daemon());
        compaction.Add(Tier());
        return compaction;
    }

    private static Argument<string> TableArgument() => new("TABLE")
    {
        Description = "Table name: a folder under the lake root holding _delta_log (letters, digits, _, -, .)",
    };

    private static Option<long> TargetFileSize() => new("--target-file-size")
    {
        Description = "Target data file size in MB (files below a quarter of it are small)",
        DefaultValueFactory = _ => 128,
    };

    private static long Megabytes(long mb) =>
        mb > 0 ? mb * MiB : throw new InvalidInputException($"--target-file-size must be a positive number of MB (got {mb}).");

    // The compactor writes through storage whose commits keep the catalog current.
    private static DataCompactor Compactor(CliContext ctx) => new(ctx.OpenDataLake().Storage);

    private static Command Analyze()
    {
        var table = TableArgument();
        var target = TargetFileSize();
        var command = new Command("analyze", "Report file sizes, small files per partition, skew and files without stats, and whether compaction is needed and why.\n\nExample:\n  ecap data-lake compaction analyze transactions --target-file-size 128")
        {
            table, target,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var analysis = await Compactor(ctx).AnalyzeTableFilesAsync(ctx.Get(table), new AnalyzeOptions { TargetFileSizeBytes = Megabytes(ctx.Get(target)) }, ct);
            CompactionRender.Analysis(ctx, analysis);
            return 0;
        });
        return command;
    }

    private static Command Compact()
    {
        var table = TableArgument();
        var target = TargetFileSize();
        var backup = new Option<bool>("--backup") { Description = "Record a restore point at the version before compacting; vacuum keeps its files until it expires (30 days)" };
        var pointName = new Option<string?>("--restore-point") { Description = "Name of the --backup restore point (default compaction-v<version>-<time>)" };
        var partitionFilter = new Option<string[]>("--partition-filter") { Description = "Only partitions matching k=v, k=v1,v2 or k=a..b; repeatable" };
        var commit = new Option<string>("--commit") { Description = "per-partition (default: a commit per partition group) or per-table (one commit)", DefaultValueFactory = _ => "per-partition" };
        var tempDir = new Option<string?>("--temp-dir") { Description = "Where sorted runs go when more than 128 small files overlap in key range (default: $TMPDIR or /tmp; needs about the bin's size free)" };
        var command = new Command("compact", "Bin-pack each partition's small files into files of about the target size, keeping sort order and buckets (dataChange=false).\n\nExample:\n  ecap data-lake compaction compact transactions --target-file-size 128 --backup --partition-filter month=11")
        {
            table, target, backup, pointName, partitionFilter, commit, tempDir,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            if (ctx.Get(pointName) != null && !ctx.Get(backup)) throw new InvalidInputException("--restore-point names the --backup restore point; add --backup.");
            var mode = ctx.Get(commit) switch
            {
                "per-partition" => CompactionCommitMode.PerPartition,
                "per-table" => CompactionCommitMode.PerTable,
                var other => throw new InvalidInputException($"--commit must be per-partition or per-table (got '{other}')."),
            };
            var compactor = Compactor(ctx);
            var result = await CompactionProgressDisplay.RunAsync(ctx, progress => compactor.CompactTableAsync(ctx.Get(table), new CompactOptions
            {
                TargetFileSizeBytes = Megabytes(ctx.Get(target)),
                Backup = ctx.Get(backup),
                RestorePointName = ctx.Get(pointName),
                PartitionFilters = (ctx.Get(partitionFilter) ?? []).Select(StorageCommands.ParsePartitionFilter).ToList(),
                CommitMode = mode,
                TempDirectory = ctx.Get(tempDir),
                Progress = progress,
            }, ct));
            CompactionRender.Compaction(ctx, result);
            return 0;
        });
        return command;
    }

    private static Command OptimizeAll()
    {
        var minFiles = new Option<int>("--min-file-count") { Description = "Leave tables with fewer files alone", DefaultValueFactory = _ => 10 };
        var target = TargetFileSize();
        var parallel = new Option<int?>("--parallel")
        {
            Description = "Compact up to N tables at once (--parallel alone: one per core; default 1)",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var backup = new Option<bool>("--backup") { Description = "Record a restore point for every table compacted" };
        var command = new Command("optimize-all", "Analyze every table and compact those that need it; a failing table does not stop the others.\n\nExample:\n  ecap data-lake compaction optimize-all --min-file-count 10 --target-file-size 128 --parallel 2")
        {
            minFiles, target, parallel, backup,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var given = ctx.Parse.GetResult(parallel) is { Implicit: false };
            var degree = !given ? 1 : ctx.Get(parallel) ?? Environment.ProcessorCount;
            if (degree < 1) throw new InvalidInputException($"--parallel must be at least 1 (got {degree}).");
            var compactor = Compactor(ctx);
            var results = await CompactionProgressDisplay.RunAsync(ctx, progress => compactor.OptimizeAllTablesAsync(new OptimizeAllOptions
            {
                MinFileCount = ctx.Get(minFiles),
                TargetFileSizeBytes = Megabytes(ctx.Get(target)),
                MaxDegreeOfParallelism = degree,
                Backup = ctx.Get(backup),
                Progress = progress,
            }, ct));
            CompactionRender.OptimizeAll(ctx, results);
            return results.Any(r => r.Action is "failed" or "denied") ? 1 : 0;
        });
        return command;
    }

    private static Command Daemon()
    {
        var interval = new Option<string>("--interval") { Description = "Time between passes: \"10m\", \"1h\", \"30 seconds\"", DefaultValueFactory = _ => "10m" };
        var parallel = new Option<int>("--parallel") { Description = "Tables maintained at the same time", DefaultValueFactory = _ => 1 };
        var once = new Option<bool>("--once") { Description = "One pass over every table, print what it did, exit (1 if a table failed)" };
        var hours = new Option<double>("--vacuum-retention-hours") { Description = "Vacuum keeps files any version of the last H hours needs (at least 168)", DefaultValueFactory = _ => 168 };
        var id = new Option<string?>("--daemon-id") { Description = "Name of its heartbeat in _ecap/compaction-daemons/ (default host-pid)" };
        var command = new Command("daemon",
            "Keep every table maintained by its properties: compact when its files need it (unless delta.autoOptimize.autoCompact=false; " +
            "target ecap.autoCompact.maxFileSize), apply ecap.retention.days where set, vacuum; then wait --interval and go again. " +
            "Writes a heartbeat that `monitor` shows. Ctrl-C stops it after the current step.\n\n" +
            "Examples:\n  ecap data-lake compaction daemon --interval 10m --parallel 2\n  ecap data-lake compaction daemon --once --output json")
        {
            interval, parallel, once, hours, id,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var daemon = new CompactionDaemon(ctx.OpenDataLake().Storage, new CompactionDaemonOptions
            {
                Interval = KafkaCommands.ParseInterval(ctx.Get(interval), "--interval"),
                MaxDegreeOfParallelism = ctx.Get(parallel),
                VacuumRetention = CliValues.Hours(ctx.Get(hours), "--vacuum-retention-hours"),
                DaemonId = ctx.Get(id),
                Progress = ctx.Json || ctx.Get(once) ? null : new Progress<DaemonTableResult>(r => Console.Error.WriteLine(CompactionRender.DaemonLine(r))),
            });
            if (ctx.Get(once))
            {
                var pass = await daemon.RunOnceAsync(ct);
                CompactionRender.DaemonPass(ctx, pass);
                return pass.Tables.Any(t => t.Error is not null) ? 1 : 0;
            }
            Console.Error.WriteLine($"compaction daemon {daemon.DaemonId}: a pass every {ctx.Get(interval)} over {ctx.Lake}; Ctrl-C stops");
            await daemon.RunAsync(ct);
            return 0;
        });
        return command;
    }

    private static Command Tier()
    {
        var table = TableArgument();
        var storageClass = new Option<string?>("--storage-class") { Description = "Class cold files move to: STANDARD_IA (default, or the table's ecap.tiering.storageClass), ONEZONE_IA, INTELLIGENT_TIERING, GLACIER_IR, STANDARD" };
        var days = new Option<int?>("--cold-after-days") { Description = "Files whose rows are all older than N days are cold (default: the table's ecap.tiering.coldAfterDays)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Count the cold files and what would move; move nothing (works on any store)" };
        var command = new Command("tier",
            "Move the data files of old partitions to a colder S3 storage class in place (same keys: readers need nothing). " +
            "A store without storage classes (a local folder) says so; a server that ignores the class is reported.\n\n" +
            "Examples:\n  ecap data-lake compaction tier transactions --cold-after-days 90 --storage-class GLACIER_IR --dry-run\n" +
            "  ecap data-lake storage alter transactions --set-property ecap.tiering.coldAfterDays=90   # then the daemon tiers it")
        {
            table, storageClass, days, dryRun,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var result = await Compactor(ctx).TierAsync(ctx.Get(table), new TieringOptions
            {
                StorageClass = ctx.Get(storageClass), ColdAfterDays = ctx.Get(days), DryRun = ctx.Get(dryRun),
            }, ct);
            CompactionRender.Tiering(ctx, result);
            return 0;
        });
        return command;
    }

    private static Command Vacuum()
    {
        var table = TableArgument();
        var hours = new Option<double>("--retention-hours") { Description = "Keep files any version of the last H hours needs (default 168 = 7 days)", DefaultValueFactory = _ => 168 };
        var dryRun = new Option<bool>("--dry-run") { Description = "List the files that would be deleted; delete nothing" };
        var force = new Option<bool>("--force") { Description = "Allow a retention below 168 hours (only when no one else reads or writes the table)" };
        var command = new Command("vacuum", "Delete data files no version within the retention needs (and never-committed files that old); restore points are respected.\n\nExample:\n  ecap data-lake compaction vacuum transactions --retention-hours 168 --dry-run")
        {
            table, hours, dryRun, force,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var result = await Compactor(ctx).VacuumAsync(ctx.Get(table), new VacuumOptions
            {
                Retention = CliValues.Hours(ctx.Get(hours), "--retention-hours"),
                DryRun = ctx.Get(dryRun),
                Force = ctx.Get(force),
            }, ct);
            CompactionRender.Vacuum(ctx, result);
            return 0;
        });
        return command;
    }

    private static Command ZOrder()
    {
        var table = TableArgument();
        var columns = new Option<string>("--columns") { Description = "Comma-separated columns to cluster by (not partition columns)", Required = true };
        var target = TargetFileSize();
        var partitionFilter = new Option<string[]>("--partition-filter") { Description = "Only partitions matching k=v, k=v1,v2 or k=a..b; repeatable" };
        var command = new Command("zorder", "Rewrite each partition clustered by the interleaved bits of the columns, so filters on any of them skip files.\n\nExample:\n  ecap data-lake compaction zorder transactions --columns customer_id,product_id")
        {
            table, columns, target, partitionFilter,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var names = ctx.Get(columns).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var compactor = Compactor(ctx);
            var result = await CompactionProgressDisplay.RunAsync(ctx, progress => compactor.ZOrderAsync(ctx.Get(table), names, new ZOrderOptions
            {
                TargetFileSizeBytes = Megabytes(ctx.Get(target)),
                PartitionFilters = (ctx.Get(partitionFilter) ?? []).Select(StorageCommands.ParsePartitionFilter).ToList(),
                Progress = progress,
            }, ct));
            CompactionRender.ZOrder(ctx, result);
            return 0;
        });
        return command;
    }

    private static Command Retention()
    {
        var table = TableArgument();
        var days = new Option<int?>("--days") { Description = "Set the table's retention policy to N days first (table property ecap.retention.days); with --dry-run only preview N days" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List the partitions that would be removed; change nothing" };
        var command = new Command("retention", "Remove, in one commit, the partitions older than the table's retention policy (by its time column).\n\nExample:\n  ecap data-lake compaction retention transactions --days 400 --dry-run")
        {
            table, days, dryRun,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var compactor = Compactor(ctx);
            if (ctx.Get(days) is { } d && d <= 0) throw new InvalidInputException($"--days must be positive, not {d}.");
            // With --dry-run, --days is previewed and the table is left as it is; without, it becomes the policy first.
            if (ctx.Get(days) is { } policy && !ctx.Get(dryRun)) await compactor.SetRetentionPolicyAsync(ctx.Get(table), policy, ct);
            var result = await compactor.ApplyRetentionAsync(ctx.Get(table), new RetentionOptions
            {
                DryRun = ctx.Get(dryRun),
                Days = ctx.Get(dryRun) ? ctx.Get(days) : null,
            }, ct);
            CompactionRender.Retention(ctx, result);
            return 0;
        });
        return command;
    }

    private static Command RestorePointList()
    {
        var table = TableArgument();
        var command = new Command("restore-points", "List a table's restore points (made by compact --backup); restore with `storage restore TABLE --restore-point NAME`.\n\nExample:\n  ecap data-lake compaction restore-points transactions")
        {
            table,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            CompactionRender.RestorePoints(ctx, await Compactor(ctx).ListRestorePointsAsync(ctx.Get(table), ct));
            return 0;
        });
        return command;
    }
}
