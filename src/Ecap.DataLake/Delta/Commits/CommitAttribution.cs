namespace Ecap.DataLake.Delta;

/// <summary>
/// Who a commit is made for, written into its <c>commitInfo</c> (<c>userName</c>, and <c>ecapAudit</c> with the audit id,
/// operation and identity source), so the attribution is atomic with the data: a process killed between its commit and its
/// audit record still leaves the commit attributable, and the audit can be reconciled from the log.
/// The governance layer opens one per guarded operation (<see cref="Begin"/>); every transaction committed in that async flow
/// carries it and is counted by the scope (<see cref="AttributionScope.Commits"/>).
/// </summary>
/// <param name="AuditId">The id of the audit record that describes the operation (one record for all of its commits).</param>
/// <param name="Principal">The caller, as the identity provider named them.</param>
/// <param name="Operation">The operation (write, ingest, compact...).</param>
/// <param name="IdentitySource">The identity provider that named the principal.</param>
public sealed record CommitAttribution(string AuditId, string Principal, string Operation, string? IdentitySource)
{
    /// <summary>The key of the attribution object in commitInfo.</summary>
    public const string CommitInfoField = "ecapAudit";

    private static readonly AsyncLocal<Scope?> s_current = new();

    /// <summary>The attribution of the operation running in this async flow, if any.</summary>
    public static CommitAttribution? Current => s_current.Value?.Attribution;

    // The open attribution and how many commits were made under it (whether an operation committed decides how its audit failure is handled).
    internal sealed class Scope(CommitAttribution attribution)
    {
        public CommitAttribution Attribution { get; } = attribution;
        public int Commits;
    }

    /// <summary>
    /// Attributes the commits of this async flow to <paramref name="attribution"/> until the returned scope is disposed.
    /// An attribution already open stays in force (nested operations are part of the outer one).
    /// </summary>
    public static AttributionScope Begin(CommitAttribution attribution)
    {
        if (s_current.Value is { } outer) return new AttributionScope(outer, restore: false);
        var scope = new Scope(attribution);
        s_current.Value = scope;
        return new AttributionScope(scope, restore: true);
    }

    internal static void End() => s_current.Value = null;

    internal static void RecordCommit()
    {
        if (s_current.Value is { } scope) Interlocked.Increment(ref scope.Commits);
    }

    internal IReadOnlyDictionary<string, string> ToCommitInfo()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal) { ["id"] = AuditId, ["principal"] = Principal, ["operation"] = Operation };
        if (IdentitySource is not null) map["identitySource"] = IdentitySource;
        return map;
    }

    /// <summary>The attribution a commit carries (null when it has none, e.g. written by another engine).</summary>
    public static CommitAttribution? FromCommitInfo(CommitInfo? info) =>
        info?.Attribution is { } map && map.TryGetValue("id", out var id) && map.TryGetValue("principal", out var principal)
            ? new CommitAttribution(id, principal, map.GetValueOrDefault("operation") ?? info.Operation ?? "unknown", map.GetValueOrDefault("identitySource"))
            : null;
}

/// <summary>An open <see cref="CommitAttribution"/>: how many commits were made under it so far; disposing ends it.</summary>
public sealed class AttributionScope : IDisposable
{
    private readonly CommitAttribution.Scope _scope;
    private readonly bool _restore;

    internal AttributionScope(CommitAttribution.Scope scope, bool restore)
    {
        _scope = scope;
        _restore = restore;
    }

    /// <summary>The number of commits made under this attribution (by every table).</summary>
    public int Commits => Volatile.Read(ref _scope.Commits);

    public void Dispose()
    {
        // Only the outermost scope ends the attribution (nested operations belong to the outer one).
        if (_restore) CommitAttribution.End();
    }
}
