using System.Diagnostics;
using System.Text.Json;

namespace Ecap.Cli.Tests;

/// <summary>
/// The compaction commands as processes: JSON output, restore points, and the two things only separate
/// processes show: appends committed by another process while a compaction runs are all kept, and a
/// compaction killed mid-way leaves the table readable with its rows, its leftovers cleaned by vacuum.
/// </summary>
public class CompactionCommandTests : IClassFixture<CompactionCommandTests.Sources>
{
    /// <summary>Generated inputs and a base lake (three large one-day appends: a compaction of seconds), made once.</summary>
    public sealed class Sources : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Big => Dir.Sub("big.parquet");
        public string Small => Dir.Sub("small.parquet");
        public string BaseLake => Dir.Sub("base-lake");

        public Sources()
        {
            Run("data-lake", "generate", "transactions", "--rows", "1000000", "--days", "1", "--out", Big, "--seed", "1");
            Run("data-lake", "generate", "transactions", "--rows", "3000", "--days", "1", "--out", Small, "--seed", "2");
            for (var i = 0; i < 3; i++)
                Run("--lake", BaseLake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", Big);
        }

        private static void Run(params string[] args)
        {
            var r = EcapProcess.Run(args);
            Assert.True(r.ExitCode == 0, r.Stderr);
        }

        public void Dispose() => Dir.Dispose();
    }

    private readonly Sources _sources;
    private readonly TempDir _dir = new();

    public CompactionCommandTests(Sources sources) => _sources = sources;

    private string Lake => _dir.Sub("lake");

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", Lake, .. args]);

    private void CopyBaseLake() => TempDir.CopyDirectory(_sources.BaseLake, Lake);

    /// <summary>The live data files of a table, replayed from its JSON commits by this test (independently of ecap).</summary>
    private static List<string> LiveFiles(string tableDir)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var commit in Directory.GetFiles(Path.Combine(tableDir, "_delta_log"), "*.json").Order(StringComparer.Ordinal))
            foreach (var line in File.ReadLines(commit))
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("add", out var add)) live.Add(Uri.UnescapeDataString(add.GetProperty("path").GetString()!));
                if (doc.RootElement.TryGetProperty("remove", out var remove)) live.Remove(Uri.UnescapeDataString(remove.GetProperty("path").GetString()!));
            }
        return live.Select(p => Path.Combine(tableDir, p)).ToList();
    }

    private static long DuckCount(string tableDir)
    {
        using var duck = new DuckDbReader();
        return Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet({DuckDbReader.FileList(LiveFiles(tableDir))}, hive_partitioning = false)"));
    }

    private static List<string> DataFiles(string tableDir) =>
        Directory.GetFiles(tableDir, "*.parquet", SearchOption.AllDirectories).Where(f => !f.Contains("_delta_log")).ToList();

    /// <summary>Sends a signal (STOP, CONT) to a process through kill(1).</summary>
    private static void Signal(Process process, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Starts a compaction process and returns once it has begun writing its first output file.</summary>
    private (Process Process, Task<string> Stdout) StartCompactionAndWaitForItsFirstFile(string tableDir)
    {
        var before = DataFiles(tableDir).ToHashSet();
        var (process, stdout) = EcapProcess.StartCapturing("--lake", Lake, "--output", "json", "data-lake", "compaction", "compact", "tx",
            "--target-file-size", "512", "--commit", "per-table");
        var clock = Stopwatch.StartNew();
        while (!process.HasExited && DataFiles(tableDir).All(before.Contains) && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(10);
        Assert.False(process.HasExited, "the compaction finished before the test could act mid-way");
        return (process, stdout);
    }

    [Fact]
    public void Analyze_compact_with_backup_vacuum_and_restore_point_as_json()
    {
        for (var i = 0; i < 4; i++) Assert.Equal(0, Ecap("data-lake", "storage", "write", "small", "--data-type", "transactions", "--source-path", _sources.Small).ExitCode);
        var tableDir = Path.Combine(Lake, "small");

        var analysis = Ecap("--output", "json", "data-lake", "compaction", "analyze", "small", "--target-file-size", "1");
        Assert.True(analysis.ExitCode == 0, analysis.Stderr);
        var a = analysis.Json();
        Assert.True(a.GetProperty("needs_compaction").GetBoolean());
        Assert.Equal(4, a.GetProperty("file_count").GetInt32());
        Assert.Equal(1, a.GetProperty("estimated_files_after").GetInt32());
        Assert.Contains("4 of 4 files are below", a.GetProperty("compaction_reason").GetString());
        Assert.Equal(6, a.GetProperty("size_histogram").GetArrayLength());

        var compact = Ecap("--output", "json", "data-lake", "compaction", "compact", "small", "--target-file-size", "1", "--backup", "--restore-point", "bp");
        Assert.True(compact.ExitCode == 0, compact.Stderr);
        var c = compact.Json();
        Assert.Equal(4, c.GetProperty("files_removed").GetInt32());
        Assert.Equal(1, c.GetProperty("files_after").GetInt32());
        Assert.Equal(12_000, c.GetProperty("rows_rewritten").GetInt64());
        Assert.Equal("bp", c.GetProperty("restore_point").GetProperty("name").GetString());
        Assert.Equal(3, c.GetProperty("restore_point").GetProperty("version").GetInt64());
        Assert.Equal(12_000, DuckCount(tableDir));
        Assert.Single(LiveFiles(tableDir));

        var history = Ecap("--output", "json", "data-lake", "storage", "history", "small", "--limit", "1").Json();
        Assert.Equal("OPTIMIZE", history[0].GetProperty("operation").GetString());

        var refused = Ecap("data-lake", "compaction", "vacuum", "small", "--retention-hours", "0");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("--force", refused.Stderr);
        var dry = Ecap("--output", "json", "data-lake", "compaction", "vacuum", "small", "--retention-hours", "0", "--force", "--dry-run").Json();
        Assert.True(dry.GetProperty("dry_run").GetBoolean());
        Assert.Equal(0, dry.GetProperty("files_deleted").GetInt32()); // the restore point keeps the 4 old files
        Assert.Equal(4, dry.GetProperty("files_kept_for_restore_points").GetInt32());

        var restore = Ecap("--output", "json", "data-lake", "storage", "restore", "small", "--restore-point", "bp");
        Assert.True(restore.ExitCode == 0, restore.Stderr);
        Assert.Equal(3, restore.Json().GetProperty("restored_version").GetInt64());
        Assert.Equal(4, LiveFiles(tableDir).Count);
        Assert.Equal(12_000, DuckCount(tableDir));
        Assert.Equal(2, Ecap("data-lake", "storage", "restore", "small", "--restore-point", "nope").ExitCode);
        Assert.Contains("Example:", Ecap("data-lake", "compaction", "compact", "--help").Stdout);

        var all = Ecap("--output", "json", "data-lake", "compaction", "optimize-all", "--min-file-count", "2", "--target-file-size", "1", "--parallel", "2");
        Assert.True(all.ExitCode == 0, all.Stderr);
        var summary = all.Json().EnumerateArray().Single();
        Assert.Equal("small", summary.GetProperty("table").GetString());
        Assert.Equal("compacted", summary.GetProperty("action").GetString());
        Assert.Equal(4, summary.GetProperty("result").GetProperty("files_removed").GetInt32());

        var zorder = Ecap("--output", "json", "data-lake", "compaction", "zorder", "small", "--columns", "customer_id,product_id", "--target-file-size", "1");
        Assert.True(zorder.ExitCode == 0, zorder.Stderr);
        Assert.Equal(12_000, zorder.Json().GetProperty("rows_rewritten").GetInt64());
        Assert.Equal(12_000, DuckCount(tableDir));
        Assert.Equal(2, Ecap("data-lake", "compaction", "zorder", "small", "--columns", "no_such_column").ExitCode);
    }

    [Fact]
    public async Task Appends_committed_by_other_processes_during_a_compaction_are_all_kept()
    {
        CopyBaseLake();
        var tableDir = Path.Combine(Lake, "tx");
        Assert.Equal(3_000_000, DuckCount(tableDir));
        var (compaction, stdout) = StartCompactionAndWaitForItsFirstFile(tableDir);
        using var _ = compaction;

        // Two appends, each its own process, while the compaction is mid-way: it is paused (SIGSTOP) after it began
        // writing its first file and resumed once both appends committed, so they land before its commit on any machine.
        Signal(compaction, "STOP");
        List<long> appendVersions;
        try
        {
            var appends = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
                Ecap("--output", "json", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _sources.Small))).ToArray();
            appendVersions = (await Task.WhenAll(appends)).Select(r =>
            {
                Assert.True(r.ExitCode == 0, r.Stderr);
                return r.Json().GetProperty("version").GetInt64();
            }).ToList();
        }
        finally
        {
            Signal(compaction, "CONT");
        }
        Assert.True(compaction.WaitForExit(TimeSpan.FromMinutes(3)));
        Assert.Equal(0, compaction.ExitCode);

        var result = JsonDocument.Parse(await stdout).RootElement;
        var compactedAt = result.GetProperty("commit_versions")[0].GetInt64();
        Assert.All(appendVersions, v => Assert.True(v < compactedAt, $"append v{v} landed after the compaction's commit v{compactedAt}"));
        Assert.Equal(3, result.GetProperty("files_removed").GetInt32());
        // Every appended row and every compacted row is live: the compaction's commit kept the appends' files.
        Assert.Equal(3_006_000, DuckCount(tableDir));
        Assert.Equal(3, LiveFiles(tableDir).Count);
    }

    [Fact]
    public void A_compaction_killed_mid_way_leaves_the_table_readable_with_its_rows_and_vacuum_removes_its_leftovers()
    {
        CopyBaseLake();
        var tableDir = Path.Combine(Lake, "tx");
        var liveBefore = LiveFiles(tableDir).Order().ToList();
        var (compaction, _) = StartCompactionAndWaitForItsFirstFile(tableDir);
        using (compaction)
        {
            compaction.Kill(entireProcessTree: true);
            compaction.WaitForExit();
        }
        var leftovers = DataFiles(tableDir).Except(liveBefore).ToList();
        Assert.NotEmpty(leftovers);
        Assert.Equal(liveBefore, LiveFiles(tableDir).Order());
        Assert.Equal(3_000_000, DuckCount(tableDir));
        var read = Ecap("--output", "json", "data-lake", "storage", "info", "tx");
        Assert.True(read.ExitCode == 0, read.Stderr);
        Assert.Equal(3_000_000, read.Json().GetProperty("record_count").GetInt64());

        var dry = Ecap("--output", "json", "data-lake", "compaction", "vacuum", "tx", "--retention-hours", "0", "--force", "--dry-run").Json();
        Assert.Equal(leftovers.Select(f => Path.GetRelativePath(tableDir, f)).Order(),
            dry.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()).Order());
        Assert.All(dry.GetProperty("files").EnumerateArray(), f => Assert.Equal("uncommitted", f.GetProperty("reason").GetString()));
        var vacuum = Ecap("--output", "json", "data-lake", "compaction", "vacuum", "tx", "--retention-hours", "0", "--force");
        Assert.True(vacuum.ExitCode == 0, vacuum.Stderr);
        Assert.Equal(liveBefore, DataFiles(tableDir).Order());
        Assert.Equal(3_000_000, DuckCount(tableDir));
    }
}
