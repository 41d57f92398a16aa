namespace Ecap.Cli.Tests;

/// <summary>Eight `ecap storage write` processes appending at once to a table that does not exist yet: all land.</summary>
public sealed class ConcurrentCreateCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Eight_processes_creating_one_table_at_once_all_commit_and_no_row_is_lost()
    {
        var lake = _dir.Sub("lake");
        var sources = Enumerable.Range(0, 8).Select(i => _dir.Sub($"tx{i}.parquet")).ToList();
        for (var i = 0; i < sources.Count; i++)
            Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "500", "--days", "2", "--out", sources[i], "--seed", (i + 1).ToString()).ExitCode);

        var runs = await Task.WhenAll(sources.Select(s => Task.Run(() =>
            EcapProcess.Run("--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", s, "--mode", "append"))));
        foreach (var r in runs) Assert.True(r.ExitCode == 0, r.Stderr);

        var versions = Directory.GetFiles(Path.Combine(lake, "tx", "_delta_log"), "*.json").Select(Path.GetFileNameWithoutExtension).Select(v => long.Parse(v!)).Order();
        Assert.Equal(Enumerable.Range(0, 8).Select(i => (long)i), versions);
        using var duck = new DuckDbReader();
        var expected = Convert.ToInt64(duck.Scalar($"SELECT count(*) FROM read_parquet([{string.Join(",", sources.Select(s => $"'{s}'"))}])"));
        var info = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "info", "tx");
        Assert.True(info.ExitCode == 0, info.Stderr);
        Assert.Equal(expected, info.Json().GetProperty("record_count").GetInt64());
    }
}
