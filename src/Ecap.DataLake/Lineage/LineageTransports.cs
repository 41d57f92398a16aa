using System.Net.Http.Headers;

namespace Ecap.DataLake.Lineage;

/// <summary>Where events go: one JSON event per call. Throws when the event did not arrive.</summary>
internal interface ILineageTransport : IDisposable
{
    Task SendAsync(byte[] json, CancellationToken ct);
}

/// <summary>An OpenLineage HTTP backend (Marquez, DataHub, ...): POST <c>{url}/{endpoint}</c>, JSON, Bearer API key; any non-2xx is a failure.</summary>
internal sealed class HttpLineageTransport : ILineageTransport
{
    private readonly HttpClient _http;
    private readonly Uri _target;

    public HttpLineageTransport(Uri url, string endpoint, string? apiKey)
    {
        _target = TargetOf(url, endpoint);
        // The per-event timeout is the caller's token (OpenLineageOptions.Timeout), not the client's.
        _http = new HttpClient { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        if (apiKey is not null) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// <summary><c>{url}/{endpoint}</c>, keeping a path the URL has (<c>http://host/marquez</c> + <c>api/v1/lineage</c>).</summary>
    public static Uri TargetOf(Uri url, string endpoint) =>
        new(url.AbsoluteUri.EndsWith('/') ? url : new Uri(url.AbsoluteUri + "/"), endpoint.TrimStart('/'));

    public async Task SendAsync(byte[] json, CancellationToken ct)
    {
        using var content = new ByteArrayContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await _http.PostAsync(_target, content, ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"{_target} answered {(int)response.StatusCode} {response.ReasonPhrase}", null, response.StatusCode);
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>
/// A file of events, one JSON object per line, appended (as the Python client's file transport with <c>append: true</c>).
/// Each event is one write to a file opened for appending, so events of concurrent processes do not interleave within a line.
/// </summary>
internal sealed class FileLineageTransport(string path) : ILineageTransport
{
    public async Task SendAsync(byte[] json, CancellationToken ct)
    {
        var line = new byte[json.Length + 1];
        json.CopyTo(line, 0);
        line[^1] = (byte)'\n';
        if (Path.GetDirectoryName(path) is { Length: > 0 } dir) Directory.CreateDirectory(dir);
        await using var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
        await file.WriteAsync(line, ct).ConfigureAwait(false);
    }

    public void Dispose() { }
}
