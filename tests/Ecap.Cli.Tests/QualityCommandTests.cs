namespace Ecap.Cli.Tests;

/// <summary>`quality add-constraint|drop-constraint|check` end to end, and a write refused by a constraint.</summary>
public sealed class QualityCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private EcapProcess.Result Ecap(params string[] args) => EcapProcess.Run(["--lake", _dir.Sub("lake"), .. args]);

    [Fact]
    public void Constraints_are_added_checked_enforced_and_dropped()
    {
        var all = _dir.Sub("all.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "2000", "--days", "2", "--out", all, "--seed", "3").ExitCode);
        // A table of the cheap transactions only.
        Assert.Equal(0, Ecap("data-lake", "storage", "write", "full", "--data-type", "transactions", "--source-path", all).ExitCode);
        var cheap = _dir.Sub("cheap.parquet");
        Assert.Equal(0, Ecap("data-lake", "storage", "read", "full", "--where", "amount < 100", "--out", cheap).ExitCode);
        Assert.Equal(0, Ecap("data-lake", "storage", "write", "cheap", "--data-type", "transactions", "--source-path", cheap).ExitCode);

        var add = Ecap("--output", "json", "data-lake", "quality", "add-constraint", "cheap", "--name", "under_100", "--check", "amount < 100");
        Assert.True(add.ExitCode == 0, add.Stderr);
        Assert.Equal("amount < 100", add.Json()[0].GetProperty("expression").GetString());
        Assert.Equal(0, Ecap("data-lake", "quality", "add-constraint", "cheap", "--name", "id", "--not-null", "transaction_id").ExitCode);

        // Existing data that breaks a new constraint: refused as bad input.
        var refused = Ecap("data-lake", "quality", "add-constraint", "full", "--name", "under_100", "--check", "amount < 100");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("existing rows violate it", refused.Stderr);

        // Writing every transaction into the constrained table is refused and leaves it as it was.
        var write = Ecap("data-lake", "storage", "write", "cheap", "--data-type", "transactions", "--source-path", all);
        Assert.Equal(2, write.ExitCode);
        Assert.Contains("violate constraint under_100 (amount < 100)", write.Stderr);

        var check = Ecap("--output", "json", "data-lake", "quality", "check", "cheap");
        Assert.True(check.ExitCode == 0, check.Stderr);
        var results = check.Json().EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        var rows = Ecap("--output", "json", "data-lake", "storage", "info", "cheap").Json().GetProperty("record_count").GetInt64();
        Assert.All(results, r => Assert.Equal((rows, 0L), (r.GetProperty("rows_checked").GetInt64(), r.GetProperty("rows_failed").GetInt64())));

        var drop = Ecap("--output", "json", "data-lake", "quality", "drop-constraint", "cheap", "--name", "under_100");
        Assert.True(drop.ExitCode == 0, drop.Stderr);
        Assert.Equal("id", drop.Json().EnumerateArray().Single().GetProperty("name").GetString());
        Assert.Equal(0, Ecap("data-lake", "storage", "write", "cheap", "--data-type", "transactions", "--source-path", all).ExitCode);
    }
}
