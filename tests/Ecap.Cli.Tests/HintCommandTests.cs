namespace Ecap.Cli.Tests;

/// <summary>Hints fit the error: a schema option is suggested only when the input's columns differ from the table's.</summary>
public sealed class HintCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_missing_time_column_gets_a_time_column_hint_and_a_new_column_the_schema_hint()
    {
        var lake = _dir.Sub("lake");
        var noTime = _dir.Sub("no-time.csv");
        File.WriteAllText(noTime, "transaction_id,amount,status\n1,1.5,paid\n");
        var r = EcapProcess.Run("--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", noTime);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("Time column 'timestamp'", r.Stderr);
        Assert.DoesNotContain("--merge-schema", r.Stderr);
        Assert.Contains("hint: the data type's time column", r.Stderr);

        var good = _dir.Sub("good.csv");
        File.WriteAllText(good, "transaction_id,timestamp,amount,status\n1,2026-08-01T12:00:00Z,1.5,paid\n");
        Assert.Equal(0, EcapProcess.Run("--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", good).ExitCode);
        var extra = _dir.Sub("extra.csv");
        File.WriteAllText(extra, "transaction_id,timestamp,amount,status,coupon\n2,2026-08-01T13:00:00Z,2.5,paid,X1\n");
        var widened = EcapProcess.Run("--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", extra);
        Assert.Equal(2, widened.ExitCode);
        Assert.Contains("--merge-schema", widened.Stderr);
    }
}
