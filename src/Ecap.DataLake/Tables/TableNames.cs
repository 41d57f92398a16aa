using System.Text.RegularExpressions;

namespace Ecap.DataLake.Tables;

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
}
