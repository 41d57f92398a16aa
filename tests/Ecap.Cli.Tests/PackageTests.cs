using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;

namespace Ecap.Cli.Tests;

/// <summary>
/// The packages as a user gets them: `dotnet pack` into a local feed (once: it is the slow part), the packed files checked
/// (natives of each platform, ReadyToRun code, README, licence, symbols), the README's library quickstart built as a
/// console project against Ecap.DataLake from that feed and run, and the tool installed from the feed and run.
/// Offline apart from the package mirror: the consumer's dependencies come from the machine's NuGet cache, Ecap.DataLake
/// from the local feed into a private packages folder (a unique version, so no earlier pack is picked up).
/// </summary>
public sealed class PackageTests : IDisposable
{
    private static readonly TimeSpan Slow = TimeSpan.FromMinutes(15);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    // The tool's platforms and the native files each must hold (ParquetSharp, DuckDB, librdkafka).
    private static readonly Dictionary<string, string[]> Natives = new()
    {
        ["linux-x64"] = ["ParquetSharpNative.so", "libduckdb.so", "librdkafka.so"],
        ["linux-arm64"] = ["ParquetSharpNative.so", "libduckdb.so", "librdkafka.so"],
        ["osx-arm64"] = ["ParquetSharpNative.dylib", "libduckdb.dylib", "librdkafka.dylib"],
        ["win-x64"] = ["ParquetSharpNative.dll", "duckdb.dll", "librdkafka.dll"],
    };

    private static readonly string[] Libraries = ["Ecap.DataLake", "Ecap.DataLake.Azure", "Ecap.DataLake.Kafka", "Ecap.DataLake.Postgres", "Ecap.DataLake.Query", "Ecap.DataLake.Server"];

    [Fact]
    public void Packs_the_tool_and_libraries_then_a_consumer_of_the_feed_and_the_installed_tool_run()
    {
        var props = File.ReadAllText(Path.Combine(RepoPaths.Root, "Directory.Build.props"));
        var baseVersion = Regex.Match(props, "<Version>([^<]+)</Version>").Groups[1].Value;
        // .ci/run packs once before the tests (the same commands as here) and hands the feed over; otherwise pack here.
        var feed = Environment.GetEnvironmentVariable("ECAP_PACK_FEED") ?? "";
        var version = Environment.GetEnvironmentVariable("ECAP_PACK_VERSION") ?? "";
        if (!Directory.Exists(feed) || !version.StartsWith(baseVersion + "-", StringComparison.Ordinal))
        {
            version = $"{baseVersion}-test.{DateTime.UtcNow:yyyyMMddHHmmss}";
            feed = _dir.Sub("feed");
            // Own bin/obj (artifacts): the Debug outputs the other CLI tests run stay untouched.
            var artifacts = _dir.Sub("artifacts");
            foreach (var project in new[] { "Ecap.Cli" }.Concat(Libraries))
                Run("dotnet", ["pack", Path.Combine(RepoPaths.Root, "src", project, project + ".csproj"), "-c", "Release", "-o", feed,
                    "--artifacts-path", artifacts, $"-p:Version={version}"], RepoPaths.Root);
        }

        CheckPackedFiles(feed, version);

        // The README's quickstart, verbatim, as a console project on the packages.
        var consumer = _dir.Sub("consumer");
        Directory.CreateDirectory(consumer);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), ReadmeQuickstart());
        var globalPackages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env
            ? env : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(consumer, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <RestorePackagesPath>{_dir.Sub("packages")}</RestorePackagesPath>
                <RestoreFallbackFolders>{globalPackages}</RestoreFallbackFolders>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Ecap.DataLake" Version="{version}" />
              </ItemGroup>
            </Project>
            """);
        // The local feed next to the machine's usual sources (no <clear/>).
        File.WriteAllText(Path.Combine(consumer, "NuGet.Config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="ecap-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        Run("dotnet", ["build", consumer, "-c", "Release"], consumer);
        var lake = _dir.Sub("lake");
        var output = Run("dotnet", [Path.Combine(consumer, "bin", "Release", "net10.0", "Consumer.dll"), lake], consumer);
        var printed = Regex.Match(output, @"wrote (\d+) rows \(version 0\); read (\d+) rows of days 1-2 from (\d+) of (\d+) files");
        Assert.True(printed.Success, output);
        Assert.Equal("10000", printed.Groups[1].Value);
        Assert.True(long.Parse(printed.Groups[3].Value) < long.Parse(printed.Groups[4].Value), "the day filter pruned no file: " + output);
        Assert.Contains(Path.Combine("ecap.datalake", version), Directory.GetDirectories(_dir.Sub("packages"), "*", SearchOption.AllDirectories)
            .Select(d => Path.GetRelativePath(_dir.Sub("packages"), d)));
        // DuckDB, an independent reader, over the table's Parquet files (one append: all of them are live).
        using (var duck = new DuckDbReader())
        {
            var files = $"read_parquet('{Path.Combine(lake, "transactions")}/**/*.parquet', hive_partitioning = true)";
            Assert.Equal(10_000L, Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM {files}")));
            Assert.Equal(long.Parse(printed.Groups[2].Value), Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM {files} WHERE day IN (1, 2)")));
        }

        // The tool, installed from the feed as a user does; its platform package holds the natives it loads.
        var tools = _dir.Sub("tools");
        Run("dotnet", ["tool", "install", "ecap", "--tool-path", tools, "--add-source", feed, "--version", version], _dir.Path);
        var ecap = Path.Combine(tools, OperatingSystem.IsWindows() ? "ecap.exe" : "ecap");
        Assert.Matches($@"^ecap {Regex.Escape(version)} \(commit [0-9a-f]{{40}}\)$", Run(ecap, ["--version"], _dir.Path).Trim());
        Assert.Contains("transactions", Run(ecap, ["data-lake", "storage", "list-tables", "--lake", lake, "--output", "json"], _dir.Path));
        var doctor = Run(ecap, ["data-lake", "doctor", "--lake", lake], _dir.Path);
        Assert.Matches(@"(?m)^ok   native ParquetSharp", doctor);
        Assert.Matches(@"(?m)^ok   native DuckDB", doctor);
        Assert.Matches(@"(?m)^ok   native librdkafka", doctor);
    }

    private static void CheckPackedFiles(string feed, string version)
    {
        foreach (var library in Libraries)
        {
            using var package = ZipFile.OpenRead(Path.Combine(feed, $"{library}.{version}.nupkg"));
            CheckMetadata(package, library, version);
            Assert.NotNull(package.GetEntry($"lib/net10.0/{library}.dll"));
            using var symbols = ZipFile.OpenRead(Path.Combine(feed, $"{library}.{version}.snupkg"));
            Assert.NotNull(symbols.GetEntry($"lib/net10.0/{library}.pdb"));
        }
        using (var core = ZipFile.OpenRead(Path.Combine(feed, $"Ecap.DataLake.{version}.nupkg")))
        {
            // The core's natives come with its ParquetSharp dependency (which holds every platform's), not copied in.
            Assert.Contains("<dependency id=\"ParquetSharp\"", Nuspec(core, "Ecap.DataLake"));
        }
        using (var tool = ZipFile.OpenRead(Path.Combine(feed, $"ecap.{version}.nupkg")))
        {
            CheckMetadata(tool, "ecap", version);
            var settings = new StreamReader(tool.GetEntry("tools/any/any/DotnetToolSettings.xml")!.Open()).ReadToEnd();
            foreach (var rid in Natives.Keys) Assert.Contains($"RuntimeIdentifier=\"{rid}\"", settings);
        }
        foreach (var (rid, natives) in Natives)
        {
            using var package = ZipFile.OpenRead(Path.Combine(feed, $"ecap.{rid}.{version}.nupkg"));
            CheckMetadata(package, $"ecap.{rid}", version);
            var folder = $"tools/net10.0/{rid}/";
            foreach (var native in natives)
                Assert.True(package.GetEntry(folder + native) is { Length: > 1_000_000 }, $"{native} missing or empty in ecap.{rid}");
            Assert.NotNull(package.GetEntry(folder + (rid.StartsWith("win", StringComparison.Ordinal) ? "ecap.exe" : "ecap")));
            // ReadyToRun: the assemblies carry precompiled code for their platform (less JIT at startup).
            foreach (var assembly in new[] { "ecap.dll", "Ecap.DataLake.dll", "System.CommandLine.dll" })
            {
                using var copy = new MemoryStream();
                using (var entry = package.GetEntry(folder + assembly)!.Open()) entry.CopyTo(copy);
                copy.Position = 0;
                using var pe = new PEReader(copy);
                Assert.True(pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, $"{assembly} of ecap.{rid} is not ReadyToRun");
            }
            using var symbols = ZipFile.OpenRead(Path.Combine(feed, $"ecap.{rid}.{version}.snupkg"));
            Assert.NotNull(symbols.GetEntry(folder + "ecap.pdb"));
        }
    }

    private static void CheckMetadata(ZipArchive package, string id, string version)
    {
        var nuspec = Nuspec(package, id);
        Assert.Contains($"<version>{version}</version>", nuspec);
        Assert.Contains("<license type=\"expression\">MIT</license>", nuspec);
        Assert.Contains("<readme>README.md</readme>", nuspec);
        Assert.Contains("<repository type=\"git\"", nuspec);
        Assert.Contains("## Install", new StreamReader(package.GetEntry("README.md")!.Open()).ReadToEnd());
    }

    private static string Nuspec(ZipArchive package, string id) =>
        new StreamReader(package.GetEntry($"{id}.nuspec")!.Open()).ReadToEnd();

    /// <summary>The first csharp block after the README's "### Quickstart" heading.</summary>
    private static string ReadmeQuickstart()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var match = Regex.Match(readme, @"### Quickstart: a console app on the packages\n.*?```csharp\n(.*?)```", RegexOptions.Singleline);
        Assert.True(match.Success, "README has no library quickstart");
        return match.Groups[1].Value;
    }

    private static string Run(string file, string[] args, string workingDirectory)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        // The test host's own MSBuild settings stay out of the child builds.
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase) && k != "MSBUILDDISABLENODEREUSE").ToList())
            psi.Environment.Remove(name);
        psi.Environment.Remove("ECAP_LAKE");
        psi.Environment.Remove("ECAP_CATALOG");
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Slow))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in {Slow}");
        }
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)} exited {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        return stdout.Result;
    }
}
