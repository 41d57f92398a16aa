using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Security;

/// <summary>How a lake learns who is calling; set per lake by a lake admin (<see cref="AccessControl.SetIdentityModeAsync"/>).</summary>
public enum IdentityMode
{
    /// <summary>The operating-system user running the process (the default). Trusts whoever runs the process.</summary>
    OsUser,

    /// <summary><c>ECAP_PRINCIPAL</c> / <c>ECAP_GROUPS</c> as the process says (for trusted services); the OS user when unset.</summary>
    Environment,

    /// <summary>An OIDC bearer token (<c>ECAP_TOKEN</c>) validated against the issuer, audience and keys pinned in the lake's config.</summary>
    Oidc,
}

/// <summary>
/// The lake's identity configuration, kept next to its grants (<c>_catalog/governance/identity/</c>, a versioned document):
/// the mode and, for <see cref="IdentityMode.Oidc"/>, the pinned issuer, audience and signing keys (a JWKS document).
/// Nothing in the caller's environment can change it: the environment only carries the caller's claim (a name or a token).
/// </summary>
public sealed record IdentitySettings
{
    public IdentityMode Mode { get; init; } = IdentityMode.OsUser;
    public string? Issuer { get; init; }
    public string? Audience { get; init; }
    /// <summary>The issuer's JWKS document (JSON), pinned: tokens must be signed by one of these keys.</summary>
    public string? Jwks { get; init; }
    public string? SetBy { get; init; }
    public DateTimeOffset? SetAt { get; init; }

    public static string ModeName(IdentityMode mode) => mode switch
    {
        IdentityMode.OsUser => "os-user",
        IdentityMode.Environment => "env",
        _ => "oidc",
    };

    /// <summary>Parses <c>os-user</c>, <c>env</c> or <c>oidc</c>.</summary>
    public static IdentityMode ParseMode(string value) => value.Trim().ToLowerInvariant() switch
    {
        "os-user" or "os" => IdentityMode.OsUser,
        "env" or "environment" => IdentityMode.Environment,
        "oidc" or "jwt" => IdentityMode.Oidc,
        _ => throw new InvalidInputException($"Unknown identity mode '{value}': use os-user, env or oidc."),
    };

    /// <summary>Checks the settings are complete and the keys parse (so a lake is never switched to a mode nobody can log in with).</summary>
    public IdentitySettings Validated()
    {
        if (Mode != IdentityMode.Oidc)
            return Issuer is null && Audience is null && Jwks is null ? this
                : throw new InvalidInputException("--issuer, --audience and --jwks belong to the oidc mode only.");
        if (string.IsNullOrWhiteSpace(Issuer)) throw new InvalidInputException("The oidc mode needs the issuer (--issuer URL, the tokens' iss claim).");
        if (string.IsNullOrWhiteSpace(Audience)) throw new InvalidInputException("The oidc mode needs the audience (--audience, the tokens' aud claim) so tokens for other applications are refused.");
        if (string.IsNullOrWhiteSpace(Jwks)) throw new InvalidInputException("The oidc mode needs the issuer's signing keys (--jwks FILE, a JWKS document).");
        try
        {
            if (new Microsoft.IdentityModel.Tokens.JsonWebKeySet(Jwks).GetSigningKeys().Count == 0)
                throw new InvalidInputException("The JWKS document holds no signing key.");
        }
        catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException)
        {
            throw new InvalidInputException($"The JWKS document is not valid: {e.Message}");
        }
        return this;
    }
}

/// <summary>Reads and writes a lake's <see cref="IdentitySettings"/> (the versioned document in its <c>_catalog</c> folder).</summary>
internal sealed class IdentitySettingsStore(IObjectStore lake)
{
    private const string Prefix = "governance/identity/";
    private readonly VersionedDocuments<IdentitySettings> _documents =
        new(lake.Child(LakeGrantStore.CatalogFolder), VersionedDocuments<IdentitySettings>.DefaultPruneAge);

    public async Task<IdentitySettings> GetAsync(CancellationToken ct) => (await _documents.LatestAsync(Prefix, ct)).Document ?? new IdentitySettings();

    public async Task<IdentitySettings> SetAsync(IdentitySettings settings, CancellationToken ct) =>
        await _documents.UpdateAsync(Prefix, _ => settings, "Identity settings", ct) ?? settings;
}

/// <summary>
/// The identity of a caller of one lake: the lake's mode (<see cref="IdentitySettings"/>, read at each call) applied to what
/// the environment claims. A claim the mode does not accept is refused (<see cref="AuthenticationFailedException"/>), never
/// silently ignored: a service setting <c>ECAP_PRINCIPAL</c> on an os-user lake must learn it is not trusted.
/// </summary>
internal sealed class LakeIdentity(IObjectStore lake, Func<string, string?>? variables = null) : IIdentityProvider
{
    private readonly Func<string, string?> _variable = variables ?? Environment.GetEnvironmentVariable;

    public IdentitySettingsStore Settings { get; } = new(lake);

    public async Task<Principal> GetPrincipalAsync(CancellationToken ct = default) =>
        await Identity.For(await Settings.GetAsync(ct), _variable).GetPrincipalAsync(ct);
}

/// <summary>The environment variables callers claim an identity with, and how each mode treats them.</summary>
internal static class Identity
{
    public const string TokenVariable = "ECAP_TOKEN";
    public const string PrincipalVariable = "ECAP_PRINCIPAL";
    public const string GroupsVariable = "ECAP_GROUPS";
    /// <summary>No longer read: the issuer, keys and audience are pinned in the lake (a caller could otherwise trust its own keys).</summary>
    public const string IssuerVariable = "ECAP_OIDC_ISSUER";
    public const string JwksVariable = "ECAP_OIDC_JWKS";
    public const string AudienceVariable = "ECAP_OIDC_AUDIENCE";

    private const string Hint = "A lake admin sets the mode with `ecap data-lake access identity set --mode os-user|env|oidc`.";

    public static IIdentityProvider For(IdentitySettings settings, Func<string, string?> variable)
    {
        var token = Value(variable, TokenVariable);
        var name = Value(variable, PrincipalVariable);
        foreach (var pinned in new[] { IssuerVariable, JwksVariable, AudienceVariable })
            if (Value(variable, pinned) is not null)
                throw new AuthenticationFailedException(
                    $"{pinned} is set, but the issuer, audience and keys of a lake are pinned in its identity settings and cannot come from the environment. Unset {pinned}. {Hint}");
        switch (settings.Mode)
        {
            case IdentityMode.Oidc:
                if (name is not null)
                    throw new AuthenticationFailedException($"This lake's identity mode is oidc: {PrincipalVariable} is not accepted; present a bearer token in {TokenVariable}.");
                if (token is null)
                    throw new AuthenticationFailedException($"This lake's identity mode is oidc: set {TokenVariable} to a bearer token from {settings.Issuer}.");
                return new JwtIdentity(token, new JwtIssuer(settings.Issuer!, settings.Jwks!, settings.Audience));
            case IdentityMode.Environment:
                if (token is not null)
                    throw new AuthenticationFailedException($"This lake's identity mode is env: {TokenVariable} is not accepted (tokens are validated only in the oidc mode). {Hint}");
                if (name is null) return new OsUserIdentity();
                var groups = (Value(variable, GroupsVariable) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                return new StaticIdentity(new Principal(name, groups, "environment"));
            default:
                if (token is not null || name is not null || Value(variable, GroupsVariable) is not null)
                    throw new AuthenticationFailedException(
                        $"This lake's identity mode is os-user: {(token is not null ? TokenVariable : name is not null ? PrincipalVariable : GroupsVariable)} is not accepted " +
                        $"(the caller is the operating-system user). Unset it, or ask for the env or oidc mode. {Hint}");
                return new OsUserIdentity();
        }
    }

    private static string? Value(Func<string, string?> variable, string name) => variable(name) is { Length: > 0 } v ? v.Trim() : null;
}
