using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Arrow;
using Ecap.DataLake.Storage;
using ParquetSharp;
using ParquetSharp.Arrow;
using ParquetSharp.IO;

namespace Ecap.DataLake.Parquet;

/// <summary>
/// Writes a stream of Arrow record batches (one schema) as Parquet data files through an object store,
/// with the native Arrow/Parquet writer doing all encoding. Files roll when they reach
/// <see cref="ParquetWriteOptions.TargetFileSizeBytes"/> (estimated from the bytes already flushed and
/// the compression ratio seen so far; batches are split to land near the target); the caller names
/// each file through <c>nameFile(fileIndex)</c>. After a file is closed its Delta stats are read from the
/// footer (no pass over the values), except a cheap vectorized NaN/infinity check on float columns.
/// Arrow timestamp(µs, UTC) is stored as INT64 TIMESTAMP(MICROS, isAdjustedToUTC=true).
/// Local stores are written directly at the file path; other stores through a write stream.
/// Not thread-safe: one writer per producer.
/// </summary>
internal sealed class ParquetDataWriter : IDisposable
{
    private readonly IObjectStore _store;
    private readonly Schema _schema;
    private readonly Schema? _logical;
    private readonly Func<int, string> _nameFile;
    private readonly ParquetWriteOptions _options;
    private readonly List<WrittenFile> _files = [];
    private readonly int[] _floatColumns;
    private WriterProperties? _writerProperties;
    private ArrowWriterProperties? _arrowProperties;
    private OpenFile? _current;
    private int _fileIndex;
    // Compressed bytes per Arrow byte, learned from flushed row groups (carried across files).
    private double _ratio = 0.5;

    public ParquetDataWriter(IObjectStore store, Schema schema, Func<int, string> nameFile, ParquetWriteOptions? options = null)
    {
        _store = store;
        // Column mapping: everything below (stats, dictionary and encoding choices) sees the physical names.
        _logical = options?.ColumnMapping is not null ? schema : null;
        _schema = options?.ColumnMapping is { } mapped ? FieldMapping.PhysicalSchema(schema, mapped) : schema;
        _nameFile = nameFile;
        _options = options ?? ParquetWriteOptions.Default;
        _floatColumns = schema.FieldsList.Select((f, i) => (f, i))
            .Where(x => x.f.DataType.TypeId is ArrowTypeId.Float or ArrowTypeId.Double).Select(x => x.i).ToArray();
    }

    /// <summary>Files closed so far.</summary>
    public IReadOnlyList<WrittenFile> Files => _files;

    /// <summary>Writes every batch of a stream and closes the last file.</summary>
    public static async Task<IReadOnlyList<WrittenFile>> WriteAllAsync(IObjectStore store, Schema schema, IAsyncEnumerable<RecordBatch> batches,
        Func<int, string> nameFile, ParquetWriteOptions? options = null, CancellationToken ct = default)
    {
        using var writer = new ParquetDataWriter(store, schema, nameFile, options);
        await foreach (var batch in batches.WithCancellation(ct)) await writer.WriteAsync(batch, ct);
        return await writer.CompleteAsync(ct);
    }

    public async Task WriteAsync(RecordBatch batch, CancellationToken ct = default)
    {
        if (_current is null && batch.Length > 0) await OpenAsync(batch, ct);
        Write(batch, ct);
    }

    /// <summary>Writes a batch; a new file is opened synchronously when needed.</summary>
    public void Write(RecordBatch batch, CancellationToken ct = default)
    {
        try { WriteCore(batch, ct); }
        catch (ParquetException e) when (IsNoSpace(e)) { throw NoSpace(e); }
    }

    // The native writer reports a full disk as a ParquetException with errno 28: say it the way people do, naming the file.
    private static bool IsNoSpace(ParquetException e) =>
        e.Message.Contains("No space left on device", StringComparison.Ordinal) || e.Message.Contains("errno 28", StringComparison.Ordinal);

    private IOException NoSpace(ParquetException e) =>
        new($"No space left on device while writing '{_current?.Key ?? _files.LastOrDefault()?.Key}' in {_store.Location}. " +
            "Free some space and run it again.", e);

    private void WriteCore(RecordBatch batch, CancellationToken ct)
    {
        if (_logical is not null && !ReferenceEquals(batch.Schema, _schema))
        {
            if (batch.ColumnCount != _logical.FieldsList.Count ||
                batch.Schema.FieldsList.Where((f, i) => f.Name != _logical.FieldsList[i].Name || !TypesEqual(f.DataType, _logical.FieldsList[i].DataType)).Any())
                throw new SchemaMismatchException($"Batch schema ({Describe(batch.Schema)}) differs from the writer's schema ({Describe(_logical)}).");
            batch = FieldMapping.Relabel(batch, _schema, null);
        }
        if (!ReferenceEquals(batch.Schema, _schema))
        {
            if (!SchemaMatches(batch.Schema))
                throw new SchemaMismatchException($"Batch schema ({Describe(batch.Schema)}) differs from the writer's schema ({Describe(_schema)}).");
            // Same names and types: present the arrays under the writer's schema (nullability and metadata may differ).
            batch = new RecordBatch(_schema, batch.Arrays, batch.Length);
        }
        var offset = 0;
        while (offset < batch.Length)
        {
            ct.ThrowIfCancellationRequested();
            var part = offset == 0 && batch.Length > 0 ? batch : batch.Slice(offset, batch.Length - offset);
            if (_current is null) OpenAsync(part, ct).GetAwaiter().GetResult();
            var f = _current!;
            if (f.RowGroupPending) StartRowGroup(f);
            var arrowBytes = Math.Max(ArrowSizes.Of(part), 1);
            var bytesPerRow = Math.Max(1.0, arrowBytes * _ratio / part.Length);

            // Rows that fit in the file and in the row group.
            var fileRoom = _options.TargetFileSizeBytes - f.EstimatedSize(_ratio);
            var rowGroupRoom = Math.Min(_options.RowGroupMaxBytes - f.RowGroupArrowBytes * _ratio, fileRoom);
            var take = part.Length;
            take = (int)Math.Min(take, _options.RowGroupMaxRows - f.RowGroupRows);
            if (rowGroupRoom < part.Length * bytesPerRow) take = (int)Math.Min(take, Math.Max(1, rowGroupRoom / bytesPerRow));
            if (take <= 0) take = 1;
            var chunk = take == part.Length ? part : part.Slice(0, take);
            var chunkBytes = take == part.Length ? arrowBytes : Math.Max(ArrowSizes.Of(chunk), 1);

            CheckFloats(chunk, f);
            f.Writer.WriteBufferedRecordBatch(chunk);
            f.Rows += take;
            f.RowGroupRows += take;
            f.RowGroupArrowBytes += chunkBytes;
            offset += take;

            var rowGroupFull = f.RowGroupRows >= _options.RowGroupMaxRows || f.RowGroupArrowBytes * _ratio >= _options.RowGroupMaxBytes;
            if (f.EstimatedSize(_ratio) >= _options.TargetFileSizeBytes)
            {
                CloseCurrent();
            }
            else if (rowGroupFull)
            {
                // Started lazily before the next write, so closing never leaves an empty row group.
                f.RowGroupPending = true;
            }
        }
    }

    private void StartRowGroup(OpenFile f)
    {
        f.Writer.NewBufferedRowGroup();
        f.RowGroupPending = false;
        f.FlushedArrowBytes += f.RowGroupArrowBytes;
        f.RowGroupArrowBytes = 0;
        f.RowGroupRows = 0;
        f.FlushedBytes = f.CurrentSize();
        if (f.FlushedArrowBytes > 0 && f.FlushedBytes > 0) _ratio = Math.Clamp((double)f.FlushedBytes / f.FlushedArrowBytes, 0.01, 4);
    }

    /// <summary>Closes the current file and returns every file written.</summary>
    public Task<IReadOnlyList<WrittenFile>> CompleteAsync(CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(Complete());
    }

    public IReadOnlyList<WrittenFile> Complete()
    {
        try { CloseCurrent(); }
        catch (ParquetException e) when (IsNoSpace(e)) { throw NoSpace(e); }
        return _files;
    }

    /// <summary>
    /// Releases native resources. A file still open (no <see cref="Complete"/>, an error or a cancellation)
    /// is abandoned and deleted from the store, best effort; files already closed stay (uncommitted files
    /// are never read and vacuum removes them).
    /// </summary>
    public void Dispose()
    {
        if (_current is { } f)
        {
            _current = null;
            try { f.Writer.Dispose(); } catch (Exception) { /* already failing */ }
            try
            {
                f.Output?.Dispose();
                f.Stream?.Dispose();
                _store.DeleteAsync(f.Key).GetAwaiter().GetResult();
            }
            catch (Exception) { /* best effort */ }
        }
        _writerProperties?.Dispose();
        _arrowProperties?.Dispose();
    }

    private bool SchemaMatches(Schema other)
    {
        if (ReferenceEquals(other, _schema)) return true;
        if (other.FieldsList.Count != _schema.FieldsList.Count) return false;
        for (var i = 0; i < other.FieldsList.Count; i++)
        {
            var a = other.FieldsList[i];
            var b = _schema.FieldsList[i];
            if (a.Name != b.Name || !TypesEqual(a.DataType, b.DataType)) return false;
        }
        return true;
    }

    private static bool TypesEqual(IArrowType a, IArrowType b) => a.TypeId == b.TypeId && a switch
    {
        TimestampType ta => b is TimestampType tb && ta.Unit == tb.Unit && ta.Timezone == tb.Timezone,
        Decimal128Type da => b is Decimal128Type db && da.Precision == db.Precision && da.Scale == db.Scale,
        _ => true,
    };

    private static string Describe(Schema s) => string.Join(", ", s.FieldsList.Select(f => f.Name + ":" + f.DataType.Name));

    private async Task OpenAsync(RecordBatch first, CancellationToken ct)
    {
        if (_options.Encryption is not null)
        {
            // Encryption properties with explicit keys are single-use in the native writer: fresh ones per file.
            _writerProperties?.Dispose();
            _writerProperties = null;
        }
        _writerProperties ??= BuildWriterProperties(first);
        _arrowProperties ??= BuildArrowProperties();
        var key = _nameFile(_fileIndex++);
        var local = _store.TryGetLocalPath(key);
        if (local is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(local)!);
            var writer = new FileWriter(local, FileSchema(), _writerProperties, _arrowProperties);
            _current = new OpenFile(key, writer, local, null, null, null);
        }
        else
        {
            var stream = await _store.OpenWriteAsync(key, ct);
            var counting = new CountingStream(stream);
            var output = new ManagedOutputStream(counting, leaveOpen: true);
            var writer = new FileWriter(output, FileSchema(), _writerProperties, _arrowProperties);
            _current = new OpenFile(key, writer, null, stream, counting, output);
        }
    }

    /// <summary>The writer's schema with <see cref="ParquetWriteOptions.KeyValueMetadata"/> added (written to the footer).</summary>
    private Schema FileSchema()
    {
        if (_options.KeyValueMetadata is not { Count: > 0 } extra) return _schema;
        var metadata = new Dictionary<string, string>(_schema.Metadata ?? new Dictionary<string, string>());
        foreach (var (k, v) in extra) metadata[k] = v;
        return new Schema(_schema.FieldsList, metadata);
    }

    private void CloseCurrent()
    {
        var f = _current;
        if (f is null) return;
        f.Writer.Close(); // a failure here (a full disk) leaves the file current, so Dispose deletes what was half written
        _current = null;
        f.Writer.Dispose();
        f.Output?.Dispose();
        long size;
        if (f.Counting is not null)
        {
            size = f.Counting.BytesWritten;
            f.Stream!.Dispose(); // the object appears now
        }
        else size = new FileInfo(f.LocalPath!).Length;
        if (f.Rows > 0 && size > 0) _ratio = Math.Clamp((double)size / Math.Max(1, f.FlushedArrowBytes + f.RowGroupArrowBytes), 0.01, 4);

        var noMinMax = f.NonFinite.Count > 0 ? f.NonFinite : null;
        DataFileStats stats;
        long uncompressed = 0;
        using (var reader = OpenFooter(f))
        {
            stats = DataFileStats.FromFooter(reader, _schema, noMinMax);
            var md = reader.FileMetaData;
            for (var g = 0; g < md.NumRowGroups; g++)
            {
                using var rg = reader.RowGroup(g);
                uncompressed += rg.MetaData.TotalByteSize;
            }
        }
        _files.Add(new WrittenFile(f.Key, size, stats.NumRecords, stats, uncompressed));
    }

    private ParquetSharp.ParquetFileReader OpenFooter(OpenFile f)
    {
        if (_options.Encryption is not null)
        {
            using var props = ReaderProperties.GetDefaultReaderProperties();
            props.FileDecryptionProperties = Encryption.TableEncryption.BuildDecryption(_options.Keys!);
            if (f.LocalPath is not null) return new ParquetSharp.ParquetFileReader(f.LocalPath, props);
            var encryptedTail = FooterTail.ReadAsync(_store, f.Key, f.Counting!.BytesWritten, CancellationToken.None).GetAwaiter().GetResult();
            return new ParquetSharp.ParquetFileReader(encryptedTail, props, leaveOpen: false);
        }
        if (f.LocalPath is not null) return new ParquetSharp.ParquetFileReader(f.LocalPath);
        // Remote store: the footer is read back through the store with ranged reads of the file's tail.
        var tail = FooterTail.ReadAsync(_store, f.Key, f.Counting!.BytesWritten, CancellationToken.None).GetAwaiter().GetResult();
        return new ParquetSharp.ParquetFileReader(tail, leaveOpen: false);
    }

    private void CheckFloats(RecordBatch batch, OpenFile f)
    {
        foreach (var c in _floatColumns)
        {
            var name = _schema.FieldsList[c].Name;
            if (f.NonFinite.Contains(name)) continue;
            var data = batch.Column(c).Data;
            var bytes = data.Buffers[1].Span;
            var nonFinite = data.DataType.TypeId == ArrowTypeId.Double
                ? HasNonFinite(MemoryMarshal.Cast<byte, double>(bytes).Slice(data.Offset, data.Length))
                : HasNonFinite(MemoryMarshal.Cast<byte, float>(bytes).Slice(data.Offset, data.Length));
            if (nonFinite) f.NonFinite.Add(name);
        }
    }

    /// <summary>True if any value is NaN or ±infinity (null slots may hold anything; that only costs min/max).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool HasNonFinite<T>(ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated && Vector<T>.IsSupported)
        {
            var vs = MemoryMarshal.Cast<T, Vector<T>>(values);
            // x - x is 0 for finite x and NaN for NaN/inf; NaN != NaN.
            foreach (var v in vs)
            {
                var d = v - v;
                if (!Vector.EqualsAll(d, d)) return true;
            }
            i = vs.Length * Vector<T>.Count;
        }
        for (; i < values.Length; i++) if (!T.IsFinite(values[i])) return true;
        return false;
    }

    private WriterProperties BuildWriterProperties(RecordBatch first)
    {
        using var b = new WriterPropertiesBuilder();
        b.Compression(_options.Codec switch
        {
            ParquetCodec.Zstd => Compression.Zstd,
            ParquetCodec.Gzip => Compression.Gzip,
            ParquetCodec.None => Compression.Uncompressed,
            _ => Compression.Snappy,
        });
        if (_options.CompressionLevel is { } level) b.CompressionLevel(level);
        b.MaxRowGroupLength(_options.RowGroupMaxRows);
        b.EnableStatistics();
        if (_options.Encryption is { } encryption) b.Encryption(encryption.BuildEncryption(_options.Keys!));
        // created_by stays the native writer's "parquet-cpp-arrow version X": readers such as parquet-mr
        // (Spark) ignore string statistics of files whose created_by they cannot parse (PARQUET-251).
        switch (_options.Dictionary)
        {
            case DictionaryPolicy.Always: b.EnableDictionary(); break;
            case DictionaryPolicy.Never: b.DisableDictionary(); break;
            default:
                b.EnableDictionary();
                for (var i = 0; i < _schema.FieldsList.Count; i++)
                {
                    var field = _schema.FieldsList[i];
                    if (field.DataType is StructType or ListType or MapType or DictionaryType) continue;
                    if (!DictionaryAdvisor.UseDictionary(first.Column(i))) b.DisableDictionary(field.Name);
                }
                break;
        }
        IntegerEncodings.Apply(b, _schema);
        return b.Build();
    }

    private ArrowWriterProperties BuildArrowProperties()
    {
        using var b = new ArrowWriterPropertiesBuilder();
        b.StoreSchema();
        b.UseThreads(_options.UseThreads);
        return b.Build();
    }

    private sealed class OpenFile(string key, FileWriter writer, string? localPath, Stream? stream, CountingStream? counting, ManagedOutputStream? output)
    {
        public string Key { get; } = key;
        public FileWriter Writer { get; } = writer;
        public string? LocalPath { get; } = localPath;
        public Stream? Stream { get; } = stream;
        public CountingStream? Counting { get; } = counting;
        public ManagedOutputStream? Output { get; } = output;
        public long Rows;
        public long RowGroupRows;
        public long RowGroupArrowBytes;
        public long FlushedArrowBytes;
        public long FlushedBytes;
        public bool RowGroupPending;
        public readonly HashSet<string> NonFinite = new(StringComparer.Ordinal);

        public long EstimatedSize(double ratio) => FlushedBytes + (long)(RowGroupArrowBytes * ratio);

        public long CurrentSize() => Counting?.BytesWritten ?? (LocalPath is not null && File.Exists(LocalPath) ? new FileInfo(LocalPath).Length : 0);
    }

    private sealed class CountingStream(Stream inner) : Stream
    {
        public long BytesWritten { get; private set; }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => BytesWritten;
        public override long Position { get => BytesWritten; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            BytesWritten += count;
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            BytesWritten += buffer.Length;
        }
    }
}

/// <summary>
/// Integer encodings: decimals of precision up to 18 are stored as INT32/INT64 (not 16-byte big-endian
/// FIXED_LEN_BYTE_ARRAY, which both sides convert value by value), and top-level integer-backed columns
/// (integers, dates, times, timestamps, those decimals) not dictionary-encoded use DELTA_BINARY_PACKED
/// instead of PLAIN: sorted keys, timestamps and bounded ids pack into a few bits per value, so files
/// are about half the size and both encoding and decoding do less work than PLAIN plus the codec.
/// Readers of Delta tables (Spark 3.3+, delta-rs, DuckDB, Polars) all read both.
/// </summary>
internal static class IntegerEncodings
{
    public static void Apply(WriterPropertiesBuilder b, Schema schema)
    {
        b.EnableStoreDecimalAsInteger();
        foreach (var field in schema.FieldsList)
            // A dictionary-encoded column keeps its dictionary; this is then only its fallback encoding.
            if (IsIntegerBacked(field.DataType)) b.Encoding(field.Name, ParquetSharp.Encoding.DeltaBinaryPacked);
    }

    private static bool IsIntegerBacked(IArrowType type) => type switch
    {
        Decimal128Type d => d.Precision <= 18,
        _ => type.TypeId is ArrowTypeId.Int8 or ArrowTypeId.Int16 or ArrowTypeId.Int32 or ArrowTypeId.Int64
            or ArrowTypeId.UInt8 or ArrowTypeId.UInt16 or ArrowTypeId.UInt32 or ArrowTypeId.UInt64
            or ArrowTypeId.Date32 or ArrowTypeId.Time32 or ArrowTypeId.Time64 or ArrowTypeId.Timestamp,
    };
}

/// <summary>
/// Decides dictionary encoding for a column from a sample of the first batch (up to 4096 values):
/// strings and binaries when at most half the sampled values are distinct; numbers, dates and
/// timestamps only when clearly low-cardinality (at most 1 in 10 distinct); booleans never (they are
/// bit-packed already); on when the sample is too small (under 64 values) to judge.
/// </summary>
internal static class DictionaryAdvisor
{
    private const int SampleSize = 4096;
    private const int MinSample = 64;

    public static bool UseDictionary(IArrowArray array)
    {
        var n = Math.Min(array.Length, SampleSize);
        if (n == 0) return true;
        var data = array.Data;
        switch (data.DataType)
        {
            case BooleanType:
                return false;
            case StringType or BinaryType:
                {
                    var bin = (BinaryArray)array;
                    var set = new HashSet<int>();
                    var valid = 0;
                    for (var i = 0; i < n; i++)
                    {
                        if (bin.IsNull(i)) continue;
                        valid++;
                        var h = new HashCode();
                        h.AddBytes(bin.GetBytes(i));
                        set.Add(h.ToHashCode());
                    }
                    // Too few values to judge: keep the dictionary (the native writer falls back to plain
                    // encoding by itself when a column's dictionary page grows past its limit).
                    return valid < MinSample || set.Count <= valid / 2;
                }
            case FixedWidthType fw:
                {
                    var width = fw.BitWidth / 8;
                    if (width is not (1 or 2 or 4 or 8 or 16)) return false;
                    var bytes = data.Buffers[1].Span;
                    var set = new HashSet<Int128>();
                    Span<byte> buf = stackalloc byte[16];
                    for (var i = 0; i < n; i++)
                    {
                        var slice = bytes.Slice((data.Offset + i) * width, width);
                        buf.Clear();
                        slice.CopyTo(buf);
                        set.Add(MemoryMarshal.Read<Int128>(buf));
                    }
                    return n < MinSample || set.Count <= n / 10;
                }
            default:
                return true;
        }
    }
}
