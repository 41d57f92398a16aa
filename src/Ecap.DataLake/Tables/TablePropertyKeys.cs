using System.Globalization;

namespace Ecap.DataLake.Tables;

/// <summary>
/// Table properties (Delta <c>metaData.configuration</c>) that ecap reads, and the rules for setting them by hand
/// (<see cref="DataLakeStorage.SetTablePropertiesAsync"/>): a <c>delta.*</c> or <c>ecap.*</c> key must be one this
/// library honours (a typo, or a Delta feature it does not write, would otherwise sit in the log doing nothing or
/// promising readers what the files do not hold); any other key is the user's own and free.
/// </summary>
public static class TablePropertyKeys
{
    /// <summary>Delta's auto-compaction switch (<c>true</c>/<c>false</c>): after a commit, partitions left with many small files are compacted.</summary>
    public const string AutoCompact = "delta.autoOptimize.autoCompact";

    /// <summary>Small files a partition needs before auto-compaction rewrites it (default <see cref="DefaultAutoCompactMinNumFiles"/>).</summary>
    public const string AutoCompactMinNumFiles = "ecap.autoCompact.minNumFiles";

    /// <summary>The file size auto-compaction writes, in bytes (default 128 MB); files below a quarter of it are small.</summary>
    public const string AutoCompactMaxFileSize = "ecap.autoCompact.maxFileSize";

    public const int DefaultAutoCompactMinNumFiles = 50;

    public const long DefaultAutoCompactMaxFileSize = 128L * 1024 * 1024;

    /// <summary>Retention policy in days (<c>compaction retention</c>).</summary>
    public const string RetentionDays = "ecap.retention.days";

    /// <summary>Data files of partitions older than this many days move to <see cref="TieringStorageClass"/> (<c>compaction tier</c>, the daemon).</summary>
    public const string TieringColdAfterDays = "ecap.tiering.coldAfterDays";

    /// <summary>The storage class cold files move to (default <see cref="DefaultTieringStorageClass"/>).</summary>
    public const string TieringStorageClass = "ecap.tiering.storageClass";

    public const string DefaultTieringStorageClass = "STANDARD_IA";

    /// <summary>
    /// Classes files may move to: those read at once like STANDARD (GLACIER and DEEP_ARCHIVE need a restore before a read,
    /// so a table there would stop being readable).
    /// </summary>
    public static IReadOnlyList<string> TieringStorageClasses { get; } = ["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"];

    /// <summary>The storage class named (upper-cased), or <see cref="InvalidInputException"/> when it is not one of <see cref="TieringStorageClasses"/>.</summary>
    public static string ValidateStorageClass(string storageClass)
    {
        var upper = storageClass.Trim().ToUpperInvariant();
        return TieringStorageClasses.Contains(upper) ? upper
            : throw new InvalidInputException($"Storage class '{storageClass}' cannot hold table files: use one read without a restore ({string.Join(", ", TieringStorageClasses)}).");
    }

    private const string CheckpointInterval = "delta.checkpointInterval";

    // Settable here, each with its value check. Governance keys (encryption, residency, constraints, column mapping,
    // partitioning) have their own commands, which check what a bare property cannot.
    private static readonly Dictionary<string, Func<string, string?>> Settable = new(StringComparer.Ordinal)
    {
        [AutoCompact] = v => v is "true" or "false" ? null : "true or false",
        [AutoCompactMinNumFiles] = v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 2 ? null : "a whole number of files, at least 2",
        [AutoCompactMaxFileSize] = v => long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1024 * 1024 ? null : "a size in bytes, at least 1048576 (1 MiB)",
        [RetentionDays] = v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? null : "a positive whole number of days",
        [TieringColdAfterDays] = v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? null : "a positive whole number of days",
        [TieringStorageClass] = v => TieringStorageClasses.Contains(v) ? null : "one of " + string.Join(", ", TieringStorageClasses),
        [CheckpointInterval] = v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? null : "a positive whole number of commits",
    };

    /// <summary>The keys <see cref="DataLakeStorage.SetTablePropertiesAsync"/> accepts in the <c>delta.</c> and <c>ecap.</c> namespaces.</summary>
    public static IReadOnlyCollection<string> Known => Settable.Keys;

    /// <summary>Throws <see cref="InvalidInputException"/> unless <paramref name="key"/> may be set to <paramref name="value"/> (null: removed).</summary>
    public static void Validate(string key, string? value)
    {
        if (string.IsNullOrWhiteSpace(key) || key.Trim() != key)
            throw new InvalidInputException($"Table property name '{key}' is empty or has surrounding spaces.");
        if (Settable.TryGetValue(key, out var check))
        {
            if (value is not null && check(value) is { } expected)
                throw new InvalidInputException($"Table property {key} must be {expected} (got '{value}').");
            return;
        }
        var reserved = key.StartsWith("delta.", StringComparison.OrdinalIgnoreCase) || key.StartsWith("ecap.", StringComparison.OrdinalIgnoreCase);
        if (!reserved) return;
        var hint = key switch
        {
            _ when key.StartsWith("delta.constraints.", StringComparison.OrdinalIgnoreCase) => " Constraints are added with `ecap data-lake quality add-constraint`.",
            _ when key.StartsWith("delta.columnMapping.", StringComparison.OrdinalIgnoreCase) => " Column mapping is turned on by `storage alter --rename-column/--drop-column`.",
            _ when key.Equals("delta.enableDeletionVectors", StringComparison.OrdinalIgnoreCase) => " Deletion vectors are turned on by `storage alter --enable-deletion-vectors` (they change the protocol).",
            _ when key.StartsWith("ecap.encryption.", StringComparison.OrdinalIgnoreCase) || key.StartsWith("ecap.residency.", StringComparison.OrdinalIgnoreCase)
                                                                         => " Encryption and residency are chosen when the table is created.",
            _ => "",
        };
        throw new InvalidInputException($"Table property {key} is not one this library honours, so it cannot be set here.{hint} " +
                                        $"Settable delta.*/ecap.* properties: {string.Join(", ", Settable.Keys.Order(StringComparer.Ordinal))}; other names are free.");
    }

    /// <summary>Whether auto-compaction is on: the property if set, else <paramref name="whenUnset"/>.</summary>
    public static bool AutoCompactEnabled(IReadOnlyDictionary<string, string> configuration, bool whenUnset = false) =>
        configuration.TryGetValue(AutoCompact, out var v) ? string.Equals(v, "true", StringComparison.OrdinalIgnoreCase) || string.Equals(v, "auto", StringComparison.OrdinalIgnoreCase) : whenUnset;

    public static int AutoCompactMinNumFilesOf(IReadOnlyDictionary<string, string> configuration) =>
        configuration.TryGetValue(AutoCompactMinNumFiles, out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 2
            ? n : DefaultAutoCompactMinNumFiles;

    public static long AutoCompactMaxFileSizeOf(IReadOnlyDictionary<string, string> configuration) =>
        configuration.TryGetValue(AutoCompactMaxFileSize, out var v) && long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1024 * 1024
            ? n : DefaultAutoCompactMaxFileSize;
}
