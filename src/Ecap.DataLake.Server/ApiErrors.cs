using Ecap.DataLake.Security;
using Microsoft.AspNetCore.Http;

namespace Ecap.DataLake.Server;

/// <summary>
/// Failures as HTTP problems (RFC 9457 JSON): the library's message, never a stack trace. Unknown tables are 404, a refused
/// identity 401, a refused privilege 403, other lake errors (bad input, a SQL error) 400; anything unforeseen is 500 with
/// only its type named, as the CLI does.
/// </summary>
internal static class ApiErrors
{
    public static int? StatusOf(Exception e) => e switch
    {
        TableNotFoundException => StatusCodes.Status404NotFound,
        AuthenticationFailedException => StatusCodes.Status401Unauthorized,
        AccessDeniedException => StatusCodes.Status403Forbidden,
        AuditFailedException => StatusCodes.Status503ServiceUnavailable,
        ConcurrentModificationException => StatusCodes.Status409Conflict,
        CorruptTableException => StatusCodes.Status500InternalServerError,
        DataLakeException => StatusCodes.Status400BadRequest,
        // DuckDB's own errors (a SQL syntax error, an unknown column) are the caller's input; the type is matched by name so
        // the server needs no DuckDB reference of its own.
        _ when e.GetType().Name == "DuckDBException" => StatusCodes.Status400BadRequest,
        _ => null,
    };

    public static IResult Problem(Exception e)
    {
        var status = StatusOf(e);
        var detail = status is null ? $"The server failed unexpectedly ({e.GetType().Name})." : e.Message.Split('\n')[0].Trim();
        return Results.Problem(detail: detail, statusCode: status ?? StatusCodes.Status500InternalServerError, title: Title(status));
    }

    private static string Title(int? status) => status switch
    {
        404 => "not found",
        401 => "unauthenticated",
        403 => "access denied",
        409 => "conflict",
        503 => "audit unavailable",
        400 => "bad request",
        _ => "server error",
    };
}
