using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Ecap.TestSupport;

/// <summary>OIDC bearer tokens signed by a locally generated RSA key, and the key as a JWKS document (no network, no issuer).</summary>
public static class TestTokens
{
    public static string Jwks(RSA key, string kid)
    {
        var p = key.ExportParameters(false);
        return JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid, n = Base64UrlEncoder.Encode(p.Modulus), e = Base64UrlEncoder.Encode(p.Exponent) } },
        });
    }

    public static string Token(RSA key, string kid, string issuer, DateTime expires, string name = "alice@example.test",
        string[]? groups = null, string? audience = "ecap")
    {
        var claims = new Dictionary<string, object> { ["preferred_username"] = name, ["sub"] = "u-123" };
        if (groups != null) claims["groups"] = groups;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            IssuedAt = expires.AddHours(-2),
            NotBefore = expires.AddHours(-2),
            Expires = expires,
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(key) { KeyId = kid }, SecurityAlgorithms.RsaSha256),
        });
    }
}
