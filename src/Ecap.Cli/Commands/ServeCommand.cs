using System.CommandLine;
using Ecap.DataLake.Server;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary>
/// <c>ecap data-lake serve</c>: the web explorer and REST API (<c>Ecap.DataLake.Server</c>) over the lake, until Ctrl-C.
/// ASP.NET Core is loaded only here: no other command touches a type of it.
/// </summary>
internal static class ServeCommand
{
    public static Command Build()
    {
        var port = new Option<int>("--port") { Description = "TCP port to listen on (0: a free one, printed)", DefaultValueFactory = _ => 8080 };
        var bind = new Option<string>("--bind") { Description = "Address to listen on: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or another IP", DefaultValueFactory = _ => "127.0.0.1" };
        var command = new Command("serve",
            "Serve the lake's web explorer (tables, schema history, partitions, file sizes, costs, statistics, lineage, streams, audit, " +
            "data preview) and its REST API (/api/..., OpenAPI at /openapi/v1.json). Reads only. Every request is checked and audited " +
            "as the CLI's commands are: in the oidc identity mode as its Authorization: Bearer token's caller, otherwise as the user " +
            "running the server. Ctrl-C stops.\n\nExample:\n  ecap data-lake serve --lake ./data-lake --port 8080")
        {
            port, bind,
        };
        command.SetCliAction(async (ctx, ct) =>
        {
            var lake = ctx.OpenDataLake(builder => builder.UseIdentityClaims(RequestIdentity.Claims));
            await using var server = await DataLakeServer.StartAsync(lake, new DataLakeServerOptions { Port = ctx.Get(port), Bind = ctx.Get(bind) }, ct);
            // The URL on stdout (a script reads it, e.g. with --port 0); the rest is for people, on stderr.
            Console.Out.WriteLine(server.Url.ToString().TrimEnd('/'));
            Console.Out.Flush();
            ctx.Status.MarkupLine($"[green]serving[/] {Markup.Escape(ctx.Lake)} at {Markup.Escape(server.Url.ToString())} [grey](Ctrl-C stops)[/]");
            try
            {
                await server.WaitForShutdownAsync(ct);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C is how serving ends.
            }
            return 0;
        });
        return command;
    }
}
