namespace Ecap.TestSupport;

/// <summary>Locations inside the repository, found by walking up from the test binaries to the solution file.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The read-only Spark-written golden tables (a copy of ../shared/conformance/delta-golden).</summary>
    public static string GoldenTables => Path.Combine(Root, "tests", "conformance", "delta-golden");

    public static string Golden(string table) => Path.Combine(GoldenTables, table);

    /// <summary>Small public data files of the npm package vega-datasets (see LICENSE.md there).</summary>
    public static string VegaDataset(string file) => Path.Combine(Root, "tests", "data", "vega-datasets", file);

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "EcapDataLake.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Cannot find EcapDataLake.slnx above " + AppContext.BaseDirectory);
    }
}
