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
        root.Add(dataLake);
        return root;
    }
}
