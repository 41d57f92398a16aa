using System.Diagnostics;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;

namespace Ecap.DataLake.Tables.Changes;

/// <summary>
/// DELETE, UPDATE, MERGE, purge and erasure of one table. Each plans against the latest snapshot, prunes files by the
/// predicate (partitions, buckets, stats), reads only those, and commits once; a commit that loses the race to a
/// conflicting one (a file it read was removed or given another vector) starts over from the new snapshot.
/// Isolation is Delta's WriteSerializable: concurrent blind appends never conflict with DELETE and UPDATE; a MERGE that
/// inserts conflicts with appends that may hold one of its keys (so two merges never both insert a key).
/// </summary>
internal sealed class RowChanges(DataLakeStorage storage)
{
    private const int MaxAttempts = 5;

    public Task<ChangeResult> DeleteAsync(string tableName, Predicate where, CancellationToken ct) =>
        RunAsync(tableName, copyOnWrite: false, async (set, _) =>
        {
            var deleted = await DeleteMatchingAsync(set, set.Scan(where, []), rewriteVectorFiles: false, ct);
            return new Outcome("DELETE", Deleted: deleted, Parameters: new() { ["predicate"] = Quoted(where) });
        }, ct);

    public Task<ChangeResult> UpdateAsync(string tableName, IReadOnlyList<ColumnAssignment> assignments, Predicate? where, CancellationToken ct) =>
        RunAsync(tableName, copyOnWrite: false, async (set, _) =>
        {
            var schema = set.Snapshot.Schema;
            var values = assignments.Select(a => (Index: schema.GetFieldIndex(a.Column), Value: LiteralValue(set, a))).ToList();
            long updated = 0;
            var scan = set.Scan(where, schema.FieldsList.Select(f => f.Name).ToList());
            foreach (var file in scan.Files)
            {
                set.Read(file);
                await foreach (var batch in scan.ReadFileAsync(file, ct))
                {
                    set.Delete(file, Positions(batch));
                    var columns = Enumerable.Range(0, batch.ColumnCount).Select(batch.Column).ToArray();
                    var fields = batch.Schema.FieldsList.ToArray();
                    foreach (var (index, value) in values)
                        columns[index] = ArrowArrays.Constant(fields[index].DataType, value, batch.Length);
                    await set.WriteAsync(new RecordBatch(batch.Schema, columns, batch.Length), ct);
                    updated += batch.Length;
                }
            }
            return new Outcome("UPDATE", Updated: updated, Parameters: new() { ["predicate"] = where is null ? "[]" : Quoted(where) });
        }, ct);

    public async Task<ChangeResult> MergeAsync(string tableName, IAsyncEnumerable<RecordBatch> source, MergeOptions options, CancellationToken ct)
    {
        var table = storage.OpenTable(tableName);
        if (!await table.ExistsAsync(ct))
            throw new TableNotFoundException($"Table '{tableName}' does not exist in {storage.Location} (no _delta_log); MERGE needs a target table.");
        // The source is held once (in memory within the write buffer, else spilled in parts) so that an attempt that lost a race can start over.
        var first = await table.GetSnapshotAsync(ct);
        var budget = storage.Options.WriteBufferBytes;
        using var input = await MergeInput.LoadAsync(source, options.On, budget,
            Parquet.Encryption.TableEncryption.Of(first.Metadata.Configuration) is not null, tableName, ct);
        var held = input.Parts == 1 ? await MergeSource.LoadAsync(input.Part(0), first, options, budget, ct) : null;
        return await RunAsync(tableName, copyOnWrite: false, async (set, _) =>
        {
            if (held is not null) return await held.ApplyAsync(set, null, ct);
            // Part by part into one change set: each part's keys are only in that part.
            RowChanges.Outcome? total = null;
            for (var part = 0; part < input.Parts; part++)
            {
                var p = part;
                var merge = await MergeSource.LoadAsync(input.Part(part), set.Snapshot, options, budget, ct);
                var outcome = await merge.ApplyAsync(set, key => (key?.Part(input.Parts) ?? 0) == p, ct);
                total = total is null ? outcome : total with
                {
                    Deleted = total.Deleted + outcome.Deleted, Updated = total.Updated + outcome.Updated, Inserted = total.Inserted + outcome.Inserted,
                    Metrics = total.Metrics!.ToDictionary(kv => kv.Key, kv => ChangeSet.Metric(long.Parse(kv.Value, System.Globalization.CultureInfo.InvariantCulture)
                        + long.Parse(outcome.Metrics!.GetValueOrDefault(kv.Key, "0"), System.Globalization.CultureInfo.InvariantCulture))),
                };
            }
            // Appends may hold any key of some part: every concurrent append conflicts with a spilled merge that inserts.
            if (options.WhenNotMatched == MergeNotMatchedAction.Insert) set.ConflictsWithAppend = _ => true;
            total!.Metrics!["numSourceParts"] = ChangeSet.Metric(input.Parts);
            return total;
        }, ct, options.ExpectedTransactions, options.Transactions, options.CommitParameters);
    }

    /// <summary>Rewrites files whose vectors delete at least <paramref name="threshold"/> of their rows (all with a vector at 0).</summary>
    public Task<ChangeResult> PurgeAsync(string tableName, double threshold, CancellationToken ct) =>
        RunAsync(tableName, copyOnWrite: true, async (set, _) =>
        {
            foreach (var file in set.Snapshot.Files)
            {
                if (file.DeletionVector is not { } dv) continue;
                var live = TableInspector.NumRecords(file) ?? 0;
                var physical = live + dv.Cardinality;
                if (physical > 0 && (double)dv.Cardinality / physical < threshold) continue;
                set.Read(file);
                set.RewriteWhole(file);
            }
            await Task.CompletedTask;
            return new Outcome("REORG", DataChange: false, Parameters: new() { ["applyPurge"] = "true", ["threshold"] = threshold.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }, ct);

    /// <summary>
    /// Deletes the rows and rewrites every file they were in, and every file the predicate could match that has a vector (rows
    /// deleted earlier by a vector are still in their file's bytes): after vacuum no file holds them.
    /// </summary>
    public Task<ChangeResult> EraseAsync(string tableName, Predicate where, CancellationToken ct) =>
        RunAsync(tableName, copyOnWrite: true, async (set, _) =>
        {
            var deleted = await DeleteMatchingAsync(set, set.Scan(where, []), rewriteVectorFiles: true, ct);
            return new Outcome("DELETE", Deleted: deleted, Parameters: new() { ["predicate"] = Quoted(where), ["erase"] = "true" });
        }, ct);

    /// <summary>
    /// Collects the positions of the rows <paramref name="scan"/> returns (its predicate's matches), the files read in parallel
    /// and told to the change set in file order; with <paramref name="rewriteVectorFiles"/> every candidate file with a vector is
    /// rewritten too (erasure). Returns the rows deleted.
    /// </summary>
    private static async Task<long> DeleteMatchingAsync(ChangeSet set, Reading.TableScan scan, bool rewriteVectorFiles, CancellationToken ct)
    {
        var found = new System.Collections.Concurrent.ConcurrentDictionary<AddFile, long[]>(ReferenceEqualityComparer.Instance);
        await Parallel.ForEachAsync(scan.Files, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Environment.ProcessorCount), CancellationToken = ct },
            async (file, token) =>
            {
                var positions = new List<long>();
                await foreach (var batch in scan.ReadFileAsync(file, token)) positions.AddRange(Positions(batch));
                found[file] = positions.ToArray();
            });
        long deleted = 0;
        foreach (var file in scan.Files)
        {
            set.Read(file);
            if (rewriteVectorFiles && file.DeletionVector is not null) set.RewriteWhole(file);
            var positions = found[file];
            set.Delete(file, positions);
            deleted += positions.Length;
        }
        return deleted;
    }

    /// <summary>What one attempt did, for the commit and the result.</summary>
    internal sealed record Outcome(string Operation, long Deleted = 0, long Updated = 0, long Inserted = 0, bool DataChange = true,
        Dictionary<string, string>? Parameters = null, Dictionary<string, string>? Metrics = null);

    private async Task<ChangeResult> RunAsync(string tableName, bool copyOnWrite, Func<ChangeSet, int, Task<Outcome>> plan, CancellationToken ct,
        IReadOnlyDictionary<string, long>? expected = null, IReadOnlyDictionary<string, long>? txns = null, IReadOnlyDictionary<string, string>? parameters = null)
    {
        var clock = Stopwatch.StartNew();
        var table = storage.OpenTable(tableName);
        if (!await table.ExistsAsync(ct))
            throw new TableNotFoundException($"Table '{tableName}' does not exist in {storage.Location} (no _delta_log).");
        for (var attempt = 1; ; attempt++)
        {
            var snapshot = await table.GetSnapshotAsync(ct);
            Writing.TableWriter.EnsureExpectedTransactions(snapshot, expected, tableName);
            var set = new ChangeSet(storage, tableName, table, snapshot, copyOnWrite);
            var commitAttempted = false;
            try
            {
                var outcome = await plan(set, attempt);
                var built = await set.BuildAsync(outcome.Operation, outcome.DataChange, ct);
                if (built is null && (txns is null || txns.Count == 0))
                    return new ChangeResult(tableName, snapshot.Version, 0, 0, 0, 0, 0, 0, 0, 0, attempt, Committed: false, clock.Elapsed)
                    {
                        FilesScanned = set.FilesRead, FilesTotal = snapshot.Files.Count,
                    };
                var (tx, vectors, rewritten, added, bytes) = built ?? (table.StartTransaction(snapshot, outcome.Operation), 0, 0, 0, 0L);
                foreach (var (appId, version) in txns ?? new Dictionary<string, long>()) tx.SetTxn(appId, version);
                foreach (var (k, v) in outcome.Parameters ?? []) tx.OperationParameters[k] = v;
                foreach (var (k, v) in parameters ?? new Dictionary<string, string>()) tx.OperationParameters[k] = v;
                if (outcome.Metrics is { } m) foreach (var (k, v) in m) tx.OperationMetrics[k] = v;
                if (set.ConflictsWithAppend is { } conflicts) tx.ConflictsWithAppend = conflicts;
                AddMetrics(tx, outcome, set.FilesTouched, vectors, rewritten, added, bytes, clock.Elapsed);
                tx.OperationMetrics["numScannedFiles"] = ChangeSet.Metric(set.FilesRead);
                commitAttempted = true;
                var commit = await tx.CommitAsync(ct);
                Metrics.LakeMetrics.RecordWrite(table.Location, set.RowsWritten, bytes);
                return new ChangeResult(tableName, commit.Version, outcome.Deleted, outcome.Updated, outcome.Inserted, set.FilesTouched, vectors, rewritten, added,
                    bytes, attempt, Committed: true, clock.Elapsed)
                {
                    FilesScanned = set.FilesRead, FilesTotal = snapshot.Files.Count,
                };
            }
            catch (ConcurrentModificationException) when (commitAttempted && attempt < MaxAttempts)
            {
                await set.DeleteWrittenAsync(); // refused by the protocol: nothing of this attempt is in the log
            }
            catch (Exception e)
            {
                // As for writes: before the commit, and after a commit the protocol refused, these files are nobody's.
                if (!commitAttempted || e is DataLakeException or InvalidOperationException) await set.DeleteWrittenAsync();
                throw;
            }
        }
    }

    private static void AddMetrics(Transaction tx, Outcome o, int touched, int vectors, int rewritten, int added, long bytes, TimeSpan elapsed)
    {
        var m = tx.OperationMetrics;
        switch (o.Operation)
        {
            case "DELETE":
                m["numDeletedRows"] = ChangeSet.Metric(o.Deleted);
                break;
            case "UPDATE":
                m["numUpdatedRows"] = ChangeSet.Metric(o.Updated);
                break;
            case "MERGE":
                m["numTargetRowsInserted"] = ChangeSet.Metric(o.Inserted);
                m["numTargetRowsUpdated"] = ChangeSet.Metric(o.Updated);
                m["numTargetRowsDeleted"] = ChangeSet.Metric(o.Deleted);
                break;
        }
        var prefix = o.Operation == "MERGE" ? "numTarget" : "num";
        m[prefix + "FilesAdded"] = ChangeSet.Metric(added);
        m[prefix + "FilesRemoved"] = ChangeSet.Metric(tx.Removes.Count);
        m[prefix + "DeletionVectorsAdded"] = ChangeSet.Metric(vectors);
        m[prefix + "DeletionVectorsRemoved"] = ChangeSet.Metric(tx.Removes.Count(r => r.DeletionVector is not null));
        m["numTouchedFiles"] = ChangeSet.Metric(touched);
        m["numRewrittenFiles"] = ChangeSet.Metric(rewritten);
        m["numOutputBytes"] = ChangeSet.Metric(bytes);
        m["executionTimeMs"] = ChangeSet.Metric((long)elapsed.TotalMilliseconds);
    }

    /// <summary>The physical row positions of a batch read with <see cref="ChangeSet.RowIndex"/>.</summary>
    internal static ReadOnlySpan<long> Positions(RecordBatch batch) =>
        ((Int64Array)batch.Column(batch.Schema.GetFieldIndex(ChangeSet.RowIndex))).Values;

    /// <summary>Delta's form of a predicate parameter: a JSON array of its SQL text.</summary>
    private static string Quoted(Predicate where) => System.Text.Json.JsonSerializer.Serialize(new[] { where.ToString() });

    /// <summary>An assignment's literal as a value of its column's type (parsed as file import parses text).</summary>
    private static object? LiteralValue(ChangeSet set, ColumnAssignment a)
    {
        var schema = set.Snapshot.Schema;
        var index = schema.GetFieldIndex(a.Column);
        if (index < 0)
            throw new InvalidInputException($"--set column '{a.Column}' is not in table '{set.TableName}'; its columns are: {string.Join(", ", schema.FieldsList.Select(f => f.Name))}.");
        var field = schema.GetFieldByIndex(index);
        if (set.IsDerived(a.Column))
            throw new InvalidInputException($"Column '{a.Column}' is derived from '{set.Strategy.TimeColumn}' by the table's partitioning; set '{set.Strategy.TimeColumn}' instead.");
        if (a.Literal is null)
        {
            if (!field.IsNullable) throw new InvalidInputException($"Column '{a.Column}' of table '{set.TableName}' is not nullable; it cannot be set to NULL.");
            return null;
        }
        var builder = new Files.ColumnBuilder(field);
        try
        {
            builder.AppendText(a.Literal);
        }
        catch (FormatException e)
        {
            throw new InvalidInputException($"--set {a.Column}: {e.Message}.");
        }
        return ArrowValues.Get(builder.Build(), 0);
    }
}
