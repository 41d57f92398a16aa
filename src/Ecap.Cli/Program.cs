using Ecap.Cli;
using Ecap.Cli.Telemetry;

var parse = EcapCommand.Build().Parse(args);
using var metrics = MetricsExport.Start(parse.GetValue(GlobalOptions.Metrics), Environment.GetEnvironmentVariable(MetricsExport.OtlpEndpointVariable));
return await parse.InvokeAsync();
