namespace Ecap.DataLake.Files;

/// <summary>The file formats rows come from and go to: Parquet, CSV, JSON lines.</summary>
public enum FileFormat
{
    Parquet,
    Csv,
    JsonLines,
}

public static class FileFormats
{
    /// <summary>The format a file's extension names (.parquet, .csv, .jsonl/.ndjson/.json).</summary>
    public static FileFormat FromPath(string path)
    {
        var name = path.ToLowerInvariant();
        if (name.EndsWith(".parquet", StringComparison.Ordinal)) return FileFormat.Parquet;
        if (name.EndsWith(".csv", StringComparison.Ordinal) || name.EndsWith(".csv.gz", StringComparison.Ordinal)) return FileFormat.Csv;
        if (name.EndsWith(".jsonl", StringComparison.Ordinal) || name.EndsWith(".ndjson", StringComparison.Ordinal) || name.EndsWith(".json", StringComparison.Ordinal))
            return FileFormat.JsonLines;
        throw new InvalidInputException($"Cannot tell the format of '{path}' from its extension: use .parquet, .csv or .jsonl.");
    }

    public static FileFormat Parse(string text) => text.ToLowerInvariant() switch
    {
        "parquet" => FileFormat.Parquet,
        "csv" => FileFormat.Csv,
        "json" or "jsonl" or "ndjson" or "json-lines" => FileFormat.JsonLines,
        _ => throw new InvalidInputException($"Unknown format '{text}': use parquet, csv or json."),
    };
}
