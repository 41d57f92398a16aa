using System.CommandLine;

namespace Ecap.Cli;

/// <summary>Options every command accepts: where the lake is, how to print, how much to say.</summary>
internal static class GlobalOptions
{
    public static readonly Option<string> Lake = new("--lake")
    {
        Description = "Lake root: a folder, file://..., s3://bucket/prefix, az://container/prefix or abfss://container@account.dfs.core.windows.net/prefix (default: $ECAP_LAKE, else ./data-lake)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ECAP_LAKE") is { Length: > 0 } env ? env : "./data-lake",
    };

    public static readonly Option<OutputFormat> Output = new("--output")
    {
        Description = "How results are printed: table (for people) or json (stable, for scripts)",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Table,
    };

    public static readonly Option<string?> Catalog = new("--catalog")
    {
        Description = "Catalog location: a folder, or a PostgreSQL URL (postgresql://user:pass@host:5432/db, jdbc:postgresql://...) " +
            "or connection string (default: $ECAP_CATALOG, else the lake's own _catalog folder)",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("ECAP_CATALOG") is { Length: > 0 } env ? env : null,
    };

    public static readonly Option<bool> Metrics = new("--metrics")
    {
        Description = "Print the command's metrics (OpenTelemetry console exporter) to stderr when it ends; " +
            "OTLP export is on when OTEL_EXPORTER_OTLP_ENDPOINT is set",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose")
    {
        Description = "Print details of what happens, and stack traces on errors",
        Recursive = true,
    };

    // S3 lakes (s3://bucket/prefix). Unset options fall back to the environment; credentials always come from the
    // AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance role), never from a flag.
    public static readonly Option<string?> S3Endpoint = new("--s3-endpoint")
    {
        Description = "S3-compatible endpoint URL (default: $AWS_ENDPOINT_URL_S3, else $AWS_ENDPOINT_URL, else AWS)",
        Recursive = true,
    };

    public static readonly Option<string?> S3Region = new("--s3-region")
    {
        Description = "S3 region (default: $AWS_REGION, else us-east-1)",
        Recursive = true,
    };

    public static readonly Option<bool> S3PathStyle = new("--s3-path-style")
    {
        Description = "Path-style S3 addressing, needed by most S3-compatible servers (or ECAP_S3_PATH_STYLE=true)",
        Recursive = true,
    };

    public static readonly Option<bool> S3Compat = new("--s3-compat")
    {
        Description = "Compatibility with servers that reject chunked uploads and new checksums, e.g. Swift, older MinIO/Ceph (or ECAP_S3_COMPAT=true)",
        Recursive = true,
    };

    public static readonly Option<string?> CommitCoordinator = new("--commit-coordinator")
    {
        Description = "For S3 servers without conditional writes: a PostgreSQL URL that coordinates commits, or 'single-writer' (or $ECAP_COMMIT_COORDINATOR)",
        Recursive = true,
    };
}

internal enum OutputFormat
{
    Table,
    Json,
}
