using Ecap.DataLake.Parquet.Encryption;

namespace Ecap.Cli.Tests;

/// <summary>`storage write --encrypt-*` and `--region` end to end: keys from ECAP_KEY_FILE, region from ECAP_LAKE_REGION.</summary>
public sealed class EncryptionCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private EcapProcess.Result Ecap(Dictionary<string, string> env, params string[] args) =>
        EcapProcess.RunWithEnvironment(env, ["--lake", _dir.Sub("lake"), .. args]);

    [Fact]
    public void An_encrypted_table_reads_with_the_key_file_and_fails_clearly_without()
    {
        var keys = _dir.Sub("keys.json");
        LocalKeyFileProvider.Create(keys, "k1", "pii");
        var source = _dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "300", "--days", "2", "--out", source, "--seed", "3").ExitCode);
        var withKeys = new Dictionary<string, string> { ["ECAP_KEY_FILE"] = keys, ["ECAP_LAKE_REGION"] = "eu-west-1" };

        var write = Ecap(withKeys, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source,
            "--encrypt-footer-key", "k1", "--encrypt-column", "amount:pii", "--no-encrypted-column-stats", "--region", "eu-west-1");
        Assert.True(write.ExitCode == 0, write.Stderr);

        var info = Ecap(withKeys, "--output", "json", "data-lake", "storage", "info", "tx");
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Equal(300, info.Json().GetProperty("record_count").GetInt64());
        var read = Ecap(withKeys, "--output", "json", "data-lake", "storage", "read", "tx", "--columns", "amount");
        Assert.True(read.ExitCode == 0, read.Stderr);
        Assert.Equal(300, read.Json().GetArrayLength());

        var noKeys = Ecap(new Dictionary<string, string> { ["ECAP_KEY_FILE"] = "" }, "data-lake", "storage", "read", "tx");
        Assert.Equal(1, noKeys.ExitCode);
        Assert.Contains("encryption key 'k1'", noKeys.Stderr);
        Assert.Contains("hint:", noKeys.Stderr);

        // The table must stay in eu-west-1: a lake declared elsewhere refuses the write.
        var elsewhere = Ecap(new Dictionary<string, string> { ["ECAP_KEY_FILE"] = keys, ["ECAP_LAKE_REGION"] = "us-east-1" },
            "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.Equal(1, elsewhere.ExitCode);
        Assert.Contains("must stay in region eu-west-1", elsewhere.Stderr);
    }
}
