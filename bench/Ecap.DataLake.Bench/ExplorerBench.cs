using System.Diagnostics;
using System.Globalization;
using Ecap.DataLake;
using Ecap.DataLake.Server;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Microsoft.Playwright;

/// <summary>
/// The explorer's first paint of the table list on a lake of many tables (issue 22: goal under 1 s): a lake of N small
/// registered tables, the server on loopback, headless Chromium (Debian's, through Playwright) opening <c>/</c> on a fresh
/// page per run. Measured in the page: the <c>table-list-rendered</c> mark (navigation start to the list in the DOM) and
/// the browser's first contentful paint; and, server side, <c>GET /api/tables</c> and <c>/api/catalog</c> alone. No DuckDB
/// side: nothing in DuckDB serves a page.
/// </summary>
internal static class ExplorerBench
{
    public static async Task RunAsync(string[] args)
    {
        var tables = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        var work = Path.Combine(Path.GetTempPath(), "ecap-ebench-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var clock = Stopwatch.StartNew();
            var writer = new DataLakeBuilder(work).Build(); // every write registers its table in the catalog (post-commit hook)
            var types = new[] { DataType.Transactions, DataType.UserEvents, DataType.ProductUpdates, DataType.AnalyticsResults, DataType.CustomerProfiles };
            for (var i = 0; i < tables; i++)
            {
                var type = types[i % types.Length];
                await writer.Storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(type, 200, seed: i), $"{type.ToName()}_{i:D3}", type);
            }
            Console.WriteLine($"lake of {tables} tables written in {clock.Elapsed.TotalSeconds:F1} s");

            var lake = new DataLakeBuilder(work).UseIdentityClaims(RequestIdentity.Claims).Build();
            await using var server = await DataLakeServer.StartAsync(lake, new DataLakeServerOptions { Port = 0 });
            using var http = new HttpClient { BaseAddress = server.Url };
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ["--no-sandbox"],
            });

            var rendered = new List<double>();
            var paint = new List<double>();
            var api = new List<double>();
            var described = new List<double>();
            for (var run = -1; run < runs; run++) // run -1 warms the server, the JIT and the browser
            {
                var apiClock = Stopwatch.StartNew();
                await http.GetStringAsync("/api/tables");
                await http.GetStringAsync("/api/catalog");
                var apiMs = apiClock.Elapsed.TotalMilliseconds;

                var page = await browser.NewPageAsync();
                await page.GotoAsync(server.Url.ToString());
                await page.WaitForSelectorAsync("body[data-table-list-described]", new PageWaitForSelectorOptions { State = WaitForSelectorState.Attached });
                var shown = await page.Locator("[data-testid=table-row]").CountAsync();
                if (shown != tables) throw new InvalidOperationException($"the list shows {shown} tables, not {tables}");
                var marks = await page.EvaluateAsync<double[]>(
                    "() => [performance.getEntriesByName('table-list-rendered')[0].startTime, (performance.getEntriesByName('first-contentful-paint')[0] || {startTime: -1}).startTime, performance.getEntriesByName('table-list-described')[0].startTime]");
                await page.CloseAsync();
                if (run < 0) continue;
                rendered.Add(marks[0]);
                paint.Add(marks[1]);
                described.Add(marks[2]);
                api.Add(apiMs);
                Console.WriteLine($"run {run + 1}: list rendered {marks[0]:F0} ms, with the catalog's tags {marks[2]:F0} ms, first contentful paint {marks[1]:F0} ms, /api/tables + /api/catalog {apiMs:F0} ms");
            }
            Console.WriteLine($"median of {runs}: table list rendered {Median(rendered):F0} ms after navigation start, with the catalog's tags {Median(described):F0} ms " +
                $"(first contentful paint {Median(paint):F0} ms); " +
                $"/api/tables + /api/catalog {Median(api):F0} ms; {tables} tables");
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }
}
