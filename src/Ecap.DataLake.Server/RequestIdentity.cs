using Ecap.DataLake.Security;

namespace Ecap.DataLake.Server;

/// <summary>
/// Who a request is: the claims a lake's identity mode judges (<see cref="DataLakeBuilder.UseIdentityClaims"/>), taken per
/// request. <c>ECAP_TOKEN</c> is the request's <c>Authorization: Bearer</c> token (never the server's own environment, so a
/// request without a token is unauthenticated in the oidc mode); <c>ECAP_PRINCIPAL</c>/<c>ECAP_GROUPS</c> are the server
/// process's (the env mode names the service, as for the CLI). In the os-user mode every request is the server's OS user.
/// </summary>
public static class RequestIdentity
{
    private const string TokenClaim = "ECAP_TOKEN";

    // The bearer token of the request running in this async flow (set by the API's endpoint filter around each handler).
    private static readonly AsyncLocal<string?> CurrentToken = new();

    /// <summary>The claim source to build a served lake with: <c>new DataLakeBuilder(path).UseIdentityClaims(RequestIdentity.Claims)</c>.</summary>
    public static Func<string, string?> Claims { get; } = name => name == TokenClaim ? CurrentToken.Value : Environment.GetEnvironmentVariable(name);

    /// <summary>The token of an <c>Authorization</c> header value (<c>Bearer xyz</c>), null when there is none.</summary>
    internal static string? BearerToken(string? authorization) =>
        authorization is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && value[7..].Trim() is { Length: > 0 } token
            ? token : null;

    /// <summary>Runs <paramref name="body"/> as the request that presented <paramref name="token"/>.</summary>
    internal static async ValueTask<T> RunAsAsync<T>(string? token, Func<ValueTask<T>> body)
    {
        var outer = CurrentToken.Value;
        CurrentToken.Value = token;
        try { return await body(); }
        finally { CurrentToken.Value = outer; }
    }
}
