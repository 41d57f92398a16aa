using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ecap.DataLake.Files;

namespace Ecap.DataLake.Ingestion;

/// <summary>
/// CSV, JSON lines or Parquet files: one file, every data file of a folder, or a glob (<c>*</c>, <c>?</c>,
/// <c>**</c> for any folders). Files are read in path order. Positions: each commit records the files it
/// completes (<c>ecap.files.done</c>, relative paths) and the file it stopped inside with the records done
/// (<c>ecap.files.partial</c>), so a rerun skips done files and resumes a partial file at its next record.
/// Files are known by path relative to the source root: a file changed after it was ingested is not read again.
/// </summary>
public sealed class FileIngestionSource : IIngestionSource
{
    public const string DoneParameter = "ecap.files.done";
    public const string PartialParameter = "ecap.files.partial";

    private readonly SourceFileOptions _options;
    private readonly Dictionary<string, long> _counters = new() { ["files_matched"] = 0, ["files_read"] = 0, ["files_skipped"] = 0 };

    public FileIngestionSource(string pathOrGlob, SourceFileOptions? options = null)
    {
        _options = options ?? new SourceFileOptions();
        (Root, Files) = FileGlob.Expand(pathOrGlob);
        if (Files.Count == 0) throw new FileNotFoundException($"No file matches '{pathOrGlob}'.", pathOrGlob);
        Name = pathOrGlob;
        var full = Path.GetFullPath(pathOrGlob);
        AppId = "ecap-files-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(full)))[..16];
        _counters["files_matched"] = Files.Count;
    }

    public string AppId { get; }

    public string Name { get; }

    /// <summary>The folder file positions are relative to.</summary>
    public string Root { get; }

    /// <summary>The matched files (full paths), in the order they are read.</summary>
    public IReadOnlyList<string> Files { get; }

    public IReadOnlyDictionary<string, long> Counters => _counters;

    public async IAsyncEnumerable<SourceBatch> ReadAsync(IngestionContext context, [EnumeratorCancellation] CancellationToken ct)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        FilePosition? partial = null;
        try
        {
            foreach (var commit in context.CommittedPositions)
            {
                if (commit.TryGetValue(DoneParameter, out var d))
                    foreach (var f in JsonSerializer.Deserialize<string[]>(d) ?? []) done.Add(f);
                partial = commit.TryGetValue(PartialParameter, out var p) && JsonSerializer.Deserialize<PartialJson>(p) is { } pj
                    ? new FilePosition(pj.file, pj.records, false) : null;
            }
        }
        catch (JsonException e)
        {
            throw new CorruptTableException($"The table's commits record ingested files ({DoneParameter}, {PartialParameter}) that cannot be read: {e.Message}", e);
        }

        // Types: the given schema, else the table's, else (a new table) the data type's canonical one; columns none of them
        // knows are inferred from the first file and later files convert to the same, so one commit has one schema.
        var target = _options.Schema ?? context.TableSchema ?? context.NewTableSchema;
        var fixExtraColumns = _options.Schema == null && context.TableSchema == null;
        foreach (var path in Files)
        {
            var key = Path.GetRelativePath(Root, path).Replace('\\', '/');
            if (done.Contains(key)) { _counters["files_skipped"]++; continue; }
            var skip = partial is { } pp && pp.File == key ? pp.Records : 0;
            // A file briefly unavailable (locked, a flaky mount) is retried with backoff before it is read.
            await context.Retry.ExecuteAsync(token =>
            {
                using var probe = File.OpenRead(path);
                return ValueTask.CompletedTask;
            }, ct);
            var end = skip;
            await foreach (var chunk in SourceFiles.ReadRecordsAsync(path, _options with { Schema = target }, skip, ct))
            {
                if (chunk.Rows != null && (target == null || fixExtraColumns))
                {
                    target = WithColumnsOf(chunk.Rows.Schema, target);
                    fixExtraColumns = false;
                }
                end = chunk.FirstRecord + chunk.RecordCount;
                var dead = chunk.Bad.Select(b => new DeadLetter(key,
                    b.Line > 0 ? $"record {b.RecordNumber} (line {b.Line})" : $"record {b.RecordNumber}", b.Raw, b.Error)).ToList();
                yield return new SourceBatch(chunk.Rows, dead, chunk.RecordCount, new FilePosition(key, end, false));
            }
            _counters["files_read"]++;
            yield return new SourceBatch(null, [], 0, new FilePosition(key, end, true));
        }
    }

    /// <summary>The columns of <paramref name="first"/>, then those of <paramref name="rest"/> it lacks.</summary>
    private static Apache.Arrow.Schema WithColumnsOf(Apache.Arrow.Schema first, Apache.Arrow.Schema? rest)
    {
        if (rest == null) return first;
        var builder = new Apache.Arrow.Schema.Builder();
        foreach (var f in first.FieldsList) builder.Field(f);
        foreach (var f in rest.FieldsList.Where(f => first.GetFieldIndex(f.Name) < 0)) builder.Field(f);
        return builder.Build();
    }

    public IReadOnlyDictionary<string, string> CommitParameters(IReadOnlyList<SourceBatch> unit)
    {
        var positions = unit.Select(b => (FilePosition)b.Position).ToList();
        var result = new Dictionary<string, string>
        {
            [DoneParameter] = JsonSerializer.Serialize(positions.Where(p => p.Complete).Select(p => p.File).Distinct().ToArray()),
        };
        if (positions.Count > 0 && positions[^1] is { Complete: false } last)
            result[PartialParameter] = JsonSerializer.Serialize(new PartialJson(last.File, last.Records));
        return result;
    }

    /// <summary>Where a file source is: <paramref name="Records"/> records of <paramref name="File"/> are done (all when <paramref name="Complete"/>).</summary>
    internal sealed record FilePosition(string File, long Records, bool Complete);

#pragma warning disable IDE1006 // JSON names of the commit parameter
    private sealed record PartialJson(string file, long records);
#pragma warning restore IDE1006
}

/// <summary>Expands a file, a folder (its .csv/.jsonl/.json/.ndjson/.parquet files) or a glob into sorted full paths.</summary>
internal static class FileGlob
{
    public static (string Root, IReadOnlyList<string> Files) Expand(string pathOrGlob)
    {
        if (File.Exists(pathOrGlob))
        {
            var full = Path.GetFullPath(pathOrGlob);
            return (Path.GetDirectoryName(full)!, [full]);
        }
        if (Directory.Exists(pathOrGlob))
        {
            var root = Path.GetFullPath(pathOrGlob);
            return (root, Directory.EnumerateFiles(root).Where(IsDataFile).Order(StringComparer.Ordinal).ToList());
        }
        var normalized = Path.GetFullPath(pathOrGlob).Replace('\\', '/');
        var segments = normalized.Split('/');
        var firstWild = Array.FindIndex(segments, s => s.IndexOfAny(['*', '?']) >= 0);
        if (firstWild < 0) throw new FileNotFoundException($"'{pathOrGlob}' is neither a file, a folder nor a glob.", pathOrGlob);
        var baseDir = string.Join('/', segments[..firstWild]);
        if (baseDir.Length == 0) baseDir = "/";
        if (!Directory.Exists(baseDir)) throw new DirectoryNotFoundException($"The folder '{baseDir}' of '{pathOrGlob}' does not exist.");
        var pattern = string.Join('/', segments[firstWild..]);
        var regex = new Regex("^" + GlobToRegex(pattern) + "$", RegexOptions.CultureInvariant);
        var recursive = pattern.Contains('/') || pattern.Contains("**", StringComparison.Ordinal);
        var files = Directory.EnumerateFiles(baseDir, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly)
            .Where(f => regex.IsMatch(Path.GetRelativePath(baseDir, f).Replace('\\', '/')))
            .Order(StringComparer.Ordinal).ToList();
        return (Path.GetFullPath(baseDir), files);
    }

    private static bool IsDataFile(string path)
    {
        try { FileFormats.FromPath(path); return true; }
        catch (InvalidInputException) { return false; }
    }

    private static string GlobToRegex(string glob)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                // "**/" matches any number of folders, including none.
                i++;
                if (i + 1 < glob.Length && glob[i + 1] == '/') { i++; sb.Append("(?:.*/)?"); }
                else sb.Append(".*");
            }
            else if (c == '*') sb.Append("[^/]*");
            else if (c == '?') sb.Append("[^/]");
            else sb.Append(Regex.Escape(c.ToString()));
        }
        return sb.ToString();
    }
}
