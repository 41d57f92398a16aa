using System.CommandLine;
using Ecap.Cli.Commands;

namespace Ecap.Cli;

/// <summary>The command tree: <c>ecap data-lake &lt;group&gt; &lt;command&gt;</c>.</summary>
internal static class EcapCommand
{
    public static RootCommand Build()
    {
        var root = new RootCommand("ecap: e-commerce data lake storage on Delta Lake tables.\n\nExample:\n  ecap data-lake demo --lake ./data-lake");
        root.Add(GlobalOptions.Lake);
        root.Add(GlobalOptions.Output);
        root.Add(GlobalOptions.Verbose);
        root.Add(GlobalOptions.S3Endpoint);
        root.Add(GlobalOptions.S3Region);
        root.Add(GlobalOptions.S3PathStyle);
        root.Add(GlobalOptions.S3Compat);
        root.Add(GlobalOptions.CommitCoordinator);
        root.Add(GlobalOptions.Catalog);
        root.Add(GlobalOptions.Metrics);
        // --version: the version and the commit it was built from (InformationalVersion is "0.1.0+<git sha>").
        foreach (var option in root.Options)
            if (option is VersionOption) option.Action = new VersionAction();

        var dataLake = new Command("data-lake", "Store, read and maintain the lake's Delta tables.");
        dataLake.Add(StorageCommands.Build());
        dataLake.Add(IngestionCommands.Build());
        dataLake.Add(GenerateCommand.Build());
        dataLake.Add(DemoCommand.Build());
        dataLake.Add(CatalogCommands.Build());
        dataLake.Add(QueryCommand.Build());
        dataLake.Add(MonitorCommand.Build());
        dataLake.Add(CompactionCommands.Build());
        dataLake.Add(AccessCommands.Build());
        dataLake.Add(AccessCommands.Audit());
        dataLake.Add(QualityCommands.Build());
        dataLake.Add(DevCommands.Build());
        dataLake.Add(DoctorCommand.Build());
        dataLake.Add(ServeCommand.Build());
        root.Add(dataLake);
        return root;
    }

    /// <summary>"ecap 0.1.0 (commit 44385b8...)": what `ecap --version` prints.</summary>
    public static string VersionLine()
    {
        var informational = typeof(EcapCommand).Assembly
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.0.0";
        var plus = informational.IndexOf('+');
        return plus < 0 ? $"ecap {informational} (commit unknown)" : $"ecap {informational[..plus]} (commit {informational[(plus + 1)..]})";
    }

    private sealed class VersionAction : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(VersionLine());
            return 0;
        }
    }
}
