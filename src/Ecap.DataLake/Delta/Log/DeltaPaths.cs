using System.Globalization;
using System.Text;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Names inside <c>_delta_log</c> (commits, checkpoints, <c>_last_checkpoint</c>) and the URI encoding of
/// data file paths in <c>add.path</c>/<c>remove.path</c>.
/// </summary>
internal static class DeltaPaths
{
    public const string LogFolder = "_delta_log";
    public const string LogPrefix = LogFolder + "/";
    public const string LastCheckpointKey = LogPrefix + "_last_checkpoint";

    public static string CommitKey(long version) => LogPrefix + version.ToString("D20", CultureInfo.InvariantCulture) + ".json";

    public static string CheckpointKey(long version) => LogPrefix + version.ToString("D20", CultureInfo.InvariantCulture) + ".checkpoint.parquet";

    public static string CheckpointPartKey(long version, int part, int parts) =>
        LogPrefix + version.ToString("D20", CultureInfo.InvariantCulture) + ".checkpoint." +
        part.ToString("D10", CultureInfo.InvariantCulture) + "." + parts.ToString("D10", CultureInfo.InvariantCulture) + ".parquet";

    /// <summary>URI-decodes a log path into an object key ('%xx' only; '+' stays '+', as in Spark's java.net.URI).</summary>
    public static string DecodePath(string path)
    {
        if (path.Contains("://", StringComparison.Ordinal))
            throw new InvalidPathException($"Absolute data file path '{path}' is not supported: this library reads files relative to the table root.");
        return Uri.UnescapeDataString(path);
    }

    /// <summary>
    /// An absolute data path (allowed by the protocol; shallow clones and some writers use them) as a path relative to the table
    /// at <paramref name="tableRoot"/>, when it lies inside it: <c>file:///lake/t/a.parquet</c> for a table at <c>/lake/t</c>, or
    /// <c>s3://b/lake/t/a.parquet</c> for one at <c>s3://b/lake/t</c>. Any other absolute path (another folder, another bucket, a
    /// <c>..</c> that climbs out) is refused: the table's own files are the only ones a reader of it opens.
    /// </summary>
    public static string InTable(string path, string? tableRoot)
    {
        if (tableRoot is not null && Uri.TryCreate(path, UriKind.Absolute, out var uri))
        {
            if (uri.IsFile && !tableRoot.Contains("://", StringComparison.Ordinal))
            {
                var root = System.IO.Path.GetFullPath(tableRoot).TrimEnd('/');
                var local = uri.LocalPath; // percent-decoded, dot segments resolved
                if (local.StartsWith(root + "/", StringComparison.Ordinal)) return EncodePath(local[(root.Length + 1)..]);
            }
            else if (tableRoot.Contains("://", StringComparison.Ordinal) && !uri.IsFile)
            {
                var root = tableRoot.TrimEnd('/') + "/";
                var absolute = uri.GetLeftPart(UriPartial.Path); // dot segments resolved
                if (absolute.StartsWith(root, StringComparison.Ordinal)) return absolute[root.Length..];
            }
        }
        throw new InvalidPathException($"Data file path '{path}' lies outside the table ({tableRoot ?? "unknown location"}): only files inside the table's folder are read.");
    }

    /// <summary>URI-encodes an object key for the log: everything except unreserved characters and '/', '=', '+' is percent-encoded.</summary>
    public static string EncodePath(string objectKey)
    {
        var bytes = Encoding.UTF8.GetBytes(objectKey);
        var sb = new StringBuilder(bytes.Length + 8);
        foreach (var b in bytes)
        {
            var c = (char)b;
            if (b < 0x80 && (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~' or '/' or '=' or '+'))
                sb.Append(c);
            else
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
