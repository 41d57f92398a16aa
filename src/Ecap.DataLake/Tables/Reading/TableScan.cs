using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tables.Reading;

/// <summary>
/// A planned read of one table version: the files that survived pruning, the output schema, and the
/// batches, streamed file by file. Partition columns come from the log's partition values (not the
/// file paths); the predicate is pushed to row groups and then applied to rows; the limit stops the
/// stream early. <see cref="Metrics"/> fills in as the batches are read.
/// </summary>
public sealed class TableScan
{
    private readonly IObjectStore _table;
    private readonly Snapshot _snapshot;
    private readonly ReadOptions _options;
    private readonly IReadOnlyList<string> _outputColumns;

    private TableScan(IObjectStore table, Snapshot snapshot, ReadOptions options, IReadOnlyList<AddFile> files, Schema schema, ReadMetrics metrics)
    {
        _table = table;
        _snapshot = snapshot;
        _options = options;
        Files = files;
        Schema = schema;
        Metrics = metrics;
        _outputColumns = schema.FieldsList.Select(f => f.Name).ToList();
    }

    /// <summary>The table version read.</summary>
    public long Version => _snapshot.Version;

    internal Snapshot Snapshot => _snapshot;

    /// <summary>The schema of the returned batches (the projected columns, in the requested order).</summary>
    public Schema Schema { get; private set; }

    /// <summary>The files the read opens, after partition, bucket and stats pruning.</summary>
    public IReadOnlyList<AddFile> Files { get; }

    public ReadMetrics Metrics { get; }

    /// <summary>Columns returned as nulls (excluded for the reader by its grants).</summary>
    public IReadOnlySet<string> MaskedColumns { get; private set; } = new HashSet<string>();

    /// <summary>Keys of an encrypted table's files (null: plaintext).</summary>
    internal Parquet.Encryption.IKeyProvider? DecryptionKeys { get; set; }

    /// <summary>Returns <paramref name="columns"/> as nulls (their fields become nullable).</summary>
    internal void Mask(IReadOnlySet<string> columns)
    {
        MaskedColumns = columns;
        if (columns.Count > 0)
            Schema = new Schema(Schema.FieldsList.Select(f => columns.Contains(f.Name) ? new Field(f.Name, f.DataType, true, f.Metadata) : f), Schema.Metadata);
    }

    /// <param name="table">The table's store.</param>
    /// <param name="snapshot">The snapshot whose files are scanned.</param>
    /// <param name="options">The read options.</param>
    /// <param name="include">When given, only files it accepts are read (the others count as pruned by partition).</param>
    internal static TableScan Plan(IObjectStore table, Snapshot snapshot, ReadOptions options, Func<AddFile, bool>? include = null)
    {
        if (options.Predicate is { } where) Predicate.EnsureDepth(where);
        var tableSchema = snapshot.Schema;
        var available = tableSchema.FieldsList.Select(f => f.Name).ToList();
        var requested = options.Columns ?? available;
        var unknown = requested.Concat(options.Predicate?.Columns().Select(c => c.Split('.')[0]) ?? [])
            .Where(c => tableSchema.GetFieldIndex(c) < 0).Distinct().ToList();
        if (unknown.Count > 0)
            throw new InvalidInputException($"Unknown column(s) {string.Join(", ", unknown.Select(c => $"'{c}'"))}; the table has: {string.Join(", ", available)}.");
        var schema = new Schema(requested.Select(c => tableSchema.GetFieldByName(c))
            .Concat(options.RowIndexColumn is { } rowIndex ? [new Field(rowIndex, Apache.Arrow.Types.Int64Type.Default, false)] : []).ToList(), null);

        var pruning = new FilePruning(snapshot, options);
        var metrics = new ReadMetrics { FilesTotal = snapshot.Files.Count };
        var files = new List<AddFile>();
        var partitions = new Dictionary<string, bool>(StringComparer.Ordinal); // partition -> any file survives partition pruning
        foreach (var file in snapshot.Files.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            var verdict = include == null || include(file) ? pruning.Check(file) : FilePruning.Verdict.PrunedByPartition;
            var key = DataLakeStorage.PartitionKey(file.PartitionValues, snapshot.PartitionColumns);
            partitions[key] = (partitions.TryGetValue(key, out var kept) && kept) || verdict != FilePruning.Verdict.PrunedByPartition;
            switch (verdict)
            {
                case FilePruning.Verdict.PrunedByPartition: metrics.FilesPrunedByPartition++; break;
                case FilePruning.Verdict.PrunedByBucket: metrics.FilesPrunedByBucket++; break;
                case FilePruning.Verdict.PrunedByStats: metrics.FilesPrunedByStats++; break;
                default: files.Add(file); break;
            }
        }
        metrics.PartitionsTotal = snapshot.PartitionColumns.Count == 0 ? 0 : partitions.Count;
        metrics.PartitionsPruned = snapshot.PartitionColumns.Count == 0 ? 0 : partitions.Count(p => !p.Value);
        global::Ecap.DataLake.Metrics.LakeMetrics.RecordPruning(snapshot.Location, metrics.FilesTotal - files.Count);
        return new TableScan(table, snapshot, options, files, schema, metrics);
    }

    /// <summary>
    /// Streams the rows, in file order. Files are decoded ahead by up to two tasks per core (each with a small
    /// bounded queue), because opening and decoding many small files one after another leaves cores idle.
    /// Each call reads the files again. The batches hold natively allocated buffers: dispose each one when
    /// done with it to give them back at once rather than when a finalizer runs after a later GC.
    /// </summary>
    public async IAsyncEnumerable<RecordBatch> ReadBatchesAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        var remaining = _options.Limit ?? long.MaxValue;
        if (remaining <= 0 || Files.Count == 0) yield break;
        var plan = new FileReadPlan(_snapshot, _options, _outputColumns);
        if (DecryptionKeys is not null) plan.FileOptions = plan.FileOptions with { DecryptionKeys = DecryptionKeys };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var inFlight = new Queue<(Channel<RecordBatch> Batches, ParquetReadCounters Counters, Task Reader)>();
        var next = 0;
        void StartNext()
        {
            var file = Files[next++];
            var batches = Channel.CreateBounded<RecordBatch>(4);
            var counters = new ParquetReadCounters();
            var reader = Task.Run(async () =>
            {
                try
                {
                    await foreach (var batch in ReadFileAsync(file, plan, counters, stop.Token))
                        await batches.Writer.WriteAsync(batch, stop.Token);
                    batches.Writer.Complete();
                }
                catch (Exception e)
                {
                    batches.Writer.Complete(e);
                }
            }, stop.Token);
            inFlight.Enqueue((batches, counters, reader));
        }

        try
        {
            // Two files per core: a core that finishes a file while the consumer is still busy with an
            // earlier one starts the next instead of idling (memory: at most 5 batches per file in flight).
            // On a remote store (S3) a file also waits on requests: keep more in flight.
            var ahead = _table.TryGetLocalPath("x") is null ? Math.Max(8, 4 * Environment.ProcessorCount) : 2 * Math.Max(2, Environment.ProcessorCount);
            while (next < Files.Count && inFlight.Count < ahead) StartNext();
            while (inFlight.Count > 0)
            {
                var (batches, counters, _) = inFlight.Dequeue();
                Metrics.FilesRead++;
                var fileRows = 0L;
                await foreach (var batch in batches.Reader.ReadAllAsync(ct))
                {
                    var rows = batch.Length > remaining ? batch.Slice(0, (int)remaining) : batch;
                    remaining -= rows.Length;
                    fileRows += rows.Length;
                    Metrics.RowsReturned += rows.Length;
                    yield return MaskedColumns.Count == 0 ? rows : Mask(rows);
                    if (remaining == 0) break;
                }
                Metrics.RowGroupsTotal += (int)counters.RowGroupsTotal;
                Metrics.RowGroupsPruned += (int)counters.RowGroupsPruned;
                Metrics.RowsScanned += counters.RowsRead;
                Metrics.BytesScanned += counters.BytesScanned;
                global::Ecap.DataLake.Metrics.LakeMetrics.RecordFileRead(_snapshot.Location, fileRows, counters.BytesScanned);
                if (remaining == 0) yield break;
                if (next < Files.Count) StartNext();
            }
        }
        finally
        {
            // Early exit (limit, error, cancellation): stop the readers still running and let them finish.
            await stop.CancelAsync();
            foreach (var (_, _, reader) in inFlight)
                await reader.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }

    private FileReadPlan? _singleFilePlan;

    /// <summary>
    /// The rows of one of <see cref="Files"/>, unmasked and without a limit: row-level changes read file by file, because the
    /// row positions they collect (<see cref="ReadOptions.RowIndexColumn"/>) are positions in one file.
    /// </summary>
    internal IAsyncEnumerable<RecordBatch> ReadFileAsync(AddFile file, CancellationToken ct = default)
    {
        if (_singleFilePlan is null)
        {
            var plan = new FileReadPlan(_snapshot, _options, _outputColumns);
            if (DecryptionKeys is not null) plan.FileOptions = plan.FileOptions with { DecryptionKeys = DecryptionKeys };
            _singleFilePlan = plan;
        }
        return ReadFileAsync(file, _singleFilePlan, new ParquetReadCounters(), ct);
    }

    /// <summary>What every file of a scan reads: its data columns, the filter the reader applies, the rest.</summary>
    private sealed class FileReadPlan
    {
        public FileReadPlan(Snapshot snapshot, ReadOptions options, IReadOnlyList<string> outputColumns)
        {
            var tableSchema = snapshot.Schema;
            PartitionColumns = snapshot.PartitionColumns.ToHashSet(StringComparer.Ordinal);
            Predicate = options.Predicate;
            // Columns needed from the data files: the output plus what the predicate reads, minus partition columns.
            var rowIndex = options.RowIndexColumn;
            var needed = outputColumns.Concat(Predicate?.Columns().Select(c => c.Split('.')[0]) ?? []).Distinct().ToList();
            NeededSchema = new Schema(needed.Select(c => c == rowIndex ? new Field(c, Apache.Arrow.Types.Int64Type.Default, false) : tableSchema.GetFieldByName(c)).ToList(), null);
            // A predicate on data columns only is applied by the file reader (row groups, then rows);
            // one that also reads partition columns is applied here, after they are added.
            FilePredicate = Predicate != null && Predicate.Columns().All(c => !PartitionColumns.Contains(c.Split('.')[0])) ? Predicate : null;
            FileOptions = new ParquetReadOptions
            {
                Columns = needed.Where(c => !PartitionColumns.Contains(c) && c != rowIndex).ToList(),
                RowIndexColumn = rowIndex,
                TableSchema = tableSchema,
                ColumnMapping = ColumnMapping.ModeOf(snapshot.Metadata),
                Filter = FilePredicate,
                BatchSize = options.BatchSize,
                UseThreads = false, // files are read in parallel instead
            };
        }

        public HashSet<string> PartitionColumns { get; }
        public Predicate? Predicate { get; }
        public Predicate? FilePredicate { get; }
        public Schema NeededSchema { get; }
        public ParquetReadOptions FileOptions { get; set; }
    }

    private async IAsyncEnumerable<RecordBatch> ReadFileAsync(AddFile file, FileReadPlan plan, ParquetReadCounters counters,
        [EnumeratorCancellation] CancellationToken ct)
    {
        if (await _table.HeadAsync(file.ObjectKey, ct) == null)
            throw new CorruptTableException(
                $"Data file '{file.ObjectKey}' of version {_snapshot.Version} is missing (deleted by vacuum or by hand); this version can no longer be read.");
        // Rows deleted by the file's deletion vector go before the filter (positions are physical, file-global).
        await foreach (var raw in DeletionVectors.ReadLiveRowsAsync(_table, file, plan.FileOptions, counters, ct))
        {
            var batch = WithPartitionColumns(raw, file, plan.NeededSchema, plan.PartitionColumns);
            if (plan.Predicate != null && plan.FilePredicate == null) batch = RowFilter.Filter(batch, plan.Predicate);
            if (batch.Length > 0) yield return Project(batch);
        }
    }

    private static RecordBatch WithPartitionColumns(RecordBatch batch, AddFile file, Schema target, HashSet<string> partitionColumns)
    {
        var columns = new IArrowArray[target.FieldsList.Count];
        for (var c = 0; c < columns.Length; c++)
        {
            var field = target.GetFieldByIndex(c);
            columns[c] = partitionColumns.Contains(field.Name)
                ? PartitionValues.ToArray(field.DataType, file.PartitionValues.GetValueOrDefault(field.Name), batch.Length)
                : batch.Column(batch.Schema.GetFieldIndex(field.Name));
        }
        return new RecordBatch(target, columns, batch.Length);
    }

    private RecordBatch Mask(RecordBatch batch) =>
        new(Schema, batch.Schema.FieldsList.Select((f, i) => MaskedColumns.Contains(f.Name) ? ArrowGather.Nulls(f.DataType, batch.Length) : batch.Column(i)), batch.Length);

    private RecordBatch Project(RecordBatch batch)
    {
        if (batch.ColumnCount == _outputColumns.Count && batch.Schema.FieldsList.Select(f => f.Name).SequenceEqual(_outputColumns))
            return new RecordBatch(Schema, Enumerable.Range(0, batch.ColumnCount).Select(batch.Column), batch.Length);
        return new RecordBatch(Schema, _outputColumns.Select(c => batch.Column(batch.Schema.GetFieldIndex(c))), batch.Length);
    }
}
