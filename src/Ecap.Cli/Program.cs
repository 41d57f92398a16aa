using Ecap.Cli;
using Ecap.Cli.Telemetry;

var parse = EcapCommand.Build().Parse(args);
// A value the parser cannot read (--limit abc) is a usage error: one line per error, a hint, exit 2 (no help dump).
if (parse.Errors.Count > 0) return CommandRunner.ReportParseErrors(parse);
using var metrics = MetricsExport.Start(parse.GetValue(GlobalOptions.Metrics), Environment.GetEnvironmentVariable(MetricsExport.OtlpEndpointVariable));
return await parse.InvokeAsync();
