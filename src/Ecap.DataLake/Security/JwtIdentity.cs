using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Ecap.DataLake.Security;

/// <summary>An OIDC issuer this lake trusts: its identifier, its signing keys (a JWKS document) and, optionally, the audience tokens must name.</summary>
public sealed record JwtIssuer(string Issuer, string JwksJson, string? Audience = null)
{
    /// <summary>Claims tried, in order, for the principal's name.</summary>
    public IReadOnlyList<string> NameClaims { get; init; } = ["preferred_username", "upn", "email", "sub"];

    /// <summary>Claims read as group memberships (string or array values).</summary>
    public IReadOnlyList<string> GroupClaims { get; init; } = ["groups", "roles"];
}

/// <summary>
/// Enterprise identity: an OIDC/JWT bearer token validated with Microsoft.IdentityModel against the configured
/// issuer's keys (signature, issuer, lifetime, audience when configured). No network: the keys are given.
/// An invalid token fails the operation with <see cref="AuthenticationFailedException"/>; it never falls back.
/// </summary>
public sealed class JwtIdentity(string token, JwtIssuer issuer) : IIdentityProvider
{
    private readonly JsonWebTokenHandler _handler = new();

    public async Task<Principal> GetPrincipalAsync(CancellationToken ct = default)
    {
        IList<SecurityKey> keys;
        try { keys = new JsonWebKeySet(issuer.JwksJson).GetSigningKeys(); }
        catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException)
        {
            throw new AuthenticationFailedException($"The signing keys of issuer '{issuer.Issuer}' are not a valid JWKS document: {e.Message}");
        }
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = issuer.Issuer,
            ValidateIssuer = true,
            ValidAudience = issuer.Audience,
            ValidateAudience = issuer.Audience is not null,
            IssuerSigningKeys = keys,
            ValidateIssuerSigningKey = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromMinutes(1),
        };
        var result = await _handler.ValidateTokenAsync(token, parameters);
        if (!result.IsValid)
            throw new AuthenticationFailedException($"The bearer token was refused: {Reason(result.Exception)}");
        var claims = result.ClaimsIdentity.Claims.ToList();
        var name = issuer.NameClaims.Select(c => claims.FirstOrDefault(x => x.Type == c)?.Value).FirstOrDefault(v => !string.IsNullOrEmpty(v))
            ?? throw new AuthenticationFailedException($"The bearer token has no name claim ({string.Join(", ", issuer.NameClaims)}).");
        var groups = claims.Where(c => issuer.GroupClaims.Contains(c.Type)).Select(c => c.Value).Distinct(StringComparer.Ordinal).ToList();
        return new Principal(name, groups, "jwt:" + issuer.Issuer);
    }

    // The library's messages carry PII placeholders; say plainly which check failed.
    private static string Reason(Exception? e) => e switch
    {
        SecurityTokenExpiredException x => $"it expired at {x.Expires:u}.",
        SecurityTokenNotYetValidException => "it is not valid yet.",
        SecurityTokenInvalidIssuerException => "its issuer is not the configured issuer.",
        SecurityTokenInvalidAudienceException => "its audience is not the configured audience.",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "its signature does not verify with the issuer's keys.",
        SecurityTokenNoExpirationException => "it has no expiry.",
        SecurityTokenMalformedException => "it is not a well-formed JWT.",
        null => "unknown reason.",
        _ => e.GetType().Name + ".",
    };
}
