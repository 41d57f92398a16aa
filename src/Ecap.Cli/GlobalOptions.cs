using System.CommandLine;

namespace Ecap.Cli;

/// <summary>Options every command accepts: where the lake is, how to print, how much to say.</summary>
internal static class GlobalOptions
{
    public static readonly Option<string> Lake = new("--lake")
    {
        Description = "Lake root: a folder, file://..., or s3://bucket/prefix (default: $ECAP_LAKE, else ./data-lake)",
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
}

internal enum OutputFormat
{
    Table,
    Json,
}
