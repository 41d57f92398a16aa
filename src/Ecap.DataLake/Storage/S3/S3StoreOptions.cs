namespace Ecap.DataLake.Storage.S3;

/// <summary>
/// How to reach an S3 or S3-compatible store and how commits stay atomic on it. Every setting is optional:
/// unset values come from the environment the way AWS tools read it (<see cref="FromEnvironment"/>), and
/// credentials from the standard AWS chain (environment, profile, instance role) unless given as an
/// <see cref="Amazon.Runtime.AWSCredentials"/> object, whose text form never shows the secret.
/// </summary>
public sealed record S3StoreOptions
{
    /// <summary>Explicit credentials; null: the AWS default chain.</summary>
    public Amazon.Runtime.AWSCredentials? Credentials { get; init; }

    /// <summary>Region name (AWS_REGION, then AWS_DEFAULT_REGION, else us-east-1).</summary>
    public string? Region { get; init; }

    /// <summary>A custom endpoint for S3-compatible servers (AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL).</summary>
    public string? Endpoint { get; init; }

    /// <summary>Path-style addressing (http://host/bucket/key), which most S3-compatible servers need (ECAP_S3_PATH_STYLE).</summary>
    public bool PathStyle { get; init; }

    /// <summary>
    /// Compatibility with servers that reject aws-chunked uploads and the newer flexible checksums (ECAP_S3_COMPAT):
    /// plain signed payloads, checksums only where the API requires them, Content-MD5 on batch deletes.
    /// </summary>
    public bool Compat { get; init; }

    /// <summary>
    /// The commit coordinator setting (ECAP_COMMIT_COORDINATOR): a PostgreSQL URL, or <c>single-writer</c> to declare
    /// that only one process ever writes (commits then use a plain existence check, which is not safe otherwise).
    /// A URL is opened by <see cref="CommitCoordinator"/>'s provider (Ecap.DataLake.Postgres); core only reads it.
    /// </summary>
    public string? CommitCoordinatorSetting { get; init; }

    /// <summary>The coordinator that makes commits atomic on stores without conditional writes (built from the setting by the caller).</summary>
    public ICommitCoordinator? CommitCoordinator { get; init; }

    /// <summary>Size of each multipart-upload part and of the one write buffer a stream holds (at least 5 MiB, S3's minimum).</summary>
    public int PartSize { get; init; } = 8 << 20;

    /// <summary>True when <see cref="CommitCoordinatorSetting"/> declares a single writer.</summary>
    public bool SingleWriter => string.Equals(CommitCoordinatorSetting?.Trim(), SingleWriterSetting, StringComparison.OrdinalIgnoreCase);

    public const string SingleWriterSetting = "single-writer";

    /// <summary>The settings the environment gives (the AWS variables plus ECAP_S3_PATH_STYLE, ECAP_S3_COMPAT, ECAP_COMMIT_COORDINATOR).</summary>
    public static S3StoreOptions FromEnvironment() => new S3StoreOptions().WithEnvironmentDefaults();

    /// <summary>These options with every unset value taken from the environment.</summary>
    public S3StoreOptions WithEnvironmentDefaults() => this with
    {
        Region = Region ?? Env("AWS_REGION") ?? Env("AWS_DEFAULT_REGION"),
        Endpoint = Endpoint ?? Env("AWS_ENDPOINT_URL_S3") ?? Env("AWS_ENDPOINT_URL"),
        PathStyle = PathStyle || IsTrue(Env("ECAP_S3_PATH_STYLE")),
        Compat = Compat || IsTrue(Env("ECAP_S3_COMPAT")),
        CommitCoordinatorSetting = CommitCoordinatorSetting ?? Env("ECAP_COMMIT_COORDINATOR"),
    };

    /// <summary>The record's text form (ToString) without secrets: the coordinator URL's password is masked.</summary>
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"Region = {Region}, Endpoint = {Endpoint}, PathStyle = {PathStyle}, Compat = {Compat}, ");
        builder.Append($"CommitCoordinator = {CommitCoordinator?.Display ?? Redact(CommitCoordinatorSetting)}, PartSize = {PartSize}");
        return true;
    }

    /// <summary>A URL or connection string with any password replaced by ***.</summary>
    internal static string? Redact(string? text) => text is null ? null : System.Text.RegularExpressions.Regex.Replace(text,
        "(password=)[^&;]*|(://[^:/@]+:)[^@]*@", m => m.Groups[1].Success ? m.Groups[1].Value + "***" : m.Groups[2].Value + "***@",
        System.Text.RegularExpressions.RegexOptions.IgnoreCase);

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

    internal static bool IsTrue(string? value) => value?.Trim().ToLowerInvariant() is "1" or "true" or "yes" or "on";
}
