using Ecap.DataLake.Tables;

namespace Ecap.Cli.Tests;

/// <summary>`--output json --stats` on read and query: the pruning figures in the JSON, checked against the table's files.</summary>
public sealed class PruningStatsCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Read_and_query_report_files_considered_and_read_for_a_one_day_filter()
    {
        var lake = _dir.Sub("lake");
        var source = _dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "5000", "--days", "5", "--out", source, "--seed", "6").ExitCode);
        Assert.Equal(0, EcapProcess.Run("--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source).ExitCode);
        var snapshot = await new DataLakeStorage(lake).OpenTable("tx").GetSnapshotAsync();
        var dayOne = snapshot.Files.Where(f => f.PartitionValues["day"] == "1").ToList();
        Assert.NotEmpty(dayOne);

        var read = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "read", "tx", "--partition-filter", "day=1", "--stats");
        Assert.True(read.ExitCode == 0, read.Stderr);
        var json = read.Json();
        var rows = json.GetProperty("rows").GetArrayLength();
        var stats = json.GetProperty("stats");
        Assert.Equal(snapshot.Files.Count, stats.GetProperty("files_total").GetInt32());
        Assert.Equal(dayOne.Count, stats.GetProperty("files_read").GetInt32());
        Assert.Equal(snapshot.Files.Count - dayOne.Count, stats.GetProperty("files_pruned_by_partition").GetInt32());
        Assert.Equal(5, stats.GetProperty("partitions_total").GetInt32());
        Assert.Equal(4, stats.GetProperty("partitions_pruned").GetInt32());
        Assert.Equal(rows, stats.GetProperty("rows_returned").GetInt64());
        // Bytes of the column chunks read: some, and no more than the day's files hold.
        Assert.InRange(stats.GetProperty("bytes_scanned").GetInt64(), 1, dayOne.Sum(f => f.Size));

        var query = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "query", "SELECT count(*) AS n, sum(amount) AS s FROM tx WHERE day = 1", "--stats");
        Assert.True(query.ExitCode == 0, query.Stderr);
        var q = query.Json();
        Assert.Equal(rows, q.GetProperty("rows")[0].GetProperty("n").GetInt64());
        var qs = q.GetProperty("stats");
        Assert.Equal(["tx"], qs.GetProperty("tables").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(snapshot.Files.Count, qs.GetProperty("files_considered").GetInt32());
        Assert.Equal(dayOne.Count, qs.GetProperty("files_read").GetInt32());
        Assert.Equal(snapshot.Files.Count - dayOne.Count, qs.GetProperty("files_pruned").GetInt32());
        Assert.Equal(dayOne.Sum(f => f.Size), qs.GetProperty("bytes_scanned").GetInt64());

        // Without --stats the JSON stays the documented bare array.
        var plain = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "query", "SELECT 1 AS one");
        Assert.Equal(System.Text.Json.JsonValueKind.Array, plain.Json().ValueKind);
    }
}
