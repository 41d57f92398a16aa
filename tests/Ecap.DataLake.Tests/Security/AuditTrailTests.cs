using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Security;

/// <summary>The audit trail: one record per operation, allowed or denied, secrets removed, concurrent writers lose nothing.</summary>
public sealed class AuditTrailTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_monitor_look_is_one_audited_operation_however_many_tables_it_reads()
    {
        var lake = new GovernedLake(_dir.Sub("lake"));
        var alice = lake.As("alice");
        foreach (var name in new[] { "a", "b", "c" })
            await alice.WritePartitionedDataAsync(Generate(DataType.Transactions, 50, days: 1), name, DataType.Transactions);
        var before = (await lake.AuditRecordsAsync()).Count;

        var overview = await new Ecap.DataLake.Monitoring.LakeMonitor(lake.Store, new DataLakeStorageOptions { Guard = lake.Guard("alice") }).LookAsync();

        Assert.Equal(3, overview.Tables.Count);
        Assert.Equal(3, overview.RecentCommits.Count);
        var added = (await lake.AuditRecordsAsync()).Skip(before).ToList();
        var record = Assert.Single(added); // not one per list and per table history
        Assert.Equal("monitor", record.Operation);
        Assert.Equal("alice", record.Principal);
    }

    [Fact]
    public async Task Every_operation_of_a_scripted_session_appears_once_in_order()
    {
        var lake = new GovernedLake(_dir.Sub("lake"));
        var alice = lake.As("alice");
        var started = DateTimeOffset.UtcNow.AddSeconds(-1);
        var w1 = await alice.WritePartitionedDataAsync(Generate(DataType.Transactions, 1_000, days: 2), "tx", DataType.Transactions,
            options: new WriteOptions { SourceName = "postgres://etl:s3cret-pw@db.internal:5432/shop" });
        var scan = await alice.ReadPartitionedDataAsync("tx", new ReadOptions { Columns = ["amount"] });
        await ReadAllAsync(scan);
        await alice.GetTableInfoAsync("tx");
        await alice.GetHistoryAsync("tx");
        await alice.RestoreAsync("tx", 0);
        await lake.AccessAs("alice").GrantAsync("bob", Privilege.Read, "tx");
        await Assert.ThrowsAsync<AccessDeniedException>(() =>
            lake.As("bob").WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions));
        await Assert.ThrowsAsync<TableNotFoundException>(() => alice.GetTableInfoAsync("missing"));
        var input = _dir.Sub("in.parquet");
        var batches = Generate(DataType.Transactions, 20, seed: 5, days: 1);
        await Ecap.DataLake.Files.RowExport.WriteAsync(input, batches[0].Schema, batches.ToAsyncEnumerable());
        var report = await new DataLakeIngester(alice).IngestAsync(new FileIngestionSource(input), "tx", DataType.Transactions);
        await alice.ListTablesAsync();

        var records = await lake.AuditRecordsAsync();
        Assert.Equal(
            ["write", "read", "info", "history", "restore", "access-grant", "write", "info", "ingest", "list-tables"],
            records.Select(r => r.Operation));
        Assert.Equal(
            [AuditOutcome.Succeeded, AuditOutcome.Succeeded, AuditOutcome.Succeeded, AuditOutcome.Succeeded, AuditOutcome.Succeeded,
             AuditOutcome.Succeeded, AuditOutcome.Denied, AuditOutcome.Failed, AuditOutcome.Succeeded, AuditOutcome.Succeeded],
            records.Select(r => r.Outcome));
        Assert.Equal(["alice", "alice", "alice", "alice", "alice", "alice", "bob", "alice", "alice", "alice"], records.Select(r => r.Principal));

        var write = records[0];
        Assert.Equal(("tx", 1_000L, w1.BytesWritten, w1.Version), (write.Table, write.Rows!.Value, write.Bytes!.Value, write.TableVersion!.Value));
        Assert.Equal("append", write.Parameters["mode"]);
        // The password in the source URL is gone; the rest stays readable.
        Assert.Equal("postgres://etl:***@db.internal:5432/shop", write.Parameters["source"]);
        Assert.DoesNotContain(records, r => r.Parameters.Values.Any(v => v?.Contains("s3cret", StringComparison.Ordinal) == true));
        Assert.Equal("amount", records[1].Parameters["columns"]);
        Assert.Equal(1, records[4].TableVersion); // restore committed version 1
        Assert.Contains("access denied: bob lacks write on table tx", records[6].Error);
        Assert.Contains("does not exist", records[7].Error);
        Assert.Equal((report.RecordsWritten, report.LastVersion), (records[8].Rows!.Value, records[8].TableVersion));
        Assert.True(records.Zip(records.Skip(1)).All(p => p.First.Time <= p.Second.Time));

        // Filters: by table, principal and time.
        Assert.Single(await lake.AuditRecordsAsync(new AuditFilter(Principal: "bob")));
        Assert.Equal(8, (await lake.AuditRecordsAsync(new AuditFilter(Table: "tx"))).Count); // all but the failed info on "missing" and list-tables
        Assert.Empty(await lake.AuditRecordsAsync(new AuditFilter(Since: DateTimeOffset.UtcNow.AddMinutes(1))));
        Assert.Equal(10, (await lake.AuditRecordsAsync(new AuditFilter(Since: started))).Count);
        Assert.Equal(["ingest", "list-tables"], (await lake.AuditRecordsAsync(new AuditFilter(Since: records[8].Time))).Select(r => r.Operation));
    }

    [Fact]
    public async Task The_audit_table_is_a_delta_table_other_readers_see_and_not_a_user_table()
    {
        var lake = new GovernedLake(_dir.Sub("lake"));
        var alice = lake.As("alice");
        await alice.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 1), "tx", DataType.Transactions);
        await alice.GetTableInfoAsync("tx");
        Assert.Equal(["tx"], (await alice.ListTablesAsync()).Select(t => t.Name));

        // DuckDB, reading the Parquet files of the audit table's snapshot, sees the same records.
        var snapshot = await lake.Audit.Table.GetSnapshotAsync();
        Assert.Equal("true", snapshot.Metadata.Configuration["delta.appendOnly"]);
        var files = snapshot.Files.Select(f => Path.Combine(_dir.Sub("lake"), "_ecap", "audit", f.ObjectKey)).ToList();
        using var duck = new DuckDbReader();
        Assert.Equal(3L, duck.Scalar($"SELECT count(*) FROM read_parquet({DuckDbReader.FileList(files)}) WHERE principal = 'alice' AND outcome = 'succeeded'"));
        Assert.Equal("list-tables", duck.Scalar($"SELECT operation FROM read_parquet({DuckDbReader.FileList(files)}) ORDER BY time DESC LIMIT 1"));
    }

    [Fact]
    public async Task Concurrent_processes_lose_no_audit_records()
    {
        var lake = new GovernedLake(_dir.Sub("lake"));
        const int writers = 6, each = 8;
        // Separate guards and audit logs, as separate processes would have; they race to create the table and to append.
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var log = new AuditLog(lake.Store);
            for (var i = 0; i < each; i++)
                await log.AppendAsync([new AuditRecord { Time = DateTimeOffset.UtcNow, Principal = $"p{w}", Operation = $"op{i}", Outcome = AuditOutcome.Succeeded }]);
        })));
        var records = await lake.AuditRecordsAsync();
        Assert.Equal(writers * each, records.Count);
        Assert.Equal(writers * each, records.Select(r => (r.Principal, r.Operation)).Distinct().Count());
    }

    [Fact]
    public async Task A_failure_to_audit_is_reported_never_swallowed()
    {
        var lakeDir = _dir.Sub("lake");
        var lake = new GovernedLake(lakeDir);
        await lake.As("alice").WritePartitionedDataAsync(Generate(DataType.Transactions, 100, days: 1), "tx", DataType.Transactions);
        // Break the audit folder: a file where the folder must be.
        Directory.Delete(Path.Combine(lakeDir, "_ecap"), recursive: true);
        await File.WriteAllTextAsync(Path.Combine(lakeDir, "_ecap"), "not a folder");

        var e = await Assert.ThrowsAsync<AuditFailedException>(() => lake.As("alice").GetTableInfoAsync("tx"));
        Assert.Contains("'info' completed", e.Message);
        Assert.Null(e.OperationError);

        // With a handler, the operation's result is returned and the handler is told.
        var reported = new List<(AuditRecord, Exception)>();
        var storage = new DataLakeStorage(lakeDir, new DataLakeStorageOptions
        {
            Guard = LakeGuard.ForLake(lake.Store, new StaticIdentity("alice"), new LakeGuardOptions { OnAuditFailure = (r, x) => reported.Add((r, x)) }),
        });
        var info = await storage.GetTableInfoAsync("tx");
        Assert.Equal(100, info.RecordCount);
        var (record, _) = Assert.Single(reported);
        Assert.Equal(("info", AuditOutcome.Succeeded), (record.Operation, record.Outcome));
    }

    [Theory]
    [InlineData("password", "hunter2", "***")]
    [InlineData("url", "Host=db;Username=etl;Password=hunter2;Database=shop", "Host=db;Username=etl;Password=***;Database=shop")]
    [InlineData("url", "jdbc:postgresql://db:5432/shop?user=etl&password=hunter2", "jdbc:postgresql://db:5432/shop?user=etl&password=***")]
    [InlineData("url", "s3://AKIA:hunter2@bucket/prefix", "s3://AKIA:***@bucket/prefix")]
    [InlineData("api_key", "abc", "***")]
    [InlineData("where", "amount > 100", "amount > 100")]
    public void Secrets_are_removed_from_parameters(string key, string value, string expected) =>
        Assert.Equal(expected, AuditRedaction.Redact(new Dictionary<string, string?> { [key] = value })[key]);
}
