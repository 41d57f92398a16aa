using System.Diagnostics;

namespace Ecap.Cli.Tests;

/// <summary>
/// A write onto a full disk (a real 512 KiB tmpfs, so the native Parquet writer meets ENOSPC itself): one clear line, exit 1,
/// nothing committed and no half-written file left. Needs root to mount the tmpfs (CI runs as root).
/// </summary>
public sealed class DiskFullCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _mount;

    public DiskFullCommandTests()
    {
        _mount = _dir.Sub("tiny");
        Directory.CreateDirectory(_mount);
        var mount = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", _mount]) { RedirectStandardError = true })!;
        mount.WaitForExit();
        Assert.True(mount.ExitCode == 0, "mounting a tmpfs needs root: " + mount.StandardError.ReadToEnd());
    }

    public void Dispose()
    {
        Process.Start("umount", ["-l", _mount])!.WaitForExit();
        _dir.Dispose();
    }

    [Fact]
    public void A_write_onto_a_full_disk_says_so_in_one_line_and_commits_nothing()
    {
        var source = _dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "60000", "--days", "2", "--out", source, "--seed", "1").ExitCode);
        var lake = Path.Combine(_mount, "lake");
        var r = EcapProcess.Run("--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("No space left on device while writing", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        var table = Path.Combine(lake, "tx");
        Assert.False(Directory.Exists(Path.Combine(table, "_delta_log")) && Directory.GetFiles(Path.Combine(table, "_delta_log"), "*.json").Length > 0);
        Assert.Empty(Directory.Exists(table) ? Directory.GetFiles(table, "*.parquet", SearchOption.AllDirectories) : []);
    }
}
