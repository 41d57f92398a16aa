using System.Net.Http.Headers;
using System.Text.Json;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.DataLake.Server.Tests;

/// <summary>
/// A lake with the demo's tables, catalog entries, statistics and lineage (as `ecap data-lake demo` makes them, smaller),
/// served by a real Kestrel server on a free loopback port. Shared by the tests of a class: built once.
/// </summary>
public sealed class DemoLake : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private DataLakeServer? _server;

    public string Path => _dir.Sub("lake");

    /// <summary>The lake as the server reads it (the library's own answers, to compare the API with).</summary>
    public DataLake Lake { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public Uri Url => _server!.Url;

    public async Task InitializeAsync()
    {
        await WriteDemoTablesAsync(Path);
        Lake = new DataLakeBuilder(Path).UseIdentityClaims(RequestIdentity.Claims).Build();
        _server = await DataLakeServer.StartAsync(Lake, new DataLakeServerOptions { Port = 0 });
        Http = new HttpClient { BaseAddress = _server.Url };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_server is not null) await _server.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>The demo's five tables, a second append to transactions, catalog descriptions, statistics and analytics_results' lineage.</summary>
    public static async Task WriteDemoTablesAsync(string path, double scale = 1)
    {
        var lake = new DataLakeBuilder(path).Build();
        var start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
        foreach (var type in new[] { DataType.Transactions, DataType.UserEvents, DataType.ProductUpdates, DataType.AnalyticsResults, DataType.CustomerProfiles })
            await lake.Storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(type, (long)(3000 * scale), seed: 42, batchSize: 10_000, start, days: 20),
                type.ToName(), type, WriteMode.Overwrite);
        await lake.Storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 500, seed: 7, batchSize: 500, start.AddDays(20), days: 1),
            "transactions", DataType.Transactions, WriteMode.Append);
        var catalog = lake.Catalog;
        await catalog.RegisterTableAsync("transactions", System.IO.Path.Combine(path, "transactions"), "Orders and payments", "sales-data", ["finance", "pii"]);
        await catalog.RegisterTableAsync("user_events", System.IO.Path.Combine(path, "user_events"), "Clickstream events", "web-analytics", ["clickstream"]);
        await catalog.RegisterTableAsync("analytics_results", System.IO.Path.Combine(path, "analytics_results"), "Daily metrics derived from orders and events", "analytics", ["derived"]);
        foreach (var table in new[] { "transactions", "user_events", "analytics_results" })
            await catalog.UpdateTableStatisticsAsync(table, computeColumnStats: true, sampleSize: 1000);
        await catalog.AddTableLineageAsync("analytics_results", upstream: ["transactions", "user_events"]);
    }

    public async Task<(int Status, JsonElement Json)> GetAsync(string path, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }
}
