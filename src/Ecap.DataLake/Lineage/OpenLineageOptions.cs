using System.Globalization;

namespace Ecap.DataLake.Lineage;

/// <summary>
/// Where and how a lake sends OpenLineage run events (<see cref="DataLakeBuilder.UseOpenLineage"/>): an HTTP backend
/// (<see cref="Url"/>, events POSTed to <c>{Url}/{Endpoint}</c>) or a file of one JSON event per line (<see cref="FilePath"/>).
/// Nothing is sent when neither is set. <see cref="FromEnvironment"/> reads the variables the official OpenLineage clients read.
/// </summary>
public sealed record OpenLineageOptions
{
    /// <summary>The backend's base URL (Marquez: <c>http://localhost:5000</c>); events go to <c>{Url}/{Endpoint}</c>.</summary>
    public Uri? Url { get; init; }

    /// <summary>The path under <see cref="Url"/> events are POSTed to (the spec's <c>api/v1/lineage</c>).</summary>
    public string Endpoint { get; init; } = "api/v1/lineage";

    /// <summary>Sent as <c>Authorization: Bearer</c> when set.</summary>
    public string? ApiKey { get; init; }

    /// <summary>A file events are appended to, one JSON object per line (instead of, or as well as, <see cref="Url"/>).</summary>
    public string? FilePath { get; init; }

    /// <summary>The namespace of the jobs (an event's <c>job.namespace</c>).</summary>
    public string JobNamespace { get; init; } = "ecap";

    /// <summary>The longest one event may take to send; a slower backend is a failed send (warning and metric), never a slow write.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long disposing the lake waits for queued events to go out; what is left is dropped with a warning.</summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Events queued at most; when the backend falls this far behind, new events are dropped (warning and metric).</summary>
    public int QueueCapacity { get; init; } = 10_000;

    /// <summary>The operations that are runs (the names the audit uses); other operations (reads, listings, grants) send nothing.</summary>
    public IReadOnlySet<string> Operations { get; init; } = DefaultOperations;

    /// <summary>Told when an event could not be sent or was dropped (the message, the error if any); null: a warning in the lake's log.</summary>
    public Action<string, Exception?>? OnSendFailure { get; init; }

    /// <summary>Every operation that writes data or a file: writes, ingestion runs, row changes, compaction, restores and SQL exports.</summary>
    public static IReadOnlySet<string> DefaultOperations { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "write", "ingest", "ingest-kafka", "merge", "delete", "update", "erase", "purge",
        "compact", "optimize-all", "zorder", "restore", "restore-point", "retention-apply", "query-export",
    };

    /// <summary>True when events have somewhere to go.</summary>
    public bool IsEnabled => Url is not null || FilePath is not null;

    /// <summary>
    /// Options from the environment, as the OpenLineage clients name them: <c>OPENLINEAGE_URL</c> (an <c>http(s)://</c> backend,
    /// or a <c>file://</c> URL for the file transport), <c>OPENLINEAGE_ENDPOINT</c>, <c>OPENLINEAGE_API_KEY</c>,
    /// <c>OPENLINEAGE_NAMESPACE</c>, <c>OPENLINEAGE_DISABLED=true</c>, and the Python client's transport variables
    /// <c>OPENLINEAGE__TRANSPORT__TYPE</c> (<c>http</c> or <c>file</c>), <c>__URL</c>, <c>__ENDPOINT</c>, <c>__TIMEOUT</c> (seconds),
    /// <c>__LOG_FILE_PATH</c> and <c>__AUTH__API_KEY</c>. Null when nothing is configured (or it is disabled).
    /// </summary>
    /// <exception cref="InvalidInputException">A variable is set to something that is not a URL (or a number, for the timeout).</exception>
    public static OpenLineageOptions? FromEnvironment(Func<string, string?>? environment = null)
    {
        var env = environment ?? Environment.GetEnvironmentVariable;
        string? Get(string name) => env(name) is { Length: > 0 } v ? v.Trim() : null;
        if (Get("OPENLINEAGE_DISABLED") is { } disabled && (disabled.Equals("true", StringComparison.OrdinalIgnoreCase) || disabled == "1")) return null;

        var type = Get("OPENLINEAGE__TRANSPORT__TYPE")?.ToLowerInvariant();
        var url = Get("OPENLINEAGE__TRANSPORT__URL") ?? Get("OPENLINEAGE_URL");
        var file = Get("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH");
        if (type is not (null or "http" or "file"))
            throw new InvalidInputException($"OPENLINEAGE__TRANSPORT__TYPE '{type}' is not supported: use http (with OPENLINEAGE_URL) or file (with OPENLINEAGE__TRANSPORT__LOG_FILE_PATH).");
        var options = new OpenLineageOptions
        {
            Endpoint = (Get("OPENLINEAGE__TRANSPORT__ENDPOINT") ?? Get("OPENLINEAGE_ENDPOINT") ?? "api/v1/lineage").TrimStart('/'),
            ApiKey = Get("OPENLINEAGE__TRANSPORT__AUTH__API_KEY") ?? Get("OPENLINEAGE_API_KEY"),
            JobNamespace = Get("OPENLINEAGE_NAMESPACE") ?? "ecap",
        };
        if (Get("OPENLINEAGE__TRANSPORT__TIMEOUT") is { } timeout)
            options = options with
            {
                Timeout = double.TryParse(timeout, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
                    ? TimeSpan.FromSeconds(seconds)
                    : throw new InvalidInputException($"OPENLINEAGE__TRANSPORT__TIMEOUT '{timeout}' is not a number of seconds."),
            };
        if (type == "file" || (type is null && file is not null))
        {
            if (file is null && url is not null && IsFileUrl(url, out var path)) file = path;
            if (file is null) throw new InvalidInputException("OPENLINEAGE__TRANSPORT__TYPE is file but OPENLINEAGE__TRANSPORT__LOG_FILE_PATH is not set.");
            return options with { FilePath = Path.GetFullPath(file) };
        }
        if (url is null) return null;
        if (IsFileUrl(url, out var filePath)) return options with { FilePath = filePath };
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new InvalidInputException($"OPENLINEAGE_URL '{url}' is not an http(s):// URL nor a file:// URL.");
        return options with { Url = uri };
    }

    private static bool IsFileUrl(string url, out string path)
    {
        path = "";
        if (!url.StartsWith("file:", StringComparison.OrdinalIgnoreCase) || !Uri.TryCreate(url, UriKind.Absolute, out var uri)) return false;
        path = uri.LocalPath;
        return true;
    }
}
