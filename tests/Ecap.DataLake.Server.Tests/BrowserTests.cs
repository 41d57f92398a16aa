using Microsoft.Playwright;

namespace Ecap.DataLake.Server.Tests;

/// <summary>
/// The explorer page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; no browser download) over the
/// demo's tables: search, open a table, its partition chart and lineage graph. Screenshots go to TestResults/screenshots;
/// a failing test leaves one named after it.
/// </summary>
public sealed class BrowserTests(DemoLake demo) : IClassFixture<DemoLake>, IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public static string Screenshots => Path.Combine(RepoPaths.Root, "tests", "Ecap.DataLake.Server.Tests", "TestResults", "screenshots");

    public async Task InitializeAsync()
    {
        // A shared, loaded machine: waits end on the condition, the timeout only stops a page that never gets there.
        Assertions.SetDefaultExpectTimeout(30_000);
        _playwright = await Playwright.CreateAsync();
        _browser = await LaunchAsync(_playwright);
    }

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = Chromium,
        Headless = true,
        Args = ["--no-sandbox"], // CI runs as root, where Chromium's sandbox cannot start
    });

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    /// <summary>Runs <paramref name="steps"/> on a fresh page; on failure the page's screenshot is kept as FAILED-name.png.</summary>
    private async Task OnPageAsync(string name, Func<IPage, Task> steps)
    {
        var page = await _browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1300, Height = 1000 } });
        Directory.CreateDirectory(Screenshots);
        try
        {
            await steps(page);
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle); // every section drawn before the picture
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });
        }
        catch
        {
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, "FAILED-" + name + ".png"), FullPage = true });
            throw;
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public Task Search_open_a_table_and_see_its_partition_chart_and_lineage() => OnPageAsync("table-page", async page =>
    {
        await page.GotoAsync(demo.Url.ToString());
        var rows = page.GetByTestId("table-row");
        await Assertions.Expect(rows).ToHaveCountAsync((await demo.Lake.Storage.ListTablesAsync()).Count);

        await page.GetByTestId("table-search").FillAsync("derived"); // the tag of analytics_results only
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        Assert.Equal("analytics_results", await rows.First.GetAttributeAsync("data-table"));

        await rows.First.GetByTestId("table-link").ClickAsync();
        await Assertions.Expect(page.GetByTestId("table-name")).ToHaveTextAsync("analytics_results");
        var info = await demo.Lake.Storage.GetTableInfoAsync("analytics_results");
        await Assertions.Expect(page.GetByTestId("partition-bar")).ToHaveCountAsync(Math.Min(100, info.Partitions.Count));
        var nodes = page.GetByTestId("lineage-node");
        await Assertions.Expect(nodes).ToHaveCountAsync(3);
        var names = new List<string>();
        foreach (var node in await nodes.AllAsync()) names.Add((await node.GetAttributeAsync("data-table"))!);
        Assert.Equal(["analytics_results", "transactions", "user_events"], names.Order());
        await Assertions.Expect(page.Locator("#preview-grid tbody tr")).ToHaveCountAsync(20);

        // An upstream node leads to that table's page.
        await page.Locator("[data-testid=lineage-node][data-table=transactions]").ClickAsync();
        await Assertions.Expect(page.GetByTestId("table-name")).ToHaveTextAsync("transactions");
        await Assertions.Expect(page.Locator("[data-testid=lineage-node][data-table=analytics_results]")).ToHaveCountAsync(1);
    });

    [Fact]
    public Task A_search_by_column_name_finds_the_tables_that_have_it() => OnPageAsync("search-column", async page =>
    {
        await page.GotoAsync(demo.Url.ToString());
        await page.GetByTestId("table-search").FillAsync("payment_method"); // a column of transactions only
        var rows = page.GetByTestId("table-row");
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        Assert.Equal("transactions", await rows.First.GetAttributeAsync("data-table"));
    });

    [Fact]
    public Task The_audit_page_lists_the_records_of_the_pages_own_requests() => OnPageAsync("audit-page", async page =>
    {
        await page.GotoAsync(demo.Url + "#/audit");
        await Assertions.Expect(page.Locator("#audit-grid tbody tr").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#audit-grid")).ToContainTextAsync("list-tables");
    });
}
