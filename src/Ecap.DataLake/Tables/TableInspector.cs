using System.Text.Json;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tables;

/// <summary>Computes <see cref="TableInfo"/>: counts and sizes from the log, compression from the Parquet footers.</summary>
internal static class TableInspector
{
    public static async Task<TableInfo> InspectAsync(string name, IObjectStore table, Snapshot snapshot, long targetFileSize, CancellationToken ct,
        Parquet.Encryption.IKeyProvider? decryptionKeys = null)
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
            var rows = NumRecords(file) ?? footer.RowCount;
            records += rows;
            var key = DataLakeStorage.PartitionKey(file.PartitionValues, snapshot.PartitionColumns);
            var ordered = snapshot.PartitionColumns.ToDictionary(c => c, c => file.PartitionValues.GetValueOrDefault(c));
            partitions[key] = partitions.TryGetValue(key, out var p)
                ? (p.Values, p.Files + 1, p.Rows + rows, p.Bytes + file.Size)
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

    /// <summary>Rows of a snapshot from the file stats (files without stats count as unknown: 0).</summary>
    public static long RowCount(Snapshot snapshot) => snapshot.Files.Sum(f => NumRecords(f) ?? 0);

    /// <summary>numRecords from an add's stats JSON, without parsing the rest.</summary>
    public static long? NumRecords(AddFile file)
    {
        if (string.IsNullOrEmpty(file.Stats)) return null;
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(file.Stats));
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("numRecords"))
            {
                reader.Read();
                return reader.TokenType == JsonTokenType.Number ? reader.GetInt64() : null;
            }
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth >= 1) reader.Skip();
        }
        return null;
    }
}
