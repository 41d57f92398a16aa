using System.Runtime.CompilerServices;
using Apache.Arrow;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Storage;
using ParquetSharp;
using ParquetSharp.Arrow;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Parquet;

/// <summary>Options of <see cref="ParquetDataReader.ReadAsync"/>.</summary>
internal sealed record ParquetReadOptions
{
    public static ParquetReadOptions Default { get; } = new();

    /// <summary>Top-level columns to return, in this order; null for all (of <see cref="TableSchema"/> when given, else of the file).</summary>
    public IReadOnlyList<string>? Columns { get; init; }

    /// <summary>
    /// The schema to read into (a Delta table's current schema): columns the file lacks come back as
    /// all-null arrays of this schema's type, and filters on them see nulls (schema evolution).
    /// Null: the file's own schema, and asking for a column it lacks is an error.
    /// </summary>
    public Schema? TableSchema { get; init; }

    /// <summary>Keys for encrypted files (key ids come from each file's key metadata); null: plaintext files only.</summary>
    public Encryption.IKeyProvider? DecryptionKeys { get; init; }

    /// <summary>Row groups whose statistics prove no row matches are skipped.</summary>
    public Predicate? Filter { get; init; }

    /// <summary>Also drop non-matching rows of the row groups read (default); false returns whole row groups.</summary>
    public bool FilterRows { get; init; } = true;

    /// <summary>Rows per returned batch (the native reader's batch size); null for its default (64Ki).</summary>
    public int? BatchSize { get; init; }

    /// <summary>How the file names the columns of <see cref="TableSchema"/> (column mapping: physical names or field ids).</summary>
    public ColumnMappingMode ColumnMapping { get; init; }

    /// <summary>Let the native reader decode the columns of a row group in parallel.</summary>
    public bool UseThreads { get; init; } = true;

    /// <summary>
    /// Physical row indexes of the file (0-based over all its row groups, sorted, distinct) that are deleted (a Delta
    /// deletion vector): dropped before the filter sees the rows. Null: none.
    /// </summary>
    public long[]? DeletedRows { get; init; }

    /// <summary>
    /// When set, every batch gets one more int64 column of this name, last: each row's physical index in the file (the
    /// position a deletion vector names). Row-level changes (DELETE, UPDATE, MERGE) read through it.
    /// </summary>
    public string? RowIndexColumn { get; init; }
}

/// <summary>What a read touched. Thread-safe; one instance may be shared by the reads of a scan.</summary>
internal sealed class ParquetReadCounters
{
    private long _rowGroupsTotal, _rowGroupsPruned, _rowGroupsRead, _bytesScanned, _rowsRead, _rowsReturned;

    public long RowGroupsTotal => Interlocked.Read(ref _rowGroupsTotal);
    public long RowGroupsPruned => Interlocked.Read(ref _rowGroupsPruned);
    public long RowGroupsRead => Interlocked.Read(ref _rowGroupsRead);

    /// <summary>Compressed bytes of the column chunks read.</summary>
    public long BytesScanned => Interlocked.Read(ref _bytesScanned);

    /// <summary>Rows decoded (before the row filter).</summary>
    public long RowsRead => Interlocked.Read(ref _rowsRead);

    /// <summary>Rows returned (after the row filter).</summary>
    public long RowsReturned => Interlocked.Read(ref _rowsReturned);

    internal void Add(long total = 0, long pruned = 0, long read = 0, long bytes = 0, long rows = 0, long returned = 0)
    {
        Interlocked.Add(ref _rowGroupsTotal, total);
        Interlocked.Add(ref _rowGroupsPruned, pruned);
        Interlocked.Add(ref _rowGroupsRead, read);
        Interlocked.Add(ref _bytesScanned, bytes);
        Interlocked.Add(ref _rowsRead, rows);
        Interlocked.Add(ref _rowsReturned, returned);
    }
}

/// <summary>Sizes of one row group.</summary>
internal sealed record RowGroupInfo(long RowCount, long CompressedBytes, long UncompressedBytes);

/// <summary>Footer facts of one Parquet file (row counts and sizes; for table info and compression ratios).</summary>
internal sealed record ParquetFileInfo(long RowCount, long FileSizeBytes, long CompressedBytes, long UncompressedBytes,
    IReadOnlyList<RowGroupInfo> RowGroups, Schema Schema)
{
    /// <summary>Uncompressed / compressed column bytes (1 when empty).</summary>
    public double CompressionRatio => CompressedBytes == 0 ? 1 : (double)UncompressedBytes / CompressedBytes;
}

/// <summary>
/// Reads Parquet data files through an object store as a stream of Arrow record batches
/// (<see cref="IAsyncEnumerable{T}"/>; the native reads run synchronously between yields, one row group
/// at a time, so memory stays within one row group of the projected columns). Row groups are pruned
/// with <see cref="StatsEvaluator"/> over their footer statistics; predicate columns not in the
/// projection are read for the row filter and then dropped. Local stores are opened by path;
/// other stores through a seekable stream (non-seekable streams are spooled to a temporary file).
/// </summary>
internal static class ParquetDataReader
{
    // A data file that is not Parquet (damaged, truncated, replaced) is the table's damage, said in one line naming the file.
    private static FileReader Open(Source source, ReaderProperties readerProps, ArrowReaderProperties arrowProps, string key)
    {
        try
        {
            return source.Path is not null
                ? new FileReader(source.Path, readerProps, arrowProps)
                : new FileReader(source.Stream!, readerProps, arrowProps, leaveOpen: true);
        }
        catch (ParquetException e) when (e.Message.Contains("magic bytes", StringComparison.Ordinal) || e.Message.Contains("too small", StringComparison.Ordinal)
                                         || e.Message.Contains("Couldn't deserialize", StringComparison.Ordinal))
        {
            throw new CorruptTableException($"Data file '{key}' is not a readable Parquet file ({FirstLine(e.Message)}): it was damaged or replaced after it was committed.");
        }
    }

    private static string FirstLine(string message)
    {
        var m = message.IndexOf("message: '", StringComparison.Ordinal) is var i and >= 0 ? message[(i + 10)..].TrimEnd('\'', ')') : message;
        return m.Split('\n')[0].Trim();
    }

    public static async IAsyncEnumerable<RecordBatch> ReadAsync(IObjectStore store, string key, ParquetReadOptions? options = null,
        ParquetReadCounters? counters = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        options ??= ParquetReadOptions.Default;
        using var source = await OpenAsync(store, key, ct);
        using var readerProps = ReaderProperties.GetDefaultReaderProperties();
        if (options.DecryptionKeys is { } keys) readerProps.FileDecryptionProperties = Encryption.TableEncryption.BuildDecryption(keys);
        using var arrowProps = ArrowReaderProperties.GetDefault();
        if (options.BatchSize is { } bs) arrowProps.BatchSize = bs;
        arrowProps.UseThreads = options.UseThreads;
        // INT96 (Spark, Hive, Impala) as microseconds, Delta's unit: as nanoseconds it overflows before 1677 and after 2262.
        arrowProps.CoerceInt96TimestampUnit = Apache.Arrow.Types.TimeUnit.Microsecond;
        using var reader = Open(source, readerProps, arrowProps, key);

        var fileSchema = reader.Schema;
        var table = options.TableSchema;
        // Under column mapping the file's columns are relabelled with their logical names once, here; all below sees those.
        var schema = table is not null && options.ColumnMapping != ColumnMappingMode.None
            ? FieldMapping.LogicalFileSchema(fileSchema, table, options.ColumnMapping)
            : fileSchema;
        var fieldIndex = schema.FieldsList.Select((f, i) => (f.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        var output = options.Columns ?? (table ?? schema).FieldsList.Select(f => f.Name).ToList();
        var rowIndex = options.RowIndexColumn;
        // Columns of the table schema the file lacks: returned as nulls, seen as nulls by the filter.
        var missing = new Dictionary<string, Field>(StringComparer.Ordinal);
        foreach (var c in output)
        {
            if (c == rowIndex) continue;
            if (fieldIndex.ContainsKey(c)) continue;
            var tf = table?.FieldsList.FirstOrDefault(f => f.Name == c)
                ?? throw new SchemaMismatchException($"Column '{c}' is not in '{key}'; its columns are: {string.Join(", ", fieldIndex.Keys)}.");
            missing[c] = tf;
        }

        var filter = options.Filter;
        var readNames = output.Where(c => c != rowIndex && fieldIndex.ContainsKey(c)).ToList();
        if (rowIndex is not null && !output.Contains(rowIndex)) output = [.. output, rowIndex];
        var missingFilterColumns = new List<Field>();
        if (filter is not null)
        {
            foreach (var name in filter.Columns())
            {
                // A dotted name (point.x) reads its top-level struct.
                var c = fieldIndex.ContainsKey(name) ? name : name.Split('.')[0];
                if (!fieldIndex.ContainsKey(c))
                {
                    var tf = table?.FieldsList.FirstOrDefault(f => f.Name == c)
                        ?? throw new SchemaMismatchException($"Filter column '{name}' is not in '{key}'; its columns are: {string.Join(", ", fieldIndex.Keys)}.");
                    if (!missingFilterColumns.Contains(tf)) missingFilterColumns.Add(tf);
                    continue;
                }
                if (options.FilterRows && !readNames.Contains(c)) readNames.Add(c);
            }
        }
        bool IsMissing(string c) => table is not null && !fieldIndex.ContainsKey(c) && !fieldIndex.ContainsKey(c.Split('.')[0]);

        // Read in file order (the native reader returns fields in schema order).
        var readFields = readNames.Select(n => fieldIndex[n]).Distinct().Order().ToArray();
        var manifest = reader.SchemaManifest;
        var leafIndices = readFields.SelectMany(i => LeafIndices(manifest.SchemaFields[i])).ToArray();

        var parquet = reader.ParquetReader;
        var md = parquet.FileMetaData;
        var leaves = filter is null ? null : ParquetFooterStats.Leaves(schema);
        var numRowGroups = md.NumRowGroups;
        counters?.Add(total: numRowGroups);

        var deleted = options.DeletedRows is { Length: > 0 } d ? d : null;
        long groupStart = 0, groupRows = 0; // physical index of the group's first row: counts pruned groups too
        for (var g = 0; g < numRowGroups; g++, groupStart += groupRows)
        {
            ct.ThrowIfCancellationRequested();
            long bytes = 0;
            using (var rg = parquet.RowGroup(g))
            {
                var meta = rg.MetaData;
                groupRows = meta.NumRows;
                if (deleted is not null && CountDeleted(deleted, groupStart, groupRows) == groupRows)
                {
                    counters?.Add(pruned: 1);
                    continue;
                }
                if (filter is not null)
                {
                    var bounds = ParquetFooterStats.RowGroupBounds(meta, leaves!);
                    var rows = meta.NumRows;
                    ColumnBounds? Lookup(string c) =>
                        bounds.GetValueOrDefault(c) is { } b
                            // A date column widened to timestamp_ntz: its day numbers are not comparable with timestamps.
                            ? b.Type is Apache.Arrow.Types.Date32Type && table is not null && TypeAt(table, c) is Apache.Arrow.Types.TimestampType ? null : b
                            : IsMissing(c) ? new ColumnBounds(Apache.Arrow.Types.NullType.Default, null, null, rows, rows) : null;
                    if (!StatsEvaluator.CanMatch(filter, Lookup))
                    {
                        counters?.Add(pruned: 1);
                        continue;
                    }
                }
                foreach (var leaf in leafIndices)
                {
                    using var chunk = meta.GetColumnChunkMetaData(leaf);
                    bytes += chunk.TotalCompressedSize;
                }
            }
            counters?.Add(read: 1, bytes: bytes);

            using var stream = reader.GetRecordBatchReader([g], leafIndices.Length == 0 ? null : leafIndices);
            var position = groupStart;
            while (true)
            {
                var decoded = await stream.ReadNextRecordBatchAsync(ct);
                if (decoded is null) break;
                if (!ReferenceEquals(schema, fileSchema)) decoded = FieldMapping.Relabel(decoded, schema, decoded.ColumnCount == schema.FieldsList.Count ? null : readFields);
                if (rowIndex is not null) decoded = WithRowIndex(decoded, rowIndex, position);
                counters?.Add(rows: decoded.Length);
                var batch = deleted is null ? decoded : WithoutDeleted(decoded, deleted, position);
                position += decoded.Length;
                if (!ReferenceEquals(batch, decoded)) ReleaseDropped(decoded, batch);
                var result = table is null ? batch : Conform(batch, table, key);
                var conformed = !ReferenceEquals(result, batch);
                if (filter is not null && options.FilterRows)
                {
                    if (missingFilterColumns.Count > 0) result = AddNullColumns(result, missingFilterColumns);
                    result = RowFilter.Filter(result, filter);
                }
                result = Project(result, output, missing);
                // A conformed column may share the decoded one's buffers: leave those to the GC.
                if (!conformed) ReleaseDropped(batch, result);
                counters?.Add(returned: result.Length);
                if (result.Length > 0) yield return result;
                else result.Dispose();
            }
        }
    }

    /// <summary>The batch with an int64 column <paramref name="name"/> of physical row indexes start, start + 1, ... appended.</summary>
    private static RecordBatch WithRowIndex(RecordBatch batch, string name, long start)
    {
        var bytes = new byte[batch.Length * sizeof(long)];
        var values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes.AsSpan());
        for (var i = 0; i < values.Length; i++) values[i] = start + i;
        var column = new Int64Array(new ArrowBuffer(bytes), ArrowBuffer.Empty, batch.Length, 0, 0);
        return new RecordBatch(new Schema([.. batch.Schema.FieldsList, new Field(name, Apache.Arrow.Types.Int64Type.Default, false)], batch.Schema.Metadata),
            [.. batch.Arrays, column], batch.Length);
    }

    /// <summary>How many of the sorted <paramref name="deleted"/> rows fall in [start, start + length).</summary>
    private static long CountDeleted(long[] deleted, long start, long length)
    {
        var from = LowerBound(deleted, start);
        return LowerBound(deleted, start + length) - from;
    }

    private static int LowerBound(long[] sorted, long value)
    {
        var i = System.Array.BinarySearch(sorted, value);
        return i >= 0 ? i : ~i;
    }

    /// <summary>The batch without the rows whose physical index (<paramref name="start"/> + row) is deleted; the batch itself when none is.</summary>
    private static RecordBatch WithoutDeleted(RecordBatch batch, long[] deleted, long start)
    {
        var from = LowerBound(deleted, start);
        var to = LowerBound(deleted, start + batch.Length);
        if (from == to) return batch;
        var keep = new int[batch.Length - (to - from)];
        var k = 0;
        var next = from;
        for (var row = 0; row < batch.Length; row++)
        {
            if (next < to && deleted[next] == start + row) { next++; continue; }
            keep[k++] = row;
        }
        return ArrowGather.Take(batch, keep);
    }

    /// <summary>Footer facts of a file: rows, row groups, compressed and uncompressed sizes.</summary>
    public static async Task<ParquetFileInfo> ReadMetadataAsync(IObjectStore store, string key, CancellationToken ct = default,
        Encryption.IKeyProvider? decryptionKeys = null)
    {
        using var source = await OpenAsync(store, key, ct);
        using var props = ReaderProperties.GetDefaultReaderProperties();
        if (decryptionKeys is not null) props.FileDecryptionProperties = Encryption.TableEncryption.BuildDecryption(decryptionKeys);
        using var reader = source.Path is not null ? new ParquetSharp.ParquetFileReader(source.Path, props) : new ParquetSharp.ParquetFileReader(source.Stream!, props, leaveOpen: true);
        var md = reader.FileMetaData;
        var groups = new List<RowGroupInfo>();
        long compressed = 0, uncompressed = 0;
        for (var g = 0; g < md.NumRowGroups; g++)
        {
            using var rg = reader.RowGroup(g);
            var meta = rg.MetaData;
            long c = 0, u = 0;
            for (var i = 0; i < meta.NumColumns; i++)
            {
                using var chunk = meta.GetColumnChunkMetaData(i);
                c += chunk.TotalCompressedSize;
                u += chunk.TotalUncompressedSize;
            }
            groups.Add(new RowGroupInfo(meta.NumRows, c, u));
            compressed += c;
            uncompressed += u;
        }
        Schema schema;
        using (var arrow = source.Path is not null ? new FileReader(source.Path, props, ArrowReaderProperties.GetDefault()) : null)
        {
            schema = arrow?.Schema ?? ArrowSchemaOf(source.Stream!);
        }
        var size = source.Path is not null ? new FileInfo(source.Path).Length : source.Stream!.Length;
        return new ParquetFileInfo(md.NumRows, size, compressed, uncompressed, groups, schema);
    }

    /// <summary>
    /// Delta stats of an existing Parquet file (for example one added to a table as is), from its footer.
    /// Float and double columns get no min/max, because a foreign writer's bounds may silently skip NaN.
    /// </summary>
    public static async Task<DataFileStats> ReadStatsAsync(IObjectStore store, string key, CancellationToken ct = default)
    {
        using var source = await OpenAsync(store, key, ct);
        using var arrow = source.Path is not null ? new FileReader(source.Path) : new FileReader(source.Stream!, leaveOpen: true);
        var schema = arrow.Schema;
        var floats = ParquetFooterStats.Leaves(schema)
            .Where(l => l.Type.TypeId is Apache.Arrow.Types.ArrowTypeId.Float or Apache.Arrow.Types.ArrowTypeId.Double)
            .Select(l => l.DottedPath).ToHashSet(StringComparer.Ordinal);
        return DataFileStats.FromFooter(arrow.ParquetReader, schema, floats);
    }

    private static Schema ArrowSchemaOf(Stream stream)
    {
        stream.Position = 0;
        using var r = new FileReader(stream, leaveOpen: true);
        return r.Schema;
    }

    /// <summary>The type of a (dotted) column in a schema, or null.</summary>
    private static Apache.Arrow.Types.IArrowType? TypeAt(Schema schema, string dotted)
    {
        var parts = dotted.Split('.');
        var field = schema.GetFieldByName(parts[0]);
        for (var i = 1; i < parts.Length && field is not null; i++)
            field = field.DataType is Apache.Arrow.Types.StructType st ? st.Fields.FirstOrDefault(f => f.Name == parts[i]) : null;
        return field?.DataType;
    }

    private static IEnumerable<int> LeafIndices(SchemaField field) =>
        field.Children.Count == 0 ? [field.ColumnIndex] : field.Children.SelectMany(LeafIndices);

    /// <summary>
    /// Frees the native memory of decoded columns the returned batch does not hand on (rows filtered into
    /// copies, filter-only columns) now, instead of when a finalizer runs after some later GC: the native
    /// allocator then reuses warm memory rather than faulting in new pages. Dictionary columns are left
    /// alone (a gathered dictionary array shares its dictionary).
    /// </summary>
    private static void ReleaseDropped(RecordBatch decoded, RecordBatch returned)
    {
        if (ReferenceEquals(decoded, returned)) return;
        foreach (var array in decoded.Arrays)
        {
            var handedOn = false;
            foreach (var kept in returned.Arrays) handedOn |= ReferenceEquals(kept, array);
            if (!handedOn && !HasDictionary(array.Data.DataType)) array.Dispose();
        }
    }

    private static bool HasDictionary(Apache.Arrow.Types.IArrowType type) => type switch
    {
        Apache.Arrow.Types.DictionaryType => true,
        Apache.Arrow.Types.NestedType nested => nested.Fields.Any(f => HasDictionary(f.DataType)),
        _ => false,
    };

    /// <summary>The decoded columns with the table's types (see <see cref="ArrowConform"/>); the batch itself when they have them.</summary>
    private static RecordBatch Conform(RecordBatch batch, Schema table, string key)
    {
        IArrowArray[]? arrays = null;
        for (var c = 0; c < batch.ColumnCount; c++)
        {
            var field = batch.Schema.GetFieldByIndex(c);
            var index = table.GetFieldIndex(field.Name);
            if (index < 0) continue;
            var target = table.GetFieldByIndex(index).DataType;
            var column = batch.Column(c);
            var conformed = ArrowConform.To(column, target, field.Name, key);
            if (ReferenceEquals(conformed, column)) continue;
            arrays ??= batch.Arrays.ToArray();
            arrays[c] = conformed;
        }
        if (arrays is null) return batch;
        var fields = batch.Schema.FieldsList.Select((f, i) => ReferenceEquals(arrays[i], batch.Column(i)) ? f : new Field(f.Name, arrays[i].Data.DataType, f.IsNullable, f.Metadata));
        return new RecordBatch(new Schema(fields, batch.Schema.Metadata), arrays, batch.Length);
    }

    private static RecordBatch AddNullColumns(RecordBatch batch, IReadOnlyList<Field> fields)
    {
        var allFields = batch.Schema.FieldsList.Concat(fields.Select(f => new Field(f.Name, Apache.Arrow.Types.NullType.Default, true))).ToList();
        var arrays = batch.Arrays.Concat(fields.Select(f => (IArrowArray)new NullArray(batch.Length))).ToList();
        return new RecordBatch(new Schema(allFields, batch.Schema.Metadata), arrays, batch.Length);
    }

    private static RecordBatch Project(RecordBatch batch, IReadOnlyList<string> columns, IReadOnlyDictionary<string, Field> missing)
    {
        if (missing.Count > 0)
        {
            var fs = new List<Field>(columns.Count);
            var arrs = new List<IArrowArray>(columns.Count);
            foreach (var c in columns)
            {
                if (missing.TryGetValue(c, out var mf))
                {
                    fs.Add(mf);
                    arrs.Add(ArrowGather.Nulls(mf.DataType, batch.Length));
                    continue;
                }
                var i = batch.Schema.GetFieldIndex(c);
                fs.Add(batch.Schema.FieldsList[i]);
                arrs.Add(batch.Column(i));
            }
            return new RecordBatch(new Schema(fs, batch.Schema.Metadata), arrs, batch.Length);
        }
        if (batch.ColumnCount == columns.Count)
        {
            var same = true;
            for (var i = 0; i < columns.Count && same; i++) same = batch.Schema.FieldsList[i].Name == columns[i];
            if (same) return batch;
        }
        var fields = new List<Field>(columns.Count);
        var arrays = new List<IArrowArray>(columns.Count);
        foreach (var c in columns)
        {
            var i = batch.Schema.GetFieldIndex(c);
            fields.Add(batch.Schema.FieldsList[i]);
            arrays.Add(batch.Column(i));
        }
        return new RecordBatch(new Schema(fields, batch.Schema.Metadata), arrays, batch.Length);
    }

    private sealed class Source(string? path, Stream? stream, string? tempFile) : IDisposable
    {
        public string? Path { get; } = path;
        public Stream? Stream { get; } = stream;

        public void Dispose()
        {
            Stream?.Dispose();
            if (tempFile is not null) try { File.Delete(tempFile); } catch (IOException) { }
        }
    }

    private static async Task<Source> OpenAsync(IObjectStore store, string key, CancellationToken ct)
    {
        var local = store.TryGetLocalPath(key);
        if (local is not null)
        {
            if (!File.Exists(local)) throw new FileNotFoundException($"Parquet file '{key}' does not exist in '{store.Location}'.", local);
            return new Source(local, null, null);
        }
        var stream = await store.OpenReadAsync(key, ct);
        if (stream.CanSeek) return new Source(null, stream, null);
        var temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ecap-read-" + Guid.NewGuid().ToString("N") + ".parquet");
        await using (stream)
        await using (var fs = File.Create(temp))
            await stream.CopyToAsync(fs, ct);
        return new Source(temp, null, temp);
    }
}
