using System.Text.Json;
using Ecap.DataLake.Server.Json;

namespace Ecap.Cli.Output;

/// <summary>
/// <c>--output json</c> on stdout, with the lake's one serializer (<see cref="LakeJson"/>, shared with the REST API of
/// <c>ecap data-lake serve</c>, so a shape is the same wherever it is printed).
/// </summary>
internal static class CliJson
{
    public static JsonSerializerOptions Options => LakeJson.Options;

    /// <summary>The value as JSON on stdout, then a newline.</summary>
    public static void Write<T>(T value)
    {
        using var stdout = Console.OpenStandardOutput();
        JsonSerializer.Serialize(stdout, value, Options);
        stdout.Write("\n"u8);
    }

    /// <summary>The value into a writer that is streaming a larger document (the <c>stats</c> after the rows).</summary>
    public static void Write<T>(Utf8JsonWriter writer, T value) => JsonSerializer.Serialize(writer, value, Options);

    /// <summary>Milliseconds as the JSON shows them: whole for durations of an operation.</summary>
    public static long Ms(TimeSpan span) => LakeJson.Ms(span);
}
