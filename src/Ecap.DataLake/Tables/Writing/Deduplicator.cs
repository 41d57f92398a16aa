using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;

namespace Ecap.DataLake.Tables.Writing;

/// <summary>
/// Drops rows whose key repeats within one write's input, keeping the last one by an ordering column
/// (or by input order). Exact over the whole input, so it holds the input in memory: a budget bounds
/// it, and an input larger than the budget fails clearly instead of deduplicating only part of it.
/// </summary>
internal sealed class Deduplicator(IReadOnlyList<string> keys, string? orderBy, long budgetBytes)
{
    private readonly List<RecordBatch> _batches = [];
    private long _bytes;

    /// <summary>Rows dropped: repeated keys within the input, plus keys already in the table.</summary>
    public long Dropped { get; private set; }

    public IReadOnlyList<string> Keys => keys;

    public void Collect(RecordBatch batch)
    {
        foreach (var key in keys.Append(orderBy).OfType<string>())
            if (batch.Schema.GetFieldIndex(key) < 0)
                throw new SchemaMismatchException($"Deduplication column '{key}' is not in the input (columns: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}).");
        _bytes += ArrowSizes.Of(batch);
        if (_bytes > budgetBytes)
            throw new DataLakeException(
                $"Deduplication needs the whole input in memory and the input exceeds the write buffer ({budgetBytes / (1024 * 1024)} MiB). " +
                "Raise DataLakeStorageOptions.WriteBufferBytes, write in smaller inputs, or deduplicate upstream.");
        _batches.Add(batch);
    }

    /// <summary>Rows dropped because their key was already in the table (<see cref="WriteOptions.SkipExistingKeys"/>).</summary>
    public long DroppedExisting { get; private set; }

    /// <summary>The partitions (as <see cref="DataLakeStorage.PartitionKey"/> strings) the collected rows fall in.</summary>
    public HashSet<string> TouchedPartitions(IReadOnlyList<string> partitionColumns)
    {
        var touched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var batch in _batches)
            for (var r = 0; r < batch.Length; r++) touched.Add(PartitionOf(batch, r, partitionColumns));
        return touched;
    }

    /// <summary>The key string of row <paramref name="row"/> of <paramref name="batch"/>, as duplicates are matched.</summary>
    public string KeyOf(RecordBatch batch, int row) =>
        string.Join("\u0001", keys.Select(k => ArrowValues.Format(ArrowValues.Get(batch.Column(batch.Schema.GetFieldIndex(k)), row)) ?? "\u0000"));

    /// <summary>A key qualified by its partition, the form <see cref="Results"/> looks up existing keys in.</summary>
    public static string InPartition(string partition, string key) => partition + "\u0002" + key;

    private static string PartitionOf(RecordBatch batch, int row, IReadOnlyList<string> partitionColumns) =>
        string.Join("\u0001", partitionColumns.Select(c => PartitionValues.Format(batch.Column(batch.Schema.GetFieldIndex(c)), row) ?? "\u0000"));

    /// <summary>
    /// The collected batches without the duplicates (the last row per key wins), and without the rows whose key is
    /// already in their own partition of the table (<paramref name="existing"/>, keys made by <see cref="InPartition"/>).
    /// </summary>
    public IEnumerable<RecordBatch> Results(IReadOnlySet<string>? existing = null, IReadOnlyList<string>? partitionColumns = null)
    {
        // Winner per key: (batch, row, order value). Later rows win ties, so input order decides without orderBy.
        var winners = new Dictionary<string, (int Batch, int Row, IComparable? Order)>(StringComparer.Ordinal);
        for (var b = 0; b < _batches.Count; b++)
        {
            var batch = _batches[b];
            var keyColumns = keys.Select(k => batch.Column(batch.Schema.GetFieldIndex(k))).ToArray();
            var orderColumn = orderBy is null ? null : batch.Column(batch.Schema.GetFieldIndex(orderBy));
            for (var r = 0; r < batch.Length; r++)
            {
                var key = string.Join("\u0001", keyColumns.Select(c => ArrowValues.Format(ArrowValues.Get(c, r)) ?? "\u0000"));
                var order = orderColumn is null ? null : ArrowValues.Get(orderColumn, r) as IComparable;
                if (winners.TryGetValue(key, out var current) && order != null && current.Order != null && order.CompareTo(current.Order) < 0)
                    continue;
                winners[key] = (b, r, order);
            }
        }
        var keep = new List<int>[_batches.Count];
        for (var b = 0; b < keep.Length; b++) keep[b] = [];
        foreach (var (key, (batch, row, _)) in winners)
        {
            if (existing != null && existing.Contains(InPartition(PartitionOf(_batches[batch], row, partitionColumns ?? []), key)))
            {
                DroppedExisting++;
                continue;
            }
            keep[batch].Add(row);
        }
        for (var b = 0; b < _batches.Count; b++)
        {
            keep[b].Sort();
            Dropped += _batches[b].Length - keep[b].Count;
            yield return keep[b].Count == _batches[b].Length ? _batches[b] : ArrowGather.Take(_batches[b], keep[b].ToArray());
        }
        _batches.Clear();
    }
}
