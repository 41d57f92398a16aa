using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Storage;
using ParquetSharp;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Writes a checkpoint of a snapshot and then <c>_last_checkpoint</c>. Tables without the <c>v2Checkpoint</c> feature get a
/// classic single-file Parquet checkpoint (<c>n.checkpoint.parquet</c>) in the protocol's checkpoint schema (columns txn, add,
/// remove, metaData, protocol, and domainMetadata when the table has domains; partitionValues/tags/configuration as
/// map&lt;string,string&gt;, stats as a string). Tables with it get a V2 checkpoint (PROTOCOL.md "V2 Spec"): the add and remove
/// actions in sidecar Parquet files under <c>_delta_log/_sidecars/</c>, then a UUID-named <c>n.checkpoint.UUID.parquet</c>
/// holding the other actions, one checkpointMetadata and a sidecar action per sidecar file. Spark, delta-rs and DuckDB read
/// both. Each file appears atomically (the store writes beside and renames) and the checkpoint itself is written last, so a
/// crash leaves at most unreferenced sidecars, never a checkpoint naming a missing one.
/// </summary>
internal static class CheckpointWriter
{
    private static readonly MapType StringMap = new(new Field("key", StringType.Default, false), new Field("value", StringType.Default, true));
    private static readonly ListType StringList = new(new Field("element", StringType.Default, true));

    /// <summary>At most this many add/remove actions go into one sidecar file.</summary>
    private static int SidecarActionLimit => SidecarActionLimitOverride.Value ?? 100_000;

    /// <summary>Tests lower the limit (for their own async flow only) to get several sidecars.</summary>
    internal static readonly AsyncLocal<int?> SidecarActionLimitOverride = new();

    private static readonly StructType TxnType = new([
        new Field("appId", StringType.Default, true),
        new Field("version", Int64Type.Default, true),
        new Field("lastUpdated", Int64Type.Default, true),
    ]);

    private static readonly StructType DeletionVectorType = new([
        new Field("storageType", StringType.Default, true),
        new Field("pathOrInlineDv", StringType.Default, true),
        new Field("offset", Int32Type.Default, true),
        new Field("sizeInBytes", Int32Type.Default, true),
        new Field("cardinality", Int64Type.Default, true),
    ]);

    private static readonly Field[] AddFields = [
        new Field("path", StringType.Default, true),
        new Field("partitionValues", StringMap, true),
        new Field("size", Int64Type.Default, true),
        new Field("modificationTime", Int64Type.Default, true),
        new Field("dataChange", BooleanType.Default, true),
        new Field("tags", StringMap, true),
        new Field("stats", StringType.Default, true),
    ];

    private static readonly StructType AddType = new(AddFields);

    // Files with a deletion vector or row-tracking fields keep them: a checkpoint without them would change the rows readers see.
    private static readonly StructType AddTypeExtended = new([
        .. AddFields,
        new Field("deletionVector", DeletionVectorType, true),
        new Field("baseRowId", Int64Type.Default, true),
        new Field("defaultRowCommitVersion", Int64Type.Default, true),
    ]);

    private static readonly Field[] RemoveFields = [
        new Field("path", StringType.Default, true),
        new Field("deletionTimestamp", Int64Type.Default, true),
        new Field("dataChange", BooleanType.Default, true),
        new Field("extendedFileMetadata", BooleanType.Default, true),
        new Field("partitionValues", StringMap, true),
        new Field("size", Int64Type.Default, true),
    ];

    private static readonly StructType RemoveType = new(RemoveFields);

    private static readonly StructType RemoveTypeExtended = new([.. RemoveFields, new Field("deletionVector", DeletionVectorType, true)]);

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

    private static readonly StructType DomainMetadataType = new([
        new Field("domain", StringType.Default, true),
        new Field("configuration", StringType.Default, true),
        new Field("removed", BooleanType.Default, true),
    ]);

    private static readonly StructType CheckpointMetadataType = new([
        new Field("version", Int64Type.Default, true),
        new Field("tags", StringMap, true),
    ]);

    private static readonly StructType SidecarType = new([
        new Field("path", StringType.Default, true),
        new Field("sizeInBytes", Int64Type.Default, true),
        new Field("modificationTime", Int64Type.Default, true),
        new Field("tags", StringMap, true),
    ]);

    /// <summary>The classic checkpoint's columns for a table without domains, deletion vectors or row tracking.</summary>
    public static readonly Apache.Arrow.Schema CheckpointSchema = new([
        new Field("txn", TxnType, true),
        new Field("add", AddType, true),
        new Field("remove", RemoveType, true),
        new Field("metaData", MetadataType, true),
        new Field("protocol", ProtocolType, true),
    ], null);

    /// <summary>True when checkpoints of this protocol are V2 (the table has the v2Checkpoint writer feature).</summary>
    public static bool WritesV2(Protocol protocol) =>
        protocol.MinWriterVersion == 7 && (protocol.WriterFeatures ?? []).Contains("v2Checkpoint", StringComparer.Ordinal);

    public static async Task WriteAsync(IObjectStore store, Snapshot snapshot, DeltaTableOptions options, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var retentionStart = options.Clock.GetUtcNow() - options.TombstoneRetention;
        var tombstones = snapshot.TombstoneMap.Values
            .Where(r => r.DeletionTimestamp is null || DateTimeOffset.FromUnixTimeMilliseconds(r.DeletionTimestamp.Value) >= retentionStart)
            .ToList();
        var adds = snapshot.FileMap.Values.ToList();
        var addType = adds.Any(a => a.DeletionVector is not null || a.BaseRowId is not null || a.DefaultRowCommitVersion is not null) ? AddTypeExtended : AddType;
        var removeType = tombstones.Any(r => r.DeletionVector is not null) ? RemoveTypeExtended : RemoveType;

        if (WritesV2(snapshot.Protocol))
        {
            await WriteV2Async(store, snapshot, adds, tombstones, addType, removeType, ct).ConfigureAwait(false);
            Metrics.LakeMetrics.RecordCheckpoint(store.Location, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            return;
        }

        var columns = new List<(string, StructType)> { ("txn", TxnType), ("add", addType), ("remove", removeType), ("metaData", MetadataType), ("protocol", ProtocolType) };
        if (!snapshot.DomainMap.IsEmpty) columns.Add(("domainMetadata", DomainMetadataType));
        var rows = new Rows(columns);
        AddNonFileActions(rows, snapshot);
        foreach (var a in adds) rows.Row("add", b => FillAdd(b, a, addType));
        foreach (var r in tombstones) rows.Row("remove", b => FillRemove(b, r, removeType));

        var bytes = rows.ToParquet();
        await store.WriteAsync(DeltaPaths.CheckpointKey(snapshot.Version), bytes, ct).ConfigureAwait(false);

        var last = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, long>
        {
            ["version"] = snapshot.Version,
            ["size"] = rows.Count,
            ["sizeInBytes"] = bytes.Length,
            ["numOfAddFiles"] = adds.Count,
        });
        await store.WriteAsync(DeltaPaths.LastCheckpointKey, last, ct).ConfigureAwait(false);
        Metrics.LakeMetrics.RecordCheckpoint(store.Location, System.Diagnostics.Stopwatch.GetElapsedTime(started));
    }

    private static async Task WriteV2Async(IObjectStore store, Snapshot snapshot, List<AddFile> adds, List<RemoveFile> tombstones,
        StructType addType, StructType removeType, CancellationToken ct)
    {
        // Sidecars first: the checkpoint that names them is written only once they all exist.
        var sidecars = new List<(string Name, long Size, long ModificationTime, int Actions)>();
        var fileColumns = new List<(string, StructType)> { ("add", addType), ("remove", removeType) };
        var limit = Math.Max(1, SidecarActionLimit);
        var actions = adds.Select(a => (Add: (AddFile?)a, Remove: (RemoveFile?)null)).Concat(tombstones.Select(r => (Add: (AddFile?)null, Remove: (RemoveFile?)r)));
        foreach (var chunk in actions.Chunk(limit))
        {
            var rows = new Rows(fileColumns);
            foreach (var (a, r) in chunk)
            {
                if (a is not null) rows.Row("add", b => FillAdd(b, a, addType));
                else rows.Row("remove", b => FillRemove(b, r!, removeType));
            }
            var bytes = rows.ToParquet();
            var name = Guid.NewGuid().ToString("D") + ".parquet";
            var key = CheckpointReader.SidecarPrefix + name;
            await store.WriteAsync(key, bytes, ct).ConfigureAwait(false);
            var written = await store.HeadAsync(key, ct).ConfigureAwait(false);
            sidecars.Add((name, bytes.Length, (written?.LastModified ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds(), rows.Count));
        }

        var top = new Rows([
            ("txn", TxnType), ("metaData", MetadataType), ("protocol", ProtocolType), ("domainMetadata", DomainMetadataType),
            ("checkpointMetadata", CheckpointMetadataType), ("sidecar", SidecarType),
        ]);
        top.Row("checkpointMetadata", b => b.Begin().Long(snapshot.Version).Map(null));
        AddNonFileActions(top, snapshot);
        foreach (var sc in sidecars)
            top.Row("sidecar", b => b.Begin().Str(DeltaPaths.EncodePath(sc.Name)).Long(sc.Size).Long(sc.ModificationTime).Map(null));
        var topBytes = top.ToParquet();
        var checkpointName = snapshot.Version.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + ".checkpoint." + Guid.NewGuid().ToString("D") + ".parquet";
        var checkpointKey = DeltaPaths.LogPrefix + checkpointName;
        await store.WriteAsync(checkpointKey, topBytes, ct).ConfigureAwait(false);
        var info = await store.HeadAsync(checkpointKey, ct).ConfigureAwait(false);

        // _last_checkpoint as Spark writes it for V2: sizes count the sidecars; v2Checkpoint names the top-level file.
        var last = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["version"] = snapshot.Version,
            ["size"] = top.Count + sidecars.Sum(s => s.Actions),
            ["sizeInBytes"] = topBytes.Length + sidecars.Sum(s => s.Size),
            ["numOfAddFiles"] = adds.Count,
            ["v2Checkpoint"] = new Dictionary<string, object>
            {
                ["path"] = checkpointName,
                ["sizeInBytes"] = topBytes.Length,
                ["modificationTime"] = (info?.LastModified ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds(),
            },
        });
        await store.WriteAsync(DeltaPaths.LastCheckpointKey, last, ct).ConfigureAwait(false);
    }

    private static void AddNonFileActions(Rows rows, Snapshot snapshot)
    {
        rows.Row("protocol", b => b.Begin()
            .Int(snapshot.Protocol.MinReaderVersion).Int(snapshot.Protocol.MinWriterVersion)
            .List(snapshot.Protocol.ReaderFeatures).List(snapshot.Protocol.WriterFeatures));
        var md = snapshot.Metadata;
        rows.Row("metaData", b => b.Begin()
            .Str(md.Id).Str(md.Name).Str(md.Description)
            .Struct(s => s.Begin().Str(md.Format.Provider).Map(md.Format.Options.ToDictionary(p => p.Key, p => (string?)p.Value)))
            .Str(md.SchemaString).List(md.PartitionColumns)
            .Map(md.Configuration.ToDictionary(p => p.Key, p => (string?)p.Value)).Long(md.CreatedTime));
        foreach (var t in snapshot.TxnMap.Values)
            rows.Row("txn", b => b.Begin().Str(t.AppId).Long(t.Version).Long(t.LastUpdated));
        // Removed domains are not in the map: a checkpoint keeps only live ones (PROTOCOL.md "Checkpoints").
        foreach (var d in snapshot.DomainMap.Values.OrderBy(d => d.Domain, StringComparer.Ordinal))
            rows.Row("domainMetadata", b => b.Begin().Str(d.Domain).Str(d.Configuration).Bool(false));
    }

    private static void FillAdd(StructBuilder b, AddFile a, StructType type)
    {
        b.Begin().Str(a.Path).Map(a.PartitionValues).Long(a.Size).Long(a.ModificationTime).Bool(a.DataChange).Map(a.Tags).Str(a.Stats);
        if (type == AddTypeExtended) b.Struct(s => FillDv(s, a.DeletionVector)).Long(a.BaseRowId).Long(a.DefaultRowCommitVersion);
    }

    private static void FillRemove(StructBuilder b, RemoveFile r, StructType type)
    {
        b.Begin().Str(r.Path).Long(r.DeletionTimestamp).Bool(r.DataChange).Bool(r.ExtendedFileMetadata).Map(r.PartitionValues).Long(r.Size);
        if (type == RemoveTypeExtended) b.Struct(s => FillDv(s, r.DeletionVector));
    }

    private static void FillDv(StructBuilder s, DeletionVectorDescriptor? dv)
    {
        if (dv is null) s.AppendNull();
        else s.Begin().Str(dv.StorageType).Str(dv.PathOrInlineDv).Int(dv.Offset).Int(dv.SizeInBytes).Long(dv.Cardinality);
    }

    /// <summary>The rows of one checkpoint file: one struct column per action kind; each row fills one and leaves the others null.</summary>
    private sealed class Rows
    {
        private readonly List<(string Name, StructType Type, StructBuilder Builder)> _columns;

        public Rows(IEnumerable<(string Name, StructType Type)> columns) =>
            _columns = columns.Select(c => (c.Name, c.Type, new StructBuilder(c.Type))).ToList();

        public int Count { get; private set; }

        public void Row(string column, Action<StructBuilder> fill)
        {
            foreach (var (name, _, builder) in _columns)
            {
                if (name == column) fill(builder);
                else builder.AppendNull();
            }
            Count++;
        }

        public byte[] ToParquet()
        {
            var schema = new Apache.Arrow.Schema(_columns.Select(c => new Field(c.Name, c.Type, true)), null);
            using var batch = new RecordBatch(schema, _columns.Select(c => (IArrowArray)c.Builder.Build()).ToList(), Count);
            using var buffer = new MemoryStream();
            using (var props = new WriterPropertiesBuilder().Compression(Compression.Snappy).Build())
            using (var writer = new ParquetSharp.Arrow.FileWriter(buffer, schema, props, leaveOpen: true))
            {
                writer.WriteRecordBatch(batch);
                writer.Close();
            }
            return buffer.ToArray();
        }
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
