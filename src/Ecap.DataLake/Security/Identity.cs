namespace Ecap.DataLake.Security;

/// <summary>
/// Picks the identity provider from the environment, most specific first:
/// a bearer token (<c>ECAP_TOKEN</c>) validated against the configured issuer (<c>ECAP_OIDC_ISSUER</c>,
/// <c>ECAP_OIDC_JWKS</c> = a JWKS file or inline JSON, optional <c>ECAP_OIDC_AUDIENCE</c>); else
/// <c>ECAP_PRINCIPAL</c> with <c>ECAP_GROUPS</c> (comma-separated); else the OS user.
/// A token without an issuer configuration is refused rather than trusted unvalidated.
/// </summary>
internal static class Identity
{
    public const string TokenVariable = "ECAP_TOKEN";
    public const string PrincipalVariable = "ECAP_PRINCIPAL";
    public const string GroupsVariable = "ECAP_GROUPS";
    public const string IssuerVariable = "ECAP_OIDC_ISSUER";
    public const string JwksVariable = "ECAP_OIDC_JWKS";
    public const string AudienceVariable = "ECAP_OIDC_AUDIENCE";

    public static IIdentityProvider FromEnvironment() => FromVariables(Environment.GetEnvironmentVariable);

    /// <summary>The same choice over any variable source (testable without touching the process environment).</summary>
    public static IIdentityProvider FromVariables(Func<string, string?> variable)
    {
        if (Value(variable, TokenVariable) is { } token)
        {
            var issuer = Value(variable, IssuerVariable);
            var jwks = Value(variable, JwksVariable);
            if (issuer is null || jwks is null)
                throw new AuthenticationFailedException(
                    $"{TokenVariable} is set but the issuer is not configured: set {IssuerVariable} and {JwksVariable} (the issuer's JWKS file or JSON) so the token can be validated.");
            var keys = jwks.TrimStart().StartsWith('{') ? jwks : File.ReadAllText(jwks);
            return new JwtIdentity(token, new JwtIssuer(issuer, keys, Value(variable, AudienceVariable)));
        }
        if (Value(variable, PrincipalVariable) is { } name)
        {
            var groups = (Value(variable, GroupsVariable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return new StaticIdentity(new Principal(name, groups, "environment"));
        }
        return new OsUserIdentity();
    }

    private static string? Value(Func<string, string?> variable, string name) => variable(name) is { Length: > 0 } v ? v.Trim() : null;
}

/// <summary>The provider <see cref="Identity.FromEnvironment"/> picks, chosen afresh at each call (so a changed token is seen).</summary>
internal sealed class EnvironmentIdentity : IIdentityProvider
{
    public Task<Principal> GetPrincipalAsync(CancellationToken ct = default) => Identity.FromEnvironment().GetPrincipalAsync(ct);
}
