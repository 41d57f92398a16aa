using Ecap.DataLake.Storage;
namespace Ecap.DataLake.Security;

/// <summary>
/// Grant administration: grant, revoke, show. The first grant on a lake turns access control on and makes its
/// caller lake admin (so the lake never locks out the one who secured it). Afterwards a table grant needs admin on
/// that table, a lake grant needs lake admin. Every call is a guarded, audited operation.
/// </summary>
public sealed class AccessControl(LakeGuard guard)
{
    public async Task<IReadOnlyList<Grant>> GrantAsync(string grantee, Privilege privilege, string? table,
        IReadOnlyList<string>? excludedColumns = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(grantee);
        if (table is not null) TableNames.Validate(table);
        var store = guard.GrantStore ?? throw new InvalidOperationException("This guard keeps no grants (no catalog store).");
        var parameters = new Dictionary<string, string?>
        {
            ["grantee"] = grantee, ["privilege"] = privilege.Name(),
            ["excluded_columns"] = excludedColumns is { Count: > 0 } ? string.Join(",", excludedColumns) : null,
        };
        return await guard.RunAsync(new GuardedOperation("access-grant", table, Privilege.Admin, parameters), async scope =>
        {
            var grant = new Grant
            {
                Grantee = grantee.Trim(),
                Privilege = privilege,
                Table = table,
                ExcludedColumns = excludedColumns ?? [],
                GrantedBy = scope.Principal.Name,
                GrantedAt = DateTimeOffset.UtcNow,
            };
            return await store.UpdateGrantsAsync(current =>
            {
                var next = current.Where(g => !g.SameScope(grant)).ToList();
                // Re-checked on the latest grants: another admin may have secured the lake meanwhile.
                var latest = new GrantSet(current);
                if (latest.Enabled && !latest.Allows(scope.Principal, Privilege.Admin, table))
                    throw new AccessDeniedException($"access denied: {scope.Principal.Name} lacks admin on {(table is null ? "the lake" : "table " + table)}.");
                if (!latest.Enabled)
                    next.Add(new Grant { Grantee = scope.Principal.Name, Privilege = Privilege.Admin, GrantedBy = scope.Principal.Name, GrantedAt = grant.GrantedAt });
                next.Add(grant);
                return next.DistinctBy(g => (g.Grantee, g.Privilege, g.Table)).ToList();
            }, ct);
        }, ct);
    }

    /// <summary>Removes the grant of <paramref name="privilege"/> to <paramref name="grantee"/> on the scope; returns the grants left.</summary>
    public async Task<IReadOnlyList<Grant>> RevokeAsync(string grantee, Privilege privilege, string? table, CancellationToken ct = default)
    {
        var store = guard.GrantStore ?? throw new InvalidOperationException("This guard keeps no grants (no catalog store).");
        var parameters = new Dictionary<string, string?> { ["grantee"] = grantee, ["privilege"] = privilege.Name() };
        return await guard.RunAsync(new GuardedOperation("access-revoke", table, Privilege.Admin, parameters), async scope =>
        {
            var found = false;
            var result = await store.UpdateGrantsAsync(current =>
            {
                var next = current.Where(g => !(g.Grantee == grantee && g.Privilege == privilege && g.Table == table)).ToList();
                found = next.Count != current.Count;
                if (!found) return current;
                if (next.Count > 0 && !next.Any(g => g.IsLakeGrant && g.Privilege == Privilege.Admin))
                    throw new InvalidInputException("Cannot revoke the last lake admin grant: grant lake admin to someone else first.");
                return next;
            }, ct);
            if (!found)
                throw new InvalidInputException($"No {privilege.Name()} grant to '{grantee}' on {(table is null ? "the lake" : "table " + table)} to revoke.");
            return result;
        }, ct);
    }

    /// <summary>Who the identity provider says the caller is, as an audited operation (asking is itself a trace worth keeping).</summary>
    public Task<Principal> WhoAmIAsync(CancellationToken ct = default) =>
        guard.RunAsync(new GuardedOperation("whoami", null, null), scope => Task.FromResult(scope.Principal), ct);

    /// <summary>The lake's identity settings (mode, pinned issuer and audience). Readable by anyone: they hold no secret.</summary>
    public Task<IdentitySettings> GetIdentitySettingsAsync(CancellationToken ct = default) =>
        guard.RunAsync(new GuardedOperation("access-identity-show", null, null), _ => SettingsStore().GetAsync(ct), ct);

    /// <summary>
    /// Pins how the lake learns who is calling (lake admins only, audited). Grant lake admin to the principal the new mode
    /// will name (the token's name in oidc) before switching, or nobody can administer the lake afterwards.
    /// </summary>
    public Task<IdentitySettings> SetIdentityModeAsync(IdentitySettings settings, CancellationToken ct = default)
    {
        settings.Validated();
        var parameters = new Dictionary<string, string?>
        {
            ["mode"] = IdentitySettings.ModeName(settings.Mode), ["issuer"] = settings.Issuer, ["audience"] = settings.Audience,
        };
        return guard.RunAsync(new GuardedOperation("access-identity-set", null, Privilege.Admin, parameters), scope =>
            SettingsStore().SetAsync(settings with { SetBy = scope.Principal.Name, SetAt = DateTimeOffset.UtcNow }, ct), ct);
    }

    private IdentitySettingsStore SettingsStore() => (guard.Identity as LakeIdentity)?.Settings
        ?? throw new InvalidInputException("This lake's identity comes from the application (a custom identity provider), not from lake settings.");

    /// <summary>The grants (of one table and the lake grants covering it, when given). Readable by anyone who may read the table.</summary>
    public Task<IReadOnlyList<Grant>> ShowAsync(string? table = null, CancellationToken ct = default) =>
        guard.RunAsync(new GuardedOperation("access-show", table, table is null ? null : Privilege.Read), async scope =>
        {
            var grants = await guard.GetGrantsAsync(ct);
            return (IReadOnlyList<Grant>)grants.Grants.Where(g => table is null || g.IsLakeGrant || g.Table == table).ToList();
        }, ct);
}
