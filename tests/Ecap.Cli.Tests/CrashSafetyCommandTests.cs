using System.Diagnostics;
using System.Text.Json;

namespace Ecap.Cli.Tests;

/// <summary>
/// Crash safety of the table core, end to end: `ecap storage write` processes killed at random points (while
/// reading the source, writing data files, or committing) leave the table readable at its last committed version,
/// with no partial commit visible, and the next writer commits on top.
/// </summary>
public sealed class CrashSafetyCommandTests : IDisposable
{
    private const int RowsPerWrite = 60_000;
    private readonly TempDir _dir = new();
    private string Lake => _dir.Sub("lake");
    private string Source => _dir.Sub("tx.parquet");

    public void Dispose() => _dir.Dispose();

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", Lake, .. args]);

    private string[] WriteArgs => ["--lake", Lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", Source];

    [Fact]
    public void Writers_killed_at_random_points_leave_the_table_at_its_last_committed_version()
    {
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", RowsPerWrite.ToString(), "--days", "20", "--out", Source, "--seed", "5").ExitCode);
        var first = EcapProcess.Run(WriteArgs);
        Assert.True(first.ExitCode == 0, first.Stderr);

        // How long a whole write takes here, so the kills spread over the whole of one.
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, EcapProcess.Run(WriteArgs).ExitCode);
        var fullWriteMs = (int)clock.ElapsedMilliseconds;

        var random = new Random(11);
        var killedMidWay = 0;
        for (var round = 0; round < 8; round++)
        {
            using (var process = EcapProcess.Start(WriteArgs))
            {
                Thread.Sleep(random.Next(fullWriteMs / 10, fullWriteMs + 1));
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    killedMidWay++;
                }
                process.WaitForExit();
            }
            AssertReadableAtLastCommittedVersion();
        }
        Assert.True(killedMidWay > 0, "no writer was still running when killed: the test did not test a crash");

        // A writer after the crashes commits on top of whatever landed.
        var before = AssertReadableAtLastCommittedVersion();
        Assert.Equal(0, EcapProcess.Run(WriteArgs).ExitCode);
        Assert.Equal(before + 1, AssertReadableAtLastCommittedVersion());
    }

    /// <summary>Checks the table as a reader sees it and returns its version.</summary>
    private long AssertReadableAtLastCommittedVersion()
    {
        var log = Path.Combine(Lake, "tx", "_delta_log");
        var commits = Directory.GetFiles(log, "*.json").Select(Path.GetFileNameWithoutExtension).Select(v => long.Parse(v!)).Order().ToList();
        Assert.Equal(Enumerable.Range(0, commits.Count).Select(i => (long)i), commits); // no gap, no stray version
        foreach (var commit in Directory.GetFiles(log, "*.json"))
            foreach (var line in File.ReadAllLines(commit).Where(l => l.Length > 0))
                JsonDocument.Parse(line).Dispose(); // every visible commit is whole

        var info = Ecap("--output", "json", "data-lake", "storage", "info", "tx");
        Assert.True(info.ExitCode == 0, info.Stderr);
        var version = info.Json().GetProperty("version").GetInt64();
        Assert.Equal(commits[^1], version);
        // Each write is one commit of RowsPerWrite rows: any partial write would break this.
        Assert.Equal(RowsPerWrite * (version + 1), info.Json().GetProperty("record_count").GetInt64());

        // An independent reader (DuckDB over the snapshot's files) agrees.
        var count = Ecap("--output", "json", "data-lake", "query", "SELECT count(*) AS n, count(DISTINCT transaction_id) AS ids FROM tx");
        Assert.True(count.ExitCode == 0, count.Stderr);
        var row = count.Json()[0];
        Assert.Equal(RowsPerWrite * (version + 1), row.GetProperty("n").GetInt64());
        Assert.Equal(RowsPerWrite, row.GetProperty("ids").GetInt64()); // the same source each time: ids repeat, none lost
        return version;
    }
}
