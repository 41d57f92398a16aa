using System.Runtime.CompilerServices;
using System.Text.Json;
using Apache.Arrow;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables.Reading;

namespace Ecap.DataLake.Tables;

/// <summary>Reads the audit trail (<see cref="AuditLog"/>, a Delta table) back as records: a table scan with the filter pushed down.</summary>
public static class AuditReader
{
    /// <summary>Records matching the filter, oldest first within each file; streamed, never all in memory.</summary>
    public static async IAsyncEnumerable<AuditRecord> ReadAsync(this AuditLog log, AuditFilter? filter = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        filter ??= new AuditFilter();
        if (!await log.Table.ExistsAsync(ct)) yield break;
        var snapshot = await log.Table.GetSnapshotAsync(ct);
        Predicate? predicate = null;
        if (filter.Since is { } since) predicate = new Comparison("time", ComparisonOp.GreaterThanOrEqual, since);
        if (filter.Principal is { } p) predicate = Combine(predicate, new Comparison("principal", ComparisonOp.Equal, p));
        var scan = TableScan.Plan(log.Table.Store, snapshot, new ReadOptions { Predicate = predicate });
        await foreach (var batch in scan.ReadBatchesAsync(ct))
            foreach (var record in FromBatch(batch))
                if (filter.Table is null || record.Names(filter.Table))
                    yield return record;
    }

    /// <summary>
    /// What a reconciler needs of each record of one version of the trail (audit id, table, version, outcome): only those
    /// columns are read, with no parameters to parse. Trails written before audit ids existed read the id as null.
    /// </summary>
    internal static async IAsyncEnumerable<(string? AuditId, string? Table, long? Version, string Outcome)> ReadKeysAsync(
        AuditLog log, Delta.Snapshot snapshot, [EnumeratorCancellation] CancellationToken ct)
    {
        var hasId = snapshot.Schema.GetFieldIndex("audit_id") >= 0;
        string[] columns = hasId ? ["audit_id", "table", "table_version", "outcome"] : ["table", "table_version", "outcome"];
        var scan = TableScan.Plan(log.Table.Store, snapshot, new ReadOptions { Columns = columns });
        await foreach (var batch in scan.ReadBatchesAsync(ct))
        {
            using (batch)
            {
                var id = hasId ? (StringArray)batch.Column(batch.Schema.GetFieldIndex("audit_id")) : null;
                var table = (StringArray)batch.Column(batch.Schema.GetFieldIndex("table"));
                var version = (Int64Array)batch.Column(batch.Schema.GetFieldIndex("table_version"));
                var outcome = (StringArray)batch.Column(batch.Schema.GetFieldIndex("outcome"));
                for (var i = 0; i < batch.Length; i++)
                    yield return (id?.GetString(i), table.GetString(i), version.GetValue(i), outcome.GetString(i));
            }
        }
    }

    private static Predicate Combine(Predicate? left, Predicate right) => left is null ? right : left & right;

    private static IEnumerable<AuditRecord> FromBatch(RecordBatch batch)
    {
        StringArray S(string name) => (StringArray)batch.Column(batch.Schema.GetFieldIndex(name));
        Int64Array L(string name) => (Int64Array)batch.Column(batch.Schema.GetFieldIndex(name));
        var time = (TimestampArray)batch.Column(batch.Schema.GetFieldIndex("time"));
        var principal = S("principal");
        var groups = S("groups");
        var source = S("identity_source");
        var operation = S("operation");
        var table = S("table");
        var parameters = S("parameters");
        var outcome = S("outcome");
        var error = S("error");
        var rows = L("rows");
        var bytes = L("bytes");
        var version = L("table_version");
        var duration = L("duration_ms");
        var host = S("host");
        // Records written before audit ids existed have no such columns in older snapshots' schema.
        var auditId = batch.Schema.GetFieldIndex("audit_id") is var a and >= 0 ? (StringArray)batch.Column(a) : null;
        var recovered = batch.Schema.GetFieldIndex("recovered") is var r and >= 0 ? (BooleanArray)batch.Column(r) : null;
        for (var i = 0; i < batch.Length; i++)
        {
            var p = parameters.GetString(i);
            yield return new AuditRecord
            {
                Time = time.GetTimestamp(i)!.Value,
                Principal = principal.GetString(i),
                Groups = (groups.GetString(i) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries),
                IdentitySource = source.GetString(i),
                Operation = operation.GetString(i),
                Table = table.GetString(i),
                Parameters = p is null ? new Dictionary<string, string?>() : JsonSerializer.Deserialize<Dictionary<string, string?>>(p) ?? [],
                Outcome = outcome.GetString(i),
                Error = error.GetString(i),
                Rows = rows.GetValue(i),
                Bytes = bytes.GetValue(i),
                TableVersion = version.GetValue(i),
                DurationMs = duration.GetValue(i) ?? 0,
                Host = host.GetString(i) ?? "",
                AuditId = auditId?.GetString(i),
                Recovered = recovered?.GetValue(i) ?? false,
            };
        }
    }

}
