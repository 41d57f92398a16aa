namespace Ecap.Cli.Tests;

/// <summary>
/// A committed data file that was replaced by something else or deleted: every read path says so in one line naming the
/// file (no .NET stack trace without --verbose), and exits 1.
/// </summary>
public sealed class DamagedDataFileCommandTests : IDisposable
{
    private readonly TempDir _dir = new();
    private string Lake => _dir.Sub("lake");

    public void Dispose() => _dir.Dispose();

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", Lake, .. args]);

    private string WriteTable()
    {
        var source = _dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "2000", "--days", "2", "--out", source, "--seed", "4").ExitCode);
        var write = Ecap("data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.True(write.ExitCode == 0, write.Stderr);
        return Directory.GetFiles(Path.Combine(Lake, "tx"), "*.parquet", SearchOption.AllDirectories).Order().First();
    }

    private static void AssertOneClearLine(EcapProcess.Result r, string expected)
    {
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(expected, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.DoesNotContain("Unhandled exception", r.Stderr);
    }

    [Fact]
    public void A_data_file_that_is_not_parquet_is_named_in_one_line_by_read_export_and_sql()
    {
        var file = WriteTable();
        File.WriteAllText(file, "this is not a parquet file");
        var name = Path.GetFileName(file);
        AssertOneClearLine(Ecap("data-lake", "storage", "read", "tx", "--limit", "3"), "is not a readable Parquet file");
        AssertOneClearLine(Ecap("data-lake", "storage", "read", "tx", "--out", _dir.Sub("x.csv")), name);
        Assert.False(File.Exists(_dir.Sub("x.csv")));
        AssertOneClearLine(Ecap("data-lake", "query", "SELECT count(*) FROM tx"), "Table 'tx' (version 0) cannot be read");
        Assert.Contains("hint: the file named above is damaged or missing", Ecap("data-lake", "storage", "read", "tx").Stderr);
    }

    [Fact]
    public void An_empty_commit_is_named_and_the_hint_does_not_send_you_to_a_command_that_fails_too()
    {
        WriteTable();
        File.WriteAllText(Path.Combine(Lake, "tx", "_delta_log", $"{1:D20}.json"), "");
        var read = Ecap("data-lake", "storage", "read", "tx", "--limit", "1");
        AssertOneClearLine(read, "00000000000000000001.json");
        Assert.DoesNotContain("storage history", read.Stderr);
        Assert.Equal(0, Ecap("data-lake", "storage", "read", "tx", "--version", "0", "--limit", "1").ExitCode); // the hint's way out works
    }

    [Fact]
    public void A_missing_data_file_is_named_in_one_line_by_read_and_sql()
    {
        var file = WriteTable();
        File.Delete(file);
        AssertOneClearLine(Ecap("data-lake", "storage", "read", "tx", "--limit", "3"), "is missing");
        AssertOneClearLine(Ecap("data-lake", "query", "SELECT count(*) FROM tx"), "cannot be read");
    }
}
