using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Server;

/// <summary>The audit read of <c>ecap data-lake audit</c> and <c>GET /api/audit</c>: one definition of who may see it and what it returns.</summary>
internal static class AuditTrail
{
    /// <summary>
    /// The newest <paramref name="limit"/> records matching <paramref name="filter"/> (0: all), oldest first; one audited
    /// "audit-read" operation for lake admins (reading the trail is lake-wide: the table filter narrows what is shown, not who may see it).
    /// </summary>
    public static Task<List<AuditRecord>> ReadNewestAsync(LakeGuard guard, AuditFilter filter, int limit, string? since, CancellationToken ct) =>
        guard.RunAsync(new GuardedOperation("audit-read", filter.Table, Privilege.Admin, new Dictionary<string, string?>
        {
            ["table"] = filter.Table, ["principal"] = filter.Principal, ["since"] = since,
        }), async scope =>
        {
            scope.Require(Privilege.Admin, null);
            // The newest N in a min-heap by time: memory stays bounded by the limit however large the trail is.
            var newest = new PriorityQueue<AuditRecord, DateTimeOffset>();
            if (guard.Audit is { } audit)
                await foreach (var r in audit.ReadAsync(filter, ct))
                {
                    if (limit > 0 && newest.Count == limit)
                    {
                        if (r.Time <= newest.Peek().Time) continue;
                        newest.Dequeue();
                    }
                    newest.Enqueue(r, r.Time);
                }
            var list = newest.UnorderedItems.Select(x => x.Element).OrderBy(r => r.Time).ToList();
            scope.Complete(rows: list.Count);
            return list;
        }, ct);
}
