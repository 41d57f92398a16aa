using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Ecap.DataLake.Server;

/// <summary>Where <see cref="DataLakeServer"/> listens.</summary>
public sealed record DataLakeServerOptions
{
    /// <summary>The address to bind: an IP (<c>127.0.0.1</c>, <c>0.0.0.0</c>, <c>::1</c>) or <c>localhost</c>.</summary>
    public string Bind { get; init; } = "127.0.0.1";

    /// <summary>The TCP port; 0 picks a free one (see <see cref="DataLakeServer.Url"/>).</summary>
    public int Port { get; init; } = 8080;

    public DataLakeExplorerOptions Explorer { get; init; } = new();
}

/// <summary>
/// The explorer on its own Kestrel server (what <c>ecap data-lake serve</c> runs). Build the lake with
/// <c>UseIdentityClaims(RequestIdentity.Claims)</c> so each request is its bearer token's caller in the oidc mode:
/// <code>var lake = new DataLakeBuilder("./data-lake").UseIdentityClaims(RequestIdentity.Claims).Build();
/// await using var server = await DataLakeServer.StartAsync(lake, new DataLakeServerOptions { Port = 8080 });
/// Console.WriteLine(server.Url); await server.WaitForShutdownAsync();</code>
/// </summary>
public sealed class DataLakeServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DataLakeServer(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The address the server listens on (with the port chosen when <see cref="DataLakeServerOptions.Port"/> was 0).</summary>
    public Uri Url { get; }

    public static async Task<DataLakeServer> StartAsync(DataLake lake, DataLakeServerOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(lake);
        var settings = options ?? new DataLakeServerOptions();
        if (settings.Port is < 0 or > 65535) throw new InvalidInputException($"The port must be between 0 and 65535, not {settings.Port}.");
        var address = settings.Bind.Equals("localhost", StringComparison.OrdinalIgnoreCase) ? IPAddress.Loopback
            : IPAddress.TryParse(settings.Bind, out var ip) ? ip
            : throw new InvalidInputException($"Cannot bind '{settings.Bind}': give an IP address (127.0.0.1, 0.0.0.0, ::1) or localhost.");

        // No appsettings, no console logging: the host prints only what its caller prints (stdout stays the CLI's).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(address, settings.Port));
        builder.Services.AddDataLakeExplorer();
        var app = builder.Build();
        app.MapDataLakeExplorer(lake, settings.Explorer);
        try
        {
            await app.StartAsync(ct);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new InvalidInputException($"Cannot listen on {settings.Bind}:{settings.Port}: {e.Message}");
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new DataLakeServer(app, new Uri(bound.Replace("[::]", "localhost", StringComparison.Ordinal).Replace("0.0.0.0", "localhost", StringComparison.Ordinal)));
    }

    /// <summary>Completes when the server stops (<paramref name="ct"/> cancelled, or <see cref="DisposeAsync"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken ct = default) => _app.WaitForShutdownAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
