using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;

namespace Ecap.TestSupport;

/// <summary>
/// An OpenLineage backend on a loopback port (HttpListener): takes POSTs to <c>/api/v1/lineage</c>, keeps each body, and
/// answers <see cref="Status"/> (201 by default, as Marquez does; set 500 to play a broken backend).
/// </summary>
public sealed class OpenLineageReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly ConcurrentQueue<(string Path, string? Authorization, string Body)> _requests = new();

    public OpenLineageReceiver()
    {
        // HttpListener cannot bind port 0: take a port the system says is free, retry if someone took it meanwhile.
        for (var attempt = 0; ; attempt++)
        {
            Port = LoopbackPorts.Free();
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try { _listener.Start(); break; }
            catch (HttpListenerException) when (attempt < 5) { }
        }
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    /// <summary>The backend's base URL, for OPENLINEAGE_URL.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    public HttpStatusCode Status { get; set; } = HttpStatusCode.Created;

    /// <summary>Every request received so far: the path, the Authorization header, the body.</summary>
    public IReadOnlyList<(string Path, string? Authorization, string Body)> Requests => [.. _requests];

    /// <summary>The bodies received, parsed.</summary>
    public IReadOnlyList<JsonObject> Events => [.. _requests.Select(r => (JsonObject)JsonNode.Parse(r.Body)!)];

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            using (var reader = new StreamReader(context.Request.InputStream))
                _requests.Enqueue((context.Request.Url!.AbsolutePath, context.Request.Headers["Authorization"], await reader.ReadToEndAsync()));
            context.Response.StatusCode = (int)Status;
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(10));
    }
}
