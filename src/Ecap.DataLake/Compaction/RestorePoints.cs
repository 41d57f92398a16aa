using System.Text.Json;
using System.Text.RegularExpressions;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// Named restore points of one table: small JSON documents under <c>&lt;table&gt;/_ecap/restore-points/</c>
/// (a folder starting with '_', which Delta readers and other engines' vacuum skip), each holding a version
/// and an expiry. Created with put-if-absent, so a name is never silently reused.
/// </summary>
internal static partial class RestorePoints
{
    public const string Prefix = "_ecap/restore-points/";

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex ValidName();

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static string Validate(string name) => ValidName().IsMatch(name) && !name.Contains("..", StringComparison.Ordinal)
        ? name
        : throw new InvalidInputException($"Restore point name '{name}' is not valid: use letters, digits, '_', '-' and '.'.");

    public static async Task CreateAsync(IObjectStore table, RestorePoint point, CancellationToken ct)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(point, Json);
        if (await table.PutIfAbsentAsync(Prefix + Validate(point.Name) + ".json", bytes, ct) != PutResult.Created)
            throw new InvalidInputException($"A restore point named '{point.Name}' already exists for this table; choose another name.");
    }

    public static async Task<IReadOnlyList<RestorePoint>> ListAsync(IObjectStore table, CancellationToken ct)
    {
        var result = new List<RestorePoint>();
        await foreach (var info in table.ListAsync(Prefix, ct))
        {
            if (!info.Key.EndsWith(".json", StringComparison.Ordinal)) continue;
            try
            {
                if (JsonSerializer.Deserialize<RestorePoint>(await table.ReadAllAsync(info.Key, ct), Json) is { } p) result.Add(p);
            }
            catch (JsonException e)
            {
                throw new CorruptTableException($"Restore point '{info.Key}' of table '{table.Location}' is not valid JSON: {e.Message}", e);
            }
        }
        return result.OrderBy(p => p.CreatedAt).ToList();
    }

    public static async Task<RestorePoint> GetAsync(IObjectStore table, string name, CancellationToken ct)
    {
        var key = Prefix + Validate(name) + ".json";
        if (await table.HeadAsync(key, ct) is null)
        {
            var known = (await ListAsync(table, ct)).Select(p => p.Name).ToList();
            throw new InvalidInputException($"Table '{table.Location}' has no restore point '{name}'" +
                (known.Count == 0 ? " (it has none)." : $"; it has: {string.Join(", ", known)}."));
        }
        try
        {
            return JsonSerializer.Deserialize<RestorePoint>(await table.ReadAllAsync(key, ct), Json)
                ?? throw new CorruptTableException($"Restore point '{key}' of table '{table.Location}' is empty.");
        }
        catch (JsonException e)
        {
            throw new CorruptTableException($"Restore point '{key}' of table '{table.Location}' is not valid JSON: {e.Message}", e);
        }
    }

    public static Task DeleteAsync(IObjectStore table, string name, CancellationToken ct) => table.DeleteAsync(Prefix + Validate(name) + ".json", ct);
}
