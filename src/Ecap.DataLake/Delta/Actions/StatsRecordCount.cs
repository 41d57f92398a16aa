using System.Text.Json;

namespace Ecap.DataLake.Delta;

/// <summary>
/// numRecords of an add's stats JSON, read without parsing the rest: the rows the file holds physically (a deletion vector's
/// rows included). Stats are hints any Delta writer leaves: stats that are not JSON, or a numRecords that is not a
/// non-negative integer, give null and say why (null problem when it is simply absent).
/// </summary>
internal static class StatsRecordCount
{
    public static long? Parse(string? stats, out string? problem)
    {
        problem = null;
        if (string.IsNullOrEmpty(stats)) return null;
        try
        {
            var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(stats));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                problem = "its stats are not a JSON object";
                return null;
            }
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("numRecords"))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var n) && n >= 0) return n;
                    problem = $"its stats' numRecords ({Raw(ref reader)}) is not a non-negative integer";
                    return null;
                }
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= 1) reader.Skip();
            }
        }
        catch (JsonException e)
        {
            problem = $"its stats are not valid JSON ({e.Message})";
        }
        return null;
    }

    private static string Raw(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => "\"" + reader.GetString() + "\"",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        _ => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
    };
}
