using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Ecap.DataLake.Catalog;
using Ecap.DataLake.Monitoring;
using Ecap.DataLake.Query;
using Ecap.DataLake.Security;
using Ecap.DataLake.Server.Json;
using Ecap.DataLake.Tables;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Ecap.DataLake.Server;

/// <summary>Settings of the explorer's API.</summary>
public sealed record DataLakeExplorerOptions
{
    /// <summary>Rows <c>POST /api/query</c> returns when the request names no limit.</summary>
    public int DefaultQueryRows { get; init; } = 100;

    /// <summary>The most rows one <c>POST /api/query</c> may ask for (a response is held in memory whole).</summary>
    public int MaxQueryRows { get; init; } = 10_000;
}

/// <summary>
/// The web explorer and REST API of a lake, for any ASP.NET Core app:
/// <code>builder.Services.AddDataLakeExplorer();
/// var lake = new DataLakeBuilder("./data-lake").UseIdentityClaims(RequestIdentity.Claims).Build();
/// app.MapDataLakeExplorer(lake);</code>
/// Every API call goes through the lake's entry points (checked against the caller's grants and audited as the CLI's
/// are); nothing writes data. The JSON is the CLI's <c>--output json</c> for the same thing (<see cref="LakeJson"/>).
/// </summary>
public static class DataLakeExplorer
{
    /// <summary>OpenAPI (<c>/openapi/v1.json</c>) and the minimal APIs' JSON in the lake's snake_case, so the document matches the responses.</summary>
    public static IServiceCollection AddDataLakeExplorer(this IServiceCollection services)
    {
        services.AddOpenApi("v1");
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = LakeJson.Options.PropertyNamingPolicy;
            foreach (var converter in LakeJson.Options.Converters) o.SerializerOptions.Converters.Add(converter);
        });
        return services;
    }

    /// <summary>Maps <c>/</c> (the page), <c>/api/...</c>, <c>/healthz</c> and <c>/openapi/v1.json</c> over <paramref name="lake"/>.</summary>
    public static IEndpointRouteBuilder MapDataLakeExplorer(this IEndpointRouteBuilder app, DataLake lake, DataLakeExplorerOptions? options = null)
    {
        var settings = options ?? new DataLakeExplorerOptions();
        app.MapOpenApi();
        app.MapGet("/healthz", () => Json(new HealthJson("ok", lake.Location))).Produces<HealthJson>();
        ExplorerAssets.Map(app);

        var api = app.MapGroup("/api");
        // Each handler runs as the request's caller (its bearer token) and any lake error becomes a problem response.
        api.AddEndpointFilter(async (context, next) =>
        {
            var token = RequestIdentity.BearerToken(context.HttpContext.Request.Headers.Authorization);
            try
            {
                return await RequestIdentity.RunAsAsync(token, () => next(context));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return ApiErrors.Problem(e);
            }
        });

        api.MapGet("/tables", async (CancellationToken ct) => Json(await lake.Storage.ListTablesAsync(ct)))
            .Produces<IReadOnlyList<TableSummary>>().WithSummary("Every table of the lake the caller may read (storage list-tables).");
        api.MapGet("/catalog", async (CancellationToken ct) => Json((await lake.Catalog.ListTablesAsync(ct: ct)).Select(CatalogSummaryJson.From)))
            .Produces<IEnumerable<CatalogSummaryJson>>().WithSummary("The catalog's entries: owners, tags, status (catalog list-tables).");
        api.MapGet("/tables/{name}", async (string name, CancellationToken ct) =>
            {
                var info = await lake.Storage.GetTableInfoAsync(name, ct);
                return Json(new TableDetailJson(TableInfoJson.From(info, StoragePricing.Default.Estimate(info)), await CatalogEntryAsync(lake, name, ct)));
            })
            .Produces<TableDetailJson>().WithSummary("Storage figures (storage info) and the catalog entry of a table.");
        api.MapGet("/tables/{name}/schema-history", async (string name, CancellationToken ct) => Json(await lake.Catalog.GetSchemaHistoryAsync(name, ct)))
            .Produces<IReadOnlyList<SchemaChange>>().WithSummary("Every schema the table had, with the columns added, removed, renamed and changed.");
        api.MapGet("/tables/{name}/history", async (string name, int? limit, CancellationToken ct) =>
            {
                if (limit < 0) throw new InvalidInputException($"limit must be 0 or more, not {limit}.");
                return Json((await lake.Storage.GetHistoryAsync(name, limit, ct)).Select(HistoryJson.From));
            })
            .Produces<IEnumerable<HistoryJson>>().WithSummary("The table's commits, newest first (storage history).");
        api.MapGet("/tables/{name}/partitions", async (string name, CancellationToken ct) =>
                Json(TableInfoJson.From(await lake.Storage.GetTableInfoAsync(name, ct), null).Partitions))
            .Produces<IEnumerable<TableInfoJson.Partition>>().WithSummary("Files, rows and bytes per partition (the partitions of storage info).");
        api.MapGet("/tables/{name}/files/histogram", async (string name, CancellationToken ct) =>
                Json((await lake.Storage.GetTableInfoAsync(name, ct)).FileSizeHistogram))
            .Produces<IReadOnlyList<FileSizeBucket>>().WithSummary("Data files by size bucket (the file_size_histogram of storage info).");
        api.MapGet("/tables/{name}/lineage", async (string name, CancellationToken ct) => Json(LineageJson.From(await lake.Catalog.GetLineageAsync(name, ct))))
            .Produces<LineageJson>().WithSummary("Upstream and downstream tables: catalog lineage's graph plus its nodes.");
        api.MapGet("/tables/{name}/statistics", async (string name, CancellationToken ct) =>
                Json((await lake.Catalog.GetTableAsync(name, ct)).Statistics
                     ?? throw new TableNotFoundException($"Table '{name}' has no statistics yet: `ecap data-lake catalog update-stats {name}` computes them.")))
            .Produces<TableStatistics>().WithSummary("Table and column statistics (catalog update-stats).");
        api.MapGet("/streams", async (CancellationToken ct) => Json((await lake.Monitor().LookAsync(0, ct: ct)).Streams))
            .Produces<IReadOnlyList<StreamStatus>>().WithSummary("Streams by their heartbeats: state, rate, lag, stale (the streams of monitor).");
        api.MapGet("/monitor", async (int? commits, CancellationToken ct) => Json(await lake.Monitor().LookAsync(Math.Clamp(commits ?? 10, 0, 1000), ct: ct)))
            .Produces<LakeOverview>().WithSummary("Tables, streams and recent commits at a glance (monitor --output json).");
        api.MapGet("/audit", async (string? table, string? principal, string? since, int? limit, CancellationToken ct) =>
            {
                var from = since is { Length: > 0 } s
                    ? DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t
                        : throw new InvalidInputException($"since '{s}' is not an ISO 8601 time (e.g. 2026-12-01T00:00:00Z).")
                    : (DateTimeOffset?)null;
                if (limit < 0) throw new InvalidInputException($"limit must be 0 or more, not {limit}.");
                return Json(await AuditTrail.ReadNewestAsync(lake.Guard, new AuditFilter(table, principal, from), limit ?? 1000, since, ct));
            })
            .Produces<IReadOnlyList<AuditRecord>>().WithSummary("The audit trail, newest records, oldest first (lake admins; audit).");
        api.MapGet("/search", async (string? q, CancellationToken ct) =>
                Json((await lake.Catalog.SearchTablesAsync(q is { Length: > 0 } term ? term : throw new InvalidInputException("Give a search term: /api/search?q=TERM."), ct: ct))
                    .Select(CatalogSearchHitJson.From)))
            .Produces<IEnumerable<CatalogSearchHitJson>>().WithSummary("Tables by name, description, tags, columns and owner, best first (catalog search).");
        api.MapPost("/query", (QueryRequestJson request, CancellationToken ct) => QueryAsync(lake, request, settings, ct))
            .Produces(StatusCodes.Status200OK, contentType: "application/json")
            .WithSummary("SQL through the query command's sandbox: {columns, rows, truncated, masked, stats}; at most the limit's rows.");
        return app;
    }

    private static IResult Json<T>(T value) => Results.Json(value, LakeJson.Options);

    // A table written by another engine, or never registered: its storage figures still show.
    private static async Task<CatalogEntry?> CatalogEntryAsync(DataLake lake, string name, CancellationToken ct)
    {
        try { return await lake.Catalog.GetTableAsync(name, ct); }
        catch (TableNotFoundException) { return null; }
    }

    /// <summary>
    /// The query's first rows as <c>query --output json --stats</c> prints them (<c>rows</c>, <c>stats</c>), with the columns,
    /// whether rows were left out, and the columns masked for the caller. The response is built before it is sent (bounded by
    /// the row limit), so a SQL error is a clean 400 and never half a document.
    /// </summary>
    private static async Task<IResult> QueryAsync(DataLake lake, QueryRequestJson request, DataLakeExplorerOptions settings, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request.Sql)) throw new InvalidInputException("Give a SQL query in \"sql\", e.g. {\"sql\": \"SELECT count(*) FROM transactions\"}.");
        var limit = request.Limit ?? settings.DefaultQueryRows;
        if (limit < 0 || limit > settings.MaxQueryRows)
            throw new InvalidInputException($"limit must be between 0 and {settings.MaxQueryRows}, not {limit}.");
        await using var query = new LakeQuery(lake);
        var body = new ArrayBufferWriter<byte>();
        await query.QueryAsync(request.Sql, async result =>
        {
            await using var writer = new Utf8JsonWriter(body);
            writer.WriteStartObject();
            writer.WriteStartArray("columns");
            foreach (var column in result.Columns) writer.WriteStringValue(column);
            writer.WriteEndArray();
            writer.WriteStartArray("rows");
            var shown = 0;
            var truncated = false;
            await foreach (var row in result.ReadRowsAsync(ct))
            {
                if (shown >= limit) { truncated = true; break; }
                SqlValues.WriteJsonRow(writer, result.Columns, row);
                shown++;
            }
            writer.WriteEndArray();
            writer.WriteBoolean("truncated", truncated);
            writer.WriteStartArray("masked");
            foreach (var column in query.Views.Values.SelectMany(v => v.Masked).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
                writer.WriteStringValue(column);
            writer.WriteEndArray();
            result.Dispose(); // completes the stats
            writer.WritePropertyName("stats");
            JsonSerializer.Serialize(writer, QueryStatsJson.From(result.Stats), LakeJson.Options);
            writer.WriteEndObject();
            return shown;
        }, ct);
        return Results.Bytes(body.WrittenMemory.ToArray(), "application/json");
    }
}
