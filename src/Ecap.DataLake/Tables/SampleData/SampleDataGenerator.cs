using System.Buffers.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Tables.SampleData;

/// <summary>
/// Deterministic, realistic e-commerce data in the <see cref="CanonicalSchemas"/> shapes, for demos,
/// tests and benchmarks. Every value is a function of (seed, global row number, column), so the
/// same seed gives the same rows whatever the batch size. Times are spread uniformly over
/// <c>days</c> whole UTC days from <c>start</c>; product and customer ids are skewed (a few are very
/// popular); optional columns have nulls. Buffers are written directly (millions of rows/s).
/// </summary>
public static class SampleDataGenerator
{
    private const long MicrosPerDay = 86_400_000_000L;
    private const long MicrosPerSecond = 1_000_000L;

    /// <summary>Number of distinct customers ids are drawn from.</summary>
    public const long Customers = 1_000_000;

    /// <summary>Number of distinct product ids are drawn from.</summary>
    public const long Products = 100_000;

    internal static readonly Domain Currencies = new(("USD", 50), ("EUR", 25), ("GBP", 12), ("JPY", 5), ("CAD", 4), ("AUD", 4));
    internal static readonly Domain PaymentMethods = new(("credit_card", 45), ("debit_card", 20), ("paypal", 15), ("apple_pay", 8), ("google_pay", 6), ("bank_transfer", 4), ("gift_card", 2));
    internal static readonly Domain Statuses = new(("completed", 85), ("pending", 6), ("refunded", 4), ("failed", 3), ("cancelled", 2));
    internal static readonly Domain Countries = new(("US", 40), ("GB", 10), ("DE", 9), ("FR", 7), ("JP", 6), ("CA", 6), ("AU", 4), ("NL", 4), ("ES", 4), ("IT", 4), ("BR", 3), ("IN", 3));
    internal static readonly Domain DiscountCodes = new("SAVE10", "WELCOME15", "BLACKFRIDAY", "FREESHIP", "SPRING20", "VIP25");
    internal static readonly Domain EventTypes = new(("page_view", 45), ("product_view", 18), ("search", 12), ("add_to_cart", 10), ("remove_from_cart", 3), ("checkout_start", 4), ("purchase", 3), ("login", 3), ("logout", 2));
    internal static readonly Domain Devices = new(("desktop", 45), ("mobile", 45), ("tablet", 10));
    internal static readonly Domain Browsers = new(("chrome", 60), ("safari", 22), ("firefox", 8), ("edge", 7), ("other", 3));
    internal static readonly Domain Referrers = new("google", "facebook", "instagram", "email", "bing", "tiktok");
    internal static readonly Domain Categories = new("electronics", "clothing", "home_garden", "books", "sports", "beauty", "toys", "grocery", "automotive", "jewelry");
    internal static readonly Domain Brands = new("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Soylent", "Tyrell", "Wonka");
    internal static readonly Domain Adjectives = new("Classic", "Premium", "Eco", "Smart", "Ultra", "Compact", "Deluxe", "Vintage", "Pro", "Essential");
    internal static readonly Domain Nouns = new("Widget", "Jacket", "Lamp", "Novel", "Sneakers", "Serum", "Puzzle", "Coffee", "Wiper", "Necklace");
    internal static readonly Domain UpdateTypes = new(("price_change", 40), ("stock_change", 40), ("new_product", 10), ("description_change", 8), ("discontinued", 2));
    internal static readonly Domain ResultTypes = new("daily_revenue", "conversion_rate", "customer_ltv", "product_affinity", "churn_risk", "inventory_forecast");
    internal static readonly Domain[] MetricNames =
    [
        new("revenue_usd", "order_count", "average_order_value"),
        new("conversion_rate", "cart_abandonment_rate", "bounce_rate"),
        new("predicted_ltv", "historical_ltv"),
        new("lift", "support", "confidence"),
        new("churn_probability", "days_since_last_order"),
        new("forecast_units", "stockout_probability"),
    ];
    internal static readonly Domain DimensionKeys = new("country", "category", "customer_segment", "device");
    internal static readonly Domain ModelVersions = new(("v1.4.2", 20), ("v2.0.0", 50), ("v2.1.0", 30));
    internal static readonly Domain Segments = new(("new", 25), ("regular", 40), ("vip", 8), ("at_risk", 15), ("churned", 12));
    internal static readonly Domain Regions = new(("north_america", 40), ("europe", 30), ("asia_pacific", 18), ("latin_america", 7), ("middle_east_africa", 5));

    /// <summary>
    /// Generates <paramref name="rows"/> rows of a data type in batches of <paramref name="batchSize"/> rows
    /// (the last may be smaller), with times in [<paramref name="start"/>, start + <paramref name="days"/> days).
    /// </summary>
    public static IEnumerable<RecordBatch> Generate(DataType type, long rows, int seed, int batchSize, DateTimeOffset start, int days)
    {
        if (rows < 0) throw new InvalidInputException($"The number of rows must not be negative (got {rows}).");
        if (batchSize <= 0) throw new InvalidInputException($"The batch size must be positive (got {batchSize}).");
        if (days <= 0) throw new InvalidInputException($"The number of days must be positive (got {days}).");
        long startMicros = (start.UtcTicks - DateTime.UnixEpoch.Ticks) / 10;
        return Batches(type, rows, seed, batchSize, startMicros, days);
    }

    /// <summary>Generates with defaults: batches of 100,000 rows over 30 days from 2024-01-01 UTC.</summary>
    public static IEnumerable<RecordBatch> Generate(DataType type, long rows, int seed = 42) =>
        Generate(type, rows, seed, 100_000, new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero), 30);

    private static IEnumerable<RecordBatch> Batches(DataType type, long rows, int seed, int batchSize, long startMicros, int days)
    {
        var ctx = new Context(RowRandom.SeedKey(seed, (int)type), startMicros, days);
        for (long first = 0; first < rows; first += batchSize)
        {
            int n = (int)Math.Min(batchSize, rows - first);
            yield return type switch
            {
                DataType.Transactions => Transactions(ctx, first, n),
                DataType.UserEvents => UserEvents(ctx, first, n),
                DataType.ProductUpdates => ProductUpdates(ctx, first, n),
                DataType.AnalyticsResults => AnalyticsResults(ctx, first, n),
                DataType.CustomerProfiles => CustomerProfiles(ctx, first, n),
                _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown data type."),
            };
        }
    }

    private sealed record Context(ulong Key, long StartMicros, int Days)
    {
        public long Span => Days * MicrosPerDay;

        public RowRandom Row(long row) => new(Key, row);

        /// <summary>A time in the window, whole microseconds.</summary>
        public long Time(double u) => StartMicros + Math.Min((long)(u * Span), Span - 1);
    }

    private static RecordBatch Transactions(Context ctx, long first, int n)
    {
        var id = new FixedColumn<long>(n);
        var customer = new FixedColumn<long>(n);
        var product = new FixedColumn<long>(n);
        var ts = new FixedColumn<long>(n);
        var amount = new FixedColumn<Int128>(n);
        var currency = new StringColumn(n, 3);
        var payment = new StringColumn(n, 12);
        var status = new StringColumn(n, 10);
        var quantity = new FixedColumn<int>(n);
        var country = new StringColumn(n, 2);
        var discount = new StringColumn(n, 2);
        var shipping = new FixedColumn<Int128>(n);
        var shippingValid = new Validity(n);
        var firstPurchase = new BoolColumn(n);
        var ids = id.Values; var cust = customer.Values; var prod = product.Values; var times = ts.Values;
        var amounts = amount.Values; var qty = quantity.Values; var ship = shipping.Values;
        for (int i = 0; i < n; i++)
        {
            long row = first + i;
            var r = ctx.Row(row);
            ids[i] = row + 1;
            cust[i] = r.Skewed(1, Customers);
            long p = r.Skewed(2, Products);
            prod[i] = p;
            times[i] = ctx.Time(r.Unit(3));
            int q = 1 + (int)(Pow4(r.Unit(4)) * 10);
            qty[i] = q;
            long unitCents = 199 + (long)(Pow3(r.Unit(5)) * 150_000);
            amounts[i] = unitCents * q;
            currency.Append(Currencies.Utf8(Currencies.Pick(r.Unit(6))));
            payment.Append(PaymentMethods.Utf8(PaymentMethods.Pick(r.Unit(7))));
            status.Append(Statuses.Utf8(Statuses.Pick(r.Unit(8))));
            country.Append(Countries.Utf8(Countries.Pick(r.Unit(9))));
            if (r.Chance(10, 0.2)) discount.Append(DiscountCodes.Utf8(r.Int(11, DiscountCodes.Count)));
            else discount.AppendNull();
            bool shipped = !r.Chance(12, 0.1); // digital goods have no shipping
            shippingValid.Set(i, shipped);
            ship[i] = shipped ? (r.Chance(13, 0.4) ? 0 : 299 + r.Int(14, 1700)) : 0;
            firstPurchase.Set(i, r.Chance(15, 0.08));
        }
        return new RecordBatch(CanonicalSchemas.Transactions,
        [
            id.Build(Int64Type.Default), customer.Build(Int64Type.Default), product.Build(Int64Type.Default),
            ts.Build(CanonicalSchemas.Timestamp), amount.Build(CanonicalSchemas.Money), currency.Build(), payment.Build(),
            status.Build(), quantity.Build(Int32Type.Default), country.Build(), discount.Build(),
            shipping.Build(CanonicalSchemas.Money, shippingValid), firstPurchase.Build(),
        ], n);
    }

    private const int EventsPerSession = 8;

    private static RecordBatch UserEvents(Context ctx, long first, int n)
    {
        var id = new FixedColumn<long>(n);
        var session = new StringColumn(n, 21);
        var customer = new FixedColumn<long>(n);
        var customerValid = new Validity(n);
        var eventType = new StringColumn(n, 11);
        var ts = new FixedColumn<long>(n);
        var url = new StringColumn(n, 16);
        var product = new FixedColumn<long>(n);
        var productValid = new Validity(n);
        var device = new StringColumn(n, 7);
        var browser = new StringColumn(n, 6);
        var country = new StringColumn(n, 2);
        var referrer = new StringColumn(n, 4);
        var duration = new FixedColumn<int>(n);
        var durationValid = new Validity(n);
        var ids = id.Values; var cust = customer.Values; var times = ts.Values; var prod = product.Values; var dur = duration.Values;
        var sessionWindow = Math.Max(ctx.Span - 3_600 * MicrosPerSecond, 1);
        for (int i = 0; i < n; i++)
        {
            long row = first + i;
            long sessionNo = row / EventsPerSession;
            int step = (int)(row % EventsPerSession);
            var s = ctx.Row(-1 - sessionNo); // session-level values share one random row
            var r = ctx.Row(row);
            ids[i] = row + 1;
            var sid = session.Begin(21);
            "sess-"u8.CopyTo(sid);
            WriteHex(s.Next(1), sid.Slice(5, 16));
            session.Commit(21);
            bool anonymous = s.Chance(2, 0.3);
            customerValid.Set(i, !anonymous);
            cust[i] = anonymous ? 0 : s.Skewed(3, Customers);
            // The session starts somewhere in the window and lasts under an hour.
            long sessionStart = ctx.StartMicros + (long)(s.Unit(4) * sessionWindow);
            times[i] = Math.Min(sessionStart + step * (long)(s.Unit(5) * 420 + 5) * MicrosPerSecond + r.Int(6, 1_000_000),
                ctx.StartMicros + ctx.Span - 1);
            int et = EventTypes.Pick(r.Unit(7));
            string type = EventTypes.Values[et];
            eventType.Append(EventTypes.Utf8(et));
            long p = r.Skewed(8, Products);
            bool hasProduct = type is "product_view" or "add_to_cart" or "remove_from_cart" or "purchase";
            productValid.Set(i, hasProduct);
            prod[i] = hasProduct ? p : 0;
            var u = url.Begin(48);
            int written;
            switch (type)
            {
                case "product_view" or "add_to_cart" or "remove_from_cart":
                    "/product/"u8.CopyTo(u);
                    Utf8Formatter.TryFormat(p, u.Slice(9), out written);
                    written += 9;
                    break;
                case "search":
                    "/search?q="u8.CopyTo(u);
                    var cat = Categories.Utf8(r.Int(9, Categories.Count));
                    cat.CopyTo(u.Slice(10));
                    written = 10 + cat.Length;
                    break;
                case "checkout_start": "/checkout"u8.CopyTo(u); written = 9; break;
                case "purchase": "/checkout/confirmation"u8.CopyTo(u); written = 22; break;
                case "login": "/account/login"u8.CopyTo(u); written = 14; break;
                case "logout": "/account/logout"u8.CopyTo(u); written = 15; break;
                default:
                    if (r.Chance(10, 0.3)) { "/"u8.CopyTo(u); written = 1; }
                    else
                    {
                        "/category/"u8.CopyTo(u);
                        var c = Categories.Utf8(r.Int(11, Categories.Count));
                        c.CopyTo(u.Slice(10));
                        written = 10 + c.Length;
                    }
                    break;
            }
            url.Commit(written);
            device.Append(Devices.Utf8(Devices.Pick(s.Unit(12))));
            browser.Append(Browsers.Utf8(Browsers.Pick(s.Unit(13))));
            country.Append(Countries.Utf8(Countries.Pick(s.Unit(14))));
            if (step == 0 && !s.Chance(15, 0.35)) referrer.Append(Referrers.Utf8(s.Int(16, Referrers.Count)));
            else referrer.AppendNull();
            bool timed = !r.Chance(17, 0.1);
            durationValid.Set(i, timed);
            dur[i] = timed ? 50 + (int)(Pow2(r.Unit(18)) * 120_000) : 0;
        }
        return new RecordBatch(CanonicalSchemas.UserEvents,
        [
            id.Build(Int64Type.Default), session.Build(), customer.Build(Int64Type.Default, customerValid),
            eventType.Build(), ts.Build(CanonicalSchemas.Timestamp), url.Build(), product.Build(Int64Type.Default, productValid),
            device.Build(), browser.Build(), country.Build(), referrer.Build(), duration.Build(Int32Type.Default, durationValid),
        ], n);
    }

    private static RecordBatch ProductUpdates(Context ctx, long first, int n)
    {
        var product = new FixedColumn<long>(n);
        var category = new StringColumn(n, 9);
        var name = new StringColumn(n, 22);
        var brand = new StringColumn(n, 6);
        var price = new FixedColumn<Int128>(n);
        var previous = new FixedColumn<Int128>(n);
        var previousValid = new Validity(n);
        var stock = new FixedColumn<int>(n);
        var updateType = new StringColumn(n, 12);
        var ts = new FixedColumn<long>(n);
        var active = new BoolColumn(n);
        var prod = product.Values; var prices = price.Values; var prev = previous.Values; var stocks = stock.Values; var times = ts.Values;
        for (int i = 0; i < n; i++)
        {
            long row = first + i;
            var r = ctx.Row(row);
            long p = r.Skewed(1, Products);
            prod[i] = p;
            var pr = ctx.Row(-1 - p); // product-level values: same category, name and brand every time
            int cat = (int)(p % Categories.Count);
            category.Append(Categories.Utf8(cat));
            var nm = name.Begin(40);
            var adj = Adjectives.Utf8(pr.Int(2, Adjectives.Count));
            var noun = Nouns.Utf8(cat);
            adj.CopyTo(nm);
            nm[adj.Length] = (byte)' ';
            noun.CopyTo(nm.Slice(adj.Length + 1));
            int len = adj.Length + 1 + noun.Length;
            nm[len++] = (byte)' ';
            Utf8Formatter.TryFormat(p, nm.Slice(len), out int w);
            name.Commit(len + w);
            brand.Append(Brands.Utf8(pr.Int(3, Brands.Count)));
            long basePrice = 299 + (long)(Pow3(pr.Unit(4)) * 200_000);
            long current = basePrice + (long)((r.Unit(5) - 0.5) * basePrice * 0.3);
            prices[i] = current;
            int ut = UpdateTypes.Pick(r.Unit(6));
            updateType.Append(UpdateTypes.Utf8(ut));
            bool isNew = UpdateTypes.Values[ut] == "new_product";
            previousValid.Set(i, !isNew);
            prev[i] = isNew ? 0 : basePrice;
            stocks[i] = r.Chance(7, 0.05) ? 0 : r.Int(8, 5_000);
            times[i] = ctx.Time(r.Unit(9));
            active.Set(i, UpdateTypes.Values[ut] != "discontinued");
        }
        return new RecordBatch(CanonicalSchemas.ProductUpdates,
        [
            product.Build(Int64Type.Default), category.Build(), name.Build(), brand.Build(),
            price.Build(CanonicalSchemas.Money), previous.Build(CanonicalSchemas.Money, previousValid),
            stock.Build(Int32Type.Default), updateType.Build(), ts.Build(CanonicalSchemas.Timestamp), active.Build(),
        ], n);
    }

    private static RecordBatch AnalyticsResults(Context ctx, long first, int n)
    {
        var id = new FixedColumn<long>(n);
        var resultType = new StringColumn(n, 14);
        var metric = new StringColumn(n, 16);
        var value = new FixedColumn<double>(n);
        var computed = new FixedColumn<long>(n);
        var windowStart = new FixedColumn<long>(n);
        var windowEnd = new FixedColumn<long>(n);
        var dimKey = new StringColumn(n, 8);
        var dimValue = new StringColumn(n, 8);
        var confidence = new FixedColumn<double>(n);
        var confidenceValid = new Validity(n);
        var model = new StringColumn(n, 6);
        var ids = id.Values; var values = value.Values; var comp = computed.Values; var ws = windowStart.Values; var we = windowEnd.Values; var conf = confidence.Values;
        for (int i = 0; i < n; i++)
        {
            long row = first + i;
            var r = ctx.Row(row);
            ids[i] = row + 1;
            int rt = r.Int(1, ResultTypes.Count);
            resultType.Append(ResultTypes.Utf8(rt));
            var metrics = MetricNames[rt];
            int m = r.Int(2, metrics.Count);
            metric.Append(metrics.Utf8(m));
            values[i] = Math.Round(r.Unit(3) * (rt == 0 ? 250_000 : rt == 1 ? 1 : 1_000), 6);
            long t = ctx.Time(r.Unit(4));
            comp[i] = t;
            long dayStart = t - ((t % MicrosPerDay) + MicrosPerDay) % MicrosPerDay;
            we[i] = dayStart;
            ws[i] = dayStart - MicrosPerDay;
            if (r.Chance(5, 0.2))
            {
                dimKey.AppendNull();
                dimValue.AppendNull();
            }
            else
            {
                int k = r.Int(6, DimensionKeys.Count);
                dimKey.Append(DimensionKeys.Utf8(k));
                var d = k switch
                {
                    0 => Countries.Utf8(Countries.Pick(r.Unit(7))),
                    1 => Categories.Utf8(r.Int(7, Categories.Count)),
                    2 => Segments.Utf8(Segments.Pick(r.Unit(7))),
                    _ => Devices.Utf8(Devices.Pick(r.Unit(7))),
                };
                dimValue.Append(d);
            }
            bool hasConfidence = !r.Chance(8, 0.3);
            confidenceValid.Set(i, hasConfidence);
            conf[i] = hasConfidence ? 0.5 + r.Unit(9) * 0.5 : 0;
            model.Append(ModelVersions.Utf8(ModelVersions.Pick(r.Unit(10))));
        }
        return new RecordBatch(CanonicalSchemas.AnalyticsResults,
        [
            id.Build(Int64Type.Default), resultType.Build(), metric.Build(), value.Build(DoubleType.Default),
            computed.Build(CanonicalSchemas.Timestamp), windowStart.Build(CanonicalSchemas.Timestamp), windowEnd.Build(CanonicalSchemas.Timestamp),
            dimKey.Build(), dimValue.Build(), confidence.Build(DoubleType.Default, confidenceValid), model.Build(),
        ], n);
    }

    private static RecordBatch CustomerProfiles(Context ctx, long first, int n)
    {
        var id = new FixedColumn<long>(n);
        var email = new StringColumn(n, 28);
        var segment = new StringColumn(n, 8);
        var region = new StringColumn(n, 13);
        var country = new StringColumn(n, 2);
        var signup = new FixedColumn<int>(n);
        var ltv = new FixedColumn<Int128>(n);
        var orders = new FixedColumn<int>(n);
        var lastOrder = new FixedColumn<long>(n);
        var lastOrderValid = new Validity(n);
        var preferred = new StringColumn(n, 8);
        var subscribed = new BoolColumn(n);
        var updated = new FixedColumn<long>(n);
        var ids = id.Values; var signups = signup.Values; var ltvs = ltv.Values; var ord = orders.Values; var last = lastOrder.Values; var upd = updated.Values;
        for (int i = 0; i < n; i++)
        {
            long row = first + i;
            var r = ctx.Row(row);
            long customerId = row + 1;
            ids[i] = customerId;
            var e = email.Begin(48);
            "customer"u8.CopyTo(e);
            Utf8Formatter.TryFormat(customerId, e.Slice(8), out int w);
            "@example.com"u8.CopyTo(e.Slice(8 + w));
            email.Commit(8 + w + 12);
            segment.Append(Segments.Utf8(Segments.Pick(r.Unit(1))));
            region.Append(Regions.Utf8(Regions.Pick(r.Unit(2))));
            country.Append(Countries.Utf8(Countries.Pick(r.Unit(3))));
            long t = ctx.Time(r.Unit(4));
            upd[i] = t;
            long updatedDay = Math.DivRem(t, MicrosPerDay, out long rem) - (rem < 0 ? 1 : 0);
            signups[i] = (int)(updatedDay - r.Int(5, 3 * 365));
            int o = (int)(Pow3(r.Unit(6)) * 60);
            ord[i] = o;
            ltvs[i] = o * (1_500 + (long)(r.Unit(7) * 15_000));
            lastOrderValid.Set(i, o > 0);
            last[i] = o > 0 ? t - (long)(r.Unit(8) * 90 * MicrosPerDay) : 0;
            if (r.Chance(9, 0.25)) preferred.AppendNull();
            else preferred.Append(Categories.Utf8(r.Int(10, Categories.Count)));
            subscribed.Set(i, r.Chance(11, 0.4));
        }
        return new RecordBatch(CanonicalSchemas.CustomerProfiles,
        [
            id.Build(Int64Type.Default), email.Build(), segment.Build(), region.Build(), country.Build(),
            signup.Build(Date32Type.Default), ltv.Build(CanonicalSchemas.Money), orders.Build(Int32Type.Default),
            lastOrder.Build(CanonicalSchemas.Timestamp, lastOrderValid), preferred.Build(), subscribed.Build(),
            updated.Build(CanonicalSchemas.Timestamp),
        ], n);
    }

    private static double Pow2(double u) => u * u;

    private static double Pow3(double u) => u * u * u;

    private static double Pow4(double u) => u * u * (u * u);

    private static void WriteHex(ulong value, Span<byte> dst)
    {
        for (int i = 15; i >= 0; i--)
        {
            int nibble = (int)(value & 0xF);
            dst[i] = (byte)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
            value >>= 4;
        }
    }
}
