using System.Security.Cryptography;
using Ecap.DataLake.Security;
using Ecap.DataLake.Storage;
using static Ecap.DataLake.Tests.Security.JwtIdentityTests;

namespace Ecap.DataLake.Tests.Security;

/// <summary>
/// Identity modes pinned per lake (os-user, env, oidc): the environment carries only the caller's claim, never what the
/// claim is checked against, so a caller can neither name itself on an os-user lake nor sign its own token on an oidc lake.
/// </summary>
public sealed class IdentityModeTests : IDisposable
{
    private const string Issuer = "https://login.example.test/tenant";
    private readonly TempDir _dir = new();
    private readonly RSA _key = RSA.Create(2048);
    private readonly RSA _attackerKey = RSA.Create(2048);

    public void Dispose()
    {
        _dir.Dispose();
        _key.Dispose();
        _attackerKey.Dispose();
    }

    private IObjectStore Lake => ObjectStoreFactory.Open(_dir.Sub("lake"));

    private LakeGuard GuardWith(Dictionary<string, string> environment) =>
        new(LakeGrantStore.ForLake(Lake), new AuditLog(Lake), new LakeIdentity(Lake, environment.GetValueOrDefault));

    private Task<Principal> WhoAsync(Dictionary<string, string> environment) => new AccessControl(GuardWith(environment)).WhoAmIAsync();

    [Fact]
    public async Task By_default_the_caller_is_the_os_user_and_a_self_asserted_principal_is_refused()
    {
        var os = await WhoAsync([]);
        Assert.Equal((Environment.UserName, "os"), (os.Name, os.Source));

        var e = await Assert.ThrowsAsync<AuthenticationFailedException>(() => WhoAsync(new() { [Identity.PrincipalVariable] = "admin" }));
        Assert.Contains("identity mode is os-user: ECAP_PRINCIPAL is not accepted", e.Message);
        Assert.Contains("access identity set", e.Message);
    }

    [Fact]
    public async Task The_env_mode_trusts_ecap_principal_and_refuses_tokens()
    {
        var settings = await new AccessControl(GuardWith([])).SetIdentityModeAsync(new IdentitySettings { Mode = IdentityMode.Environment });
        Assert.Equal(Environment.UserName, settings.SetBy);

        var etl = await WhoAsync(new() { [Identity.PrincipalVariable] = "etl", [Identity.GroupsVariable] = "loaders, writers" });
        Assert.Equal(("etl", "environment"), (etl.Name, etl.Source));
        Assert.Equal(["loaders", "writers"], etl.Groups.Order());
        Assert.Equal(Environment.UserName, (await WhoAsync([])).Name);
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => WhoAsync(new() { [Identity.TokenVariable] = "x.y.z" }));
    }

    [Fact]
    public async Task The_oidc_mode_validates_tokens_against_the_pinned_issuer_and_the_environment_cannot_override_it()
    {
        await new AccessControl(GuardWith([])).SetIdentityModeAsync(new IdentitySettings
        {
            Mode = IdentityMode.Oidc, Issuer = Issuer, Audience = "ecap", Jwks = Jwks(_key, "k1"),
        });

        var good = Token(_key, "k1", Issuer, DateTime.UtcNow.AddHours(1), name: "alice@example.test");
        Assert.Equal("alice@example.test", (await WhoAsync(new() { [Identity.TokenVariable] = good })).Name);

        // The attack of the issue: a token signed with the caller's own key, and that key offered through the environment.
        var forged = Token(_attackerKey, "k1", Issuer, DateTime.UtcNow.AddHours(1), name: "admin");
        var signature = await Assert.ThrowsAsync<AuthenticationFailedException>(() => WhoAsync(new() { [Identity.TokenVariable] = forged }));
        Assert.Contains("signature", signature.Message);
        var overridden = await Assert.ThrowsAsync<AuthenticationFailedException>(() => WhoAsync(new()
        {
            [Identity.TokenVariable] = forged, [Identity.IssuerVariable] = Issuer, [Identity.JwksVariable] = Jwks(_attackerKey, "k1"),
        }));
        Assert.Contains("pinned", overridden.Message);

        var otherAudience = Token(_key, "k1", Issuer, DateTime.UtcNow.AddHours(1), audience: "another-app");
        Assert.Contains("audience", (await Assert.ThrowsAsync<AuthenticationFailedException>(() => WhoAsync(new() { [Identity.TokenVariable] = otherAudience }))).Message);
        Assert.Contains("ECAP_TOKEN", (await Assert.ThrowsAsync<AuthenticationFailedException>(() => WhoAsync([]))).Message);
        await Assert.ThrowsAsync<AuthenticationFailedException>(() => WhoAsync(new() { [Identity.PrincipalVariable] = "admin" }));

        // Refused callers are audited as denied, as unauthenticated.
        var records = new List<AuditRecord>();
        await foreach (var r in Ecap.DataLake.Tables.AuditReader.ReadAsync(new AuditLog(Lake))) records.Add(r);
        Assert.Contains(records, r => r is { Operation: "whoami", Outcome: AuditOutcome.Denied, Principal: "unauthenticated" });
        Assert.Contains(records, r => r is { Operation: "whoami", Outcome: AuditOutcome.Succeeded, Principal: "alice@example.test" });
    }

    [Fact]
    public async Task Only_a_lake_admin_changes_the_mode_and_incomplete_oidc_settings_are_refused()
    {
        var owner = new AccessControl(GuardWith([]));
        await owner.SetIdentityModeAsync(new IdentitySettings { Mode = IdentityMode.Environment });
        await new AccessControl(GuardWith(new() { [Identity.PrincipalVariable] = "owner" })).GrantAsync("reader", Privilege.Read, null);

        // bob (a lake reader at most) cannot switch the lake back to a mode where he names himself.
        var bob = new AccessControl(GuardWith(new() { [Identity.PrincipalVariable] = "bob" }));
        await Assert.ThrowsAsync<AccessDeniedException>(() => bob.SetIdentityModeAsync(new IdentitySettings { Mode = IdentityMode.OsUser }));
        Assert.Equal(IdentityMode.Environment, (await bob.GetIdentitySettingsAsync()).Mode);

        var admin = new AccessControl(GuardWith(new() { [Identity.PrincipalVariable] = "owner" }));
        Assert.Contains("audience", (await Assert.ThrowsAsync<InvalidInputException>(() =>
            admin.SetIdentityModeAsync(new IdentitySettings { Mode = IdentityMode.Oidc, Issuer = Issuer, Jwks = Jwks(_key, "k1") }))).Message);
        Assert.Contains("JWKS", (await Assert.ThrowsAsync<InvalidInputException>(() =>
            admin.SetIdentityModeAsync(new IdentitySettings { Mode = IdentityMode.Oidc, Issuer = Issuer, Audience = "ecap", Jwks = "{\"keys\": 5}" }))).Message);
        Assert.Equal(IdentityMode.Environment, (await admin.GetIdentitySettingsAsync()).Mode);
    }
}
