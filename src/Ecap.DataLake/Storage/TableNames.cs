using System.Text.RegularExpressions;

namespace Ecap.DataLake.Storage;

/// <summary>A table's name is its folder name under the lake root: letters, digits, '_', '-', '.'.</summary>
public static partial class TableNames
{
    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$")]
    private static partial Regex Valid();

    public static string Validate(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || !Valid().IsMatch(name) || name.Contains("..", StringComparison.Ordinal))
            throw new InvalidPathException(
                $"Table name '{name}' is not valid: use letters, digits, '_', '-' and '.', starting with a letter, digit or '_'.");
        return name;
    }

    /// <summary>Folders at the lake root that belong to the lake itself (audit, streams, catalog), never to a table.</summary>
    public static IReadOnlyList<string> Reserved { get; } = ["_ecap", "_catalog", "_delta_log"];

    /// <summary>The suffix of a table's dead-letter table (the records its ingestion could not take).</summary>
    public const string DeadLetterSuffix = "__dead_letters";

    /// <summary>The dead-letter table of <paramref name="table"/>: <c>&lt;table&gt;__dead_letters</c>.</summary>
    public static string DeadLetterTable(string table) => table + DeadLetterSuffix;

    /// <summary>Validates a name a write may create or change: a valid name that is not a reserved lake folder.</summary>
    public static string ValidateWritable(string name)
    {
        Validate(name);
        // Prefix match: also keeps names like _ecap_audit (the audit table's SQL name) free.
        if (Reserved.Any(r => name.StartsWith(r, StringComparison.OrdinalIgnoreCase)))
            throw new InvalidPathException($"Table name '{name}' is reserved for the lake's own data ({string.Join(", ", Reserved)}); choose another name.");
        return name;
    }
}
