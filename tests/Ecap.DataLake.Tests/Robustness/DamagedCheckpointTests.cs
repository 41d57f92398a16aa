using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tests.Robustness;

/// <summary>A checkpoint named by _last_checkpoint that did not finish writing: the table loads from the commits instead.</summary>
public class DamagedCheckpointTests
{
    private const string Table = "basic-with-inserts-deletes-checkpoint";
    private const string Checkpoint = "00000000000000000010.checkpoint.parquet";

    private static async Task<(Snapshot Snapshot, int Rows)> LoadAsync(string dir)
    {
        var table = new DeltaTable(new LocalObjectStore(dir));
        var snapshot = await table.GetSnapshotAsync();
        return (snapshot, DeltaTestRows(table, snapshot));
    }

    private static int DeltaTestRows(DeltaTable table, Snapshot snapshot) => Delta.DeltaTestHelpers.ReadRows(table, snapshot).Count;

    [Fact]
    public async Task A_checkpoint_cut_short_but_still_valid_parquet_is_ignored_and_the_commits_rebuild_the_table()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyGolden(Table);
        var path = Path.Combine(dir, "_delta_log", Checkpoint);
        // The writer died after its first actions; the part it wrote is a well-formed Parquet file of fewer rows.
        Apache.Arrow.RecordBatch first;
        Apache.Arrow.Schema schema;
        using (var reader = new ParquetSharp.Arrow.FileReader(path))
        {
            schema = reader.Schema;
            using var batches = reader.GetRecordBatchReader();
            first = (await batches.ReadNextRecordBatchAsync())!.Slice(0, 5);
        }
        var cut = path + ".cut";
        using (var writer = new ParquetSharp.Arrow.FileWriter(cut, schema))
        {
            writer.WriteRecordBatch(first);
            writer.Close();
        }
        File.Move(cut, path, overwrite: true);

        var (snapshot, rows) = await LoadAsync(dir);
        Assert.Equal(41, rows); // the Spark table's rows (EXPECTED.md), not the few files of the cut checkpoint
        Assert.Null(snapshot.LoadInfo.CheckpointVersion);
    }

    [Fact]
    public async Task A_truncated_checkpoint_falls_back_to_the_commits()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyGolden(Table);
        var path = Path.Combine(dir, "_delta_log", Checkpoint);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var (snapshot, rows) = await LoadAsync(dir);
        Assert.Equal(41, rows);
        Assert.Null(snapshot.LoadInfo.CheckpointVersion);
    }

    [Fact]
    public async Task A_truncated_checkpoint_with_no_commits_to_fall_back_on_is_a_clear_corrupt_table_error()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyGolden(Table);
        var path = Path.Combine(dir, "_delta_log", Checkpoint);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        for (var v = 0; v < 10; v++) File.Delete(Path.Combine(dir, "_delta_log", $"{v:D20}.json")); // log cleanup removed them
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => LoadAsync(dir));
        Assert.Contains(Checkpoint, e.Message);
    }
}
