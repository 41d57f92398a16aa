using System.CommandLine;
using Ecap.Cli.Output;
using Ecap.DataLake;
using Ecap.DataLake.Azure;
using Ecap.DataLake.Lineage;
using Ecap.DataLake.Postgres;
using Ecap.DataLake.Postgres.Catalog;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Storage.S3;
using Spectre.Console;

namespace Ecap.Cli;

/// <summary>
/// Runs a command body with the shared context and turns failures into a message on stderr,
/// a hint, and a non-zero exit code (1: the operation failed, 2: bad input; `ingestion files --fail-on-dead-letters`
/// returns 3 itself for a run that completed with dead letters).
/// </summary>
internal static class CommandRunner
{
    public static void SetCliAction(this Command command, Func<CliContext, CancellationToken, Task<int>> body) =>
        command.SetAction(async (parse, ct) =>
        {
            var context = new CliContext(parse);
            ConsoleWidth.Apply(AnsiConsole.Console, Console.IsOutputRedirected);
            ConsoleWidth.Apply(context.Status, Console.IsErrorRedirected);
            try
            {
                try { return await body(context, ct); }
                finally { await context.DisposeAsync(); } // flushes the OpenLineage events still queued
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine("cancelled");
                return 130;
            }
            catch (Exception e) when (e is DataLakeException or IOException or UnauthorizedAccessException)
            {
                var (code, hint) = Hint(e);
                Console.Error.WriteLine($"error: {e.Message}");
                if (hint != null) Console.Error.WriteLine($"hint: {hint}");
                if (context.Verbose) Console.Error.WriteLine(e.ToString());
                return code;
            }
            // Anything else is a failure this program did not foresee (a bug, or a native library's error): still one line
            // for people, the stack trace with --verbose.
            catch (Exception e)
            {
                Console.Error.WriteLine($"error: {e.Message.Split('\n')[0].Trim()} ({e.GetType().Name})");
                Console.Error.WriteLine(context.Verbose ? e.ToString() : "hint: this was not expected; rerun with --verbose for the details and report it.");
                return 1;
            }
        });

    /// <summary>Parse errors as usage errors: each on one line naming the option and the expected type, then a hint; exit 2.</summary>
    public static int ReportParseErrors(ParseResult parse)
    {
        foreach (var error in parse.Errors)
            Console.Error.WriteLine($"error: {System.Text.RegularExpressions.Regex.Replace(error.Message, @"as expected type '([^']+)'", m => "as " + TypeName(m.Groups[1].Value))}");
        var names = new List<string>();
        for (var r = parse.CommandResult; r is not null; r = r.Parent as System.CommandLine.Parsing.CommandResult) names.Add(r.Command.Name);
        names.Reverse();
        var command = string.Join(' ', names.Skip(1));
        Console.Error.WriteLine($"hint: `ecap {command} --help` lists the options, their types and an example.");
        return 2;
    }

    // System.CommandLine names the CLR type (System.Nullable`1[System.Int64]); people read "an integer".
    private static string TypeName(string clr)
    {
        var type = System.Text.RegularExpressions.Regex.Match(clr, @"System\.(\w+)\]?$").Groups[1].Value;
        return type switch
        {
            "Int16" or "Int32" or "Int64" or "UInt16" or "UInt32" or "UInt64" or "Byte" => "an integer",
            "Double" or "Single" or "Decimal" => "a number",
            "Boolean" => "true or false",
            "DateTime" or "DateTimeOffset" => "a date/time (ISO 8601)",
            "TimeSpan" => "a duration",
            _ => $"'{clr}'",
        };
    }

    private static (int Code, string? Hint) Hint(Exception e) => e switch
    {
        Ecap.DataLake.Security.AccessDeniedException => (1, "ask a table or lake admin (`ecap data-lake access show --table T` lists them) for the grant."),
        Ecap.DataLake.Security.AuthenticationFailedException => (1, "`ecap data-lake access identity show` tells how this lake identifies callers (os-user, env, or oidc with ECAP_TOKEN)."),
        Ecap.DataLake.Security.AuditFailedException => (1, "the lake's _ecap/audit folder could not be written; fix it before continuing (the message says whether the operation completed)."),
        Ecap.DataLake.Delta.ConstraintViolationException => (2, "fix the rows named above, or see the table's constraints with `ecap data-lake quality check TABLE`."),
        Ecap.DataLake.Parquet.Encryption.EncryptionKeyMissingException => (1, "point ECAP_KEY_FILE at the key file (JSON {\"keyId\": \"base64 key\"}) or set ECAP_KEY_<ID>."),
        Ecap.DataLake.Residency.ResidencyViolationException => (1, "write from a lake in the table's region (set ECAP_LAKE_REGION to the region the lake's storage is in)."),
        CommitValidationException => (1, "the commit breaks a rule of the table (see the message); nothing was written."),
        TableNotFoundException => (1, "list the lake's tables with `ecap data-lake storage list-tables --lake PATH`."),
        // The schema hint only where a schema option helps: the input's columns differ from the table's.
        SchemaMismatchException when e.Message.StartsWith("The input does not match the table's schema", StringComparison.Ordinal) =>
            (2, "use --merge-schema to add new columns, or --mode overwrite with --overwrite-schema to replace the schema."),
        SchemaMismatchException when e.Message.StartsWith("Time column", StringComparison.Ordinal) =>
            (2, "the data type's time column drives its partitions: rename the source column, or pick the data type that matches the data."),
        SchemaMismatchException => (2, "check the column named above against the data (`ecap data-lake storage info TABLE` shows the table's schema)."),
        ConcurrentModificationException => (1, "another writer changed the table; run the command again."),
        UnsupportedProtocolException => (1, "the table needs a newer Delta reader/writer than this version of ecap."),
        StoreNotConfiguredException => (2, "for s3:// lakes on servers without conditional writes, pass --commit-coordinator jdbc:postgresql://host/db (or 'single-writer'); see README \"Lakes on S3\"."),
        CorruptTableException => (1, "the file named above is damaged or missing; earlier versions may still read (`storage read TABLE --version N`)."),
        InvalidPathException when e.Message.StartsWith("Data file path", StringComparison.Ordinal) =>
            (1, "the table's log names a data file outside the table's folder; ecap reads only the table's own files."),
        InvalidPathException => (2, "table names are folder names: letters, digits, '_', '-', '.'."),
        InvalidInputException => (2, "see --help for the command's options and an example."),
        FileNotFoundException or DirectoryNotFoundException => (2, "check the path."),
        _ => (1, null),
    };
}

/// <summary>What every command body needs: parsed values, the global options, an output writer.</summary>
internal sealed class CliContext(ParseResult parse) : IAsyncDisposable
{
    public ParseResult Parse { get; } = parse;
    public string Lake => Parse.GetValue(GlobalOptions.Lake)!;
    public OutputFormat Output => Parse.GetValue(GlobalOptions.Output);
    public bool Verbose => Parse.GetValue(GlobalOptions.Verbose);
    public string? Catalog => Parse.GetValue(GlobalOptions.Catalog);
    public bool Json => Output == OutputFormat.Json;
    public T Get<T>(Option<T> option) => Parse.GetValue(option)!;

    private Ecap.DataLake.DataLake? _lake;

    /// <summary>S3 settings from the global options, the environment filling what they leave unset.</summary>
    public S3StoreOptions S3Options => new S3StoreOptions
    {
        Endpoint = Parse.GetValue(GlobalOptions.S3Endpoint),
        Region = Parse.GetValue(GlobalOptions.S3Region),
        PathStyle = Parse.GetValue(GlobalOptions.S3PathStyle),
        Compat = Parse.GetValue(GlobalOptions.S3Compat),
        CommitCoordinatorSetting = Parse.GetValue(GlobalOptions.CommitCoordinator),
    }.WithEnvironmentDefaults();

    /// <summary>
    /// The lake of this command, built once (so S3 capabilities are probed once): --lake's store with the S3 options and
    /// commit coordinator, the --catalog store, the lake's grants and audit; every commit keeps the catalog current, and a
    /// catalog that cannot be updated is a warning, never a failed write.
    /// </summary>
    public Ecap.DataLake.DataLake OpenDataLake() => _lake ??= BuildLake(b => b);

    /// <summary>The lake of this command, with more settings of the command's own (<c>serve</c>: each request's identity claims).</summary>
    public Ecap.DataLake.DataLake OpenDataLake(Func<DataLakeBuilder, DataLakeBuilder> configure) => _lake ??= BuildLake(configure);

    /// <summary>Disposes the lake if the command built one (its last lineage events go out).</summary>
    public ValueTask DisposeAsync() => _lake?.DisposeAsync() ?? ValueTask.CompletedTask;

    // Commands that only read: a lake folder that does not exist is an error for them (a typo in --lake), and they must not
    // create it, nor its _ecap/audit folder; only writes create a lake. Keyed "parent command".
    private static readonly HashSet<string> ReadCommands = new(StringComparer.Ordinal)
    {
        "storage list-tables", "storage info", "storage history", "storage read", "compaction analyze", "compaction restore-points",
        "quality check", "access show", "access whoami", "data-lake audit", "catalog list-tables", "catalog search", "catalog show",
        "data-lake query", "data-lake monitor", "data-lake serve", "ingestion stream-status", "identity show",
    };

    private bool IsReadCommand =>
        ReadCommands.Contains($"{(Parse.CommandResult.Parent as System.CommandLine.Parsing.CommandResult)?.Command.Name} {Parse.CommandResult.Command.Name}");

    // Checked before the lake is built, so nothing (store, catalog, audit) touches the folder first. True when a read
    // command reads a folder that holds nothing of a lake.
    private bool EnsureReadable()
    {
        if (!IsReadCommand) return false;
        var root = LocalFolderOf(Lake); // null for object stores: a missing bucket fails on its own, and creates nothing
        if (root is not null && !Directory.Exists(root))
            throw new DirectoryNotFoundException($"The lake '{Lake}' does not exist (no folder {Path.GetFullPath(root)}); reads need an existing lake, only writes create one.");
        return root is not null && !IsLakeFolder(root);
    }

    /// <summary>The folder of a local lake (a path or file:// URI); null for object stores.</summary>
    public static string? LocalFolderOf(string lake) => ObjectStoreRegistry.SchemeOf(lake) switch
    {
        null => lake,
        var scheme when scheme.Equals("file", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(lake, UriKind.Absolute, out var uri) => uri.LocalPath,
        _ => null,
    };

    // A folder is a lake once ecap (or another engine) put something of a lake in it: its catalog, its _ecap folder, a table.
    private static bool IsLakeFolder(string root) =>
        Directory.Exists(Path.Combine(root, "_catalog")) || Directory.Exists(Path.Combine(root, "_ecap")) ||
        Directory.EnumerateDirectories(root).Any(d => Directory.Exists(Path.Combine(d, "_delta_log")));

    private Ecap.DataLake.DataLake BuildLake(Func<DataLakeBuilder, DataLakeBuilder> configure)
    {
        var readsAFolderThatIsNoLake = EnsureReadable();
        var remote = ObjectStoreFactory.IsS3(Lake) || (Catalog is { } c && ObjectStoreFactory.IsS3(c));
        var s3 = remote ? PostgresCommitCoordinator.Resolve(S3Options) : S3Options;
        if (Verbose && remote)
        {
            // Never the credentials: only where the store is and how commits are made safe.
            var coordinator = s3.CommitCoordinator?.Display ?? (s3.SingleWriter ? "single writer declared" : "none (conditional writes required)");
            Status.MarkupLine(Markup.Escape(
                $"s3 store {Lake}: endpoint {s3.Endpoint ?? "AWS"}, region {s3.Region ?? "us-east-1"}, path-style {s3.PathStyle}, compat {s3.Compat}, commit coordinator {coordinator}"));
        }
        if (Verbose && (AzureObjectStores.IsAzure(Lake) || (Catalog is { } ac && AzureObjectStores.IsAzure(ac))))
        {
            // Which credential kind and endpoint, never the key, SAS or connection string.
            var azure = AzureStoreOptions.FromEnvironment();
            Status.MarkupLine(Markup.Escape(
                $"azure store {Lake}: credential {azure.CredentialKind}, endpoint {azure.BlobEndpoint ?? (azure.ConnectionString is null ? "the account's" : "from the connection string")}"));
        }
        var builder = configure(new DataLakeBuilder(Lake).UseAzure());
        // A read of a folder that holds nothing of a lake (--lake /etc): nothing to govern, and its audit must not create
        // an _ecap folder there. It reads as an empty lake.
        if (readsAFolderThatIsNoLake) builder.Unguarded();
        return builder
            .UseS3(s3)
            .UseCatalogSetting(Catalog)
            .UseGuardOptions(new LakeGuardOptions
            {
                // The data is committed: exit as succeeded, say that the record comes later (never a retry that writes twice).
                OnAuditDeferred = (record, e) => Status.MarkupLine(
                    $"[yellow]warning:[/] {Markup.Escape(record.Operation)} committed, but its audit record could not be written ({Markup.Escape(e.Message)}); " +
                    "its commits name the principal, and `ecap data-lake audit reconcile` adds the record."),
            })
            // OPENLINEAGE_URL (or a file transport) sends a run per write, ingestion, change, compaction and export; a backend
            // that is down is a warning, never a failed command.
            .UseOpenLineage(LineageFromEnvironment() is { } lineage ? lineage with
            {
                OnSendFailure = (message, _) => Status.MarkupLine($"[yellow]warning:[/] {Markup.Escape(message)}."),
            } : new OpenLineageOptions())
            .ConfigureStorage(o => o with
            {
                PostCommitHookFailed = (table, e) => Status.MarkupLine($"[yellow]warning:[/] catalog not updated for '{Markup.Escape(table)}': {Markup.Escape(e.Message)}"),
            })
            .Build();
    }

    // A lineage setting that makes no sense is a warning: lineage is never the reason a command fails.
    private OpenLineageOptions? LineageFromEnvironment()
    {
        try { return OpenLineageOptions.FromEnvironment(); }
        catch (InvalidInputException e)
        {
            Status.MarkupLine($"[yellow]warning:[/] {Markup.Escape(e.Message)} No OpenLineage events are sent.");
            return null;
        }
    }

    /// <summary>The lake's store (a folder or S3).</summary>
    public IObjectStore OpenLake() => OpenDataLake().Store;

    /// <summary>Opens any location (a table registered elsewhere, a --catalog folder) with the lake's store settings.</summary>
    public IObjectStore OpenStore(string location) => OpenDataLake().OpenLocation(location);

    public T Get<T>(Argument<T> argument) => Parse.GetValue(argument)!;

    /// <summary>Progress and notes for people: to stderr, so stdout stays clean for data.</summary>
    public IAnsiConsole Status { get; } = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
}
