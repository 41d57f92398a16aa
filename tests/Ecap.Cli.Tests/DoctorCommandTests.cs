using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Ecap.Cli.Tests;

/// <summary>`ecap --version` names the version and the commit; `ecap data-lake doctor` checks the machine, one line per check.</summary>
public sealed class DoctorCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Version_prints_the_version_of_Directory_Build_props_and_a_commit_of_this_repository()
    {
        var r = EcapProcess.Run("--version");
        Assert.Equal(0, r.ExitCode);
        var match = Regex.Match(r.Stdout.Trim(), @"^ecap (\S+) \(commit ([0-9a-f]{40})\)$");
        Assert.True(match.Success, r.Stdout);
        var props = File.ReadAllText(Path.Combine(RepoPaths.Root, "Directory.Build.props"));
        Assert.Equal(Regex.Match(props, "<Version>([^<]+)</Version>").Groups[1].Value, match.Groups[1].Value);
        // The commit is one git knows (the build's HEAD; HEAD itself may have moved on since the build).
        var git = Process.Start(new ProcessStartInfo("git", ["-C", RepoPaths.Root, "cat-file", "-t", match.Groups[2].Value]) { RedirectStandardOutput = true })!;
        var type = git.StandardOutput.ReadToEnd().Trim();
        git.WaitForExit();
        Assert.Equal("commit", type);
    }

    [Fact]
    public void Doctor_passes_on_a_local_lake_one_line_per_check_and_leaves_no_probe_object()
    {
        var lake = _dir.Sub("lake");
        Directory.CreateDirectory(lake);
        var r = EcapProcess.Run("--lake", lake, "data-lake", "doctor");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var lines = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["native ParquetSharp", "native DuckDB", "native librdkafka", "lake", "catalog"],
            lines.Select(l => Regex.Match(l, @"^ok   (.+?)\s{2,}").Groups[1].Value.Trim()));
        Assert.Contains("probe object written, read back, deleted", r.Stdout);
        Assert.Empty(Directory.EnumerateFileSystemEntries(lake));

        var json = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "doctor");
        Assert.Equal(0, json.ExitCode);
        var root = json.Json();
        Assert.True(root.GetProperty("ok").GetBoolean());
        Assert.All(root.GetProperty("checks").EnumerateArray(), c => Assert.True(c.GetProperty("ok").GetBoolean(), c.ToString()));
        Assert.Contains(root.GetProperty("checks").EnumerateArray(), c => c.GetProperty("detail").GetString()!.StartsWith("loaded (DuckDB v", StringComparison.Ordinal));
    }

    [Fact]
    public void Doctor_creates_no_lake_that_does_not_exist_and_fails_with_exit_1_on_a_lake_that_is_a_file()
    {
        var missing = _dir.Sub("not-yet");
        var r = EcapProcess.Run("--lake", missing, "data-lake", "doctor");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Contains("does not exist yet", r.Stdout);
        Assert.False(Directory.Exists(missing));
        Assert.Empty(Directory.EnumerateFiles(_dir.Path, ".ecap-doctor-*"));

        var file = _dir.Sub("a-file");
        File.WriteAllText(file, "not a lake");
        var bad = EcapProcess.Run("--lake", file, "data-lake", "doctor");
        Assert.Equal(1, bad.ExitCode);
        Assert.Matches(@"(?m)^FAIL lake\s+.*is a file, not a folder", bad.Stdout);
        Assert.Matches(@"(?m)^ok   native DuckDB", bad.Stdout);
    }
}
