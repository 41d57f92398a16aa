using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Tables.SampleData;

/// <summary>
/// Canonical Arrow schemas of the five data types. Conventions: ids are int64 (in particular
/// <c>customer_id</c>, the bucket key of customer profiles, so its Iceberg bucket is computed from the
/// 8-byte long); instants are <c>timestamp[us, UTC]</c> (Spark <c>timestamp</c>); money is
/// <c>decimal(18,2)</c>; calendar dates are <c>date32</c>. Derived partition columns (year/month/day)
/// are not part of these schemas: the partitioner adds them from the time column.
/// </summary>
public static class CanonicalSchemas
{
    /// <summary>Timestamp in microseconds, UTC.</summary>
    public static readonly TimestampType Timestamp = new(TimeUnit.Microsecond, "UTC");

    /// <summary>Money: decimal(18,2).</summary>
    public static readonly Decimal128Type Money = new(18, 2);

    private static Field F(string name, IArrowType type, bool nullable) => new(name, type, nullable);

    /// <summary>transactions: one row per order line.</summary>
    public static Schema Transactions { get; } = new Schema.Builder()
        .Field(F("transaction_id", Int64Type.Default, false))
        .Field(F("customer_id", Int64Type.Default, false))
        .Field(F("product_id", Int64Type.Default, false))
        .Field(F("timestamp", Timestamp, false))
        .Field(F("amount", Money, false))
        .Field(F("currency", StringType.Default, false))
        .Field(F("payment_method", StringType.Default, false))
        .Field(F("status", StringType.Default, false))
        .Field(F("quantity", Int32Type.Default, false))
        .Field(F("country", StringType.Default, false))
        .Field(F("discount_code", StringType.Default, true))
        .Field(F("shipping_cost", Money, true))
        .Field(F("is_first_purchase", BooleanType.Default, false))
        .Build();

    /// <summary>user_events: clickstream, about eight events per session.</summary>
    public static Schema UserEvents { get; } = new Schema.Builder()
        .Field(F("event_id", Int64Type.Default, false))
        .Field(F("session_id", StringType.Default, false))
        .Field(F("customer_id", Int64Type.Default, true))
        .Field(F("event_type", StringType.Default, false))
        .Field(F("event_timestamp", Timestamp, false))
        .Field(F("page_url", StringType.Default, false))
        .Field(F("product_id", Int64Type.Default, true))
        .Field(F("device", StringType.Default, false))
        .Field(F("browser", StringType.Default, false))
        .Field(F("country", StringType.Default, false))
        .Field(F("referrer", StringType.Default, true))
        .Field(F("duration_ms", Int32Type.Default, true))
        .Build();

    /// <summary>product_updates: catalogue changes (price, stock, new products).</summary>
    public static Schema ProductUpdates { get; } = new Schema.Builder()
        .Field(F("product_id", Int64Type.Default, false))
        .Field(F("category", StringType.Default, false))
        .Field(F("name", StringType.Default, false))
        .Field(F("brand", StringType.Default, false))
        .Field(F("price", Money, false))
        .Field(F("previous_price", Money, true))
        .Field(F("stock", Int32Type.Default, false))
        .Field(F("update_type", StringType.Default, false))
        .Field(F("updated_at", Timestamp, false))
        .Field(F("is_active", BooleanType.Default, false))
        .Build();

    /// <summary>analytics_results: metrics computed by batch jobs.</summary>
    public static Schema AnalyticsResults { get; } = new Schema.Builder()
        .Field(F("computation_id", Int64Type.Default, false))
        .Field(F("result_type", StringType.Default, false))
        .Field(F("metric_name", StringType.Default, false))
        .Field(F("metric_value", DoubleType.Default, false))
        .Field(F("computed_at", Timestamp, false))
        .Field(F("window_start", Timestamp, false))
        .Field(F("window_end", Timestamp, false))
        .Field(F("dimension_key", StringType.Default, true))
        .Field(F("dimension_value", StringType.Default, true))
        .Field(F("confidence", DoubleType.Default, true))
        .Field(F("model_version", StringType.Default, false))
        .Build();

    /// <summary>customer_profiles: one row per customer (customer_id is unique).</summary>
    public static Schema CustomerProfiles { get; } = new Schema.Builder()
        .Field(F("customer_id", Int64Type.Default, false))
        .Field(F("email", StringType.Default, false))
        .Field(F("customer_segment", StringType.Default, false))
        .Field(F("region", StringType.Default, false))
        .Field(F("country", StringType.Default, false))
        .Field(F("signup_date", Date32Type.Default, false))
        .Field(F("lifetime_value", Money, false))
        .Field(F("total_orders", Int32Type.Default, false))
        .Field(F("last_order_at", Timestamp, true))
        .Field(F("preferred_category", StringType.Default, true))
        .Field(F("is_subscribed", BooleanType.Default, false))
        .Field(F("updated_at", Timestamp, false))
        .Build();

    /// <summary>The canonical schema of a data type.</summary>
    public static Schema For(DataType type) => type switch
    {
        DataType.Transactions => Transactions,
        DataType.UserEvents => UserEvents,
        DataType.ProductUpdates => ProductUpdates,
        DataType.AnalyticsResults => AnalyticsResults,
        DataType.CustomerProfiles => CustomerProfiles,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown data type."),
    };

    /// <summary>The column whose values are spread over the requested days by the generator.</summary>
    public static string TimeColumn(DataType type) => type switch
    {
        DataType.Transactions => "timestamp",
        DataType.UserEvents => "event_timestamp",
        DataType.ProductUpdates => "updated_at",
        DataType.AnalyticsResults => "computed_at",
        DataType.CustomerProfiles => "updated_at",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown data type."),
    };
}
