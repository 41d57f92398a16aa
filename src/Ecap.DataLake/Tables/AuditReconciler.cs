using System.Globalization;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tables;

/// <summary>What <see cref="AuditReconciler.ReconcileAsync"/> should look at.</summary>
public sealed record AuditReconcileOptions
{
    /// <summary>Only this table (null: every table of the lake, dead-letter tables included).</summary>
    public string? Table { get; init; }

    /// <summary>
    /// Commits younger than this are left alone: their writer may still be writing its record (a record added now would be a
    /// second one when it lands). Default 10 minutes; 0 once every writer is known to be gone.
    /// </summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Report what is missing, add nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>"Now" (tests move it).</summary>
    public DateTimeOffset? Now { get; init; }
}

/// <summary>What a reconciliation found: commits read, commits already audited, the records it added (or would add).</summary>
public sealed record AuditReconcileResult(int TablesScanned, int CommitsScanned, int CommitsAudited, int CommitsTooRecent, IReadOnlyList<AuditRecord> Recovered);

/// <summary>
/// Makes the audit trail complete from the table logs: every committed version of every table is described by exactly one
/// audit record. ecap's commits carry the audit id of their operation in commitInfo (<see cref="CommitAttribution"/>); a
/// commit whose id has no record (its writer died between the commit and the record, or the audit store failed) gets one,
/// rebuilt from the commit and marked <see cref="AuditRecord.Recovered"/>. Commits of other writers (Spark, delta-rs) carry
/// no id: a version with no record naming it gets one with the writer's <c>userName</c> (or <c>unknown</c>).
/// The records are appended only if the trail did not change since it was read, so two reconcilers never add a record twice.
/// </summary>
public sealed class AuditReconciler(DataLakeStorage storage)
{
    private const int MaxAttempts = 20;

    public Task<AuditReconcileResult> ReconcileAsync(AuditReconcileOptions? options = null, CancellationToken ct = default)
    {
        options ??= new AuditReconcileOptions();
        if (options.Grace < TimeSpan.Zero) throw new InvalidInputException($"The grace period must not be negative (got {options.Grace}).");
        var parameters = new Dictionary<string, string?>
        {
            ["table"] = options.Table, ["grace_seconds"] = options.Grace.TotalSeconds.ToString(CultureInfo.InvariantCulture), ["dry_run"] = options.DryRun.ToString(),
        };
        // Lake admins only: the records name every principal of every table.
        return storage.Guard.RunAsync(new GuardedOperation("audit-reconcile", null, Privilege.Admin, parameters), async scope =>
        {
            var audit = storage.Guard.Audit ?? throw new InvalidInputException("This lake keeps no audit trail (an unguarded lake): nothing to reconcile.");
            for (var attempt = 1; ; attempt++)
            {
                var result = await FindMissingAsync(audit, options, ct);
                if (options.DryRun || result.Missing.Recovered.Count == 0)
                {
                    scope.Complete(rows: result.Missing.Recovered.Count);
                    return result.Missing;
                }
                try
                {
                    await audit.AppendIfUnchangedAsync(result.Missing.Recovered, result.TrailSnapshot, ct);
                    scope.Complete(rows: result.Missing.Recovered.Count);
                    return result.Missing;
                }
                catch (Exception e) when (e is ConcurrentModificationException or TableAlreadyExistsException && attempt < MaxAttempts)
                {
                    // A record landed meanwhile (perhaps one we were about to recover): decide again from the new trail.
                    await Task.Delay(Random.Shared.Next(5, 50), ct);
                }
            }
        }, ct);
    }

    private async Task<(AuditReconcileResult Missing, Snapshot? TrailSnapshot)> FindMissingAsync(AuditLog audit, AuditReconcileOptions options, CancellationToken ct)
    {
        var trail = await audit.Table.ExistsAsync(ct) ? await audit.Table.GetSnapshotAsync(ct) : null;
        var auditedIds = new HashSet<string>(StringComparer.Ordinal);
        var auditedVersions = new HashSet<(string Table, long Version)>();
        if (trail is not null)
            await foreach (var (auditId, recordTable, recordVersion, outcome) in AuditReader.ReadKeysAsync(audit, trail, ct))
            {
                if (auditId is { } id) auditedIds.Add(id);
                if (recordTable is { } t && recordVersion is { } v && outcome == AuditOutcome.Succeeded) auditedVersions.Add((t, v));
            }

        var tables = options.Table is { } only ? [TableNames.Validate(only)] : await storage.ListTableNamesAsync(ct);
        var horizon = (options.Now ?? DateTimeOffset.UtcNow) - options.Grace;
        int scanned = 0, audited = 0, recent = 0;
        // One record per missing audit id (an operation's commits share it, across its tables), one per unattributed version.
        var byId = new Dictionary<string, List<(string Table, long Version, CommitInfo Info)>>(StringComparer.Ordinal);
        var recovered = new List<AuditRecord>();
        foreach (var name in tables)
        {
            var table = storage.OpenTable(name);
            if (!await table.ExistsAsync(ct)) throw new TableNotFoundException($"Table '{name}' does not exist in {storage.Location} (no _delta_log).");
            await foreach (var commit in table.ReadCommitsAsync(-1, long.MaxValue, ct))
            {
                scanned++;
                var info = commit.CommitInfo ?? new CommitInfo();
                var attribution = CommitAttribution.FromCommitInfo(info);
                if (attribution is not null ? auditedIds.Contains(attribution.AuditId) : auditedVersions.Contains((name, commit.Version)))
                {
                    audited++;
                    continue;
                }
                if (info.Timestamp is not { } ms || DateTimeOffset.FromUnixTimeMilliseconds(ms) > horizon)
                {
                    recent++;
                    continue;
                }
                if (attribution is not null)
                {
                    if (!byId.TryGetValue(attribution.AuditId, out var list)) byId[attribution.AuditId] = list = [];
                    list.Add((name, commit.Version, info));
                }
                else
                {
                    recovered.Add(Recovered(info.UserName ?? "unknown", "log:" + (info.EngineInfo ?? "unknown writer"),
                        (info.Operation ?? "unknown").ToLowerInvariant(), null, [(name, commit.Version, info)]));
                }
            }
        }
        foreach (var (id, commits) in byId)
        {
            var a = CommitAttribution.FromCommitInfo(commits[0].Info)!;
            recovered.Add(Recovered(a.Principal, a.IdentitySource, a.Operation, id, commits));
        }
        recovered.Sort((x, y) => x.Time.CompareTo(y.Time));
        return (new AuditReconcileResult(tables.Count, scanned, audited, recent, recovered), trail);
    }

    private static AuditRecord Recovered(string principal, string? source, string operation, string? auditId, List<(string Table, long Version, CommitInfo Info)> commits)
    {
        var tables = commits.Select(c => c.Table).Distinct(StringComparer.Ordinal).ToList();
        return new AuditRecord
        {
            Time = DateTimeOffset.FromUnixTimeMilliseconds(commits.Max(c => c.Info.Timestamp ?? 0)),
            Principal = principal,
            IdentitySource = source,
            Operation = operation,
            Table = string.Join(",", tables),
            Parameters = new Dictionary<string, string?>
            {
                ["versions"] = string.Join(",", commits.Select(c => $"{c.Table}@{c.Version.ToString(CultureInfo.InvariantCulture)}")),
                ["commit_operation"] = commits[0].Info.Operation,
            },
            Outcome = AuditOutcome.Succeeded,
            TableVersion = commits.Where(c => c.Table == tables[0]).Max(c => c.Version),
            AuditId = auditId,
            Recovered = true,
            Host = "",
        };
    }
}
