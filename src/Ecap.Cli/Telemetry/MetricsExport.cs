using Ecap.DataLake.Metrics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Ecap.Cli.Telemetry;

/// <summary>
/// Exports the <c>Ecap.DataLake</c> meter with OpenTelemetry: over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set
/// (the exporter reads the standard OTEL_* variables: protocol, headers, interval), and with the console exporter
/// when <c>--metrics</c> is given. Console metrics are printed once, when the command ends, to stderr so stdout keeps
/// only the command's output. Resource: <c>service.name=ecap</c>.
/// </summary>
internal sealed class MetricsExport : IDisposable
{
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    private readonly MeterProvider _provider;
    private readonly bool _console;

    private MetricsExport(MeterProvider provider, bool console)
    {
        _provider = provider;
        _console = console;
    }

    /// <summary>Starts the exporters the flag and environment ask for; null when neither does (no cost then).</summary>
    public static MetricsExport? Start(bool console, string? otlpEndpoint)
    {
        var otlp = !string.IsNullOrWhiteSpace(otlpEndpoint);
        return console || otlp ? Create(console, otlp) : null;
    }

    // Separate and not inlined: a command without metrics does not load the OpenTelemetry assemblies (startup time).
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static MetricsExport Create(bool console, bool otlp)
    {
        var builder = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(r => r.AddService("ecap", serviceVersion: typeof(MetricsExport).Assembly.GetName().Version?.ToString()))
            .AddMeter(LakeMetrics.MeterName);
        if (otlp) builder.AddOtlpExporter();
        // No periodic export: one report of the whole command, at the end.
        if (console) builder.AddReader(new BaseExportingMetricReader(new ConsoleMetricExporter(new ConsoleExporterOptions())));
        return new MetricsExport(builder.Build(), console);
    }

    /// <summary>Flushes every exporter (the console one prints here, to stderr).</summary>
    public void Dispose()
    {
        if (!_console)
        {
            _provider.Dispose();
            return;
        }
        var stdout = Console.Out;
        Console.SetOut(Console.Error);
        try
        {
            _provider.Dispose();
        }
        finally
        {
            Console.SetOut(stdout);
        }
    }
}
