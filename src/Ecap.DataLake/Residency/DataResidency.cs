using Ecap.DataLake.Delta;

namespace Ecap.DataLake.Residency;

/// <summary>A write refused because the lake's storage is not in a region the table's data may live in.</summary>
public sealed class ResidencyViolationException(string message) : CommitValidationException(message);

/// <summary>
/// Data residency: a table declares the region(s) its data may be stored in with the table property
/// <c>ecap.residency.region</c> (one region or a comma-separated list, case-insensitive). The lake knows the region
/// its storage is in (<see cref="Tables.DataLakeStorageOptions.Region"/>, default <c>ECAP_LAKE_REGION</c>). Every write,
/// restore and ingest to a table with a declared region is refused unless the lake's region is one of them; an
/// unknown lake region is refused too (compliance must be shown, not assumed).
/// </summary>
internal static class DataResidency
{
    public const string RegionProperty = "ecap.residency.region";
    public const string LakeRegionVariable = "ECAP_LAKE_REGION";

    /// <summary>The lake region from the environment (null when not set).</summary>
    public static string? LakeRegionFromEnvironment() =>
        Environment.GetEnvironmentVariable(LakeRegionVariable) is { Length: > 0 } r ? r.Trim() : null;

    public static IReadOnlyList<string> DeclaredRegions(Metadata metadata) =>
        (metadata.Configuration.GetValueOrDefault(RegionProperty) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>Throws <see cref="ResidencyViolationException"/> when data of a table with <paramref name="metadata"/> may not be written to a lake in <paramref name="lakeRegion"/>.</summary>
    public static void EnsureWritable(Metadata metadata, string table, string? lakeRegion, string location)
    {
        var allowed = DeclaredRegions(metadata);
        if (allowed.Count == 0) return;
        if (lakeRegion is null)
            throw new ResidencyViolationException(
                $"Table '{table}' must stay in region {string.Join(" or ", allowed)}, but the region of the lake at {location} is not known; " +
                $"nothing was written. Declare it with {LakeRegionVariable} (or DataLakeStorageOptions.Region).");
        if (!allowed.Contains(lakeRegion, StringComparer.OrdinalIgnoreCase))
            throw new ResidencyViolationException(
                $"Table '{table}' must stay in region {string.Join(" or ", allowed)}; the lake at {location} is in {lakeRegion}. Nothing was written.");
    }
}
