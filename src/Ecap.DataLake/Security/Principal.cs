namespace Ecap.DataLake.Security;

/// <summary>Who is calling: a user or service name, the groups it belongs to, and which identity provider said so.</summary>
public sealed record Principal(string Name, IReadOnlyList<string> Groups, string Source)
{
    /// <summary>True when a grant to <paramref name="grantee"/> applies to this principal (its own name or one of its groups).</summary>
    public bool Matches(string grantee) =>
        string.Equals(grantee, Name, StringComparison.Ordinal) || Groups.Contains(grantee, StringComparer.Ordinal);

    public override string ToString() => Name;
}

/// <summary>The seam to an identity system: says who the caller of an operation is.</summary>
public interface IIdentityProvider
{
    Task<Principal> GetPrincipalAsync(CancellationToken ct = default);
}

/// <summary>The operating-system user running the process (the default for a local lake).</summary>
internal sealed class OsUserIdentity : IIdentityProvider
{
    public Task<Principal> GetPrincipalAsync(CancellationToken ct = default) =>
        Task.FromResult(new Principal(Environment.UserName, [], "os"));
}

/// <summary>A fixed principal: services configured with a name and groups (<c>ECAP_PRINCIPAL</c> / <c>ECAP_GROUPS</c>), and tests.</summary>
public sealed class StaticIdentity(Principal principal) : IIdentityProvider
{
    public StaticIdentity(string name, params string[] groups) : this(new Principal(name, groups, "static")) { }

    public Principal Principal { get; } = principal;

    public Task<Principal> GetPrincipalAsync(CancellationToken ct = default) => Task.FromResult(Principal);
}
