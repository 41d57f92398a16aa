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
