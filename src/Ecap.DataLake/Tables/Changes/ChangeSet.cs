using System.Globalization;
using System.Text.Json.Nodes;
using Apache.Arrow;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.Reading;
using Ecap.DataLake.Tables.Writing;

namespace Ecap.DataLake.Tables.Changes;

/// <summary>
/// One attempt at a row-level change of one snapshot: the rows it deletes (physical positions per data file), the rows
/// it writes (updated and inserted, through the table's own partitioned writer), and the commit that publishes both.
/// Deleted rows become deletion vectors when the table has them on, else their files are copied without them
/// (copy-on-write); a file whose every row goes is removed whole.
/// </summary>
internal sealed class ChangeSet
{
    /// <summary>The column the reads of a change add for each row's position in its file.</summary>
    public const string RowIndex = "__ecap_row_index";

    private readonly DataLakeStorage _storage;
    private readonly Dictionary<string, (AddFile File, List<long> Rows)> _deleted = new(StringComparer.Ordinal);
    private readonly HashSet<string> _rewriteWhole = new(StringComparer.Ordinal);
    private readonly List<AddFile> _read = [];
    private readonly List<string> _vectorFiles = [];
    private PartitionedFileWriter? _writer;
    private long _vectorBytes;

    public ChangeSet(DataLakeStorage storage, string tableName, DeltaTable table, Snapshot snapshot, bool copyOnWrite = false)
    {
        _storage = storage;
        TableName = tableName;
        Table = table;
        Snapshot = snapshot;
        Strategy = TableLayout.FromMetadata(snapshot.Metadata);
        Partitioner = new BatchPartitioner(Strategy);
        Constraints = TableConstraints.Of(snapshot.Metadata);
        Encryption = Parquet.Encryption.TableEncryption.Of(snapshot.Metadata.Configuration);
        Encryption?.EnsureKeys(storage.Keys, tableName);
        UsesVectors = !copyOnWrite && TableFeatures.DeletionVectorsEnabled(snapshot.Protocol, snapshot.Metadata);
        Residency.DataResidency.EnsureWritable(snapshot.Metadata, tableName, storage.Options.Region, storage.Location);
        if (ColumnMapping.IsMapped(snapshot.Metadata))
            throw new UnsupportedProtocolException(
                $"Table '{tableName}' uses column mapping (delta.columnMapping.mode); DELETE, UPDATE and MERGE do not run on such tables yet.");
    }

    public string TableName { get; }
    public DeltaTable Table { get; }
    public Snapshot Snapshot { get; }
    public PartitionStrategy Strategy { get; }
    public BatchPartitioner Partitioner { get; }
    public TableConstraints Constraints { get; }
    public Parquet.Encryption.TableEncryption? Encryption { get; }

    /// <summary>Deleted rows become deletion vectors (else files are rewritten).</summary>
    public bool UsesVectors { get; }

    public long RowsWritten => _writer?.RowsWritten ?? 0;

    /// <summary>Set by a change whose result a concurrent append could invalidate (<see cref="Transaction.ConflictsWithAppend"/>).</summary>
    public Func<AddFile, bool>? ConflictsWithAppend { get; set; }

    /// <summary>The file pruning of <paramref name="where"/> over this snapshot: could a file (of a concurrent commit) hold matching rows?</summary>
    public Func<AddFile, bool> CouldMatch(Predicate? where)
    {
        if (where is null) return _ => true;
        var pruning = new FilePruning(Snapshot, new ReadOptions { Predicate = where });
        return file => pruning.Check(file) == FilePruning.Verdict.Read;
    }

    /// <summary>A scan of the files a predicate may match, returning <paramref name="columns"/> plus <see cref="RowIndex"/>.</summary>
    public TableScan Scan(Predicate? where, IReadOnlyList<string> columns, bool rowIndex = true)
    {
        var scan = TableScan.Plan(Table.Store, Snapshot, new ReadOptions { Predicate = where, Columns = columns, RowIndexColumn = rowIndex ? RowIndex : null });
        if (Encryption is not null) scan.DecryptionKeys = _storage.Keys;
        return scan;
    }

    /// <summary>Records that the change read the rows of <paramref name="file"/> (its decision depends on them: a conflict if it changes).</summary>
    public void Read(AddFile file) => _read.Add(file);

    /// <summary>Files read so far.</summary>
    public int FilesRead => _read.Count;

    /// <summary>Deletes rows of <paramref name="file"/> by their physical positions (rows its vector already deletes never come here).</summary>
    public void Delete(AddFile file, ReadOnlySpan<long> positions)
    {
        if (positions.Length == 0) return;
        var key = FileKey(file);
        if (!_deleted.TryGetValue(key, out var entry)) _deleted[key] = entry = (file, []);
        foreach (var p in positions) entry.Rows.Add(p);
    }

    /// <summary>Rewrites <paramref name="file"/> without its deleted rows even when vectors are on (purge, erasure).</summary>
    public void RewriteWhole(AddFile file)
    {
        _rewriteWhole.Add(FileKey(file));
        if (!_deleted.ContainsKey(FileKey(file))) _deleted[FileKey(file)] = (file, []);
    }

    /// <summary>Rows of the new table content (updated or inserted rows, any column order of the table schema; no row index).</summary>
    public async Task WriteAsync(RecordBatch rows, CancellationToken ct)
    {
        if (rows.Length == 0) return;
        var batch = SchemaAlignment.Conform(WithoutDerived(rows), WriteSchema);
        if (!Constraints.IsEmpty) Constraints.Enforce(Partitioner.AddDerivedColumns(batch), TableName);
        _writer ??= NewWriter();
        await _writer.AddAsync(batch, ct);
        _rowsAdded += batch.Length;
    }

    private long _rowsAdded; // the writer counts rows only when it flushes them

    /// <summary>The table schema without the derived partition columns (year/month/day), which the writer recomputes.</summary>
    public Schema WriteSchema => _writeSchema ??= new Schema(Snapshot.Schema.FieldsList.Where(f => !IsDerived(f.Name)).ToList(), null);

    private Schema? _writeSchema;

    public bool IsDerived(string column) => _computed.Contains(column);

    private HashSet<string> _computed => _computedColumns ??= Strategy.ComputedColumns.ToHashSet(StringComparer.Ordinal);
    private HashSet<string>? _computedColumns;

    private RecordBatch WithoutDerived(RecordBatch batch)
    {
        if (_computed.Count == 0 && batch.Schema.GetFieldIndex(RowIndex) < 0) return batch;
        var keep = batch.Schema.FieldsList.Select((f, i) => (f, i)).Where(x => !IsDerived(x.f.Name) && x.f.Name != RowIndex).ToList();
        if (keep.Count == batch.ColumnCount) return batch;
        return new RecordBatch(new Schema(keep.Select(x => x.f).ToList(), batch.Schema.Metadata), keep.Select(x => batch.Column(x.i)), batch.Length);
    }

    private PartitionedFileWriter NewWriter() =>
        new(Table.Store, Partitioner, new WriteOptions { TargetFileSizeBytes = _storage.Options.TargetFileSizeBytes }, _storage.Options.WriteBufferBytes,
            Encryption, Encryption is null ? null : _storage.Keys);

    /// <summary>Files with deleted rows.</summary>
    public int FilesTouched => _deleted.Count;

    /// <summary>
    /// Builds the commit: per touched file a whole-file remove, a new vector or a rewrite; the written files; the files read.
    /// Returns null when nothing changed. <paramref name="dataChange"/> false marks a rearrangement (purge: no row changes).
    /// </summary>
    public async Task<(Transaction Tx, int Vectors, int Rewritten, int Added, long Bytes)?> BuildAsync(string operation, bool dataChange, CancellationToken ct)
    {
        if (_deleted.Count == 0 && _rowsAdded == 0) return null;
        var now = DateTimeOffset.UtcNow;
        var tx = Table.StartTransaction(Snapshot, operation);
        foreach (var file in _read) tx.ReadFiles.Add((file.ObjectKey, file.DeletionVector?.UniqueId));
        var vectorFiles = new List<AddFile>();
        var vectors = new List<long[]>();
        var rewritten = 0;
        foreach (var (key, (file, rows)) in _deleted.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            tx.ReadFiles.Add((file.ObjectKey, file.DeletionVector?.UniqueId));
            var fresh = rows.Distinct().Order().ToArray();
            var existing = file.DeletionVector is { } dv ? await DeletionVectors.LoadAsync(Table.Store, dv, ct) : [];
            var all = DeletionVectors.Union(existing, fresh);
            var physical = await PhysicalRowsAsync(file, ct);
            if (all.LongLength >= physical)
            {
                tx.Remove(RemoveFile.For(file, dataChange, now)); // every row goes: the file goes
                rewritten++;
            }
            else if (UsesVectors && !_rewriteWhole.Contains(key))
            {
                tx.Remove(RemoveFile.For(file, dataChange, now));
                vectorFiles.Add(file);
                vectors.Add(all);
            }
            else
            {
                tx.Remove(RemoveFile.For(file, dataChange, now));
                await CopyWithoutAsync(file, fresh, ct);
                rewritten++;
            }
        }
        if (vectors.Count > 0)
        {
            var (vectorKey, vectorBytes, descriptors) = await DeletionVectors.WriteFileAsync(Table.Store, vectors, ct);
            _vectorFiles.Add(vectorKey);
            _vectorBytes += vectorBytes;
            for (var i = 0; i < vectorFiles.Count; i++)
                tx.Add(vectorFiles[i] with
                {
                    DeletionVector = descriptors[i], DataChange = dataChange, ModificationTime = now.ToUnixTimeMilliseconds(), Stats = LooseBounds(vectorFiles[i].Stats),
                });
        }
        var adds = _writer is null ? [] : await _writer.FinishAsync(ct);
        foreach (var add in adds) tx.Add(dataChange ? add : add with { DataChange = false });
        return (tx, vectors.Count, rewritten, adds.Count, (_writer?.BytesWritten ?? 0) + _vectorBytes);
    }

    /// <summary>Deletes what this attempt wrote (its commit did not land).</summary>
    public async Task DeleteWrittenAsync()
    {
        if (_writer is not null) await _writer.DeleteWrittenFilesAsync();
        foreach (var key in _vectorFiles)
            try { await Table.Store.DeleteAsync(key); } catch (IOException) { /* vacuum removes what is left */ }
    }

    /// <summary>Copies the live rows of <paramref name="file"/> except <paramref name="positions"/> into new files.</summary>
    private async Task CopyWithoutAsync(AddFile file, long[] positions, CancellationToken ct)
    {
        var scan = Scan(null, Snapshot.Schema.FieldsList.Select(f => f.Name).ToList());
        await foreach (var batch in scan.ReadFileAsync(file, ct))
        {
            var index = (Int64Array)batch.Column(batch.Schema.GetFieldIndex(RowIndex));
            var keep = new List<int>(batch.Length);
            for (var r = 0; r < batch.Length; r++)
                if (System.Array.BinarySearch(positions, index.GetValue(r)!.Value) < 0) keep.Add(r);
            var survivors = keep.Count == batch.Length ? batch : ArrowGather.Take(batch, keep.ToArray());
            if (survivors.Length == 0) continue;
            _writer ??= NewWriter();
            await _writer.AddAsync(SchemaAlignment.Conform(WithoutDerived(survivors), WriteSchema), ct);
        }
    }

    /// <summary>The rows the file holds physically (deleted ones included): numRecords of its stats, else its footer.</summary>
    private async Task<long> PhysicalRowsAsync(AddFile file, CancellationToken ct)
    {
        if (TableInspector.NumRecords(file) is { } live) return live + (file.DeletionVector?.Cardinality ?? 0);
        var footer = await Parquet.ParquetDataReader.ReadMetadataAsync(Table.Store, file.ObjectKey, ct, Encryption is null ? null : _storage.Keys);
        return footer.RowCount;
    }

    /// <summary>Stats of a file that now has a vector: min/max still bound its live rows but no longer tightly (tightBounds false, as Delta writes).</summary>
    private static string? LooseBounds(string? stats)
    {
        if (string.IsNullOrEmpty(stats)) return stats;
        try
        {
            if (JsonNode.Parse(stats) is not JsonObject o) return stats;
            o["tightBounds"] = false;
            return o.ToJsonString();
        }
        catch (System.Text.Json.JsonException)
        {
            return stats;
        }
    }

    private static string FileKey(AddFile file) => file.ObjectKey + "\u0001" + file.DeletionVector?.UniqueId;

    /// <summary>Delta's operation metrics as strings.</summary>
    public static string Metric(long value) => value.ToString(CultureInfo.InvariantCulture);
}
