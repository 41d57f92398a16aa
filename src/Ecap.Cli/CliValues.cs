using System.Globalization;
using Ecap.DataLake;

namespace Ecap.Cli;

/// <summary>Parsing of option values the command line parser leaves as text; a value that does not parse is bad input.</summary>
internal static class CliValues
{
    /// <summary>A date or date and time (UTC unless it carries an offset), e.g. 2026-08-01 or 2026-08-01T12:00:00Z.</summary>
    public static DateTimeOffset Timestamp(string text, string option) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value
            : throw new InvalidInputException($"{option} '{text}' is not a date or time such as 2026-08-01 or 2026-08-01T12:00:00Z.");

    /// <summary>A number of hours as a duration; one too large for a duration is bad input (the sign is the library's to check).</summary>
    public static TimeSpan Hours(double hours, string option) =>
        double.IsFinite(hours) && Math.Abs(hours) < TimeSpan.MaxValue.TotalHours
            ? TimeSpan.FromHours(hours)
            : throw new InvalidInputException($"{option} {hours.ToString(CultureInfo.InvariantCulture)} is too large: give a number of hours up to {(long)TimeSpan.MaxValue.TotalHours}.");

    /// <summary>KEY/VALUE pairs of a repeatable option as a dictionary; a key given twice is bad input (not a duplicate-key crash).</summary>
    public static Dictionary<string, TValue> Unique<TValue>(IEnumerable<(string Key, TValue Value)> pairs, string option)
    {
        var result = new Dictionary<string, TValue>(StringComparer.Ordinal);
        foreach (var (key, value) in pairs)
            if (!result.TryAdd(key, value)) throw new InvalidInputException($"{option} gives '{key}' more than once.");
        return result;
    }
}
