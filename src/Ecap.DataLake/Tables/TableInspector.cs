using System.Text.Json;
using Microsoft.Extensions.Logging;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tables;

/// <summary>Computes <see cref="TableInfo"/>: counts and sizes from the log, compression from the Parquet footers.</summary>
internal static class TableInspector
{
    public static async Task<TableInfo> InspectAsync(string name, IObjectStore table, Snapshot snapshot, long targetFileSize, CancellationToken ct,
        Parquet.Encryption.IKeyProvider? decryptionKeys = null, ILogger? logger = null)
    {
        var files = snapshot.Files.ToList();
        var threshold = targetFileSize / 4;
        long compressed = 0, uncompressed = 0, records = 0;
        var partitions = new Dictionary<string, (IReadOnlyDictionary<string, string?> Values, int Files, long Rows, long Bytes)>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            var footer = await ParquetDataReader.ReadMetadataAsync(table, file.ObjectKey, ct, decryptionKeys);
            compressed += footer.CompressedBytes;
            uncompressed += footer.UncompressedBytes;
            // The stats' count is a hint: a bad one (or one too large for the table's total) gives way to the footer's.
            var rows = PlausibleNumRecords(file, files.Count, out var problem) ?? Live(file, footer.RowCount);
            if (problem is not null) logger?.LogWarning("Table {Table}, file {File}: {Problem}; the footer's row count is used", name, file.Path, problem);
            records = SaturatingAdd(records, rows);
            var key = DataLakeStorage.PartitionKey(file.PartitionValues, snapshot.PartitionColumns);
            var ordered = snapshot.PartitionColumns.ToDictionary(c => c, c => file.PartitionValues.GetValueOrDefault(c));
            partitions[key] = partitions.TryGetValue(key, out var p)
                ? (p.Values, p.Files + 1, SaturatingAdd(p.Rows, rows), p.Bytes + file.Size)
                : (ordered, 1, rows, file.Size);
        }

        var partitionList = snapshot.PartitionColumns.Count == 0
            ? []
            : partitions.OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => new PartitionStats(p.Value.Values, p.Value.Files, p.Value.Rows, p.Value.Bytes)).ToList();
        var sizes = partitionList.Select(p => p.SizeBytes).Order().ToList();
        var median = sizes.Count == 0 ? 0 : sizes.Count % 2 == 1 ? sizes[sizes.Count / 2] : (sizes[sizes.Count / 2 - 1] + sizes[sizes.Count / 2]) / 2.0;
        var total = files.Sum(f => f.Size);
        var layout = TableLayout.FromMetadata(snapshot.Metadata);
        return new TableInfo
        {
            Name = name,
            Location = table.Location,
            Version = snapshot.Version,
            LastModified = snapshot.Timestamp,
            RecordCount = records,
            FileCount = files.Count,
            TotalSizeBytes = total,
            AverageFileSizeBytes = files.Count == 0 ? 0 : total / files.Count,
            SmallFileCount = files.Count(f => f.Size < threshold),
            SmallFileThresholdBytes = threshold,
            PartitionCount = partitionList.Count,
            Partitions = partitionList,
            PartitionSkew = median > 0 ? sizes[^1] / median : 1,
            CompressionRatio = compressed > 0 ? (double)uncompressed / compressed : 1,
            PartitionColumns = snapshot.PartitionColumns,
            Schema = snapshot.Schema.FieldsList.Select(f => new ColumnInfo(f.Name, DeltaSchema.TypeName(f.DataType), f.IsNullable)).ToList(),
            DataType = layout.DataType is { } type ? Partitioning.DataTypes.ToName(type) : null,
            FileSizeHistogram = FileSizeHistogram(files.Select(f => f.Size), targetFileSize),
            PartitionAdvice = Partitioning.PartitionAdvisor.Advise(layout, partitionList.Select(p => (p.Values, p.SizeBytes)).ToList(), targetFileSize),
        };
    }

    /// <summary>Bucket edges as fractions of the target size: 1/64, 1/16, 1/4 (small below), 1/2, 1, 2.</summary>
    private static readonly double[] BucketEdges = [1.0 / 64, 1.0 / 16, 1.0 / 4, 1.0 / 2, 1, 2];

    internal static IReadOnlyList<FileSizeBucket> FileSizeHistogram(IEnumerable<long> sizes, long targetFileSize)
    {
        var edges = BucketEdges.Select(f => (long)(f * targetFileSize)).ToArray();
        var counts = new int[edges.Length + 1];
        var bytes = new long[edges.Length + 1];
        foreach (var size in sizes)
        {
            var i = 0;
            while (i < edges.Length && size >= edges[i]) i++;
            counts[i]++;
            bytes[i] += size;
        }
        return Enumerable.Range(0, counts.Length)
            .Select(i => new FileSizeBucket(i == 0 ? 0 : edges[i - 1], i < edges.Length ? edges[i] : null, counts[i], bytes[i]))
            .ToList();
    }

    /// <summary>
    /// Rows of a snapshot from the file stats: files without a usable count are left out (unknown), and so is a count too large
    /// for a table of that many files (the same rule as <see cref="RowCountAsync"/>, so the answer never depends on file order).
    /// </summary>
    public static long RowCount(Snapshot snapshot) => RowCount(snapshot.Files);

    /// <inheritdoc cref="RowCount(Snapshot)"/>
    public static long RowCount(IEnumerable<AddFile> files)
    {
        var list = files as IReadOnlyCollection<AddFile> ?? files.ToList();
        long total = 0;
        foreach (var f in list)
            if (PlausibleNumRecords(f, list.Count, out _) is { } rows) total = SaturatingAdd(total, rows);
        return total;
    }

    /// <summary>
    /// Rows of a snapshot as <see cref="InspectAsync"/> counts them: from the stats, and from the Parquet footer for a file whose
    /// stats have no usable count (missing, malformed, overflowing the total), so a listing and a table's info agree. A footer
    /// that cannot be read either leaves that file out, with a warning, rather than failing the listing.
    /// </summary>
    public static async Task<long> RowCountAsync(string name, IObjectStore table, Snapshot snapshot, ILogger? logger, CancellationToken ct)
    {
        long total = 0;
        foreach (var file in snapshot.Files)
        {
            var rows = PlausibleNumRecords(file, snapshot.Files.Count, out var problem);
            if (problem is not null) logger?.LogWarning("Table {Table}, file {File}: {Problem}; the footer's row count is used", name, file.Path, problem);
            if (rows is { } r)
            {
                total = SaturatingAdd(total, r);
                continue;
            }
            try
            {
                total = SaturatingAdd(total, Live(file, (await ParquetDataReader.ReadMetadataAsync(table, file.ObjectKey, ct).ConfigureAwait(false)).RowCount));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger?.LogWarning("Table {Table}, file {File}: no usable row count (stats: {Problem}; footer: {Error}); the file is not counted",
                    name, file.Path, problem ?? "none", e.Message);
            }
        }
        return total;
    }

    /// <summary>Adds a file's rows to a total; false (total unchanged) when the sum would overflow.</summary>
    internal static bool TryAddRows(ref long total, long rows)
    {
        if (rows < 0 || total > long.MaxValue - rows) return false;
        total += rows;
        return true;
    }

    internal static long SaturatingAdd(long total, long rows) => rows > 0 && total > long.MaxValue - rows ? long.MaxValue : total + Math.Max(rows, 0);

    /// <summary>
    /// numRecords, unless no table of <paramref name="fileCount"/> files could hold it: above <c>long.MaxValue / fileCount</c> the
    /// total could overflow. Judged per file, so the answer does not depend on the order files are listed in.
    /// </summary>
    internal static long? PlausibleNumRecords(AddFile file, int fileCount, out string? problem)
    {
        var rows = NumRecords(file, out problem);
        if (rows is { } n && n > long.MaxValue / Math.Max(1, fileCount))
        {
            problem = $"its stats' numRecords ({n}) is implausible: {fileCount} files of such counts would overflow the table's total";
            return null;
        }
        return rows;
    }

    /// <summary>numRecords from an add's stats JSON, without parsing the rest; null when missing or not usable.</summary>
    public static long? NumRecords(AddFile file) => NumRecords(file, out _);

    /// <summary>
    /// numRecords from an add's stats JSON (<see cref="StatsRecordCount"/>) less the rows its deletion vector deletes; null and
    /// why in <paramref name="problem"/> when the stats do not tell.
    /// </summary>
    internal static long? NumRecords(AddFile file, out string? problem) =>
        StatsRecordCount.Parse(file.Stats, out problem) is { } n ? Live(file, n) : null;

    /// <summary>A file's rows less those its deletion vector deletes.</summary>
    internal static long Live(AddFile file, long physicalRows) => Math.Max(0, physicalRows - (file.DeletionVector?.Cardinality ?? 0));
}
