using System.Globalization;
using System.Text;

namespace Ecap.DataLake.Kafka.Dev;

/// <summary>
/// JSON transactions of about 200 bytes in the canonical transactions schema, deterministic per id: what
/// <c>dev kafka --sample</c>, the tests and the benchmark put on a topic.
/// </summary>
public static class SampleMessages
{
    private static readonly string[] Currencies = ["EUR", "USD", "GBP", "CHF"];
    private static readonly string[] Methods = ["card", "paypal", "bank", "voucher"];
    private static readonly string[] Statuses = ["completed", "pending", "refunded"];
    private static readonly string[] Countries = ["DE", "FR", "US", "GB", "NL", "ES"];

    public static readonly DateTimeOffset Start = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    public static string Transaction(long id)
    {
        var h = (ulong)id * 0x9E3779B97F4A7C15UL;
        // A live topic carries recent events: ten per second from Start (a million ids span about 28 hours).
        var ts = Start.AddMilliseconds(id * 100);
        var sb = new StringBuilder(220);
        sb.Append(CultureInfo.InvariantCulture, $"{{\"transaction_id\":{id},\"customer_id\":{(long)(h % 100_000)},\"product_id\":{(long)(h >> 20) % 5000},");
        sb.Append(CultureInfo.InvariantCulture, $"\"timestamp\":\"{ts:yyyy-MM-dd'T'HH:mm:ss'Z'}\",\"amount\":{(h >> 8) % 100_000 / 100m},");
        sb.Append(CultureInfo.InvariantCulture, $"\"currency\":\"{Currencies[h % 4]}\",\"payment_method\":\"{Methods[(h >> 4) % 4]}\",\"status\":\"{Statuses[(h >> 6) % 3]}\",");
        sb.Append(CultureInfo.InvariantCulture, $"\"quantity\":{1 + (long)((h >> 12) % 5)},\"country\":\"{Countries[(h >> 16) % 6]}\",");
        // Optional fields appear on some messages only, as producers omit nulls.
        if (id % 7 == 0) sb.Append("\"discount_code\":\"WINTER10\",");
        if (id % 3 == 0) sb.Append(CultureInfo.InvariantCulture, $"\"shipping_cost\":{(h >> 24) % 1000 / 100m},");
        sb.Append(CultureInfo.InvariantCulture, $"\"is_first_purchase\":{(id % 11 == 0 ? "true" : "false")}}}");
        return sb.ToString();
    }
}
