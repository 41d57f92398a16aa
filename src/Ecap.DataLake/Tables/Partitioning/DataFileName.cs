using System.Globalization;
using System.Text.RegularExpressions;

namespace Ecap.DataLake.Tables.Partitioning;

/// <summary>
/// Data file names: <c>part-&lt;seq:D5&gt;-&lt;uuid&gt;[-b&lt;bucket:D2&gt;].&lt;codec&gt;.parquet</c>, e.g.
/// <c>part-00003-1b4e28ba-2fa1-11d2-883f-0016d3cca427-b07.snappy.parquet</c>. Files are never overwritten,
/// so the uuid makes each name unique; the bucket in the name lets readers of a bucketed table
/// pick files without opening them.
/// </summary>
internal static partial class DataFileName
{
    /// <summary>Builds a data file name.</summary>
    public static string Create(int sequence, Guid id, int? bucket = null, string codec = "snappy")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sequence);
        if (bucket is < 0) throw new ArgumentOutOfRangeException(nameof(bucket), bucket, "A bucket is never negative.");
        var name = string.Create(CultureInfo.InvariantCulture, $"part-{sequence:D5}-{id:D}");
        if (bucket is int b) name += string.Create(CultureInfo.InvariantCulture, $"-b{b:D2}");
        return string.IsNullOrEmpty(codec) || codec == "none" || codec == "uncompressed"
            ? name + ".parquet"
            : $"{name}.{codec.ToLowerInvariant()}.parquet";
    }

    /// <summary>Builds a data file name with a new random uuid.</summary>
    public static string Create(int sequence, int? bucket = null, string codec = "snappy") =>
        Create(sequence, Guid.NewGuid(), bucket, codec);

    /// <summary>Reads the parts of a name made by <see cref="Create(int, Guid, int?, string)"/> (a directory prefix is ignored).</summary>
    public static bool TryParse(string path, out int sequence, out Guid id, out int? bucket, out string? codec)
    {
        var name = path[(path.LastIndexOf('/') + 1)..];
        var m = NamePattern().Match(name);
        sequence = 0; id = Guid.Empty; bucket = null; codec = null;
        if (!m.Success) return false;
        sequence = int.Parse(m.Groups["seq"].Value, CultureInfo.InvariantCulture);
        id = Guid.Parse(m.Groups["id"].Value);
        if (m.Groups["b"].Success) bucket = int.Parse(m.Groups["b"].Value, CultureInfo.InvariantCulture);
        if (m.Groups["codec"].Success) codec = m.Groups["codec"].Value;
        return true;
    }

    [GeneratedRegex(@"^part-(?<seq>\d{5,})-(?<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(-b(?<b>\d{2,}))?(\.(?<codec>[a-z0-9]+))?\.parquet$")]
    private static partial Regex NamePattern();
}
