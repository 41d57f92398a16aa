using System.Text.Json;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Security;

/// <summary>
/// The audit trail survives crashes: every commit carries its operation's audit id and principal in commitInfo (atomic with
/// the data), an operation whose data committed never fails because of its audit, and reconciliation adds exactly one
/// recovered record for every committed version that lacks one.
/// </summary>
public sealed class CrashSafeAuditTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string LakeDir => _dir.Sub("lake");

    private static JsonElement CommitInfoOf(string lake, string table, long version)
    {
        var line = File.ReadLines(Path.Combine(lake, table, "_delta_log", $"{version:D20}.json")).First(l => l.StartsWith("{\"commitInfo\"", StringComparison.Ordinal));
        return JsonDocument.Parse(line).RootElement.GetProperty("commitInfo");
    }

    /// <summary>A lake whose audit folder cannot be written (a file where the folder must be): the audit store is down.</summary>
    private void BreakAudit()
    {
        var audit = Path.Combine(LakeDir, "_ecap");
        if (Directory.Exists(audit)) Directory.Move(audit, audit + ".saved");
        File.WriteAllText(audit, "not a folder");
    }

    private void RepairAudit()
    {
        var audit = Path.Combine(LakeDir, "_ecap");
        File.Delete(audit);
        if (Directory.Exists(audit + ".saved")) Directory.Move(audit + ".saved", audit);
    }

    private async Task<AuditReconcileResult> ReconcileAsync(string principal = "admin", TimeSpan? grace = null, bool dryRun = false) =>
        await new AuditReconciler(new GovernedLake(LakeDir).As(principal)).ReconcileAsync(new AuditReconcileOptions { Grace = grace ?? TimeSpan.Zero, DryRun = dryRun });

    [Fact]
    public async Task Every_commit_names_its_principal_and_the_audit_id_of_its_record()
    {
        var lake = new GovernedLake(LakeDir);
        var result = await lake.As("alice", "loaders").WritePartitionedDataAsync(Generate(DataType.Transactions, 200, days: 2), "tx", DataType.Transactions);

        var info = CommitInfoOf(LakeDir, "tx", result.Version);
        Assert.Equal("alice", info.GetProperty("userName").GetString());
        var attribution = info.GetProperty("ecapAudit");
        Assert.Equal("alice", attribution.GetProperty("principal").GetString());
        Assert.Equal("write", attribution.GetProperty("operation").GetString());
        var record = Assert.Single(await lake.AuditRecordsAsync(new AuditFilter(Table: "tx")));
        Assert.Equal(record.AuditId, attribution.GetProperty("id").GetString());
        Assert.False(record.Recovered);
        // Nothing is missing: reconciliation finds every commit audited.
        var reconciled = await ReconcileAsync();
        Assert.Empty(reconciled.Recovered);
        Assert.Equal(1, reconciled.CommitsAudited);
    }

    [Fact]
    public async Task A_committed_write_whose_audit_fails_succeeds_and_reconciliation_recovers_its_one_record()
    {
        var lake = new GovernedLake(LakeDir);
        await lake.As("owner").WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 1), "tx", DataType.Transactions);
        BreakAudit();

        var deferred = new List<(AuditRecord Record, Exception Error)>();
        var storage = new DataLakeStorage(LakeDir, new DataLakeStorageOptions
        {
            Guard = LakeGuard.ForLake(lake.Store, new StaticIdentity("alice"), new LakeGuardOptions { OnAuditDeferred = (r, e) => deferred.Add((r, e)) }),
        });
        // No exception: the rows are committed, and failing now would make a retrying script write them twice.
        var write = await storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 50, seed: 2, days: 1), "tx", DataType.Transactions);
        Assert.Equal(1, write.Version);
        var (record, _) = Assert.Single(deferred);
        Assert.Equal(("write", "alice"), (record.Operation, record.Principal));
        // A read commits nothing: its audit failure is still an error.
        await Assert.ThrowsAsync<AuditFailedException>(() => storage.GetTableInfoAsync("tx"));

        RepairAudit();
        // Within the grace period the writer may still be auditing: left alone.
        Assert.Empty((await ReconcileAsync(grace: TimeSpan.FromMinutes(10))).Recovered);
        Assert.Single((await ReconcileAsync(dryRun: true)).Recovered);
        var recovered = Assert.Single((await ReconcileAsync()).Recovered);
        Assert.Equal(("alice", "write", "tx", 1L, record.AuditId, true), (recovered.Principal, recovered.Operation, recovered.Table, recovered.TableVersion, recovered.AuditId, recovered.Recovered));

        // Exactly once: a second run adds nothing, and the trail holds one record per commit.
        Assert.Empty((await ReconcileAsync()).Recovered);
        var writes = (await lake.AuditRecordsAsync(new AuditFilter(Table: "tx"))).Where(r => r.Operation == "write").ToList();
        Assert.Equal([(0L, false), (1L, true)], writes.Select(r => (r.TableVersion!.Value, r.Recovered)).Order());
    }

    [Fact]
    public async Task Commits_of_other_writers_get_one_record_with_their_user_name()
    {
        var lake = new GovernedLake(LakeDir);
        await lake.As("owner").WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 1), "tx", DataType.Transactions);
        // Another engine's commit: no ecapAudit, a userName as Spark writes it (a blind append of nothing but commitInfo).
        var ts = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeMilliseconds();
        File.WriteAllText(Path.Combine(LakeDir, "tx", "_delta_log", $"{1:D20}.json"),
            $"{{\"commitInfo\":{{\"timestamp\":{ts},\"operation\":\"WRITE\",\"userName\":\"spark-job\",\"engineInfo\":\"Apache-Spark/3.5.0 Delta-Lake/3.2.0\"}}}}\n");

        var recovered = Assert.Single((await ReconcileAsync()).Recovered);
        Assert.Equal(("spark-job", "write", 1L, null), (recovered.Principal, recovered.Operation, recovered.TableVersion, recovered.AuditId));
        Assert.StartsWith("log:Apache-Spark", recovered.IdentitySource);
        Assert.Empty((await ReconcileAsync()).Recovered);
    }

    [Fact]
    public async Task Concurrent_reconcilers_add_each_missing_record_once()
    {
        var lake = new GovernedLake(LakeDir);
        await lake.As("owner").WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 1), "tx", DataType.Transactions);
        BreakAudit();
        var quiet = new LakeGuardOptions { OnAuditDeferred = (_, _) => { } };
        for (var i = 0; i < 3; i++)
            await new DataLakeStorage(LakeDir, new DataLakeStorageOptions { Guard = LakeGuard.ForLake(lake.Store, new StaticIdentity($"w{i}"), quiet) })
                .WritePartitionedDataAsync(Generate(DataType.Transactions, 20, seed: i + 5, days: 1), "tx", DataType.Transactions);
        RepairAudit();

        var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => ReconcileAsync())));
        Assert.Equal(3, runs.Sum(r => r.Recovered.Count));
        var writes = (await lake.AuditRecordsAsync(new AuditFilter(Table: "tx"))).Where(r => r.Operation == "write").ToList();
        Assert.Equal([0L, 1L, 2L, 3L], writes.Select(r => r.TableVersion!.Value).Order());
        Assert.Equal(["owner", "w0", "w1", "w2"], writes.Select(r => r.Principal).Order());
    }

    [Fact]
    public async Task Reconciling_is_for_lake_admins()
    {
        var lake = new GovernedLake(LakeDir);
        await lake.As("owner").WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 1), "tx", DataType.Transactions);
        await lake.AccessAs("owner").GrantAsync("bob", Privilege.Write, "tx");
        await Assert.ThrowsAsync<AccessDeniedException>(() => ReconcileAsync("bob"));
        Assert.Empty((await ReconcileAsync("owner")).Recovered);
    }

    [Fact]
    public async Task A_trail_written_before_audit_ids_gains_the_columns_and_keeps_its_records()
    {
        // The trail as earlier versions wrote it: no audit_id / recovered columns.
        var old = new Apache.Arrow.Schema(AuditLog.Schema.FieldsList.Where(f => f.Name is not ("audit_id" or "recovered")).ToList(), null);
        var table = new DeltaTable(ObjectStoreFactory.Open(LakeDir).Child("_ecap").Child("audit"));
        var tx = table.StartTransaction(null, "WRITE");
        tx.SetMetadata(Metadata.Create(old, [], new Dictionary<string, string> { ["delta.appendOnly"] = "true" }));
        var batch = AuditLog.ToBatch([new AuditRecord { Time = DateTimeOffset.UtcNow, Principal = "old", Operation = "write", Outcome = AuditOutcome.Succeeded }]);
        var columns = Enumerable.Range(0, old.FieldsList.Count).Select(batch.Column).ToList();
        var files = await Ecap.DataLake.Parquet.ParquetDataWriter.WriteAllAsync(table.Store, old, new[] { new Apache.Arrow.RecordBatch(old, columns, 1) }.ToAsyncEnumerable(),
            _ => "part-old.parquet", new Ecap.DataLake.Parquet.ParquetWriteOptions());
        tx.Add(new AddFile { Path = "part-old.parquet", Size = files[0].SizeBytes, ModificationTime = 0, DataChange = true, Stats = files[0].Stats.ToJson() });
        await tx.CommitAsync();

        var lake = new GovernedLake(LakeDir);
        await lake.As("alice").WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions);
        var records = await lake.AuditRecordsAsync();
        Assert.Equal([("old", null), ("alice", CommitInfoOf(LakeDir, "tx", 0).GetProperty("ecapAudit").GetProperty("id").GetString())],
            records.Select(r => (r.Principal, r.AuditId)));
        // The reconciler reads the widened trail (old files without the id column) and finds the commit audited.
        Assert.Empty((await ReconcileAsync()).Recovered);
    }
}
