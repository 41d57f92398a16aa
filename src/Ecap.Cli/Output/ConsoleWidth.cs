using Spectre.Console;

namespace Ecap.Cli.Output;

/// <summary>
/// The width tables and lines are laid out to: <c>COLUMNS</c> when set, else the terminal's; output that goes to a
/// pipe or file is not cut at all (Spectre's default there is 80 columns, which truncated headers to <c>t...</c>).
/// </summary>
internal static class ConsoleWidth
{
    /// <summary>Wide enough that no table of this program wraps or truncates.</summary>
    internal const int Unbounded = 100_000;

    public static void Apply(IAnsiConsole console, bool redirected)
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0)
            console.Profile.Width = columns;
        else if (redirected)
            console.Profile.Width = Unbounded;
    }
}
