using System.Text.Json;

namespace Ecap.DataLake.Query;

/// <summary>Reads DuckDB's JSON profile of a finished query: the files its Parquet scans opened.</summary>
internal static class QueryProfile
{
    public static void Apply(string profilePath, QueryStats stats, IReadOnlyList<LakeQuery.RegisteredView> views)
    {
        if (!File.Exists(profilePath)) return;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(profilePath));
            var files = 0;
            var names = new HashSet<string>(StringComparer.Ordinal);
            Walk(doc.RootElement, ref files, names);
            stats.FilesRead = files;
            var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var f in views.SelectMany(v => v.Groups).SelectMany(g => g.Files)) sizes[Path.GetFileName(f.ObjectKey)] = f.Size;
            stats.BytesScanned = names.Sum(n => sizes.GetValueOrDefault(Path.GetFileName(n)));
        }
        catch (JsonException)
        {
            // A profile we cannot read leaves the stats at "unknown" rather than failing a finished query.
            stats.FilesRead = -1;
        }
        finally
        {
            File.Delete(profilePath);
        }
    }

    private static void Walk(JsonElement node, ref int files, HashSet<string> names)
    {
        if (node.ValueKind != JsonValueKind.Object) return;
        if (node.TryGetProperty("extra_info", out var info) && info.ValueKind == JsonValueKind.Object)
        {
            if (info.TryGetProperty("Total Files Read", out var n) && int.TryParse(n.ToString(), out var count)) files += count;
            if (info.TryGetProperty("Filename(s)", out var fn))
            {
                if (fn.ValueKind == JsonValueKind.Array) foreach (var x in fn.EnumerateArray()) names.Add(x.ToString());
                else foreach (var x in fn.ToString().Split([',', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) names.Add(x);
            }
        }
        if (node.TryGetProperty("children", out var children) && children.ValueKind == JsonValueKind.Array)
            foreach (var child in children.EnumerateArray()) Walk(child, ref files, names);
    }
}
