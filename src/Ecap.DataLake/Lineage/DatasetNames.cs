using System.Text.Json;

namespace Ecap.DataLake.Lineage;

/// <summary>
/// OpenLineage names of what runs read and write. A lake table: namespace = the lake's location as a URI
/// (<c>file:///abs/lake</c>, <c>s3://bucket/lake</c>), name = the table's name. A file outside the lake follows the naming
/// spec: namespace <c>file</c> and the absolute path, or <c>s3://bucket</c> (any URI's scheme and authority) and the key.
/// </summary>
internal static class DatasetNames
{
    public static string LakeNamespace(string location)
    {
        if (Uri.TryCreate(location, UriKind.Absolute, out var uri) && uri.Scheme.Length > 1 && !uri.IsFile)
            return location.TrimEnd('/');
        var path = uri is { IsFile: true } ? uri.LocalPath : Path.GetFullPath(location);
        return new Uri(Path.TrimEndingDirectorySeparator(path)).AbsoluteUri;
    }

    public static LineageDataset Table(string lakeNamespace, string table) => new(lakeNamespace, table);

    /// <summary>A source or target outside the lake: a local path (or glob), or a URI (s3://, postgresql://, kafka://).</summary>
    public static LineageDataset External(string source)
    {
        if (Uri.TryCreate(source, UriKind.Absolute, out var uri) && uri.Scheme.Length > 1 && !uri.IsFile)
        {
            // Credentials never leave: the authority without its user info.
            var authority = uri.IsDefaultPort || uri.Port < 0 ? uri.Host : $"{uri.Host}:{uri.Port}";
            var name = Uri.UnescapeDataString(uri.AbsolutePath).Trim('/');
            return new($"{uri.Scheme}://{authority}", name.Length == 0 ? "/" : name);
        }
        var path = uri is { IsFile: true } ? uri.LocalPath : Path.GetFullPath(source);
        return new("file", path);
    }

    /// <summary>The columns of a Delta schema string (top level: name and Delta type; nested types by their kind).</summary>
    public static IReadOnlyList<(string Name, string Type)>? Fields(string? schemaString)
    {
        if (string.IsNullOrEmpty(schemaString)) return null;
        try
        {
            using var doc = JsonDocument.Parse(schemaString);
            if (!doc.RootElement.TryGetProperty("fields", out var fields) || fields.ValueKind != JsonValueKind.Array) return null;
            var result = new List<(string, string)>(fields.GetArrayLength());
            foreach (var field in fields.EnumerateArray())
            {
                var name = field.GetProperty("name").GetString() ?? "";
                var type = field.GetProperty("type");
                result.Add((name, type.ValueKind == JsonValueKind.String ? type.GetString()! : type.TryGetProperty("type", out var kind) ? kind.GetString() ?? "struct" : "struct"));
            }
            return result;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null; // a schema another writer left malformed: the event goes without the facet
        }
    }
}
