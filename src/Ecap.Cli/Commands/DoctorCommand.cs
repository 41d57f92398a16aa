using System.CommandLine;
using System.Text;
using Ecap.Cli.Output;
using Ecap.DataLake;
using Ecap.DataLake.Postgres.Catalog;
using Ecap.DataLake.Storage;

namespace Ecap.Cli.Commands;

/// <summary>
/// <c>ecap data-lake doctor</c>: what this machine needs to run ecap, one line per check: the native libraries load
/// (ParquetSharp, DuckDB, librdkafka), the lake is reachable and writable (a probe object written, read back, deleted),
/// the catalog store answers, and AWS credentials resolve when the lake is on S3. Exit 1 when a check fails.
/// </summary>
internal static class DoctorCommand
{
    public static Command Build()
    {
        var command = new Command("doctor",
            "Check what ecap needs on this machine: native libraries (ParquetSharp, DuckDB, librdkafka), the lake (reachable, writable: " +
            "a probe object is written and deleted), the catalog store, and S3 credentials for an s3:// lake. One line per check; exit 1 if one fails.\n\n" +
            "Example:\n  ecap data-lake doctor --lake ./data-lake\n  ecap data-lake doctor --lake s3://bucket/lake --output json");
        command.SetCliAction(async (ctx, ct) =>
        {
            var checks = new List<DoctorCheckJson>();
            async Task Run(string name, Func<Task<string>> check)
            {
                try
                {
                    checks.Add(new DoctorCheckJson(name, true, await check()));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    checks.Add(new DoctorCheckJson(name, false, $"{e.Message.Split('\n')[0].Trim()} ({e.GetType().Name})"));
                }
            }

            await Run("native ParquetSharp", () => Task.FromResult(ParquetSharpLoads()));
            await Run("native DuckDB", () => Task.FromResult(DuckDbLoads()));
            await Run("native librdkafka", () => Task.FromResult(LibrdkafkaLoads()));
            var s3 = ObjectStoreFactory.IsS3(ctx.Lake);
            if (s3) await Run("s3 credentials", () => S3CredentialsAsync(ctx));
            await Run("lake", () => ProbeLakeAsync(ctx, ct));
            await Run("catalog", () => CatalogAsync(ctx, ct));

            if (ctx.Json)
            {
                CliJson.Write(new DoctorJson(checks.TrueForAll(c => c.Ok), checks));
            }
            else
            {
                // Plain lines (no console width wrapping): one line per check, easy to grep.
                foreach (var c in checks) Console.Out.WriteLine($"{(c.Ok ? "ok  " : "FAIL")} {c.Name,-20} {c.Detail}");
            }
            return checks.TrueForAll(c => c.Ok) ? 0 : 1;
        });
        return command;
    }

    // Each native check calls into the library the way the commands do, so a missing or unloadable native file shows here.
    private static string ParquetSharpLoads()
    {
        using var properties = new ParquetSharp.WriterPropertiesBuilder().Build();
        return $"loaded (ParquetSharp {typeof(ParquetSharp.ParquetFileWriter).Assembly.GetName().Version}, created by '{properties.CreatedBy}')";
    }

    private static string DuckDbLoads()
    {
        using var connection = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version()";
        return $"loaded (DuckDB {command.ExecuteScalar()})";
    }

    private static string LibrdkafkaLoads() => $"loaded (librdkafka {Confluent.Kafka.Library.VersionString})";

    private static async Task<string> S3CredentialsAsync(CliContext ctx)
    {
        // Where the SDK's default chain found them (environment, profile, role), never the keys themselves.
        var credentials = ctx.S3Options.Credentials ?? Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver.GetCredentials();
        var resolved = await credentials.GetCredentialsAsync();
        if (string.IsNullOrEmpty(resolved.AccessKey)) throw new InvalidInputException("the AWS credential chain gave an empty access key.");
        return $"found ({credentials.GetType().Name})";
    }

    // A probe object at the lake's root: written, read back, deleted. A local lake that does not exist yet is not written
    // to (doctor creates no lake); its nearest existing parent folder is probed instead, where the first write will create it.
    private static async Task<string> ProbeLakeAsync(CliContext ctx, CancellationToken ct)
    {
        var folder = CliContext.LocalFolderOf(ctx.Lake);
        if (folder is not null && File.Exists(folder)) throw new IOException($"The lake '{folder}' is a file, not a folder.");
        if (folder is not null && !Directory.Exists(folder))
        {
            var parent = Path.GetDirectoryName(Path.GetFullPath(folder));
            while (parent is not null && !Directory.Exists(parent))
            {
                if (File.Exists(parent)) throw new IOException($"'{parent}' is a file: the lake folder '{folder}' cannot be created under it.");
                parent = Path.GetDirectoryName(parent);
            }
            if (parent is null) throw new DirectoryNotFoundException($"No folder of '{folder}' exists.");
            var probe = Path.Combine(parent, $".ecap-doctor-{Guid.NewGuid():N}");
            await File.WriteAllTextAsync(probe, "probe", ct);
            File.Delete(probe);
            return $"{Path.GetFullPath(folder)} does not exist yet; {parent} is writable, the first write creates the lake";
        }
        var store = OpenUnguarded(ctx).Store;
        var key = $".ecap-doctor-{Guid.NewGuid():N}";
        var payload = Encoding.UTF8.GetBytes("ecap doctor probe");
        await store.WriteAsync(key, payload, ct);
        try
        {
            var back = await store.ReadAllAsync(key, ct);
            if (!back.AsSpan().SequenceEqual(payload)) throw new IOException($"The probe object {key} read back different bytes.");
        }
        finally
        {
            await store.DeleteAsync(key, ct);
        }
        if (await store.HeadAsync(key, ct) is not null) throw new IOException($"The probe object {key} is still there after its delete.");
        return $"{store.Location} reachable, writable (probe object written, read back, deleted)";
    }

    private static async Task<string> CatalogAsync(CliContext ctx, CancellationToken ct)
    {
        var folder = CliContext.LocalFolderOf(ctx.Lake);
        if (ctx.Catalog is null && folder is not null && !Directory.Exists(folder))
            return "the lake's own _catalog folder (created with the lake)";
        var tables = await OpenUnguarded(ctx).Catalog.ListTablesAsync(ct: ct);
        var where = ctx.Catalog is null ? "the lake's own _catalog folder" : PostgresCatalogStore.IsPostgresLocation(ctx.Catalog) ? "PostgreSQL" : ctx.Catalog;
        return $"{where}: {tables.Count} table(s) registered";
    }

    // Unguarded: the checks are about the stores answering, not about the caller's grants, and they write no audit record.
    private static Ecap.DataLake.DataLake OpenUnguarded(CliContext ctx) =>
        new DataLakeBuilder(ctx.Lake).Unguarded().UseS3(ctx.S3Options).UseCatalogSetting(ctx.Catalog).Build();
}

internal sealed record DoctorJson(bool Ok, IReadOnlyList<DoctorCheckJson> Checks);

internal sealed record DoctorCheckJson(string Name, bool Ok, string Detail);
