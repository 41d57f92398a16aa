using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Ingestion;

/// <summary>
/// Moves records from a source into a table, exactly once: the batches of each commit are written with the
/// table's strategy and committed together with the source's position (a txn action for the source's appId,
/// version + 1, and commitInfo parameters saying what is done) by <see cref="ExactlyOnceCommit"/>. A rerun reads
/// the position from the table's log and continues after it, so a crash neither duplicates nor skips. Bad records
/// go to <c>&lt;table&gt;__dead_letters</c> before the commit that passes them, marked with the same txn version,
/// so a rerun of that commit does not write them twice.
/// </summary>
public sealed class DataLakeIngester(DataLakeStorage storage)
{
    /// <summary>The lake this ingester writes to (sources in other assemblies, e.g. Kafka, write through it).</summary>
    public DataLakeStorage Storage => storage;

    public Task<IngestionReport> IngestAsync(IIngestionSource source, string tableName, DataType dataType,
        IngestionOptions? options = null, CancellationToken ct = default) =>
        IngestAsync(source, tableName, (DataType?)dataType, options, ct);

    /// <summary>
    /// Ingests into a table of any layout: a new table gets <paramref name="strategy"/> and the columns the source
    /// infers (or its schema), unpartitioned when null; an existing one must already be laid out that way (null: its own).
    /// </summary>
    public Task<IngestionReport> IngestAsync(IIngestionSource source, string tableName, PartitionStrategy? strategy,
        IngestionOptions? options = null, CancellationToken ct = default) =>
        IngestAsync(source, tableName, strategy?.DataType, (options ?? new IngestionOptions()) with { Strategy = strategy ?? options?.Strategy }, ct);

    private Task<IngestionReport> IngestAsync(IIngestionSource source, string tableName, DataType? dataType,
        IngestionOptions? options, CancellationToken ct) =>
        storage.Guard.RunAsync(new Security.GuardedOperation("ingest", TableNames.ValidateWritable(tableName), Security.Privilege.Write,
            new Dictionary<string, string?> { ["source"] = source.Name, ["app_id"] = source.AppId, ["data_type"] = dataType?.ToName() }), async scope =>
        {
            var report = await IngestCoreAsync(source, tableName, dataType, options, ct);
            scope.Complete(report.RecordsWritten, version: report.LastVersion);
            scope.SetParameter("records_dead_lettered", report.RecordsDeadLettered.ToString(CultureInfo.InvariantCulture));
            return report;
        }, ct);

    private async Task<IngestionReport> IngestCoreAsync(IIngestionSource source, string tableName, DataType? dataType,
        IngestionOptions? options, CancellationToken ct)
    {
        options ??= new IngestionOptions();
        var clock = Stopwatch.StartNew();
        var table = storage.OpenTable(tableName);
        var snapshot = await table.ExistsAsync(ct) ? await table.GetSnapshotAsync(ct) : null;
        var txnVersion = snapshot?.GetTxnVersion(source.AppId) ?? 0;

        // The source's earlier positions: the commitInfo parameters of its commits, oldest first.
        var committed = new List<IReadOnlyDictionary<string, string>>();
        if (snapshot != null && txnVersion > 0)
            foreach (var entry in (await storage.GetHistoryAsync(tableName, null, ct)).OrderBy(h => h.Version))
                if (entry.Parameters.TryGetValue(ExactlyOnceCommit.AppParameter, out var app) && app == source.AppId)
                    committed.Add(entry.Parameters);

        var retries = 0;
        var retry = ExactlyOnceCommit.RetryPipeline(options, () =>
        {
            Interlocked.Increment(ref retries);
            Metrics.LakeMetrics.RecordIngestionRetry(table.Location);
        });
        var commit = new ExactlyOnceCommit(storage, tableName, dataType, retry) { Merge = options.Merge };

        var report = new IngestionReport { Table = tableName, Source = source.Name, AppId = source.AppId, TxnVersion = txnVersion };
        IngestionReport Current() => report with { Duration = clock.Elapsed, Retries = retries, SourceCounters = source.Counters };

        var unit = new List<SourceBatch>();
        long unitRecords = 0, unitBytes = 0;
        Schema? tableSchema = snapshot?.Schema, lastSchema = null;

        async Task CommitAsync()
        {
            var version = report.TxnVersion + 1;
            await RouteConstraintViolationsAsync(unit, tableName, source.Name, ct);
            var dead = unit.SelectMany(b => b.DeadLetters).ToList();
            var read = unit.Sum(b => b.RecordsRead);
            if (options.MaxBadRatio is { } max && report.RecordsRead + read > 0)
            {
                var ratio = (double)(report.RecordsDeadLettered + dead.Count) / (report.RecordsRead + read);
                if (ratio > max)
                    throw new IngestionThresholdExceededException(
                        $"Ingestion into '{tableName}' stopped: {report.RecordsDeadLettered + dead.Count:N0} bad of {report.RecordsRead + read:N0} records " +
                        $"({ratio:P1}) is over the threshold {max:P1}. Committed up to txn version {report.TxnVersion} of '{source.AppId}'; " +
                        "a rerun resumes there (fix the input or raise the threshold).", Current());
            }

            // Batches without rows carry no data. When no record of the unit is good, an existing table (or the one this run
            // created) still gets the commit of its position, as an empty append in its own schema (it always fits, whatever
            // the bad input looked like); a new table is created from the input's columns, never from none (every JSON line bad).
            var good = unit.Where(b => b.Rows is { Length: > 0 }).Select(b => b.Rows!).ToList();
            if (good.Count == 0 && (tableSchema ?? lastSchema) is { } schema) good.Add(Empty(schema));
            var parameters = new Dictionary<string, string>(source.CommitParameters(unit))
            {
                [ExactlyOnceCommit.AppParameter] = source.AppId,
                ["ecap.ingest.version"] = version.ToString(CultureInfo.InvariantCulture),
            };
            var writeOptions = new WriteOptions
            {
                Strategy = options.Strategy,
                TimeColumn = options.TimeColumn,
                MergeSchema = options.MergeSchema,
                SourceName = source.Name,
                Transactions = new Dictionary<string, long> { [source.AppId] = version },
                CommitParameters = parameters,
            };
            // Dead letters first; with no rows (nothing with a schema, e.g. only unreadable files and no table yet) only they are committed.
            var result = (await commit.CommitAsync(good, dead.Select(d => new PositionedDeadLetter(d, source.AppId, version)).ToList(), writeOptions, ct)).Written;
            if (good.Count == 0)
            {
                // The position is not recorded (there is no table to hold it); the records still count.
                report = report with { RecordsRead = report.RecordsRead + read, RecordsDeadLettered = report.RecordsDeadLettered + dead.Count };
                unit.Clear();
                unitRecords = unitBytes = 0;
                return;
            }
            tableSchema ??= good[0].Schema;
            report = report with
            {
                RecordsRead = report.RecordsRead + read,
                RecordsWritten = report.RecordsWritten + (result?.RowsWritten ?? 0),
                RecordsDeadLettered = report.RecordsDeadLettered + dead.Count,
                Batches = report.Batches + 1,
                LastVersion = result?.Version ?? report.LastVersion,
                TxnVersion = version,
            };
            Metrics.LakeMetrics.RecordIngestedBatch(table.Location, read, dead.Count);
            options.Progress?.Report(Current());
            unit.Clear();
            unitRecords = unitBytes = 0;
        }

        var context = new IngestionContext(committed, snapshot?.Schema, retry)
        {
            NewTableSchema = snapshot == null && dataType is { } preset ? Tables.SampleData.CanonicalSchemas.For(preset) : null,
        };
        await foreach (var batch in source.ReadAsync(context, ct))
        {
            unit.Add(batch);
            unitRecords += batch.RecordsRead;
            if (batch.Rows != null)
            {
                if (batch.Rows.Schema.FieldsList.Count > 0) lastSchema = batch.Rows.Schema;
                unitBytes += ArrowSizes.Of(batch.Rows);
            }
            if (unitRecords >= options.MaxRecordsPerCommit || unitBytes >= options.MaxBytesPerCommit) await CommitAsync();
        }
        if (unit.Count > 0) await CommitAsync();
        Metrics.LakeMetrics.RecordIngestionRun(table.Location, report.RecordsRead, clock.Elapsed);
        return Current();
    }

    /// <summary>
    /// Rows that break the table's constraints (delta.constraints.*) become dead letters instead of failing the
    /// whole commit: the unit's batches are replaced by their passing rows plus the violations as dead letters.
    /// </summary>
    private async Task RouteConstraintViolationsAsync(List<SourceBatch> unit, string tableName, string sourceName, CancellationToken ct)
    {
        var table = storage.OpenTable(tableName);
        if (!await table.ExistsAsync(ct)) return;
        var constraints = Delta.TableConstraints.Of((await table.GetSnapshotAsync(ct)).Metadata);
        if (constraints.IsEmpty) return;
        var columns = constraints.All.SelectMany(c => c.Predicate.Columns()).Select(c => c.Split('.')[0]).Distinct().ToList();
        for (var i = 0; i < unit.Count; i++)
        {
            // Constraints on columns the write derives (year/month/day) are left to the write, which refuses the commit.
            if (unit[i].Rows is not { Length: > 0 } rows || columns.Any(c => rows.Schema.GetFieldIndex(c) < 0)) continue;
            var (passing, failing) = constraints.Split(rows, tableName);
            if (failing.Count == 0) continue;
            var dead = unit[i].DeadLetters.ToList();
            var position = unit[i].Position.ToString() ?? "";
            foreach (var (row, constraint) in failing)
                dead.Add(new DeadLetter(sourceName, position, Delta.TableConstraints.Describe(rows, row),
                    $"constraint {constraint.Name} violated: {constraint.Expression}"));
            unit[i] = unit[i] with { Rows = ArrowGather.Take(rows, passing), DeadLetters = dead };
        }
    }

    private static RecordBatch Empty(Schema schema) =>
        new(schema, schema.FieldsList.Select(f => ArrowGather.Nulls(f.DataType, 0)), 0);
}
