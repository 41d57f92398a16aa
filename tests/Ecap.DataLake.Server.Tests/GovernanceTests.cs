using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.DataLake.Server.Tests;

/// <summary>Grants and identity modes through the API: the same checks and audit records as the CLI's entry points.</summary>
public sealed class GovernanceTests : IAsyncLifetime
{
    private const string Issuer = "https://login.example.test/tenant";
    private readonly TempDir _dir = new();
    private readonly RSA _key = RSA.Create(2048);
    private DataLakeServer? _server;
    private HttpClient _http = null!;

    private string Lake => _dir.Sub("lake");

    public async Task InitializeAsync()
    {
        var lake = new DataLakeBuilder(Lake).Build();
        await lake.Storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 2000, seed: 3), "transactions", DataType.Transactions);
        await lake.Storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.UserEvents, 2000, seed: 3), "user_events", DataType.UserEvents);
    }

    public async Task DisposeAsync()
    {
        _http?.Dispose();
        if (_server is not null) await _server.DisposeAsync();
        _key.Dispose();
        _dir.Dispose();
    }

    /// <summary>Grants and settings made by "owner", a lake admin, through the library (as `access grant` does).</summary>
    private AccessControl Owner => new(new DataLakeBuilder(Lake).UseIdentity(new StaticIdentity(new Principal("owner", [], "test"))).Build().Guard);

    private async Task ServeAsync()
    {
        _server = await DataLakeServer.StartAsync(new DataLakeBuilder(Lake).UseIdentityClaims(RequestIdentity.Claims).Build(), new DataLakeServerOptions { Port = 0 });
        _http = new HttpClient { BaseAddress = _server.Url };
    }

    private async Task<(int Status, JsonElement Json)> GetAsync(string path, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        return ((int)response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    private async Task<List<AuditRecord>> AuditAsync() =>
        await new DataLakeBuilder(Lake).UseIdentity(new StaticIdentity(new Principal("owner", [], "test"))).Build().Guard.Audit!.ReadAsync().ToListAsync();

    [Fact]
    public async Task A_principal_without_a_grant_gets_403_and_the_denial_is_audited()
    {
        await Owner.GrantAsync("owner", Privilege.Admin, null); // access control on; the server's OS user has no grant
        await Owner.GrantAsync(Environment.UserName, Privilege.Read, "user_events", excludedColumns: ["customer_id"]);
        await ServeAsync();

        var (status, problem) = await GetAsync("/api/tables/transactions");
        Assert.Equal(403, status);
        Assert.Contains("access denied", problem.GetProperty("detail").GetString());
        Assert.Equal(200, (await GetAsync("/api/tables/user_events")).Status);
        var (_, tables) = await GetAsync("/api/tables");
        Assert.Equal(["user_events"], tables.EnumerateArray().Select(t => t.GetProperty("name").GetString()!)); // only what the caller may read
        Assert.Equal(403, (await GetAsync("/api/audit")).Status); // lake admins only

        // The preview's SQL goes through the same views as the query command: the excluded column reads as NULL and is named masked.
        using var preview = await _http.PostAsJsonAsync("/api/query", new { sql = "SELECT event_id, customer_id FROM user_events", limit = 50 });
        var result = JsonDocument.Parse(await preview.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(200, (int)preview.StatusCode);
        Assert.Equal(["customer_id"], result.GetProperty("masked").EnumerateArray().Select(c => c.GetString()!));
        Assert.Equal(50, result.GetProperty("rows").GetArrayLength());
        Assert.All(result.GetProperty("rows").EnumerateArray(), r => Assert.Equal(JsonValueKind.Null, r.GetProperty("customer_id").ValueKind));
        Assert.Contains(result.GetProperty("rows").EnumerateArray(), r => r.GetProperty("event_id").ValueKind == JsonValueKind.Number);
        using var refused = await _http.PostAsJsonAsync("/api/query", new { sql = "SELECT count(*) FROM transactions" });
        Assert.Equal(403, (int)refused.StatusCode);

        var denied = (await AuditAsync()).Where(r => r.Outcome == AuditOutcome.Denied && r.Principal == Environment.UserName).ToList();
        Assert.Contains(denied, r => r.Operation == "info" && r.Table == "transactions");
        Assert.Contains(denied, r => r.Operation == "audit-read");
    }

    [Fact]
    public async Task In_the_oidc_mode_each_request_is_its_bearer_tokens_caller()
    {
        // Pinned while the lake has no grants yet (anyone may), by the lake's own identity as `access identity set` does.
        await new AccessControl(new DataLakeBuilder(Lake).Build().Guard).SetIdentityModeAsync(new IdentitySettings { Mode = IdentityMode.Oidc, Issuer = Issuer, Audience = "ecap", Jwks = TestTokens.Jwks(_key, "k1") });
        await Owner.GrantAsync("owner", Privilege.Admin, null);
        await Owner.GrantAsync("alice@example.test", Privilege.Read, "transactions");
        await ServeAsync();
        var alice = TestTokens.Token(_key, "k1", Issuer, DateTime.UtcNow.AddHours(1));
        var bob = TestTokens.Token(_key, "k1", Issuer, DateTime.UtcNow.AddHours(1), name: "bob@example.test");

        var (ok, info) = await GetAsync("/api/tables/transactions", alice);
        Assert.Equal(200, ok);
        Assert.Equal(2000, info.GetProperty("info").GetProperty("record_count").GetInt64());
        Assert.Equal(403, (await GetAsync("/api/tables/transactions", bob)).Status);
        var (none, problem) = await GetAsync("/api/tables/transactions");
        Assert.Equal(401, none);
        Assert.Contains("bearer token", problem.GetProperty("detail").GetString());
        var expired = TestTokens.Token(_key, "k1", Issuer, DateTime.UtcNow.AddHours(-1));
        Assert.Equal(401, (await GetAsync("/api/tables/transactions", expired)).Status);

        var records = await AuditAsync();
        Assert.Contains(records, r => r.Principal == "alice@example.test" && r.Operation == "info" && r.Outcome == AuditOutcome.Succeeded && r.IdentitySource == "jwt:" + Issuer);
        Assert.Contains(records, r => r.Principal == "bob@example.test" && r.Operation == "info" && r.Outcome == AuditOutcome.Denied);
        Assert.Contains(records, r => r.Principal == "unauthenticated" && r.Outcome == AuditOutcome.Denied);
    }
}
