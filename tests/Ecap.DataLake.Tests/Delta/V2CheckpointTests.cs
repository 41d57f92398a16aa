using System.Text;
using System.Text.Json;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.TestSupport;
using Xunit;
using static Ecap.DataLake.Tests.Delta.DeltaTestHelpers;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>
/// V2 checkpoints (PROTOCOL.md "V2 Spec", "Sidecar Files"): the Spark-written conformance table, JSON V2 checkpoints made
/// from its sidecars, and V2 checkpoints ecap writes for tables with the v2Checkpoint feature, read back by a fresh instance
/// and checked with DuckDB reading the checkpoint and sidecar files.
/// </summary>
public class V2CheckpointTests
{
    private static string Modern(string table) => Path.Combine(RepoPaths.Root, "tests", "conformance", "delta-modern", table);

    private const string SparkCheckpoint = "00000000000000000002.checkpoint.e8fa2696-9728-4e9c-b285-634743fdd4fb.parquet";

    private static readonly string[] SparkSidecars =
    [
        "00000000000000000002.checkpoint.0000000001.0000000002.055454d8-329c-4e0e-864d-7f867075af33.parquet",
        "00000000000000000002.checkpoint.0000000002.0000000002.33321cc1-9c55-4d1f-8511-fafe6d2e1133.parquet",
    ];

    private static string Lit(string path) => "'" + path.Replace("'", "''") + "'";

    /// <summary>The expected rows of the conformance table, as DuckDB reads Spark's expected Parquet files.</summary>
    private static List<long> ExpectedIds()
    {
        using var duck = new DuckDbReader();
        return duck.Rows($"SELECT id FROM read_parquet({Lit(Path.Combine(Modern("v2-checkpoint-parquet"), "expected", "*.parquet"))})")
            .Select(r => Convert.ToInt64(r[0])).Order().ToList();
    }

    /// <summary>The ids of a table (a folder under <paramref name="lakeDir"/>) read through the library's TableScan batches.</summary>
    private static async Task<List<long>> ScanIdsAsync(string lakeDir, string table)
    {
        var scan = await new DataLakeStorage(lakeDir).ReadPartitionedDataAsync(table);
        var ids = new List<long>();
        await foreach (var batch in scan.ReadBatchesAsync())
            using (batch)
            {
                var column = (Apache.Arrow.Int64Array)batch.Column(batch.Schema.GetFieldIndex("id"));
                for (var i = 0; i < batch.Length; i++) ids.Add(column.GetValue(i)!.Value);
            }
        return ids.Order().ToList();
    }

    /// <summary>A writable copy of the conformance table's delta/ folder at lake/NAME.</summary>
    private static string CopyConformance(TempDir dir, string name)
    {
        var target = Path.Combine(dir.Path, name);
        TempDir.CopyDirectory(Path.Combine(Modern("v2-checkpoint-parquet"), "delta"), target);
        return target;
    }

    [Fact]
    public async Task Spark_v2_checkpoint_parquet_table_reads_its_10_expected_rows_from_the_checkpoint()
    {
        var expected = ExpectedIds();
        Assert.Equal(10, expected.Count);

        // As it is (read-only folder): the UUID-named checkpoint is used, not a replay of the commits.
        var snapshot = await new DeltaTable(new LocalObjectStore(Path.Combine(Modern("v2-checkpoint-parquet"), "delta"))).GetSnapshotAsync();
        Assert.Equal(2, snapshot.Version);
        Assert.Equal(2, snapshot.LoadInfo.CheckpointVersion);
        Assert.Equal(4, snapshot.Files.Count);

        // Without the commits before it, the checkpoint and its sidecars are the only way to the rows.
        using var dir = new TempDir();
        var table = CopyConformance(dir, "v2");
        File.Delete(LogFile(table, 0));
        File.Delete(LogFile(table, 1));
        Assert.Equal(expected, await ScanIdsAsync(dir.Path, "v2"));
    }

    [Fact]
    public async Task A_classic_named_checkpoint_with_v2_content_the_compatibility_form_reads_the_expected_rows()
    {
        using var dir = new TempDir();
        var table = CopyConformance(dir, "compat");
        var log = Path.Combine(table, "_delta_log");
        // The same V2 content under the classic name older readers look for; _last_checkpoint still names the UUID file.
        File.Move(Path.Combine(log, SparkCheckpoint), Path.Combine(log, $"{2:D20}.checkpoint.parquet"));
        File.Delete(LogFile(table, 0));
        File.Delete(LogFile(table, 1));
        var snapshot = await At(table).GetSnapshotAsync();
        Assert.Equal(2, snapshot.LoadInfo.CheckpointVersion);
        Assert.Equal(4, snapshot.Files.Count);
        Assert.Equal(ExpectedIds(), await ScanIdsAsync(dir.Path, "compat"));
    }

    [Fact]
    public async Task Json_v2_checkpoint_with_sidecars_reads_the_expected_rows()
    {
        using var dir = new TempDir();
        var table = CopyConformance(dir, "v2json");
        var log = Path.Combine(table, "_delta_log");
        // Replace Spark's Parquet checkpoint by a JSON one holding the same actions: the non-file actions from _last_checkpoint's
        // copy of them, the add actions in Spark's two sidecars.
        using var last = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(log, "_last_checkpoint")));
        var lines = new List<string>();
        foreach (var action in last.RootElement.GetProperty("v2Checkpoint").GetProperty("nonFileActions").EnumerateArray())
            lines.Add(action.GetRawText());
        // The first sidecar by file name (as Spark writes), the second by an absolute URI inside the table (as the protocol allows).
        foreach (var sidecar in SparkSidecars)
        {
            var path = sidecar == SparkSidecars[0] ? sidecar : new Uri(Path.Combine(log, "_sidecars", sidecar)).AbsoluteUri;
            lines.Add($"{{\"sidecar\":{{\"path\":\"{path}\",\"sizeInBytes\":{new FileInfo(Path.Combine(log, "_sidecars", sidecar)).Length},\"modificationTime\":1714496113961,\"tags\":{{}}}}}}");
        }
        File.WriteAllLines(Path.Combine(log, $"{2:D20}.checkpoint.3a0d65cd-4056-49b8-937b-95f9e3ee90e5.json"), lines);
        File.Delete(Path.Combine(log, SparkCheckpoint));
        File.Delete(Path.Combine(log, "_last_checkpoint"));
        File.Delete(LogFile(table, 0));
        File.Delete(LogFile(table, 1));

        var snapshot = await At(table).GetSnapshotAsync();
        Assert.Equal(2, snapshot.LoadInfo.CheckpointVersion);
        Assert.Equal(["v2Checkpoint"], snapshot.Protocol.ReaderFeatures);
        Assert.Equal(ExpectedIds(), await ScanIdsAsync(dir.Path, "v2json"));

        // A sidecar that is gone leaves no way to the files: an error naming it, never a table without them.
        File.Delete(Path.Combine(log, "_sidecars", SparkSidecars[1]));
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => At(table).GetSnapshotAsync());
        Assert.Contains(SparkSidecars[1], e.Message);
    }

    [Fact]
    public async Task Json_v2_checkpoint_with_inline_adds_and_removes_reads_without_sidecars()
    {
        using var dir = new TempDir();
        var table = CopyConformance(dir, "inline");
        var log = Path.Combine(table, "_delta_log");
        using var last = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(log, "_last_checkpoint")));
        var lines = last.RootElement.GetProperty("v2Checkpoint").GetProperty("nonFileActions").EnumerateArray().Select(a => a.GetRawText()).ToList();
        // The adds of commit 2 inline, minus one file, which the checkpoint holds as a tombstone.
        var adds = File.ReadAllLines(LogFile(table, 2)).Where(l => l.StartsWith("{\"add\"", StringComparison.Ordinal)).ToList();
        lines.AddRange(adds.Skip(1));
        var removed = JsonDocument.Parse(adds[0]).RootElement.GetProperty("add").GetProperty("path").GetString();
        lines.Add($"{{\"remove\":{{\"path\":\"{removed}\",\"deletionTimestamp\":1714496112999,\"dataChange\":true}}}}");
        File.WriteAllLines(Path.Combine(log, $"{2:D20}.checkpoint.016ae953-37a9-438e-8683-9a9a4a79a395.json"), lines);
        File.Delete(Path.Combine(log, SparkCheckpoint));
        File.Delete(LogFile(table, 0));
        File.Delete(LogFile(table, 1));

        var snapshot = await At(table).GetSnapshotAsync();
        Assert.Equal(2, snapshot.LoadInfo.CheckpointVersion);
        Assert.Equal(3, snapshot.Files.Count);
        Assert.Equal([removed], snapshot.Tombstones.Select(t => t.Path));
        using var duck = new DuckDbReader();
        var removedIds = duck.Rows($"SELECT id FROM read_parquet({Lit(Path.Combine(table, removed!))})").Select(r => Convert.ToInt64(r[0]));
        var expected = ExpectedIds();
        foreach (var id in removedIds) expected.Remove(id);
        Assert.Equal(expected, await ScanIdsAsync(dir.Path, "inline"));
    }

    [Fact]
    public async Task A_v2_checkpoint_without_checkpointMetadata_is_not_trusted()
    {
        using var dir = new TempDir();
        var table = CopyConformance(dir, "nometa");
        var log = Path.Combine(table, "_delta_log");
        using var last = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(log, "_last_checkpoint")));
        var lines = last.RootElement.GetProperty("v2Checkpoint").GetProperty("nonFileActions").EnumerateArray()
            .Select(a => a.GetRawText()).Where(l => !l.StartsWith("{\"checkpointMetadata\"", StringComparison.Ordinal)).ToList();
        File.WriteAllLines(Path.Combine(log, $"{2:D20}.checkpoint.7d17ac10-5cc3-401b-bd1a-9c82dd2ea032.json"), lines);
        File.Delete(Path.Combine(log, SparkCheckpoint));
        File.Delete(LogFile(table, 0));
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => At(table).GetSnapshotAsync());
        Assert.Contains("checkpointMetadata", e.Message);
    }

    [Fact]
    public async Task Ecap_writes_a_v2_checkpoint_with_sidecars_for_a_table_with_the_feature_and_reads_it_back()
    {
        using var dir = new TempDir();
        var tableDir = dir.Sub("t");
        var table = At(tableDir);
        // delta.checkpointPolicy = v2 brings the feature in, as Spark does.
        await table.CreateAsync(Metadata.Create(IdSchema, configuration: new Dictionary<string, string> { ["delta.checkpointPolicy"] = "v2" }));
        var protocol = (await table.GetSnapshotAsync()).Protocol;
        Assert.Equal((3, 7), (protocol.MinReaderVersion, protocol.MinWriterVersion));
        Assert.Equal(["v2Checkpoint"], protocol.ReaderFeatures);
        Assert.Equal(["appendOnly", "invariants", "v2Checkpoint"], protocol.WriterFeatures);

        var all = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            var ids = new[] { i * 10L, i * 10L + 1 };
            await AppendAsync(table, WriteIds(table, $"part-{i}.parquet", ids));
            all.AddRange(ids);
        }
        var tx = await table.StartTransactionAsync("DELETE");
        tx.Remove(tx.ReadSnapshot!.Files.Single(f => f.Path == "part-0.parquet"));
        await tx.CommitAsync();
        all.RemoveAll(id => id < 10);

        CheckpointWriter.SidecarActionLimitOverride.Value = 2; // 4 adds + 1 tombstone: 3 sidecars
        long version;
        try { version = await table.CheckpointAsync(); }
        finally { CheckpointWriter.SidecarActionLimitOverride.Value = null; }
        Assert.Equal(6, version);

        var log = Path.Combine(tableDir, "_delta_log");
        Assert.False(File.Exists(Path.Combine(log, $"{6:D20}.checkpoint.parquet")));
        var checkpoint = Assert.Single(Directory.GetFiles(log, $"{6:D20}.checkpoint.*.parquet"));
        Assert.True(Guid.TryParse(Path.GetFileName(checkpoint).Split('.')[2], out _));
        var sidecars = Directory.GetFiles(Path.Combine(log, "_sidecars"), "*.parquet");
        Assert.Equal(3, sidecars.Length);
        using (var lastDoc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(log, "_last_checkpoint"))))
        {
            var root = lastDoc.RootElement;
            Assert.Equal(6, root.GetProperty("version").GetInt64());
            Assert.Equal(4, root.GetProperty("numOfAddFiles").GetInt64());
            Assert.Equal(Path.GetFileName(checkpoint), root.GetProperty("v2Checkpoint").GetProperty("path").GetString());
            Assert.Equal(new FileInfo(checkpoint).Length, root.GetProperty("v2Checkpoint").GetProperty("sizeInBytes").GetInt64());
            Assert.Equal(new FileInfo(checkpoint).Length + sidecars.Sum(s => new FileInfo(s).Length), root.GetProperty("sizeInBytes").GetInt64());
        }

        // DuckDB reads what the checkpoint says: one checkpointMetadata, a sidecar action per sidecar file with its size, and the
        // live files and the tombstone in the sidecars.
        using (var duck = new DuckDbReader())
        {
            Assert.Equal(6L, Convert.ToInt64(duck.Scalar($"SELECT checkpointMetadata.version FROM read_parquet({Lit(checkpoint)}) WHERE checkpointMetadata IS NOT NULL")));
            Assert.Equal(3L, Convert.ToInt64(duck.Scalar($"SELECT protocol.minReaderVersion FROM read_parquet({Lit(checkpoint)}) WHERE protocol IS NOT NULL")));
            var named = duck.Rows($"SELECT sidecar.path, sidecar.sizeInBytes FROM read_parquet({Lit(checkpoint)}) WHERE sidecar IS NOT NULL")
                .Select(r => $"{r[0]}={r[1]}").Order(StringComparer.Ordinal);
            Assert.Equal(sidecars.Select(s => $"{Path.GetFileName(s)}={new FileInfo(s).Length}").Order(StringComparer.Ordinal), named);
            var columns = duck.Rows($"SELECT name FROM parquet_schema({Lit(checkpoint)})").Select(r => (string)r[0]!).ToHashSet();
            Assert.DoesNotContain("add", columns); // all file actions are in the sidecars
            var sidecarGlob = Lit(Path.Combine(log, "_sidecars", "*.parquet"));
            Assert.Equal(["part-1.parquet", "part-2.parquet", "part-3.parquet", "part-4.parquet"],
                duck.Rows($"SELECT add.path FROM read_parquet({sidecarGlob}) WHERE add IS NOT NULL ORDER BY 1").Select(r => (string)r[0]!));
            Assert.Equal(["part-0.parquet"], duck.Rows($"SELECT remove.path FROM read_parquet({sidecarGlob}) WHERE remove IS NOT NULL").Select(r => (string)r[0]!));
            Assert.Equal(8L, Convert.ToInt64(duck.Scalar(
                $"SELECT sum((add.stats::JSON->>'numRecords')::BIGINT)::BIGINT FROM read_parquet({sidecarGlob}) WHERE add IS NOT NULL")));
        }

        // Vacuum keeps the sidecars (they are in _delta_log, which it never deletes from) and the removed file goes.
        var vacuum = await TableVacuum.RunAsync(table, "t", new VacuumOptions { Retention = TimeSpan.Zero, Force = true, Now = DateTimeOffset.UtcNow.AddDays(1) }, default);
        Assert.Equal(["part-0.parquet"], vacuum.Files.Select(f => f.Path));
        Assert.All(sidecars, s => Assert.True(File.Exists(s), s));

        // A fresh instance, with the commits before the checkpoint gone: only the V2 checkpoint gives the state.
        for (var v = 0; v < 6; v++) File.Delete(LogFile(tableDir, v));
        var fresh = await At(tableDir).GetSnapshotAsync();
        Assert.Equal(6, fresh.LoadInfo.CheckpointVersion);
        Assert.Equal(["part-0.parquet"], fresh.Tombstones.Select(t => t.Path));
        Assert.Equal(all.Order(), await ScanIdsAsync(dir.Path, "t"));

        // The next automatic checkpoint of this table is V2 too; a table without the feature keeps getting classic ones.
        var plain = await CreateIdTableAsync(dir.Sub("plain"));
        await AppendAsync(plain, WriteIds(plain, "a.parquet", 1));
        await plain.CheckpointAsync();
        Assert.True(File.Exists(Path.Combine(dir.Sub("plain"), "_delta_log", $"{1:D20}.checkpoint.parquet")));
        Assert.False(Directory.Exists(Path.Combine(dir.Sub("plain"), "_delta_log", "_sidecars")));
        Assert.DoesNotContain("v2Checkpoint", Encoding.UTF8.GetString(File.ReadAllBytes(Path.Combine(dir.Sub("plain"), "_delta_log", "_last_checkpoint"))));
    }

    [Fact]
    public async Task Ecap_appends_to_the_spark_v2_table_and_its_interval_checkpoint_is_v2()
    {
        using var dir = new TempDir();
        var tableDir = CopyConformance(dir, "v2w");
        var table = At(tableDir);
        // delta.checkpointInterval = 2: versions 3 and 4 are ecap's, 4 is checkpointed.
        await AppendAsync(table, WriteIds(table, "ecap-1.parquet", 100, 101));
        await AppendAsync(table, WriteIds(table, "ecap-2.parquet", 102));
        var log = Path.Combine(tableDir, "_delta_log");
        var checkpoint = Assert.Single(Directory.GetFiles(log, $"{4:D20}.checkpoint.*.parquet"));
        Assert.NotEqual($"{4:D20}.checkpoint.parquet", Path.GetFileName(checkpoint));
        for (var v = 0; v < 4; v++) File.Delete(LogFile(tableDir, v));
        Assert.Equal(4, (await At(tableDir).GetSnapshotAsync()).LoadInfo.CheckpointVersion);
        Assert.Equal(ExpectedIds().Concat([100L, 101, 102]).Order(), await ScanIdsAsync(dir.Path, "v2w"));
    }
}
