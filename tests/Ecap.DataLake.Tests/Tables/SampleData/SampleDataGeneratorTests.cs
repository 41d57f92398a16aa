using Apache.Arrow;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Xunit;

namespace Ecap.DataLake.Tests.Tables.SampleData;

public class SampleDataGeneratorTests
{
    private static readonly DateTimeOffset Start = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<RecordBatch> Generate(DataType type, long rows, int seed = 1, int batchSize = 1000, int days = 7) =>
        SampleDataGenerator.Generate(type, rows, seed, batchSize, Start, days).ToList();

    private static List<Dictionary<string, object?>> AllRows(IEnumerable<RecordBatch> batches) =>
        batches.SelectMany(ArrowRows.Rows).ToList();

    public static TheoryData<DataType> Types => new(DataTypes.All);

    [Theory]
    [MemberData(nameof(Types))]
    public void Same_seed_gives_the_same_rows_whatever_the_batch_size(DataType type)
    {
        var a = AllRows(Generate(type, 2500, seed: 11, batchSize: 1000));
        var b = AllRows(Generate(type, 2500, seed: 11, batchSize: 700));
        Assert.Equal(a.Count, b.Count);
        for (int i = 0; i < a.Count; i++) Assert.Equal(a[i], b[i]);
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Different_seeds_give_different_rows(DataType type)
    {
        var a = AllRows(Generate(type, 200, seed: 1));
        var b = AllRows(Generate(type, 200, seed: 2));
        Assert.NotEqual(
            a.Select(r => string.Join(",", r.Values)),
            b.Select(r => string.Join(",", r.Values)));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Batches_have_the_canonical_schema_and_the_requested_sizes(DataType type)
    {
        var batches = Generate(type, 2500, batchSize: 1000);
        Assert.Equal([1000, 1000, 500], batches.Select(b => b.Length));
        foreach (var b in batches)
        {
            Assert.Same(CanonicalSchemas.For(type), b.Schema);
            for (int c = 0; c < b.ColumnCount; c++)
            {
                Assert.Equal(b.Length, b.Column(c).Length);
                Assert.Equal(b.Schema.FieldsList[c].DataType.TypeId, b.Column(c).Data.DataType.TypeId);
                if (!b.Schema.FieldsList[c].IsNullable) Assert.Equal(0, b.Column(c).NullCount);
            }
        }
        Assert.Empty(Generate(type, 0));
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Times_spread_over_every_requested_day_and_no_further(DataType type)
    {
        var column = CanonicalSchemas.TimeColumn(type);
        var times = Generate(type, 20_000, batchSize: 5000, days: 9)
            .SelectMany(b => ArrowRows.Column(b, column)).Cast<long>().ToList();
        long start = (Start.UtcTicks - DateTime.UnixEpoch.Ticks) / 10;
        long end = start + 9 * 86_400_000_000L;
        Assert.All(times, t => Assert.InRange(t, start, end - 1));
        Assert.Equal(9, times.Select(t => (t - start) / 86_400_000_000L).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Types))]
    public void Nullable_columns_have_some_nulls_and_some_values(DataType type)
    {
        var batch = Generate(type, 5000, batchSize: 5000).Single();
        foreach (var field in batch.Schema.FieldsList.Where(f => f.IsNullable))
        {
            var column = batch.Column(batch.Schema.GetFieldIndex(field.Name));
            Assert.InRange(column.NullCount, 1, batch.Length - 1);
        }
    }

    [Fact]
    public void Transactions_have_unique_increasing_ids_and_values_from_their_domains()
    {
        var rows = AllRows(Generate(DataType.Transactions, 5000));
        Assert.Equal(Enumerable.Range(1, 5000).Select(i => (long)i), rows.Select(r => (long)r["transaction_id"]!));
        Assert.All(rows, r => Assert.Contains((string)r["currency"]!, SampleDataGenerator.Currencies.Values));
        Assert.All(rows, r => Assert.Contains((string)r["payment_method"]!, SampleDataGenerator.PaymentMethods.Values));
        Assert.All(rows, r => Assert.Contains((string)r["status"]!, SampleDataGenerator.Statuses.Values));
        Assert.All(rows, r => Assert.InRange((long)r["quantity"]!, 1, 10));
        Assert.All(rows, r => Assert.InRange((long)r["customer_id"]!, 1, SampleDataGenerator.Customers));
        Assert.All(rows, r => Assert.True((Int128)r["amount"]! > 0));
        // Skewed popularity: the most popular 1% of products get far more than 1% of orders.
        var products = rows.Select(r => (long)r["product_id"]!).ToList();
        Assert.True(products.Count(p => p <= SampleDataGenerator.Products / 100) > products.Count / 10);
        Assert.Equal(SampleDataGenerator.Statuses.Count, rows.Select(r => r["status"]).Distinct().Count());
    }

    [Fact]
    public void User_events_come_in_sessions_with_known_event_types()
    {
        var rows = AllRows(Generate(DataType.UserEvents, 4000));
        Assert.All(rows, r => Assert.Contains((string)r["event_type"]!, SampleDataGenerator.EventTypes.Values));
        Assert.All(rows, r => Assert.Matches("^sess-[0-9a-f]{16}$", (string)r["session_id"]!));
        Assert.All(rows, r => Assert.StartsWith("/", (string)r["page_url"]!));
        Assert.InRange(rows.Select(r => r["session_id"]).Distinct().Count(), 400, 600);
        Assert.All(rows.Where(r => (string)r["event_type"]! == "add_to_cart"), r => Assert.NotNull(r["product_id"]));
        Assert.All(rows.Where(r => (string)r["event_type"]! == "login"), r => Assert.Null(r["product_id"]));
    }

    [Fact]
    public void Customer_profiles_have_unique_ids_segments_and_regions()
    {
        var rows = AllRows(Generate(DataType.CustomerProfiles, 3000));
        Assert.Equal(3000, rows.Select(r => r["customer_id"]).Distinct().Count());
        Assert.All(rows, r => Assert.Contains((string)r["customer_segment"]!, SampleDataGenerator.Segments.Values));
        Assert.All(rows, r => Assert.Contains((string)r["region"]!, SampleDataGenerator.Regions.Values));
        Assert.All(rows, r => Assert.Equal($"customer{r["customer_id"]}@example.com", r["email"]));
        Assert.All(rows, r => Assert.Equal(r["last_order_at"] is null, (long)r["total_orders"]! == 0));
    }

    [Fact]
    public void Product_updates_keep_category_name_and_brand_per_product()
    {
        var rows = AllRows(Generate(DataType.ProductUpdates, 5000));
        foreach (var g in rows.GroupBy(r => (long)r["product_id"]!))
        {
            Assert.Single(g.Select(r => r["category"]).Distinct());
            Assert.Single(g.Select(r => r["name"]).Distinct());
            Assert.Single(g.Select(r => r["brand"]).Distinct());
        }
        Assert.All(rows, r => Assert.Equal(r["previous_price"] is null, (string)r["update_type"]! == "new_product"));
    }

    [Fact]
    public void Analytics_results_have_metrics_of_their_result_type()
    {
        var rows = AllRows(Generate(DataType.AnalyticsResults, 3000));
        Assert.All(rows, r => Assert.Contains((string)r["result_type"]!, SampleDataGenerator.ResultTypes.Values));
        Assert.All(rows, r => Assert.Equal(r["dimension_key"] is null, r["dimension_value"] is null));
        Assert.All(rows, r => Assert.True((long)r["window_end"]! - (long)r["window_start"]! == 86_400_000_000L));
        Assert.All(rows, r => Assert.InRange((long)r["computed_at"]! - (long)r["window_end"]!, 0, 86_400_000_000L - 1));
    }
}
