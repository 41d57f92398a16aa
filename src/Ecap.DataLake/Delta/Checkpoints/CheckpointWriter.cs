using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Storage;
using ParquetSharp;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Writes a single-file Parquet checkpoint of a snapshot in the protocol's checkpoint schema (columns txn,
/// add, remove, metaData, protocol; partitionValues/tags/configuration as map&lt;string,string&gt;, stats as
/// a string) and then <c>_last_checkpoint</c>. Spark, delta-rs and DuckDB read it. The file appears
/// atomically (the store writes beside and renames), so a crash leaves no partial checkpoint under its name.
/// </summary>
internal static class CheckpointWriter
{
    private static readonly MapType StringMap = new(new Field("key", StringType.Default, false), new Field("value", StringType.Default, true));
    private static readonly ListType StringList = new(new Field("element", StringType.Default, true));

    private static readonly StructType TxnType = new([
        new Field("appId", StringType.Default, true),
        new Field("version", Int64Type.Default, true),
        new Field("lastUpdated", Int64Type.Default, true),
    ]);

    // Written on every add and remove (null without a vector): replay keys files by path and vector id.
    private static readonly StructType DeletionVectorType = new([
        new Field("storageType", StringType.Default, true),
        new Field("pathOrInlineDv", StringType.Default, true),
        new Field("offset", Int32Type.Default, true),
        new Field("sizeInBytes", Int32Type.Default, true),
        new Field("cardinality", Int64Type.Default, true),
    ]);

    private static readonly StructType AddType = new([
        new Field("path", StringType.Default, true),
        new Field("partitionValues", StringMap, true),
        new Field("size", Int64Type.Default, true),
        new Field("modificationTime", Int64Type.Default, true),
        new Field("dataChange", BooleanType.Default, true),
        new Field("tags", StringMap, true),
        new Field("stats", StringType.Default, true),
        new Field("deletionVector", DeletionVectorType, true),
    ]);

    private static readonly StructType RemoveType = new([
        new Field("path", StringType.Default, true),
        new Field("deletionTimestamp", Int64Type.Default, true),
        new Field("dataChange", BooleanType.Default, true),
        new Field("extendedFileMetadata", BooleanType.Default, true),
        new Field("partitionValues", StringMap, true),
        new Field("size", Int64Type.Default, true),
        new Field("deletionVector", DeletionVectorType, true),
    ]);

    private static readonly StructType FormatType = new([
        new Field("provider", StringType.Default, true),
        new Field("options", StringMap, true),
    ]);

    private static readonly StructType MetadataType = new([
        new Field("id", StringType.Default, true),
        new Field("name", StringType.Default, true),
        new Field("description", StringType.Default, true),
        new Field("format", FormatType, true),
        new Field("schemaString", StringType.Default, true),
        new Field("partitionColumns", StringList, true),
        new Field("configuration", StringMap, true),
        new Field("createdTime", Int64Type.Default, true),
    ]);

    private static readonly StructType ProtocolType = new([
        new Field("minReaderVersion", Int32Type.Default, true),
        new Field("minWriterVersion", Int32Type.Default, true),
        new Field("readerFeatures", StringList, true),
        new Field("writerFeatures", StringList, true),
    ]);

    public static readonly Apache.Arrow.Schema CheckpointSchema = new([
        new Field("txn", TxnType, true),
        new Field("add", AddType, true),
        new Field("remove", RemoveType, true),
        new Field("metaData", MetadataType, true),
        new Field("protocol", ProtocolType, true),
    ], null);

    public static async Task WriteAsync(IObjectStore store, Snapshot snapshot, DeltaTableOptions options, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var retentionStart = options.Clock.GetUtcNow() - options.TombstoneRetention;
        var tombstones = snapshot.TombstoneMap.Values
            .Where(r => r.DeletionTimestamp is null || DateTimeOffset.FromUnixTimeMilliseconds(r.DeletionTimestamp.Value) >= retentionStart)
            .ToList();
        var txns = snapshot.TxnMap.Values.ToList();
        var adds = snapshot.FileMap.Values.ToList();

        var txn = new StructBuilder(TxnType);
        var add = new StructBuilder(AddType);
        var remove = new StructBuilder(RemoveType);
        var meta = new StructBuilder(MetadataType);
        var protocol = new StructBuilder(ProtocolType);
        var all = new[] { txn, add, remove, meta, protocol };

        void Row(StructBuilder which, Action<StructBuilder> fill)
        {
            foreach (var b in all)
            {
                if (b == which) fill(b);
                else b.AppendNull();
            }
        }

        Row(protocol, b => b.Begin()
            .Int(snapshot.Protocol.MinReaderVersion).Int(snapshot.Protocol.MinWriterVersion)
            .List(snapshot.Protocol.ReaderFeatures).List(snapshot.Protocol.WriterFeatures));
        var md = snapshot.Metadata;
        Row(meta, b => b.Begin()
            .Str(md.Id).Str(md.Name).Str(md.Description)
            .Struct(s => s.Begin().Str(md.Format.Provider).Map(md.Format.Options.ToDictionary(p => p.Key, p => (string?)p.Value)))
            .Str(md.SchemaString).List(md.PartitionColumns)
            .Map(md.Configuration.ToDictionary(p => p.Key, p => (string?)p.Value)).Long(md.CreatedTime));
        foreach (var t in txns)
            Row(txn, b => b.Begin().Str(t.AppId).Long(t.Version).Long(t.LastUpdated));
        foreach (var a in adds)
            Row(add, b => b.Begin().Str(a.Path).Map(a.PartitionValues).Long(a.Size).Long(a.ModificationTime).Bool(a.DataChange).Map(a.Tags).Str(a.Stats).Dv(a.DeletionVector));
        foreach (var r in tombstones)
            Row(remove, b => b.Begin().Str(r.Path).Long(r.DeletionTimestamp).Bool(r.DataChange).Bool(r.ExtendedFileMetadata).Map(r.PartitionValues).Long(r.Size).Dv(r.DeletionVector));

        var rows = 2 + txns.Count + adds.Count + tombstones.Count;
        using var batch = new RecordBatch(CheckpointSchema, all.Select(b => b.Build()).ToList(), rows);

        byte[] bytes;
        using (var buffer = new MemoryStream())
        {
            using (var props = new WriterPropertiesBuilder().Compression(Compression.Snappy).Build())
            using (var writer = new ParquetSharp.Arrow.FileWriter(buffer, CheckpointSchema, props, leaveOpen: true))
            {
                writer.WriteRecordBatch(batch);
                writer.Close();
            }
            bytes = buffer.ToArray();
        }
        await store.WriteAsync(DeltaPaths.CheckpointKey(snapshot.Version), bytes, ct).ConfigureAwait(false);

        var last = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, long>
        {
            ["version"] = snapshot.Version,
            ["size"] = rows,
            ["sizeInBytes"] = bytes.Length,
            ["numOfAddFiles"] = adds.Count,
        });
        await store.WriteAsync(DeltaPaths.LastCheckpointKey, last, ct).ConfigureAwait(false);
        Metrics.LakeMetrics.RecordCheckpoint(store.Location, System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// Builds one struct column row by row: each row either fills every child in field order (after
    /// <see cref="Begin"/>) or is null (every child null). Children are built by <see cref="ChildBuilder"/>s.
    /// </summary>
    private sealed class StructBuilder
    {
        private readonly StructType _type;
        private readonly List<ChildBuilder> _children;
        private readonly ArrowBuffer.BitmapBuilder _validity = new();
        private int _nulls;
        private int _next;

        public StructBuilder(StructType type)
        {
            _type = type;
            _children = type.Fields.Select(f => new ChildBuilder(f.DataType)).ToList();
        }

        public int Length => _validity.Length;

        public StructBuilder Begin()
        {
            _validity.Append(true);
            _next = 0;
            return this;
        }

        public void AppendNull()
        {
            _validity.Append(false);
            _nulls++;
            foreach (var c in _children) c.AppendNull();
        }

        private ChildBuilder Next() => _children[_next++];

        public StructBuilder Str(string? v) { Next().Str(v); return this; }
        public StructBuilder Long(long? v) { Next().Long(v); return this; }
        public StructBuilder Int(int? v) { Next().Int(v); return this; }
        public StructBuilder Bool(bool? v) { Next().Bool(v); return this; }
        public StructBuilder Map(IReadOnlyDictionary<string, string?>? v) { Next().Map(v); return this; }
        public StructBuilder List(IReadOnlyList<string>? v) { Next().List(v); return this; }
        public StructBuilder Struct(Action<StructBuilder> fill) { Next().Struct!.Apply(fill); return this; }

        public StructBuilder Dv(DeletionVectorDescriptor? dv)
        {
            if (dv is null)
            {
                Next().AppendNull();
                return this;
            }
            return Struct(s => s.Begin().Str(dv.StorageType).Str(dv.PathOrInlineDv).Int(dv.Offset).Int(dv.SizeInBytes).Long(dv.Cardinality));
        }

        private void Apply(Action<StructBuilder> fill)
        {
            var saved = _next;
            fill(this);
            _next = saved;
        }

        public StructArray Build() =>
            new(_type, Length, _children.Select(c => c.Build()).ToList(), _nulls == 0 ? ArrowBuffer.Empty : _validity.Build(), _nulls);
    }

    private sealed class ChildBuilder
    {
        private readonly IArrowType _type;
        private readonly StringArray.Builder? _str;
        private readonly Int64Array.Builder? _long;
        private readonly Int32Array.Builder? _int;
        private readonly BooleanArray.Builder? _bool;
        public readonly StructBuilder? Struct;
        // map and list: offsets, validity, and string keys/values
        private readonly ArrowBuffer.Builder<int>? _offsets;
        private readonly ArrowBuffer.BitmapBuilder? _validity;
        private readonly StringArray.Builder? _keys;
        private readonly StringArray.Builder? _values;
        private int _count;
        private int _nulls;
        private int _items;

        public ChildBuilder(IArrowType type)
        {
            _type = type;
            switch (type)
            {
                case StringType: _str = new StringArray.Builder(); break;
                case Int64Type: _long = new Int64Array.Builder(); break;
                case Int32Type: _int = new Int32Array.Builder(); break;
                case BooleanType: _bool = new BooleanArray.Builder(); break;
                case StructType st: Struct = new StructBuilder(st); break;
                case MapType or ListType:
                    _offsets = new ArrowBuffer.Builder<int>();
                    _offsets.Append(0);
                    _validity = new ArrowBuffer.BitmapBuilder();
                    _keys = new StringArray.Builder();
                    _values = new StringArray.Builder();
                    break;
                default: throw new NotSupportedException(type.Name);
            }
        }

        public void AppendNull()
        {
            if (_str is not null) _str.AppendNull();
            else if (_long is not null) _long.AppendNull();
            else if (_int is not null) _int.AppendNull();
            else if (_bool is not null) _bool.AppendNull();
            else if (Struct is not null) Struct.AppendNull();
            else
            {
                _validity!.Append(false);
                _nulls++;
                _count++;
                _offsets!.Append(_items);
            }
        }

        public void Str(string? v) { if (v is null) _str!.AppendNull(); else _str!.Append(v); }
        public void Long(long? v) { if (v is null) _long!.AppendNull(); else _long!.Append(v.Value); }
        public void Int(int? v) { if (v is null) _int!.AppendNull(); else _int!.Append(v.Value); }
        public void Bool(bool? v) { if (v is null) _bool!.AppendNull(); else _bool!.Append(v.Value); }

        public void Map(IReadOnlyDictionary<string, string?>? map)
        {
            if (map is null) { AppendNull(); return; }
            foreach (var (k, v) in map)
            {
                _keys!.Append(k);
                if (v is null) _values!.AppendNull();
                else _values!.Append(v);
                _items++;
            }
            _validity!.Append(true);
            _count++;
            _offsets!.Append(_items);
        }

        public void List(IReadOnlyList<string>? list)
        {
            if (list is null) { AppendNull(); return; }
            foreach (var v in list)
            {
                _values!.Append(v);
                _items++;
            }
            _validity!.Append(true);
            _count++;
            _offsets!.Append(_items);
        }

        public IArrowArray Build()
        {
            if (_str is not null) return _str.Build();
            if (_long is not null) return _long.Build();
            if (_int is not null) return _int.Build();
            if (_bool is not null) return _bool.Build();
            if (Struct is not null) return Struct.Build();
            var validity = _nulls == 0 ? ArrowBuffer.Empty : _validity!.Build();
            if (_type is MapType mt)
            {
                var keys = _keys!.Build();
                var values = _values!.Build();
                var entries = new StructArray(new StructType([mt.KeyField, mt.ValueField]), keys.Length, [keys, values], ArrowBuffer.Empty, 0);
                return new MapArray(mt, _count, _offsets!.Build(), entries, validity, _nulls);
            }
            return new ListArray(_type, _count, _offsets!.Build(), _values!.Build(), validity, _nulls);
        }
    }
}
