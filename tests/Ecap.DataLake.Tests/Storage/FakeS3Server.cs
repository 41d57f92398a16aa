using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ecap.DataLake.Tests.Storage;

/// <summary>
/// A tiny in-process S3 endpoint (path-style PUT/GET/HEAD/DELETE of whole objects) used only to test conditional
/// puts, which no S3 server available here implements: with <c>enforceIfNoneMatch</c> it answers
/// <c>If-None-Match: *</c> on an existing key with 412 as AWS S3 does; without it, it ignores the header (as some
/// S3-compatible servers silently do). Everything else runs against the real Swift server.
/// </summary>
public sealed class FakeS3Server : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, byte[]> _objects = new();
    private readonly bool _enforce;
    private readonly object _gate = new();
    private readonly Task _loop;

    public FakeS3Server(bool enforceIfNoneMatch)
    {
        _enforce = enforceIfNoneMatch;
        var port = LoopbackPorts.Free();
        Endpoint = $"http://127.0.0.1:{port}";
        _listener.Prefixes.Add(Endpoint + "/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string Endpoint { get; }

    /// <summary>How many conditional PUTs (with If-None-Match) the server received, per key prefix seen.</summary>
    public ConcurrentDictionary<string, int> ConditionalPuts { get; } = new();

    public IReadOnlyCollection<string> Keys => _objects.Keys.ToList();

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = Task.Run(() => Handle(ctx));
        }
    }

    private void Handle(HttpListenerContext ctx)
    {
        var request = ctx.Request;
        var response = ctx.Response;
        var key = Uri.UnescapeDataString(request.Url!.AbsolutePath.TrimStart('/'));
        try
        {
            switch (request.HttpMethod)
            {
                case "PUT":
                {
                    using var body = new MemoryStream();
                    request.InputStream.CopyTo(body);
                    var conditional = request.Headers["If-None-Match"] == "*";
                    if (conditional) ConditionalPuts.AddOrUpdate(Kind(key), 1, (_, n) => n + 1);
                    lock (_gate)
                    {
                        if (conditional && _enforce && _objects.ContainsKey(key))
                        {
                            Error(response, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
                            return;
                        }
                        _objects[key] = body.ToArray();
                    }
                    response.Headers["ETag"] = "\"" + key.GetHashCode().ToString("x", CultureInfo.InvariantCulture) + "\"";
                    response.StatusCode = 200;
                    break;
                }
                case "GET" or "HEAD":
                {
                    if (!_objects.TryGetValue(key, out var data))
                    {
                        if (request.HttpMethod == "HEAD") response.StatusCode = 404;
                        else Error(response, 404, "NoSuchKey", "The specified key does not exist.");
                        return;
                    }
                    response.StatusCode = 200;
                    response.Headers["Last-Modified"] = DateTime.UtcNow.ToString("R", CultureInfo.InvariantCulture);
                    response.Headers["ETag"] = "\"0\"";
                    response.ContentLength64 = data.Length;
                    if (request.HttpMethod == "GET") response.OutputStream.Write(data);
                    break;
                }
                case "DELETE":
                    _objects.TryRemove(key, out _);
                    response.StatusCode = 204;
                    break;
                default:
                    Error(response, 501, "NotImplemented", "Not implemented by the fake.");
                    break;
            }
        }
        finally
        {
            try { response.Close(); } catch (HttpListenerException) { }
        }
    }

    private static string Kind(string key) => key.Contains("conditional-put-probe", StringComparison.Ordinal) ? "probe" : "commit";

    private static void Error(HttpListenerResponse response, int status, string code, string message)
    {
        response.StatusCode = status;
        response.ContentType = "application/xml";
        response.OutputStream.Write(System.Text.Encoding.UTF8.GetBytes(
            $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"));
    }


    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
