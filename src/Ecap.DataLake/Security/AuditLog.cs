using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Security;

/// <summary>
/// The lake's audit trail: an append-only Delta table at <c>&lt;lake&gt;/_ecap/audit</c> (<c>delta.appendOnly</c>),
/// one row per operation. Not a user table: listings skip <c>_</c> folders and table names cannot reach it; SQL sees it as
/// <see cref="SqlName"/>. This layer only appends: reading the trail is a table read (<c>Tables.AuditReader</c>). Each append is one small Parquet file and
/// one blind-append commit; appends never conflict, so concurrent processes each land their records (the commit
/// rebases onto winners; two processes creating the table at once retry as appends).
/// </summary>
public sealed class AuditLog
{
    public const string Folder = "_ecap/audit";

    /// <summary>The name SQL queries use for the audit table (<c>SELECT * FROM _ecap_audit</c>).</summary>
    public const string SqlName = "_ecap_audit";

    private const int MaxCreateAttempts = 20;

    public AuditLog(IObjectStore lake) : this(lake, [])
    {
    }

    /// <summary>A trail whose commits run <paramref name="hooks"/> (the lake's auto-compaction: one small file per operation adds up).</summary>
    internal AuditLog(IObjectStore lake, IReadOnlyList<IPostCommitHook> hooks)
    {
        // Many small appends race here; give them room to retry. A checkpoint holds every file of the table, so
        // write one every 50 commits rather than 10 (cold readers replay at most 50 tiny commits).
        Table = new DeltaTable(lake.Child("_ecap").Child("audit"), new DeltaTableOptions { MaxCommitAttempts = 500, CheckpointInterval = 50, PostCommitHooks = hooks });
    }

    // Once the table is known to exist, appends refresh the cached snapshot incrementally instead of listing the log.
    private bool _exists;

    public DeltaTable Table { get; }

    public static Schema Schema { get; } = new Schema.Builder()
        .Field(new Field("time", new TimestampType(TimeUnit.Microsecond, "UTC"), false))
        .Field(new Field("principal", StringType.Default, false))
        .Field(new Field("groups", StringType.Default, true))
        .Field(new Field("identity_source", StringType.Default, true))
        .Field(new Field("operation", StringType.Default, false))
        .Field(new Field("table", StringType.Default, true))
        .Field(new Field("parameters", StringType.Default, true))
        .Field(new Field("outcome", StringType.Default, false))
        .Field(new Field("error", StringType.Default, true))
        .Field(new Field("rows", Int64Type.Default, true))
        .Field(new Field("bytes", Int64Type.Default, true))
        .Field(new Field("table_version", Int64Type.Default, true))
        .Field(new Field("duration_ms", Int64Type.Default, false))
        .Field(new Field("host", StringType.Default, true))
        .Field(new Field("audit_id", StringType.Default, true))
        .Field(new Field("recovered", BooleanType.Default, true))
        .Build();

    /// <summary>Appends records in one commit. Throws when they could not be stored (callers report it).</summary>
    public Task AppendAsync(IReadOnlyList<AuditRecord> records, CancellationToken ct = default) => AppendAsync(records, null, ct);

    /// <summary>
    /// Appends records only if the trail is still at <paramref name="readSnapshot"/> (null: no trail yet): any record appended
    /// since is a conflict (<see cref="ConcurrentModificationException"/>), so a reconciler that decided what is missing from
    /// that snapshot never adds a record twice.
    /// </summary>
    internal Task AppendIfUnchangedAsync(IReadOnlyList<AuditRecord> records, Snapshot? readSnapshot, CancellationToken ct) =>
        AppendAsync(records, new Expected(readSnapshot), ct);

    private sealed record Expected(Snapshot? Snapshot);

    private async Task AppendAsync(IReadOnlyList<AuditRecord> records, Expected? expected, CancellationToken ct)
    {
        if (records.Count == 0) return;
        var batch = ToBatch(records);
        var key = $"part-00000-{Guid.NewGuid()}.snappy.parquet";
        var files = await ParquetDataWriter.WriteAllAsync(Table.Store, Schema, new[] { batch }.ToAsyncEnumerable(), _ => key,
            new ParquetWriteOptions { UseThreads = false }, ct);
        var file = files.Single();
        var add = new AddFile
        {
            Path = AddFile.EncodePath(file.Key),
            Size = file.SizeBytes,
            ModificationTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            DataChange = true,
            Stats = file.Stats.ToJson(),
        };
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var snapshot = expected is not null ? expected.Snapshot
                    : _exists || await Table.ExistsAsync(ct) ? await Table.GetSnapshotAsync(ct) : null;
                var tx = Table.StartTransaction(snapshot, "WRITE");
                tx.ReadWholeTable = expected is not null;
                if (snapshot is null)
                {
                    tx.SetProtocol(Protocol.Default);
                    tx.SetMetadata(Metadata.Create(Schema, [], new Dictionary<string, string> { ["delta.appendOnly"] = "true", ["delta.autoOptimize.autoCompact"] = "true" }, name: "audit",
                        description: "ecap audit trail: one row per operation"));
                }
                else if (snapshot.Schema.GetFieldIndex("audit_id") < 0)
                {
                    // A trail written before records carried their audit id: widen its schema (new nullable columns; old files read them as null).
                    tx.SetMetadata(snapshot.Metadata with { SchemaString = DeltaSchema.ToSchemaString(Schema) });
                }
                tx.Add(add);
                tx.OperationParameters["mode"] = "append";
                try
                {
                    await tx.CommitAsync(ct);
                    _exists = true;
                    return;
                }
                catch (TableAlreadyExistsException) when (attempt < MaxCreateAttempts && expected is null)
                {
                    // Another process created the table first: append to it instead.
                }
            }
        }
        catch
        {
            try { await Table.Store.DeleteAsync(file.Key, CancellationToken.None); } catch (IOException) { /* vacuum removes it */ }
            throw;
        }
    }

    internal static RecordBatch ToBatch(IReadOnlyList<AuditRecord> records)
    {
        var time = new TimestampArray.Builder(new TimestampType(TimeUnit.Microsecond, "UTC"));
        var principal = new StringArray.Builder();
        var groups = new StringArray.Builder();
        var source = new StringArray.Builder();
        var operation = new StringArray.Builder();
        var table = new StringArray.Builder();
        var parameters = new StringArray.Builder();
        var outcome = new StringArray.Builder();
        var error = new StringArray.Builder();
        var rows = new Int64Array.Builder();
        var bytes = new Int64Array.Builder();
        var version = new Int64Array.Builder();
        var duration = new Int64Array.Builder();
        var host = new StringArray.Builder();
        var auditId = new StringArray.Builder();
        var recovered = new BooleanArray.Builder();
        foreach (var r in records)
        {
            time.Append(r.Time);
            principal.Append(r.Principal);
            groups.Append(string.Join(",", r.Groups));
            Append(source, r.IdentitySource);
            operation.Append(r.Operation);
            Append(table, r.Table);
            Append(parameters, r.Parameters.Count == 0 ? null : JsonSerializer.Serialize(r.Parameters));
            outcome.Append(r.Outcome);
            Append(error, r.Error);
            Append(rows, r.Rows);
            Append(bytes, r.Bytes);
            Append(version, r.TableVersion);
            duration.Append(r.DurationMs);
            Append(host, r.Host);
            Append(auditId, r.AuditId);
            recovered.Append(r.Recovered);
        }
        return new RecordBatch(Schema,
        [
            time.Build(), principal.Build(), groups.Build(), source.Build(), operation.Build(), table.Build(), parameters.Build(),
            outcome.Build(), error.Build(), rows.Build(), bytes.Build(), version.Build(), duration.Build(), host.Build(),
            auditId.Build(), recovered.Build(),
        ], records.Count);
    }

    private static void Append(StringArray.Builder b, string? v) { if (v is null) b.AppendNull(); else b.Append(v); }
    private static void Append(Int64Array.Builder b, long? v) { if (v is { } x) b.Append(x); else b.AppendNull(); }
}

/// <summary>Which audit records to return: all when every field is null.</summary>
public sealed record AuditFilter(string? Table = null, string? Principal = null, DateTimeOffset? Since = null);
