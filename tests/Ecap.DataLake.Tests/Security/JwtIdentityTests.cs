using System.Security.Cryptography;
using System.Text.Json;
using Ecap.DataLake.Security;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Ecap.DataLake.Tests.Security;

/// <summary>Bearer tokens validated against a locally generated RSA key published as a JWKS document (no network).</summary>
public sealed class JwtIdentityTests : IDisposable
{
    private const string Issuer = "https://login.example.test/tenant";
    private readonly RSA _key = RSA.Create(2048);
    private readonly RSA _otherKey = RSA.Create(2048);

    public void Dispose()
    {
        _key.Dispose();
        _otherKey.Dispose();
    }

    internal static string Jwks(RSA key, string kid) => Ecap.TestSupport.TestTokens.Jwks(key, kid);

    internal static string Token(RSA key, string kid, string issuer, DateTime expires, string name = "alice@example.test",
        string[]? groups = null, string? audience = "ecap") => Ecap.TestSupport.TestTokens.Token(key, kid, issuer, expires, name, groups, audience);

    private JwtIssuer Trusted => new(Issuer, Jwks(_key, "k1"), "ecap");

    [Fact]
    public async Task A_valid_token_names_the_principal_and_its_groups()
    {
        var token = Token(_key, "k1", Issuer, DateTime.UtcNow.AddHours(1), groups: ["analysts", "finance"]);
        var principal = await new JwtIdentity(token, Trusted).GetPrincipalAsync();
        Assert.Equal("alice@example.test", principal.Name);
        Assert.Equal(["analysts", "finance"], principal.Groups.Order());
        Assert.Equal("jwt:" + Issuer, principal.Source);
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var token = Token(_key, "k1", Issuer, DateTime.UtcNow.AddHours(-1));
        var e = await Assert.ThrowsAsync<AuthenticationFailedException>(() => new JwtIdentity(token, Trusted).GetPrincipalAsync());
        Assert.Contains("expired", e.Message);
    }

    [Fact]
    public async Task A_token_from_another_issuer_is_refused()
    {
        var token = Token(_key, "k1", "https://evil.example.test/", DateTime.UtcNow.AddHours(1));
        var e = await Assert.ThrowsAsync<AuthenticationFailedException>(() => new JwtIdentity(token, Trusted).GetPrincipalAsync());
        Assert.Contains("issuer", e.Message);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_or_for_another_audience_is_refused()
    {
        var forged = Token(_otherKey, "k1", Issuer, DateTime.UtcNow.AddHours(1));
        var e = await Assert.ThrowsAsync<AuthenticationFailedException>(() => new JwtIdentity(forged, Trusted).GetPrincipalAsync());
        Assert.Contains("signature", e.Message);
        var otherAudience = Token(_key, "k1", Issuer, DateTime.UtcNow.AddHours(1), audience: "someone-else");
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => new JwtIdentity(otherAudience, Trusted).GetPrincipalAsync());
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => new JwtIdentity("not-a-jwt", Trusted).GetPrincipalAsync());
    }

    [Fact]
    public async Task An_operation_with_a_refused_token_is_denied_and_audited()
    {
        using var dir = new TempDir();
        var lake = new GovernedLake(dir.Path);
        var expired = Token(_key, "k1", Issuer, DateTime.UtcNow.AddHours(-1));
        var storage = new Ecap.DataLake.Tables.DataLakeStorage(dir.Path, new Ecap.DataLake.Tables.DataLakeStorageOptions
        {
            Guard = LakeGuard.ForLake(lake.Store, new JwtIdentity(expired, Trusted)),
        });
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => storage.ListTablesAsync());
        var record = Assert.Single(await lake.AuditRecordsAsync());
        Assert.Equal((AuditOutcome.Denied, "unauthenticated", "list-tables"), (record.Outcome, record.Principal, record.Operation));
        Assert.Contains("expired", record.Error);
    }
}
