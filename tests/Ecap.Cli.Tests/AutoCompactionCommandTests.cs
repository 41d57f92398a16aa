using System.Diagnostics;
using System.Text.Json;

namespace Ecap.Cli.Tests;

/// <summary>
/// Auto-compaction across processes: a write whose commit leaves a partition with minNumFiles small files compacts it in
/// the same process after its commit; appends and auto-compactions of other processes meanwhile all land exactly once
/// (the paused compaction loses the race), and a process killed during its auto-compaction leaves the table as its commit left it.
/// </summary>
public class AutoCompactionCommandTests : IClassFixture<AutoCompactionCommandTests.Sources>
{
    /// <summary>A base lake: five one-day appends of 200k rows (small files) with auto-compaction off, then turned on at 6 files.</summary>
    public sealed class Sources : IDisposable
    {
        public TempDir Dir { get; } = new();
        public string Medium => Dir.Sub("medium.parquet");
        public string Small => Dir.Sub("small.parquet");
        public string BaseLake => Dir.Sub("base-lake");

        public Sources()
        {
            Run("data-lake", "generate", "transactions", "--rows", "200000", "--days", "1", "--out", Medium, "--seed", "1");
            Run("data-lake", "generate", "transactions", "--rows", "3000", "--days", "1", "--out", Small, "--seed", "2");
            for (var i = 0; i < 5; i++)
                Run("--lake", BaseLake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", Medium, "--auto-compact", "false");
            Run("--lake", BaseLake, "data-lake", "storage", "alter", "tx", "--set-property", "delta.autoOptimize.autoCompact=true",
                "--set-property", "ecap.autoCompact.minNumFiles=6");
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

    public AutoCompactionCommandTests(Sources sources) => _sources = sources;

    private string Lake => _dir.Sub("lake");

    private string TableDir => Path.Combine(Lake, "tx");

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", Lake, .. args]);

    private static List<string> Commits(string tableDir) => Directory.GetFiles(Path.Combine(tableDir, "_delta_log"), "*.json").Order(StringComparer.Ordinal).ToList();

    /// <summary>The live data files, replayed from the JSON commits by this test (independently of ecap).</summary>
    private static List<string> LiveFiles(string tableDir)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var commit in Commits(tableDir))
            foreach (var line in File.ReadLines(commit))
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("add", out var add)) live.Add(Uri.UnescapeDataString(add.GetProperty("path").GetString()!));
                if (doc.RootElement.TryGetProperty("remove", out var remove)) live.Remove(Uri.UnescapeDataString(remove.GetProperty("path").GetString()!));
            }
        return live.Select(p => Path.Combine(tableDir, p)).Order(StringComparer.Ordinal).ToList();
    }

    // The same source is appended several times, so a row counted twice (two compactions of the same files both
    // committed) shows as a count above what was appended.
    private static long DuckCount(string tableDir)
    {
        using var duck = new DuckDbReader();
        return Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet({DuckDbReader.FileList(LiveFiles(tableDir))}, hive_partitioning = false)"));
    }

    private static List<string> DataFiles(string tableDir) =>
        Directory.GetFiles(tableDir, "*.parquet", SearchOption.AllDirectories).Where(f => !f.Contains("_delta_log")).ToList();

    private static void Signal(Process process, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>
    /// Starts the sixth append (its commit makes six small files) and returns once the write has committed and its
    /// auto-compaction has begun writing its output (a data file that no commit names).
    /// </summary>
    private Process StartAppendAndWaitForItsAutoCompaction()
    {
        var commitsBefore = Commits(TableDir).Count;
        var process = EcapProcess.Start("--lake", Lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _sources.Medium);
        var clock = Stopwatch.StartNew();
        while (!process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            if (Commits(TableDir).Count > commitsBefore && DataFiles(TableDir).Except(LiveFiles(TableDir)).Any()) break;
            Thread.Sleep(5);
        }
        Assert.False(process.HasExited, "the append and its auto-compaction finished before the test could act mid-way");
        return process;
    }

    [Fact]
    public void Properties_are_set_validated_and_shown_by_info()
    {
        TempDir.CopyDirectory(_sources.BaseLake, Lake);
        var unknown = Ecap("data-lake", "storage", "alter", "tx", "--set-property", "delta.autoOptimize.autoCompat=true");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("delta.autoOptimize.autoCompat is not one this library honours", unknown.Stderr);
        Assert.DoesNotContain("   at ", unknown.Stderr);
        Assert.Equal(2, Ecap("data-lake", "storage", "alter", "tx", "--set-property", "ecap.autoCompact.minNumFiles=0").ExitCode);
        Assert.Equal(2, Ecap("data-lake", "storage", "alter", "tx", "--set-property", "novalue").ExitCode);

        var info = Ecap("--output", "json", "data-lake", "storage", "info", "tx");
        Assert.True(info.ExitCode == 0, info.Stderr);
        var auto = info.Json().GetProperty("auto_compaction");
        Assert.True(auto.GetProperty("enabled").GetBoolean());
        Assert.Equal(6, auto.GetProperty("min_num_files").GetInt32());
        Assert.Equal(JsonValueKind.Null, auto.GetProperty("last_run_at").ValueKind);
        Assert.Contains("never ran", Ecap("data-lake", "storage", "info", "tx").Stdout);

        // The sixth append compacts; info and monitor say when.
        var write = Ecap("--output", "json", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _sources.Small);
        Assert.True(write.ExitCode == 0, write.Stderr);
        Assert.Single(LiveFiles(TableDir));
        Assert.Equal(1_003_000L, DuckCount(TableDir));
        auto = Ecap("--output", "json", "data-lake", "storage", "info", "tx").Json().GetProperty("auto_compaction");
        Assert.Equal("compacted", auto.GetProperty("last_outcome").GetString());
        Assert.Equal(6, auto.GetProperty("last_files_removed").GetInt32());
        Assert.Equal(write.Json().GetProperty("version").GetInt64() + 1, auto.GetProperty("last_compacted_version").GetInt64());
        var monitor = Ecap("--output", "json", "data-lake", "monitor").Json();
        var table = monitor.GetProperty("tables").EnumerateArray().Single();
        Assert.True(table.GetProperty("auto_compact").GetBoolean());
        Assert.Equal("compacted", table.GetProperty("last_auto_compaction").GetProperty("outcome").GetString());

        // Off again: the next appends leave their files alone.
        Assert.Equal(0, Ecap("data-lake", "storage", "alter", "tx", "--set-property", "delta.autoOptimize.autoCompact=false").ExitCode);
        Assert.Contains("auto-compaction", Ecap("data-lake", "storage", "info", "tx").Stdout);
    }

    [Fact]
    public async Task Appends_and_auto_compactions_of_other_processes_during_an_auto_compaction_all_land_once()
    {
        TempDir.CopyDirectory(_sources.BaseLake, Lake);
        using var first = StartAppendAndWaitForItsAutoCompaction();
        // Paused mid-compaction while two other processes append: each of their commits leaves >= 6 small files, so
        // they compact too and commit first; the paused one then finds its inputs gone and gives up (nothing twice).
        Signal(first, "STOP");
        try
        {
            var appends = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
                Ecap("data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _sources.Small))).ToArray();
            foreach (var r in await Task.WhenAll(appends)) Assert.True(r.ExitCode == 0, r.Stderr);
        }
        finally
        {
            Signal(first, "CONT");
        }
        Assert.True(first.WaitForExit(TimeSpan.FromMinutes(3)));
        Assert.Equal(0, first.ExitCode);

        // 5 + 1 appends of 200k rows and 2 of 3k: every row once.
        Assert.Equal(1_206_000L, DuckCount(TableDir));
        var history = Ecap("--output", "json", "data-lake", "storage", "history", "tx").Json().EnumerateArray().ToList();
        Assert.Equal(8, history.Count(h => h.GetProperty("operation").GetString() is not ("OPTIMIZE" or "SET TBLPROPERTIES")));
        Assert.Contains(history, h => h.GetProperty("operation").GetString() == "OPTIMIZE"
                                      && h.GetProperty("parameters").GetProperty("auto").GetString() == "true");
        Assert.True(LiveFiles(TableDir).Count < 8, $"{LiveFiles(TableDir).Count} live files");
    }

    [Fact]
    public void The_daemon_once_compacts_by_the_tables_properties_and_monitor_shows_its_heartbeat()
    {
        TempDir.CopyDirectory(_sources.BaseLake, Lake);
        Assert.Equal(2, Ecap("data-lake", "compaction", "daemon", "--once", "--interval", "soon").ExitCode);
        var run = Ecap("--output", "json", "data-lake", "compaction", "daemon", "--once", "--daemon-id", "d1");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var table = run.Json().GetProperty("tables").EnumerateArray().Single();
        Assert.Equal("tx", table.GetProperty("table").GetString());
        Assert.Equal("compacted", table.GetProperty("compaction").GetString());
        Assert.Equal(5, table.GetProperty("files_removed").GetInt32());
        Assert.Single(LiveFiles(TableDir));
        Assert.Equal(1_000_000L, DuckCount(TableDir));

        var daemon = Ecap("--output", "json", "data-lake", "monitor").Json().GetProperty("compaction_daemons").EnumerateArray().Single();
        Assert.Equal("d1", daemon.GetProperty("daemon_id").GetString());
        Assert.Equal("stopped", daemon.GetProperty("state").GetString());
        Assert.Equal(1, daemon.GetProperty("passes_completed").GetInt32());
        Assert.Equal(1, daemon.GetProperty("last_pass_compacted").GetInt32());
        Assert.Contains("compaction daemons", Ecap("data-lake", "monitor", "--once").Stdout);
    }

    [Fact]
    public void Tier_on_a_local_folder_plans_in_a_dry_run_and_otherwise_says_the_store_has_no_classes()
    {
        TempDir.CopyDirectory(_sources.BaseLake, Lake);
        // The generated day is 2026-08-01 (generate's default start): older than 30 days from 2026-09 on.
        var dry = Ecap("--output", "json", "data-lake", "compaction", "tier", "tx", "--cold-after-days", "30", "--dry-run");
        Assert.True(dry.ExitCode == 0, dry.Stderr);
        var plan = dry.Json();
        Assert.Equal(5, plan.GetProperty("files_cold").GetInt32());
        Assert.False(plan.GetProperty("supported").GetBoolean());
        Assert.Equal("STANDARD_IA", plan.GetProperty("storage_class").GetString());
        var refused = Ecap("data-lake", "compaction", "tier", "tx", "--cold-after-days", "30");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("a local folder", refused.Stderr);
        Assert.Contains("tiering needs S3", refused.Stderr);
        Assert.Equal(2, Ecap("data-lake", "compaction", "tier", "tx", "--cold-after-days", "30", "--storage-class", "DEEP_ARCHIVE", "--dry-run").ExitCode);
    }

    [Fact]
    public void A_process_killed_during_its_auto_compaction_leaves_the_table_readable_at_its_commit()
    {
        TempDir.CopyDirectory(_sources.BaseLake, Lake);
        using (var process = StartAppendAndWaitForItsAutoCompaction())
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        // The append's commit is the last version; the compaction's files were never committed.
        var live = LiveFiles(TableDir);
        Assert.Equal(6, live.Count);
        Assert.Equal(1_200_000L, DuckCount(TableDir));
        var info = Ecap("--output", "json", "data-lake", "storage", "info", "tx");
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Equal(1_200_000, info.Json().GetProperty("record_count").GetInt64());
        Assert.NotEmpty(DataFiles(TableDir).Except(live)); // the killed compaction's leftovers, for vacuum

        // The next append compacts: the table goes on as if nothing happened.
        Assert.Equal(0, Ecap("data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", _sources.Small).ExitCode);
        Assert.Single(LiveFiles(TableDir));
        Assert.Equal(1_203_000L, DuckCount(TableDir));
    }
}
