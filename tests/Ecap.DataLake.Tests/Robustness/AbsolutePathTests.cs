using System.Text.RegularExpressions;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Robustness;

/// <summary>Absolute data paths in the log (shallow clones, some writers): read when inside the table, refused elsewhere.</summary>
public sealed class AbsolutePathTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(string Commit, string Table)> WriteAsync()
    {
        var lake = new DataLakeStorage(_dir.Sub("lake"));
        await lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 500, days: 3), "tx", DataType.Transactions);
        var table = Path.Combine(_dir.Sub("lake"), "tx");
        return (Path.Combine(table, "_delta_log", $"{0:D20}.json"), table);
    }

    private async Task<long> CountAsync()
    {
        var scan = await new DataLakeStorage(_dir.Sub("lake")).ReadPartitionedDataAsync("tx");
        long rows = 0;
        await foreach (var b in scan.ReadBatchesAsync()) using (b) rows += b.Length;
        return rows;
    }

    [Fact]
    public async Task File_uris_inside_the_table_read_like_relative_paths()
    {
        var (commit, table) = await WriteAsync();
        var text = await File.ReadAllTextAsync(commit);
        // Every add's path becomes a file:// URI of the same file (percent-encoded as a URI is).
        var absolute = Regex.Replace(text, "\"path\":\"([^\"]+)\"", m => $"\"path\":\"{new Uri(Path.Combine(table, Uri.UnescapeDataString(m.Groups[1].Value))).AbsoluteUri}\"");
        Assert.NotEqual(text, absolute);
        Assert.Contains("file:///", absolute);
        await File.WriteAllTextAsync(commit, absolute);
        Assert.Equal(500, await CountAsync());
    }

    [Fact]
    public async Task Absolute_paths_outside_the_table_are_refused_naming_the_path()
    {
        var (commit, table) = await WriteAsync();
        var outside = _dir.Sub("elsewhere.parquet");
        var first = Directory.GetFiles(table, "*.parquet", SearchOption.AllDirectories)[0];
        File.Copy(first, outside);
        var text = await File.ReadAllTextAsync(commit);
        foreach (var sneaky in new[] { new Uri(outside).AbsoluteUri, new Uri(table).AbsoluteUri + "/../elsewhere.parquet" })
        {
            await File.WriteAllTextAsync(commit, Regex.Replace(text, "\"path\":\"([^\"]+)\"", $"\"path\":\"{sneaky}\"", RegexOptions.None, TimeSpan.FromSeconds(1)));
            var e = await Assert.ThrowsAsync<InvalidPathException>(CountAsync);
            Assert.Contains("lies outside the table", e.Message);
        }
    }
}
