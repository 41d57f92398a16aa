using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Ecap.DataLake.Server;

/// <summary>The page's files (<c>wwwroot/</c>), embedded in this assembly: the explorer needs no files on disk and no network.</summary>
internal static class ExplorerAssets
{
    private static readonly Assembly Assembly = typeof(ExplorerAssets).Assembly;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Serve("index.html")).ExcludeFromDescription();
        app.MapGet("/assets/{file}", (string file) => Serve(file)).ExcludeFromDescription();
    }

    /// <summary>The names of the embedded files (for tests).</summary>
    public static IEnumerable<string> Files => Assembly.GetManifestResourceNames().Where(n => n.StartsWith("wwwroot/", StringComparison.Ordinal)).Select(n => n[8..]);

    private static IResult Serve(string file)
    {
        // Only the flat names of the embedded files: nothing else of the assembly or the disk is reachable.
        if (file.Contains('/') || file.Contains('\\') || Assembly.GetManifestResourceStream("wwwroot/" + file) is not { } stream)
            return Results.NotFound();
        return Results.Stream(stream, ContentType(file));
    }

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}
