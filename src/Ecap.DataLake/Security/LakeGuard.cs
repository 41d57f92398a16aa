using System.Diagnostics;
using System.Globalization;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Microsoft.Extensions.Logging;

namespace Ecap.DataLake.Security;

/// <summary>An operation as access control and audit see it: its name, the table (null: the lake), the privilege it needs (null: none), its parameters.</summary>
public sealed record GuardedOperation(string Name, string? Table, Privilege? Privilege, IReadOnlyDictionary<string, string?>? Parameters = null);

/// <summary>Settings of a <see cref="LakeGuard"/>.</summary>
public sealed record LakeGuardOptions
{
    /// <summary>
    /// Told when an audit record could not be written (the record, the error). When null (the default) the failure
    /// is thrown as <see cref="AuditFailedException"/>, whose message says whether the operation itself completed.
    /// </summary>
    public Action<AuditRecord, Exception>? OnAuditFailure { get; init; }

    /// <summary>
    /// Told when the audit record of an operation that committed data could not be written (the record, the error). Such an
    /// operation never fails because of its audit: its commits carry the attribution (<see cref="CommitAttribution"/>) and
    /// <c>AuditReconciler</c> recovers the record from the table logs. Null (the default): logged as a warning by <see cref="Logger"/>.
    /// </summary>
    public Action<AuditRecord, Exception>? OnAuditDeferred { get; init; }

    /// <summary>Where deferred audit records are reported when <see cref="OnAuditDeferred"/> is null.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Told when each outermost operation starts and ends (OpenLineage runs, <see cref="IOperationObserver"/>).</summary>
    public IReadOnlyList<IOperationObserver> Observers { get; init; } = [];
}

/// <summary>
/// The one seam every entry point passes through: who is calling (<see cref="IIdentityProvider"/>), may they
/// (grants from the catalog store, <see cref="GrantSet"/>), and what happened (one <see cref="AuditRecord"/> per
/// operation in <see cref="AuditLog"/>). An entry point wraps its body in one call:
/// <code>return await guard.RunAsync(new GuardedOperation("compact", table, Privilege.Write, parameters), async scope =>
/// { ...; scope.Complete(rows, bytes, version); return result; }, ct);</code>
/// The check happens before the body touches data; a refusal throws <see cref="AccessDeniedException"/> and is audited.
/// Operations started inside another one (an ingest's writes, a write's catalog sync) are checked against the same
/// principal and grants but audited once, as the outer operation.
/// </summary>
public sealed class LakeGuard
{
    // The operation running in this async flow, shared by every guard so nested entry points audit once.
    private readonly AsyncLocal<GuardScope?> _current = new();

    private readonly IGrantStore? _grants;
    private readonly IIdentityProvider _identity;
    private readonly LakeGuardOptions _options;

    public LakeGuard(IGrantStore? grants, AuditLog? audit, IIdentityProvider? identity = null, LakeGuardOptions? options = null)
    {
        _grants = grants;
        Audit = audit;
        _identity = identity ?? new OsUserIdentity();
        _options = options ?? new LakeGuardOptions();
    }

    /// <summary>
    /// The guard of a lake: grants in its catalog (<c>_catalog</c>), audit in <c>_ecap/audit</c>, identity by the lake's
    /// identity mode (<see cref="IdentitySettings"/>) unless <paramref name="identity"/> is given.
    /// </summary>
    public static LakeGuard ForLake(IObjectStore lake, IIdentityProvider? identity = null, LakeGuardOptions? options = null) =>
        new(LakeGrantStore.ForLake(lake), new AuditLog(lake), identity ?? new LakeIdentity(lake), options);

    /// <summary>No checks and no audit: for tools that must not leave traces (benchmarks). Never use it for a shared lake.</summary>
    public static LakeGuard Unguarded { get; } = new(null, null, new StaticIdentity(new Principal("unguarded", [], "none")));

    /// <summary>Where records go (null: not audited).</summary>
    public AuditLog? Audit { get; }

    public IIdentityProvider Identity => _identity;

    /// <summary>The store grants are kept in (null: no access control).</summary>
    public IGrantStore? GrantStore => _grants;

    /// <summary>The operation of this guard running in the current async flow, if any.</summary>
    public GuardScope? Current => _current.Value;

    public async Task<GrantSet> GetGrantsAsync(CancellationToken ct = default) =>
        new(_grants is null ? [] : await _grants.GetGrantsAsync(ct));

    public Task RunAsync(GuardedOperation operation, Func<GuardScope, Task> body, CancellationToken ct = default) =>
        RunAsync<bool>(operation, async scope => { await body(scope); return true; }, ct);

    /// <summary>Checks the caller's privilege, runs <paramref name="body"/>, and audits the outcome (see the class summary).</summary>
    public async Task<T> RunAsync<T>(GuardedOperation operation, Func<GuardScope, Task<T>> body, CancellationToken ct = default)
    {
        if (_current.Value is { } outer)
        {
            var nested = outer.Nested(operation);
            nested.Require(operation.Privilege, operation.Table);
            return await body(nested);
        }

        var clock = Stopwatch.StartNew();
        var auditId = Guid.NewGuid().ToString("N");
        Principal principal;
        try { principal = await _identity.GetPrincipalAsync(ct); }
        catch (AuthenticationFailedException e)
        {
            var anonymous = new GuardScope(this, new Principal("unauthenticated", [], "none"), new GrantSet([]), operation, clock, auditId);
            await WriteAuditAsync(anonymous.ToRecord(AuditOutcome.Denied, e.Message), e, committed: false, ct);
            throw;
        }
        var scope = new GuardScope(this, principal, await GetGrantsAsync(ct), operation, clock, auditId);
        try
        {
            scope.Require(operation.Privilege, operation.Table);
        }
        catch (AccessDeniedException e)
        {
            await WriteAuditAsync(scope.ToRecord(AuditOutcome.Denied, e.Message), e, committed: false, ct);
            throw;
        }

        T result;
        _current.Value = scope;
        var observers = _options.Observers;
        if (observers.Count > 0) OperationObservers.Started(observers, scope.ToStart(), _options.Logger);
        // Every commit of the body carries the audit id and principal in its commitInfo: atomic with the data.
        using var attribution = CommitAttribution.Begin(new CommitAttribution(auditId, principal.Name, operation.Name, principal.Source));
        try
        {
            result = await body(scope);
        }
        catch (Exception e)
        {
            _current.Value = null;
            var outcome = e is AccessDeniedException || scope.DeniedAll ? AuditOutcome.Denied : AuditOutcome.Failed;
            var failed = scope.ToRecord(outcome, AuditRedaction.RedactValue(e.Message));
            if (observers.Count > 0) OperationObservers.Ended(observers, failed, _options.Logger);
            await WriteAuditAsync(failed, e, attribution.Commits > 0, CancellationToken.None);
            throw;
        }
        finally
        {
            _current.Value = null;
        }
        var succeeded = scope.DeniedAll ? AuditOutcome.Denied : AuditOutcome.Succeeded;
        var record = scope.ToRecord(succeeded, scope.DeniedAll ? scope.DenialSummary : null);
        if (observers.Count > 0) OperationObservers.Ended(observers, record, _options.Logger);
        await WriteAuditAsync(record, null, attribution.Commits > 0, CancellationToken.None);
        return result;
    }

    private async Task WriteAuditAsync(AuditRecord record, Exception? operationError, bool committed, CancellationToken ct)
    {
        if (Audit is null) return;
        try
        {
            await Audit.AppendAsync([record], ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            if (committed)
            {
                // The data is committed and attributed in its commitInfo: failing now would make a retrying script
                // write it twice. Reconciliation writes the record later.
                if (_options.OnAuditDeferred is { } defer) defer(record, e);
                else _options.Logger?.LogWarning(e, "The audit record of {Operation} (audit id {AuditId}) could not be written; its commits carry the attribution and `audit reconcile` recovers it",
                    record.Operation, record.AuditId);
                return;
            }
            if (_options.OnAuditFailure is { } report)
            {
                report(record, e);
                return;
            }
            var message = operationError is null
                ? $"The audit record of '{record.Operation}' completed" + (record.TableVersion is { } v ? $" (table version {v.ToString(CultureInfo.InvariantCulture)})" : "") +
                  $" could not be written to {Audit.Table.Location}: {e.Message}."
                : $"'{record.Operation}' failed: {operationError.Message} Its audit record could not be written either ({Audit.Table.Location}: {e.Message}).";
            throw new AuditFailedException(message + " Fix the lake's _ecap folder (space, permissions).", e)
            { OperationError = operationError };
        }
    }
}

/// <summary>
/// One guarded operation in progress: the principal, the grants read when it started, and what the body reports
/// for the audit record (<see cref="Complete"/>). Also answers column masks and further privilege checks.
/// </summary>
public sealed class GuardScope
{
    private readonly LakeGuard _guard;
    private readonly Stopwatch _clock;
    private readonly GuardScope? _outer;
    private readonly Dictionary<string, string?> _parameters;
    private long? _rows, _bytes, _version;

    internal GuardScope(LakeGuard guard, Principal principal, GrantSet grants, GuardedOperation operation, Stopwatch clock, string auditId, GuardScope? outer = null)
    {
        AuditId = auditId;
        _guard = guard;
        Principal = principal;
        Grants = grants;
        Operation = operation;
        _clock = clock;
        _outer = outer;
        Table = operation.Table;
        _parameters = new Dictionary<string, string?>(operation.Parameters ?? new Dictionary<string, string?>(), StringComparer.Ordinal);
    }

    public Principal Principal { get; }
    public GrantSet Grants { get; }
    public GuardedOperation Operation { get; }

    /// <summary>The table(s) the audit record names; a query adds the tables it turns out to read (<see cref="AddTable"/>).</summary>
    public string? Table { get; private set; }

    /// <summary>Names one more table in the audit record (of the outermost operation too).</summary>
    public void AddTable(string table)
    {
        if (Table is null) Table = table;
        else if (!Table.Split(',').Contains(table, StringComparer.Ordinal)) Table += "," + table;
        _outer?.AddTable(table);
    }

    /// <summary>True when this scope runs inside another operation (it is not audited on its own).</summary>
    public bool IsNested => _outer is not null;

    internal GuardScope Nested(GuardedOperation operation) => new(_guard, Principal, Grants, operation, _clock, AuditId, this);

    /// <summary>The id of the operation's audit record (also in the commitInfo of every commit it makes).</summary>
    public string AuditId { get; }

    private int _attempted, _denied;
    private string? _firstDenial;

    /// <summary>
    /// Reports one item of a multi-table operation (optimize-all): attempted, and whether access control refused it.
    /// When every attempted item was refused, the operation is audited as denied.
    /// </summary>
    public void ReportItem(bool denied, string? denial = null)
    {
        if (_outer is not null) { _outer.ReportItem(denied, denial); return; }
        Interlocked.Increment(ref _attempted);
        if (denied)
        {
            Interlocked.Increment(ref _denied);
            Interlocked.CompareExchange(ref _firstDenial, denial, null);
        }
    }

    internal bool DeniedAll => _attempted > 0 && _denied == _attempted;

    internal string? DenialSummary => $"every one of {_attempted} item(s) was denied" + (_firstDenial is null ? "" : $" ({_firstDenial})");

    /// <summary>What the operation did, for its audit record (rows and bytes affected, the table version it produced or read).</summary>
    public void Complete(long? rows = null, long? bytes = null, long? version = null)
    {
        if (rows is not null) _rows = rows;
        if (bytes is not null) _bytes = bytes;
        if (version is not null) _version = version;
    }

    public void SetParameter(string key, string? value) => _parameters[key] = value;

    /// <summary>Throws <see cref="AccessDeniedException"/> unless the principal holds <paramref name="privilege"/> on <paramref name="table"/> (null: the lake).</summary>
    public void Require(Privilege? privilege, string? table)
    {
        if (privilege is not { } p) return;
        var governed = GrantSet.GovernedTable(table);
        if (!Grants.Allows(Principal, p, governed))
            throw new AccessDeniedException($"access denied: {Principal.Name} lacks {p.Name()} on {(governed is null ? "the lake" : "table " + governed)}" +
                ". A lake or table admin can grant it with `ecap data-lake access grant`.");
    }

    public bool CanRead(string table) => Grants.Allows(Principal, Privilege.Read, GrantSet.GovernedTable(table));

    /// <summary>Columns of <paramref name="table"/> returned as nulls to this principal.</summary>
    public IReadOnlySet<string> MaskedColumns(string table) => Grants.MaskedColumns(Principal, GrantSet.GovernedTable(table)!);

    internal OperationStart ToStart() => new(AuditId, Operation.Name, Table, AuditRedaction.Redact(_parameters), Principal.Name, DateTimeOffset.UtcNow);

    internal AuditRecord ToRecord(string outcome, string? error) => new()
    {
        Time = DateTimeOffset.UtcNow,
        Principal = Principal.Name,
        Groups = Principal.Groups,
        IdentitySource = Principal.Source,
        Operation = Operation.Name,
        Table = Table,
        Parameters = AuditRedaction.Redact(_parameters),
        Outcome = outcome,
        Error = error,
        Rows = _rows,
        Bytes = _bytes,
        TableVersion = _version,
        DurationMs = _clock.ElapsedMilliseconds,
        AuditId = AuditId,
    };
}
