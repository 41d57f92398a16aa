using System.Globalization;

namespace Ecap.DataLake.Tables;

/// <summary>
/// Prices of storage per GB-month (GB = 2^30 bytes, as object stores bill) by storage class. The defaults are
/// AWS S3 us-east-1 list prices in USD (standard, standard-IA, glacier instant retrieval); pass your own.
/// </summary>
public sealed record StoragePricing(IReadOnlyDictionary<string, decimal> PricePerGbMonth, string Currency = "USD")
{
    public const string DefaultClass = "standard";

    public static StoragePricing Default { get; } = new(new Dictionary<string, decimal>
    {
        ["standard"] = 0.023m,
        ["infrequent_access"] = 0.0125m,
        ["glacier_instant"] = 0.004m,
    });

    /// <summary>
    /// Pricing from <c>PRICE</c> (the standard class) or <c>CLASS=PRICE</c> entries, over <see cref="Default"/>:
    /// given classes replace or add to the defaults.
    /// </summary>
    public static StoragePricing Parse(IEnumerable<string> entries)
    {
        var prices = new Dictionary<string, decimal>(Default.PricePerGbMonth, StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            var eq = entry.IndexOf('=');
            var cls = eq < 0 ? DefaultClass : entry[..eq].Trim().ToLowerInvariant();
            var text = eq < 0 ? entry : entry[(eq + 1)..];
            if (cls.Length == 0 || !decimal.TryParse(text.Trim(), NumberStyles.Number, CultureInfo.InvariantCulture, out var price) || price < 0)
                throw new InvalidInputException($"'{entry}' is not a price per GB-month: use 0.023 or CLASS=0.023 (e.g. infrequent_access=0.0125).");
            prices[cls] = price;
        }
        return new StoragePricing(prices);
    }

    public const decimal BytesPerGb = 1024m * 1024 * 1024;

    /// <summary>The monthly cost of <paramref name="bytes"/> in each class, and in <paramref name="storageClass"/>.</summary>
    public StorageCostEstimate Estimate(long bytes, string storageClass = DefaultClass)
    {
        if (!PricePerGbMonth.TryGetValue(storageClass, out var price))
            throw new InvalidInputException(
                $"Unknown storage class '{storageClass}'. Priced classes: {string.Join(", ", PricePerGbMonth.Keys.Order(StringComparer.Ordinal))} (add one with --price-per-gb-month CLASS=PRICE).");
        var gb = bytes / BytesPerGb;
        return new StorageCostEstimate(bytes, gb, storageClass, price, gb * price, Currency,
            PricePerGbMonth.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new StorageClassCost(p.Key, p.Value, gb * p.Value)).ToList());
    }
}

/// <summary>What storing some bytes costs per month: in the table's class, and in every priced class for comparison.</summary>
public sealed record StorageCostEstimate(long Bytes, decimal Gb, string StorageClass, decimal PricePerGbMonth, decimal MonthlyCost,
    string Currency, IReadOnlyList<StorageClassCost> ByClass);

public sealed record StorageClassCost(string StorageClass, decimal PricePerGbMonth, decimal MonthlyCost);
