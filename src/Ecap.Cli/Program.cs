using Ecap.Cli;

return await EcapCommand.Build().Parse(args).InvokeAsync();
