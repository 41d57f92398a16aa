using Apache.Arrow;
using Ecap.DataLake.Arrow;
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

    public long Dropped { get; private set; }

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

    /// <summary>The collected batches without the duplicates (the last row per key wins).</summary>
    public IEnumerable<RecordBatch> Results()
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
        foreach (var (batch, row, _) in winners.Values) keep[batch].Add(row);
        for (var b = 0; b < _batches.Count; b++)
        {
            keep[b].Sort();
            Dropped += _batches[b].Length - keep[b].Count;
            yield return keep[b].Count == _batches[b].Length ? _batches[b] : ArrowGather.Take(_batches[b], keep[b].ToArray());
        }
        _batches.Clear();
    }
}
