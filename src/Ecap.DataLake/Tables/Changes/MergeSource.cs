using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Tables.Writing;

namespace Ecap.DataLake.Tables.Changes;

/// <summary>
/// The source of a MERGE, held in memory (bounded by the write buffer) with a hash index of its keys: one pass over the
/// target files the keys may be in finds the matches; then the unmatched source rows are inserted.
/// </summary>
internal sealed class MergeSource
{
    private const int MaxKeysInPredicate = 4096;

    private readonly List<RecordBatch> _batches;
    private readonly Dictionary<MergeKey, (int Batch, int Row)> _index;
    private readonly List<bool[]> _dead;        // duplicates that lost to a later or greater row
    private readonly List<byte[]?> _deleteWhen; // RowFilter truth per row: 2 = the source row deletes
    private readonly HashSet<string> _sourceColumns;
    private readonly MergeOptions _options;
    private readonly Predicate? _keyPredicate;

    private MergeSource(List<RecordBatch> batches, Dictionary<MergeKey, (int, int)> index, List<bool[]> dead, List<byte[]?> deleteWhen,
        HashSet<string> sourceColumns, MergeOptions options, Predicate? keyPredicate)
    {
        _batches = batches;
        _index = index;
        _dead = dead;
        _deleteWhen = deleteWhen;
        _sourceColumns = sourceColumns;
        _options = options;
        _keyPredicate = keyPredicate;
    }

    public long SourceRows { get; private set; }

    public static async Task<MergeSource> LoadAsync(IAsyncEnumerable<RecordBatch> source, Snapshot snapshot, MergeOptions options, long budgetBytes, CancellationToken ct)
    {
        var table = snapshot.Schema;
        if (options.On.Count == 0) throw new InvalidInputException("MERGE needs at least one key column (--on KEY[,KEY]).");
        foreach (var key in options.On)
            if (table.GetFieldIndex(key) < 0)
                throw new InvalidInputException($"Merge key '{key}' is not a column of the table; its columns are: {string.Join(", ", table.FieldsList.Select(f => f.Name))}.");
        var derived = TableLayout.FromMetadata(snapshot.Metadata).ComputedColumns.ToHashSet(StringComparer.Ordinal);
        var sourceOnly = options.SourceOnlyColumns.ToHashSet(StringComparer.Ordinal);
        var batches = new List<RecordBatch>();
        var dead = new List<bool[]>();
        var deleteWhen = new List<byte[]?>();
        var index = new Dictionary<MergeKey, (int, int)>();
        var orders = new Dictionary<MergeKey, IComparable?>();
        HashSet<string>? sourceColumns = null;
        long bytes = 0, rows = 0;
        await foreach (var raw in source.WithCancellation(ct))
        {
            if (raw.Length == 0) continue;
            var batch = Arrow.TimestampNormalizer.ToMicros(raw);
            // Derived partition columns (year/month/day) are recomputed from the time column of each written row.
            var keep = batch.Schema.FieldsList.Select((f, i) => (f, i)).Where(x => !derived.Contains(x.f.Name)).ToList();
            if (keep.Count != batch.ColumnCount)
                batch = new RecordBatch(new Schema(keep.Select(x => x.f).ToList(), null), keep.Select(x => batch.Column(x.i)), batch.Length);
            if (sourceColumns is null)
            {
                sourceColumns = Check(batch.Schema, table, options, sourceOnly);
            }
            else if (!batch.Schema.FieldsList.Select(f => f.Name).SequenceEqual(batches[0].Schema.FieldsList.Select(f => f.Name)))
                throw new SchemaMismatchException("The merge source's batches have different columns; give one schema.");
            bytes += ArrowSizes.Of(batch);
            if (bytes > budgetBytes)
                throw new DataLakeException(
                    $"A part of the merge source exceeds the write buffer ({budgetBytes / (1024 * 1024)} MiB), which holds it while the target is read " +
                    "(many rows of few keys?). Deduplicate the source first, or raise DataLakeStorageOptions.WriteBufferBytes.");
            var b = batches.Count;
            batches.Add(batch);
            dead.Add(new bool[batch.Length]);
            deleteWhen.Add(options.DeleteWhen is { } p ? RowFilter.Evaluate(batch, p) : null);
            var keyColumns = options.On.Select(k => batch.Column(batch.Schema.GetFieldIndex(k))).ToArray();
            var order = options.DeduplicateOrderBy is { } o ? batch.Column(batch.Schema.GetFieldIndex(o)) : null;
            for (var r = 0; r < batch.Length; r++)
            {
                rows++;
                if (MergeKey.Of(keyColumns, r) is not { } key) continue; // a null key matches nothing: inserted if not deleted
                var value = order is null ? null : ArrowValues.Get(order, r) as IComparable;
                if (index.TryGetValue(key, out var previous))
                {
                    if (options.DeduplicateOrderBy is null && !options.LastDuplicateWins)
                        throw new InvalidInputException(
                            $"The merge source holds key ({key}) more than once (rows {RowNumber(batches, previous)} and {rows}); each target row may match one " +
                            "source row. Deduplicate the source, or give --dedup-order-by COLUMN to keep the row with its greatest value.");
                    var earlier = order is null ? null : orders[key];
                    if (value is not null && earlier is not null && value.CompareTo(earlier) < 0)
                    {
                        dead[b][r] = true;
                        continue;
                    }
                    dead[previous.Item1][previous.Item2] = true;
                }
                index[key] = (b, r);
                if (order is not null) orders[key] = value;
            }
        }
        return new MergeSource(batches, index, dead, deleteWhen, sourceColumns ?? [], options, KeyPredicate(batches, index, options.On, table))
        {
            SourceRows = rows,
        };
    }

    /// <summary>Source columns against the table: keys present, every other column a table column of the same type (or source-only).</summary>
    private static HashSet<string> Check(Schema source, Schema table, MergeOptions options, HashSet<string> sourceOnly)
    {
        foreach (var key in options.On)
            if (source.GetFieldIndex(key) < 0)
                throw new InvalidInputException($"Merge key '{key}' is not a column of the source; its columns are: {string.Join(", ", source.FieldsList.Select(f => f.Name))}.");
        foreach (var column in (options.DeleteWhen?.Columns() ?? []).Concat(options.DeduplicateOrderBy is { } o ? [o] : []))
            if (source.GetFieldIndex(column.Split('.')[0]) < 0)
                throw new InvalidInputException($"Column '{column}' (of --delete-when or --dedup-order-by) is not a column of the merge source.");
        var columns = new HashSet<string>(StringComparer.Ordinal);
        foreach (var field in source.FieldsList)
        {
            if (sourceOnly.Contains(field.Name)) continue;
            var index = table.GetFieldIndex(field.Name);
            if (index < 0)
                throw new SchemaMismatchException(
                    $"Source column '{field.Name}' is not in the table; add it first (storage alter --add-column) or leave it out of the source.");
            var target = table.GetFieldByIndex(index).DataType;
            if (!SchemaAlignment.SameType(target, field.DataType))
                throw new SchemaMismatchException($"Source column '{field.Name}' is {field.DataType.Name}, the table's is {target.Name}.");
            columns.Add(field.Name);
        }
        return columns;
    }

    /// <summary>
    /// The keys as a predicate the pruning understands (integers and strings): IN lists of up to 4096 values per key column, else
    /// the key's range. Null when a key has another type (every file is then read).
    /// </summary>
    private static Predicate? KeyPredicate(List<RecordBatch> batches, Dictionary<MergeKey, (int Batch, int Row)> index, IReadOnlyList<string> on, Schema table)
    {
        if (on.Count == 1 && table.GetFieldByName(on[0]).DataType.TypeId is ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64)
        {
            // One integer key: its values are the index's keys themselves.
            if (index.Count == 0) return new InList(on[0], []);
            long lo = long.MaxValue, hi = long.MinValue;
            foreach (var k in index.Keys) { lo = Math.Min(lo, k.Number); hi = Math.Max(hi, k.Number); }
            return index.Count <= MaxKeysInPredicate
                ? new InList(on[0], index.Keys.Select(k => (object?)k.Number).ToList())
                : new And(new Comparison(on[0], ComparisonOp.GreaterThanOrEqual, lo), new Comparison(on[0], ComparisonOp.LessThanOrEqual, hi));
        }
        Predicate? result = null;
        foreach (var key in on)
        {
            var type = table.GetFieldByName(key).DataType;
            if (type.TypeId is not (ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64 or ArrowTypeId.String)) return null;
            var values = new HashSet<object>();
            object? min = null, max = null;
            foreach (var (b, r) in index.Values)
            {
                var v = ArrowValues.Get(batches[b].Column(batches[b].Schema.GetFieldIndex(key)), r);
                if (v is null) continue;
                if (v is not string) v = Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture);
                if (values.Count <= MaxKeysInPredicate) values.Add(v);
                if (min is null || ValueDomain.Compare(v, min) < 0) min = v;
                if (max is null || ValueDomain.Compare(v, max) > 0) max = v;
            }
            if (min is null) return new InList(key, []); // no key at all: nothing matches
            Predicate one = values.Count <= MaxKeysInPredicate
                ? new InList(key, values.ToList())
                : new And(new Comparison(key, ComparisonOp.GreaterThanOrEqual, min), new Comparison(key, ComparisonOp.LessThanOrEqual, max));
            result = result is null ? one : new And(result, one);
        }
        return result;
    }

    /// <summary>Applies the merge to one attempt's change set; returns what it did.</summary>
    /// <param name="set">The attempt's change set (several parts of a spilled source add to the same one).</param>
    /// <param name="inPart">For a part of a spilled source: whether a target key belongs to this part (not-matched-by-source deletes only those; null keys go to part 0).</param>
    /// <param name="ct">Cancels the merge.</param>
    public async Task<RowChanges.Outcome> ApplyAsync(ChangeSet set, Func<MergeKey?, bool>? inPart, CancellationToken ct)
    {
        var matched = _batches.Select(b => new bool[b.Length]).ToList();
        var bySourceDelete = _options.WhenNotMatchedBySource == MergeNotMatchedBySourceAction.Delete;
        // Pass 1 reads only the key columns. Rows not matched by the source are in every file: then no pruning.
        var keys = set.Scan(bySourceDelete ? null : _keyPredicate, _options.On);
        if (_options.WhenNotMatched == MergeNotMatchedAction.Insert) set.ConflictsWithAppend = set.CouldMatch(_keyPredicate);
        long deleted = 0, updated = 0, inserted = 0;
        var skipScan = !bySourceDelete && _keyPredicate is InList { Values.Count: 0 };
        var updates = new List<(AddFile File, Dictionary<long, (int Batch, int Row)> Rows)>();
        // Files are matched in parallel (a bool per source row marks it matched: racing writes of true are harmless); the
        // change set is told in file order afterwards.
        var results = new System.Collections.Concurrent.ConcurrentBag<(AddFile File, List<long> Gone, Dictionary<long, (int, int)>? Updates, long Deleted, long Updated)>();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount), CancellationToken = ct };
        await Parallel.ForEachAsync(skipScan ? [] : keys.Files, parallel, async (file, token) =>
        {
            var gone = new List<long>();
            Dictionary<long, (int, int)>? fileUpdates = null;
            long fileDeleted = 0, fileUpdated = 0;
            void Row(long position, MergeKey? targetKey, bool found, (int Batch, int Row) s)
            {
                if (found)
                {
                    matched[s.Batch][s.Row] = true;
                    if (Deletes(s)) { gone.Add(position); fileDeleted++; return; }
                    switch (_options.WhenMatched)
                    {
                        case MergeMatchedAction.Update:
                            gone.Add(position);
                            (fileUpdates ??= [])[position] = s;
                            fileUpdated++;
                            break;
                        case MergeMatchedAction.Delete:
                            gone.Add(position);
                            fileDeleted++;
                            break;
                    }
                }
                else if (bySourceDelete && (inPart is null || inPart(targetKey)))
                {
                    gone.Add(position);
                    fileDeleted++;
                }
            }
            await foreach (var batch in keys.ReadFileAsync(file, token))
            {
                var positions = RowChanges.Positions(batch).ToArray();
                var keyColumns = _options.On.Select(k => batch.Column(batch.Schema.GetFieldIndex(k))).ToArray();
                // One int64 key: its values read straight from the column, no type dispatch per row.
                if (keyColumns.Length == 1 && keyColumns[0] is Int64Array ids)
                {
                    var values = ids.Values;
                    var nulls = ids.NullCount > 0;
                    for (var r = 0; r < batch.Length; r++)
                    {
                        if (nulls && ids.IsNull(r)) { Row(positions[r], null, false, default); continue; }
                        var found = _index.TryGetValue(new MergeKey(values[r], null), out var s);
                        Row(positions[r], found || !bySourceDelete ? null : new MergeKey(values[r], null), found, s);
                    }
                    continue;
                }
                for (var r = 0; r < batch.Length; r++)
                {
                    var targetKey = MergeKey.Of(keyColumns, r);
                    (int, int) s0 = default;
                    var found = targetKey is { } key && _index.TryGetValue(key, out s0);
                    Row(positions[r], targetKey, found, s0);
                }
            }
            results.Add((file, gone, fileUpdates, fileDeleted, fileUpdated));
        });
        foreach (var (file, gone, fileUpdates, fileDeleted, fileUpdated) in results.OrderBy(r => r.File.Path, StringComparer.Ordinal))
        {
            set.Read(file);
            set.Delete(file, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(gone));
            deleted += fileDeleted;
            updated += fileUpdated;
            if (fileUpdates is not null) updates.Add((file, fileUpdates));
        }
        // A source with every column of the table replaces matched rows whole: the new rows are its rows, no target row is read.
        if (set.WriteSchema.FieldsList.All(f => _sourceColumns.Contains(f.Name)))
        {
            var byBatch = new List<int>[_batches.Count];
            foreach (var (_, rows) in updates)
                foreach (var (b, r) in rows.Values) (byBatch[b] ??= []).Add(r);
            for (var b = 0; b < byBatch.Length; b++)
                if (byBatch[b] is { } rows)
                {
                    rows.Sort();
                    await set.WriteAsync(WithoutSourceOnly(ArrowGather.Take(_batches[b], rows.ToArray())), ct);
                }
            updates.Clear();
        }
        // Pass 2: the whole rows of the updated ones, only in the files that have some (pruned again by their keys), read in
        // parallel; the new rows go to the one writer in the order they come.
        var updatedRows = System.Threading.Channels.Channel.CreateBounded<RecordBatch>(8);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var readers = Task.Run(async () =>
        {
            try
            {
                await Parallel.ForEachAsync(updates, new ParallelOptions { MaxDegreeOfParallelism = parallel.MaxDegreeOfParallelism, CancellationToken = stop.Token },
                    async (update, token) =>
                    {
                        var (file, rows) = update;
                        var scan = set.Scan(UpdatedKeysPredicate(rows.Values) ?? _keyPredicate, set.Snapshot.Schema.FieldsList.Select(f => f.Name).ToList());
                        await foreach (var batch in scan.ReadFileAsync(file, token))
                        {
                            var positions = RowChanges.Positions(batch);
                            var targetRows = new List<int>();
                            var sourceRows = new List<(int Batch, int Row)>();
                            for (var r = 0; r < batch.Length; r++)
                                if (rows.TryGetValue(positions[r], out var s))
                                {
                                    targetRows.Add(r);
                                    sourceRows.Add(s);
                                }
                            foreach (var rowsOut in Updated(batch, targetRows, sourceRows)) await updatedRows.Writer.WriteAsync(rowsOut, token);
                        }
                    });
                updatedRows.Writer.Complete();
            }
            catch (Exception e)
            {
                updatedRows.Writer.Complete(e);
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var rowsOut in updatedRows.Reader.ReadAllAsync(ct)) await set.WriteAsync(rowsOut, ct);
        }
        finally
        {
            await stop.CancelAsync();
            await readers;
        }
        if (_options.WhenNotMatched == MergeNotMatchedAction.Insert)
        {
            for (var b = 0; b < _batches.Count; b++)
            {
                var rows = new List<int>();
                for (var r = 0; r < _batches[b].Length; r++)
                    if (!matched[b][r] && !_dead[b][r] && !Deletes((b, r))) rows.Add(r);
                if (rows.Count == 0) continue;
                var insert = rows.Count == _batches[b].Length ? _batches[b] : ArrowGather.Take(_batches[b], rows.ToArray());
                await set.WriteAsync(WithoutSourceOnly(insert), ct);
                inserted += rows.Count;
            }
        }
        return new RowChanges.Outcome("MERGE", Deleted: deleted, Updated: updated, Inserted: inserted, Parameters: new()
        {
            ["predicate"] = System.Text.Json.JsonSerializer.Serialize(new[] { string.Join(" AND ", _options.On.Select(k => $"target.{k} = source.{k}")) }),
            ["matchedPredicates"] = $"[{{\"actionType\":\"{_options.WhenMatched.ToString().ToLowerInvariant()}\"}}]",
            ["notMatchedPredicates"] = $"[{{\"actionType\":\"{_options.WhenNotMatched.ToString().ToLowerInvariant()}\"}}]",
            ["notMatchedBySourcePredicates"] = $"[{{\"actionType\":\"{_options.WhenNotMatchedBySource.ToString().ToLowerInvariant()}\"}}]",
        }, Metrics: new()
        {
            ["numSourceRows"] = ChangeSet.Metric(SourceRows),
            ["numTargetRowsMatchedUpdated"] = ChangeSet.Metric(updated),
            ["numTargetRowsNotMatchedBySourceDeleted"] = ChangeSet.Metric(bySourceDelete ? deleted : 0),
        });
    }

    /// <summary>An IN list of the keys of <paramref name="rows"/> (one integer or string key), to prune row groups in pass 2; else null.</summary>
    private Predicate? UpdatedKeysPredicate(IEnumerable<(int Batch, int Row)> rows)
    {
        if (_options.On.Count != 1 || _keyPredicate is not InList { } all) return null;
        var key = _options.On[0];
        var values = new HashSet<object>();
        foreach (var (b, r) in rows)
        {
            var v = ArrowValues.Get(_batches[b].Column(_batches[b].Schema.GetFieldIndex(key)), r);
            if (v is null) continue;
            values.Add(v is string ? v : Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture));
            if (values.Count > MaxKeysInPredicate) return all;
        }
        return new InList(key, values.ToList());
    }

    private bool Deletes((int Batch, int Row) s) => _deleteWhen[s.Batch] is { } truth && truth[s.Row] == 2;

    /// <summary>Matched target rows with the source's values for the columns the source has (one batch per source batch they come from).</summary>
    private IEnumerable<RecordBatch> Updated(RecordBatch target, List<int> targetRows, List<(int Batch, int Row)> sourceRows)
    {
        if (targetRows.Count == 0) yield break;
        foreach (var group in Enumerable.Range(0, targetRows.Count).GroupBy(i => sourceRows[i].Batch))
        {
            var t = ArrowGather.Take(target, group.Select(i => targetRows[i]).ToArray());
            var source = _batches[group.Key];
            var s = ArrowGather.Take(source, group.Select(i => sourceRows[i].Row).ToArray());
            var columns = t.Schema.FieldsList.Select((f, c) => _sourceColumns.Contains(f.Name) ? s.Column(s.Schema.GetFieldIndex(f.Name)) : t.Column(c)).ToList();
            yield return new RecordBatch(t.Schema, columns, t.Length);
        }
    }

    private RecordBatch WithoutSourceOnly(RecordBatch batch)
    {
        var keep = batch.Schema.FieldsList.Select((f, i) => (f, i)).Where(x => _sourceColumns.Contains(x.f.Name)).ToList();
        return keep.Count == batch.ColumnCount ? batch
            : new RecordBatch(new Schema(keep.Select(x => x.f).ToList(), null), keep.Select(x => batch.Column(x.i)), batch.Length);
    }

    private static long RowNumber(List<RecordBatch> batches, (int Batch, int Row) at) => batches.Take(at.Batch).Sum(b => (long)b.Length) + at.Row + 1;
}
