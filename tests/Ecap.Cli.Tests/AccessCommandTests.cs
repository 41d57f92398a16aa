namespace Ecap.Cli.Tests;

/// <summary>`access` and `audit` end to end, as separate processes whose identity comes from ECAP_PRINCIPAL / ECAP_GROUPS (a lake in env mode).</summary>
public sealed class AccessCommandTests : IDisposable
{
    private readonly TempDir _dir = new();

    public AccessCommandTests()
    {
        var env = EcapProcess.Run("--lake", _dir.Sub("lake"), "data-lake", "access", "identity", "set", "env");
        Assert.True(env.ExitCode == 0, env.Stderr);
    }

    public void Dispose() => _dir.Dispose();

    private EcapProcess.Result As(string principal, params string[] args) =>
        EcapProcess.RunWithEnvironment(new Dictionary<string, string> { ["ECAP_PRINCIPAL"] = principal, ["ECAP_GROUPS"] = "" }, ["--lake", _dir.Sub("lake"), .. args]);

    [Fact]
    public void Grants_decide_who_reads_and_the_audit_shows_every_command()
    {
        var source = _dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "500", "--days", "2", "--out", source, "--seed", "3").ExitCode);
        var write = As("alice", "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source);
        Assert.True(write.ExitCode == 0, write.Stderr);

        // The first grant makes alice lake admin.
        var grant = As("alice", "--output", "json", "data-lake", "access", "grant", "read", "--principal", "bob", "--table", "tx", "--exclude-columns", "amount");
        Assert.True(grant.ExitCode == 0, grant.Stderr);
        var grants = grant.Json().EnumerateArray().ToList();
        Assert.Contains(grants, g => g.GetProperty("grantee").GetString() == "alice" && g.GetProperty("privilege").GetString() == "admin"
                                     && g.GetProperty("table").ValueKind == System.Text.Json.JsonValueKind.Null);
        Assert.Contains(grants, g => g.GetProperty("grantee").GetString() == "bob" && g.GetProperty("excluded_columns")[0].GetString() == "amount");

        // bob reads with amount masked; carol is refused with exit code 1 and a clear message.
        var bob = As("bob", "--output", "json", "data-lake", "storage", "read", "tx", "--columns", "transaction_id,amount", "--limit", "5");
        Assert.True(bob.ExitCode == 0, bob.Stderr);
        Assert.All(bob.Json().EnumerateArray(), row => Assert.Equal(System.Text.Json.JsonValueKind.Null, row.GetProperty("amount").ValueKind));
        var carol = As("carol", "data-lake", "storage", "info", "tx");
        Assert.Equal(1, carol.ExitCode);
        Assert.Contains("access denied: carol lacks read on table tx", carol.Stderr);
        Assert.Contains("hint:", carol.Stderr);

        // Bad input: both --table and --lake-wide.
        Assert.Equal(2, As("alice", "data-lake", "access", "grant", "read", "--principal", "x", "--table", "tx", "--lake-wide").ExitCode);

        // The audit: bob may not read it; alice sees every command once, in order.
        Assert.Equal(1, As("bob", "data-lake", "audit").ExitCode);
        var audit = As("alice", "--output", "json", "data-lake", "audit");
        Assert.True(audit.ExitCode == 0, audit.Stderr);
        var records = audit.Json().EnumerateArray().Select(r => (r.GetProperty("principal").GetString(), r.GetProperty("operation").GetString(), r.GetProperty("outcome").GetString())).ToList();
        Assert.Equal(
            [(Environment.UserName, "access-identity-set", "succeeded"),
             ("alice", "write", "succeeded"), ("alice", "access-grant", "succeeded"), ("bob", "read", "succeeded"),
             ("carol", "info", "denied"), ("bob", "audit-read", "denied")],
            records);
        // The read's record says what left: 5 rows (the --limit), and the bytes scanned for them.
        var read = audit.Json().EnumerateArray().Single(r => r.GetProperty("operation").GetString() == "read");
        Assert.Equal(5, read.GetProperty("rows").GetInt64());
        Assert.True(read.GetProperty("bytes").GetInt64() > 0);
        var byTable = As("alice", "--output", "json", "data-lake", "audit", "--principal", "carol");
        Assert.Single(byTable.Json().EnumerateArray());
        // --limit keeps the newest records, oldest first.
        var newest = As("alice", "--output", "json", "data-lake", "audit", "--limit", "2").Json().EnumerateArray()
            .Select(r => r.GetProperty("operation").GetString()).ToList();
        Assert.Equal(["audit-read", "audit-read"], newest);
    }

    [Fact]
    public void An_os_user_lake_refuses_a_self_asserted_principal_and_only_an_admin_changes_the_mode()
    {
        var lake = _dir.Sub("os-lake");
        // The OS user makes the folder a lake (reads of a folder that is no lake ask nobody: there is nothing to govern).
        Assert.Equal(0, EcapProcess.Run("--lake", lake, "data-lake", "access", "identity", "set", "os-user").ExitCode);
        var claimed = EcapProcess.RunWithEnvironment(new Dictionary<string, string> { ["ECAP_PRINCIPAL"] = "admin" }, "--lake", lake, "data-lake", "storage", "list-tables");
        Assert.Equal(1, claimed.ExitCode);
        Assert.Contains("identity mode is os-user: ECAP_PRINCIPAL is not accepted", claimed.Stderr);
        Assert.DoesNotContain("   at ", claimed.Stderr);

        var show = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "access", "identity", "show");
        Assert.True(show.ExitCode == 0, show.Stderr);
        Assert.Equal("os-user", show.Json().GetProperty("mode").GetString());

        // On the env lake, alice secures it; bob cannot switch the mode (to name himself some other way).
        Assert.Equal(0, As("alice", "data-lake", "access", "grant", "read", "--principal", "bob", "--lake-wide").ExitCode);
        var bob = As("bob", "data-lake", "access", "identity", "set", "os-user");
        Assert.Equal(1, bob.ExitCode);
        Assert.Contains("access denied: bob lacks admin on the lake", bob.Stderr);
        Assert.Equal(2, As("alice", "data-lake", "access", "identity", "set", "oidc", "--issuer", "https://idp.example.test").ExitCode); // no audience, no keys
        Assert.Equal(2, As("alice", "data-lake", "access", "identity", "set", "sudo").ExitCode);
        Assert.Equal("env", As("alice", "--output", "json", "data-lake", "access", "identity", "show").Json().GetProperty("mode").GetString());
    }
}

/// <summary>Identity from the environment of real processes: a JWT bearer token, and audit records of concurrent processes.</summary>
public sealed class IdentityProcessTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly System.Security.Cryptography.RSA _key = System.Security.Cryptography.RSA.Create(2048);

    public void Dispose()
    {
        _key.Dispose();
        _dir.Dispose();
    }

    private string Token(DateTime expires)
    {
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler();
        return handler.CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = "https://idp.example.test",
            Audience = "ecap",
            Claims = new Dictionary<string, object> { ["preferred_username"] = "dana@example.test", ["groups"] = new[] { "finance" } },
            IssuedAt = expires.AddHours(-2),
            NotBefore = expires.AddHours(-2),
            Expires = expires,
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                new Microsoft.IdentityModel.Tokens.RsaSecurityKey(_key) { KeyId = "k" }, Microsoft.IdentityModel.Tokens.SecurityAlgorithms.RsaSha256),
        });
    }

    private string JwksFile(System.Security.Cryptography.RSA key, string name)
    {
        var p = key.ExportParameters(false);
        var jwks = System.Text.Json.JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "RSA", kid = "k", use = "sig", n = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(p.Modulus), e = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(p.Exponent) } },
        });
        var file = _dir.Sub(name);
        File.WriteAllText(file, jwks);
        return file;
    }

    private static Dictionary<string, string> TokenEnvironment(string token) => new() { ["ECAP_TOKEN"] = token };

    [Fact]
    public void A_bearer_token_names_the_caller_against_the_issuer_pinned_in_the_lake()
    {
        var lake = _dir.Sub("lake");
        var set = EcapProcess.Run("--lake", lake, "data-lake", "access", "identity", "set", "oidc",
            "--issuer", "https://idp.example.test", "--audience", "ecap", "--jwks", JwksFile(_key, "jwks.json"));
        Assert.True(set.ExitCode == 0, set.Stderr);

        var ok = EcapProcess.RunWithEnvironment(TokenEnvironment(Token(DateTime.UtcNow.AddHours(1))), "--lake", lake, "--output", "json", "data-lake", "access", "whoami");
        Assert.True(ok.ExitCode == 0, ok.Stderr);
        Assert.Equal("dana@example.test", ok.Json().GetProperty("principal").GetString());
        Assert.Equal("finance", ok.Json().GetProperty("groups")[0].GetString());

        var expired = EcapProcess.RunWithEnvironment(TokenEnvironment(Token(DateTime.UtcNow.AddHours(-1))), "--lake", lake, "data-lake", "storage", "list-tables");
        Assert.Equal(1, expired.ExitCode);
        Assert.Contains("expired", expired.Stderr);

        // The attack: the caller signs its own token and points the environment at its own keys.
        using var attacker = System.Security.Cryptography.RSA.Create(2048);
        var forged = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Issuer = "https://idp.example.test", Audience = "ecap", Expires = DateTime.UtcNow.AddHours(1),
            Claims = new Dictionary<string, object> { ["preferred_username"] = "admin" },
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                new Microsoft.IdentityModel.Tokens.RsaSecurityKey(attacker) { KeyId = "k" }, Microsoft.IdentityModel.Tokens.SecurityAlgorithms.RsaSha256),
        });
        var own = EcapProcess.RunWithEnvironment(new Dictionary<string, string>
        {
            ["ECAP_TOKEN"] = forged, ["ECAP_OIDC_ISSUER"] = "https://idp.example.test", ["ECAP_OIDC_JWKS"] = JwksFile(attacker, "evil.json"),
        }, "--lake", lake, "data-lake", "access", "whoami");
        Assert.Equal(1, own.ExitCode);
        Assert.Contains("pinned", own.Stderr);
        var signature = EcapProcess.RunWithEnvironment(TokenEnvironment(forged), "--lake", lake, "data-lake", "access", "whoami");
        Assert.Equal(1, signature.ExitCode);
        Assert.Contains("signature", signature.Stderr);
    }

    [Fact]
    public async Task Concurrent_processes_each_leave_their_audit_record()
    {
        var lake = _dir.Sub("lake");
        Assert.Equal(0, EcapProcess.Run("--lake", lake, "data-lake", "access", "identity", "set", "env").ExitCode);
        var runs = Enumerable.Range(0, 4).Select(i => Task.Run(() => EcapProcess.RunWithEnvironment(
            new Dictionary<string, string> { ["ECAP_PRINCIPAL"] = $"p{i}" }, "--lake", lake, "data-lake", "storage", "list-tables"))).ToList();
        foreach (var r in await Task.WhenAll(runs)) Assert.True(r.ExitCode == 0, r.Stderr);
        var audit = EcapProcess.RunWithEnvironment(new Dictionary<string, string> { ["ECAP_PRINCIPAL"] = "reader" }, "--lake", lake, "--output", "json", "data-lake", "audit");
        Assert.True(audit.ExitCode == 0, audit.Stderr);
        var principals = audit.Json().EnumerateArray().Where(r => r.GetProperty("operation").GetString() == "list-tables")
            .Select(r => r.GetProperty("principal").GetString()).Order().ToList();
        Assert.Equal(["p0", "p1", "p2", "p3"], principals);
    }
}
