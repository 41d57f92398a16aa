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
}
