using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Ecap.Cli.Tests;

/// <summary>
/// The audit trail survives `kill -9`: writers, ingestions and compactions are killed at random points and right after their
/// table commit (the moment the commit file appears), then `audit reconcile` runs, and every committed version of every
/// table has exactly one audit record, naming the principal that made it. ECAP_AUDIT_CRASH_ROUNDS raises the number of kills.
/// </summary>
public sealed class AuditCrashTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    private string Lake => _dir.Sub("lake");

    public void Dispose() => _dir.Dispose();

    private static int Kills => int.TryParse(Environment.GetEnvironmentVariable("ECAP_AUDIT_CRASH_ROUNDS"), out var n) && n >= 50 ? n : 50;

    private EcapProcess.Result As(string principal, params string[] args) =>
        EcapProcess.RunWithEnvironment(new Dictionary<string, string> { ["ECAP_PRINCIPAL"] = principal }, ["--lake", Lake, .. args]);

    private string Csv(int round, int rows)
    {
        var path = _dir.Sub($"in-{round}.csv");
        var text = new StringBuilder("transaction_id,timestamp,amount,status\n");
        for (var i = 0; i < rows; i++)
            text.Append(CultureInfo.InvariantCulture, $"{round * 100_000 + i},2026-08-{1 + i % 3:D2}T12:00:00Z,{i % 500}.25,completed\n");
        File.WriteAllText(path, text.ToString());
        return path;
    }

    private static int CommitCount(string table)
    {
        var log = Path.Combine(table, "_delta_log");
        try { return Directory.Exists(log) ? Directory.GetFiles(log, "*.json").Length : 0; }
        catch (DirectoryNotFoundException) { return 0; }
    }

    [Fact]
    public void Every_committed_version_has_exactly_one_audit_record_naming_its_principal_after_kills()
    {
        Assert.Equal(0, EcapProcess.Run("--lake", Lake, "data-lake", "access", "identity", "set", "env").ExitCode);
        var source = _dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "4000", "--days", "3", "--out", source, "--seed", "1").ExitCode);
        var first = As("p-setup", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, As("p-setup", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source).ExitCode);
        var fullMs = (int)clock.ElapsedMilliseconds;

        var random = new Random(23);
        int atCommit = 0, killed = 0;
        // Until enough processes were killed (some finish before their kill: they count as clean runs).
        for (var round = 0; killed < Kills && round < Kills * 3; round++)
        {
            var principal = $"p{round}";
            var (table, args) = (round % 3) switch
            {
                0 => ("tx", new[] { "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source }),
                1 => ("ing", new[] { "data-lake", "ingestion", "files", "ing", "--data-type", "transactions", "--path", Csv(round, 300) }),
                _ => ("tx", new[] { "data-lake", "compaction", "compact", "tx" }),
            };
            var log = Path.Combine(Lake, table);
            var before = CommitCount(log);
            var killOnCommit = round % 2 == 0;
            using var process = EcapProcess.StartWithEnvironment(new Dictionary<string, string> { ["ECAP_PRINCIPAL"] = principal }, ["--lake", Lake, .. args]);
            var deadline = Stopwatch.StartNew();
            var delay = random.Next(fullMs / 20, fullMs + 1);
            while (!process.HasExited)
            {
                if (killOnCommit ? CommitCount(log) > before : deadline.ElapsedMilliseconds >= delay)
                {
                    try
                    {
                        process.Kill(entireProcessTree: true);
                        killed++;
                        if (killOnCommit) atCommit++;
                    }
                    catch (InvalidOperationException) { /* it exited on its own */ }
                    break;
                }
                if (deadline.Elapsed > TimeSpan.FromMinutes(2)) throw new TimeoutException($"round {round} did not finish");
                Thread.Sleep(killOnCommit ? 1 : 5);
            }
            process.WaitForExit();
        }
        Assert.True(killed >= Kills, $"only {killed} processes were killed in {Kills * 3} rounds");
        Assert.True(atCommit >= 20, $"only {atCommit} kills landed right after a commit");

        // The reconciler adds the records the killed processes never wrote.
        var reconcile = As("p-admin", "--output", "json", "data-lake", "audit", "reconcile", "--grace-minutes", "0");
        Assert.True(reconcile.ExitCode == 0, reconcile.Stderr);
        var recoveredNow = reconcile.Json().GetProperty("records_recovered").GetInt32();
        Assert.True(recoveredNow > 0, "no kill landed between a commit and its audit record: the test did not test the crash it is about");

        var audit = As("p-admin", "--output", "json", "data-lake", "audit", "--limit", "0");
        Assert.True(audit.ExitCode == 0, audit.Stderr);
        var records = audit.Json().EnumerateArray().Where(r => r.GetProperty("audit_id").ValueKind == JsonValueKind.String)
            .GroupBy(r => r.GetProperty("audit_id").GetString()!).ToDictionary(g => g.Key, g => g.ToList());
        var versions = 0;
        foreach (var table in Directory.GetDirectories(Lake).Where(d => !Path.GetFileName(d).StartsWith('_') && Directory.Exists(Path.Combine(d, "_delta_log"))))
            foreach (var commit in Directory.GetFiles(Path.Combine(table, "_delta_log"), "*.json"))
            {
                versions++;
                var info = JsonDocument.Parse(File.ReadLines(commit).First(l => l.StartsWith("{\"commitInfo\"", StringComparison.Ordinal))).RootElement.GetProperty("commitInfo");
                var attribution = info.GetProperty("ecapAudit");
                var id = attribution.GetProperty("id").GetString()!;
                Assert.True(records.TryGetValue(id, out var forId), $"{commit}: no audit record for audit id {id}");
                var record = Assert.Single(forId);
                Assert.Equal(attribution.GetProperty("principal").GetString(), record.GetProperty("principal").GetString());
                Assert.Equal(info.GetProperty("userName").GetString(), record.GetProperty("principal").GetString());
            }
        Assert.True(versions > 10, $"only {versions} versions were committed");
        output.WriteLine($"{killed} kills ({atCommit} right after a commit), {versions} versions, {recoveredNow} records recovered");

        // Every table still reads at its last committed version, and a second reconcile finds nothing.
        foreach (var table in new[] { "tx", "ing" })
            Assert.Equal(0, As("p-admin", "data-lake", "storage", "info", table).ExitCode);
        Assert.Equal(0, As("p-admin", "--output", "json", "data-lake", "audit", "reconcile", "--grace-minutes", "0").Json().GetProperty("records_recovered").GetInt32());
    }
}
