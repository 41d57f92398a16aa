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
        ["onezone_ia"] = 0.01m,
        ["intelligent_tiering"] = 0.023m, // its frequent-access tier: what a file costs until S3 moves it
    });

    /// <summary>
    /// The pricing name of a store's storage class: S3's names (<c>STANDARD</c>, <c>STANDARD_IA</c>, <c>GLACIER_IR</c>, ...) and
    /// this table's own (<c>standard</c>, <c>infrequent_access</c>, ...) both work.
    /// </summary>
    public static string PricingClassOf(string storageClass) => storageClass.Trim().ToUpperInvariant() switch
    {
        "STANDARD" => "standard",
        "STANDARD_IA" => "infrequent_access",
        "GLACIER_IR" => "glacier_instant",
        var other => other.ToLowerInvariant(),
    };

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
            var cls = eq < 0 ? DefaultClass : PricingClassOf(entry[..eq]);
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
        storageClass = PricingClassOf(storageClass);
        var price = PriceOf(storageClass);
        var gb = bytes / BytesPerGb;
        return new StorageCostEstimate(bytes, gb, storageClass, price, gb * price, Currency,
            PricePerGbMonth.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new StorageClassCost(p.Key, p.Value, gb * p.Value)).ToList());
    }

    /// <summary>
    /// A table's monthly cost: in <paramref name="storageClass"/> when given; else as its files are stored when the store
    /// reports classes (<see cref="TableInfo.StoredClasses"/>: each class's bytes at its price, the class holding the most
    /// bytes named), else in the standard class. <see cref="StorageCostEstimate.ByClass"/> still prices all of it in every class.
    /// </summary>
    public StorageCostEstimate Estimate(TableInfo info, string? storageClass = null)
    {
        if (storageClass is not null || info.StoredClasses is not { Count: > 0 } stored) return Estimate(info.TotalSizeBytes, storageClass ?? DefaultClass);
        var costs = stored.Select(c =>
        {
            var name = PricingClassOf(c.StorageClass);
            var price = PriceOf(name);
            return new StoredClassCost(name, c.FileCount, c.Bytes, price, c.Bytes / BytesPerGb * price);
        }).ToList();
        var whole = Estimate(info.TotalSizeBytes, costs[0].StorageClass);
        var monthly = costs.Sum(c => c.MonthlyCost);
        return whole with
        {
            MonthlyCost = monthly,
            PricePerGbMonth = whole.Gb == 0 ? whole.PricePerGbMonth : monthly / whole.Gb, // the blend of the classes held
            Stored = costs,
        };
    }

    private decimal PriceOf(string storageClass) => PricePerGbMonth.TryGetValue(storageClass, out var price) ? price
        : throw new InvalidInputException(
            $"Unknown storage class '{storageClass}'. Priced classes: {string.Join(", ", PricePerGbMonth.Keys.Order(StringComparer.Ordinal))} (add one with --price-per-gb-month CLASS=PRICE).");
}

/// <summary>What storing some bytes costs per month: in the table's class, and in every priced class for comparison.</summary>
public sealed record StorageCostEstimate(long Bytes, decimal Gb, string StorageClass, decimal PricePerGbMonth, decimal MonthlyCost,
    string Currency, IReadOnlyList<StorageClassCost> ByClass)
{
    /// <summary>When priced as stored: each class the files are in, with its share (the <see cref="MonthlyCost"/> is their sum).</summary>
    public IReadOnlyList<StoredClassCost>? Stored { get; init; }
}

/// <summary>The files of a table that one storage class holds, and what they cost there per month.</summary>
public sealed record StoredClassCost(string StorageClass, int FileCount, long Bytes, decimal PricePerGbMonth, decimal MonthlyCost);

public sealed record StorageClassCost(string StorageClass, decimal PricePerGbMonth, decimal MonthlyCost);
