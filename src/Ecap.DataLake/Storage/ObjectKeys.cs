namespace Ecap.DataLake.Storage;

/// <summary>Validation and joining of object keys, shared by every store.</summary>
internal static class ObjectKeys
{
    /// <summary>Rejects keys that could escape the store root: absolute paths, '..', backslashes, empty segments.</summary>
    public static string Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0) throw new InvalidPathException("An empty object key is not allowed.");
        if (key.StartsWith('/') || key.Contains('\\') || key.Contains('\0') || (key.Length > 1 && key[1] == ':'))
            throw new InvalidPathException($"Path '{key}' is not a relative path inside the table or lake.");
        foreach (var segment in key.Split('/'))
        {
            if (segment is ".." or ".")
                throw new InvalidPathException($"Path '{key}' escapes the table or lake ('{segment}' segments are not allowed).");
            if (segment.Length == 0 && !key.EndsWith('/'))
                throw new InvalidPathException($"Path '{key}' has an empty segment.");
        }
        return key;
    }

    public static string Join(string prefix, string key)
    {
        if (prefix.Length == 0) return key;
        if (key.Length == 0) return prefix;
        return prefix.TrimEnd('/') + "/" + key.TrimStart('/');
    }
}
