namespace Ecap.DataLake.Tables.Partitioning;

/// <summary>
/// The five kinds of e-commerce data the lake knows how to lay out. Each has a built-in
/// <see cref="PartitionStrategy"/> and a canonical schema in <c>Tables/SampleData</c>.
/// On the command line and in table names they are spelled in snake_case
/// (<c>transactions</c>, <c>user_events</c>, ...); see <see cref="DataTypes"/>.
/// </summary>
public enum DataType
{
    Transactions,
    UserEvents,
    ProductUpdates,
    AnalyticsResults,
    CustomerProfiles,
}

/// <summary>Snake_case names of <see cref="DataType"/> values, and parsing from them.</summary>
public static class DataTypes
{
    private static readonly (DataType Type, string Name)[] Names =
    [
        (DataType.Transactions, "transactions"),
        (DataType.UserEvents, "user_events"),
        (DataType.ProductUpdates, "product_updates"),
        (DataType.AnalyticsResults, "analytics_results"),
        (DataType.CustomerProfiles, "customer_profiles"),
    ];

    /// <summary>All data types, in declaration order.</summary>
    public static IReadOnlyList<DataType> All { get; } = Names.Select(n => n.Type).ToArray();

    /// <summary>The snake_case names accepted by <see cref="Parse"/>.</summary>
    public static IReadOnlyList<string> ValidNames { get; } = Names.Select(n => n.Name).ToArray();

    /// <summary>The snake_case name of a data type (<c>user_events</c>).</summary>
    public static string ToName(this DataType type)
    {
        foreach (var (t, name) in Names)
            if (t == type) return name;
        throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown data type.");
    }

    /// <summary>Parses a snake_case name (case-insensitive, surrounding spaces ignored).</summary>
    public static bool TryParse(string? name, out DataType type)
    {
        var trimmed = name?.Trim();
        foreach (var (t, n) in Names)
        {
            if (string.Equals(n, trimmed, StringComparison.OrdinalIgnoreCase))
            {
                type = t;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>Parses a snake_case name; an unknown name is an error that lists the valid ones.</summary>
    /// <exception cref="DataLakeException">The name is not one of <see cref="ValidNames"/>.</exception>
    public static DataType Parse(string? name) =>
        TryParse(name, out var type)
            ? type
            : throw new InvalidInputException(
                $"Unknown data type '{name}'. Valid data types: {string.Join(", ", ValidNames)}.");
}
