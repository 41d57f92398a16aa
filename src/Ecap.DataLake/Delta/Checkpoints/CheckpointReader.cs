using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Reads a Parquet checkpoint (one file or all parts of a multi-part one) with ParquetSharp's Arrow reader.
/// Columns are structs named after the actions (add, remove, metaData, protocol, txn, domainMetadata); a row
/// is the action whose struct is not null. Columns a writer left out (stats_parsed, tags, deletionVector)
/// read as absent.
/// </summary>
internal static class CheckpointReader
{
    public static async Task ReadAsync(IObjectStore store, CheckpointRef checkpoint, ReplayState state, CancellationToken ct)
    {
        foreach (var key in checkpoint.PartKeys)
        {
            try
            {
                await ReadPartAsync(store, key, state, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException and not DataLakeException)
            {
                throw new CorruptTableException($"Checkpoint file '{key}' cannot be read: {e.Message}", e);
            }
        }
    }

    private static async Task ReadPartAsync(IObjectStore store, string key, ReplayState state, CancellationToken ct)
    {
        var local = store.TryGetLocalPath(key);
        Stream? stream = null;
        ParquetSharp.Arrow.FileReader reader;
        if (local is not null)
            reader = new ParquetSharp.Arrow.FileReader(local);
        else
        {
            stream = new MemoryStream(await store.ReadAllAsync(key, ct), writable: false);
            reader = new ParquetSharp.Arrow.FileReader(stream);
        }
        try
        {
            using var batches = reader.GetRecordBatchReader();
            while (await batches.ReadNextRecordBatchAsync(ct) is { } batch)
            {
                using (batch)
                    ReadBatch(batch, state, key);
            }
        }
        finally
        {
            reader.Dispose();
            stream?.Dispose();
        }
    }

    private static void ReadBatch(RecordBatch batch, ReplayState state, string key)
    {
        var add = Column(batch, "add");
        var remove = Column(batch, "remove");
        var metaData = Column(batch, "metaData");
        var protocol = Column(batch, "protocol");
        var txn = Column(batch, "txn");
        var domain = Column(batch, "domainMetadata");
        for (var i = 0; i < batch.Length; i++)
        {
            if (add is not null && !add.IsNull(i)) state.ApplyCheckpointAction(new DeltaAction(Add: ReadAdd(add, i, key)));
            else if (remove is not null && !remove.IsNull(i)) state.ApplyCheckpointAction(new DeltaAction(Remove: ReadRemove(remove, i, key)));
            else if (metaData is not null && !metaData.IsNull(i)) state.ApplyCheckpointAction(new DeltaAction(Metadata: ReadMetadata(metaData, i, key)));
            else if (protocol is not null && !protocol.IsNull(i))
                state.ApplyCheckpointAction(new DeltaAction(Protocol: new Protocol(
                    (int)(Long(Child(protocol, "minReaderVersion"), i) ?? throw Missing(key, "protocol.minReaderVersion")),
                    (int)(Long(Child(protocol, "minWriterVersion"), i) ?? throw Missing(key, "protocol.minWriterVersion")),
                    StringList(Child(protocol, "readerFeatures"), i),
                    StringList(Child(protocol, "writerFeatures"), i))));
            else if (txn is not null && !txn.IsNull(i))
                state.ApplyCheckpointAction(new DeltaAction(Txn: new SetTransaction(
                    Str(Child(txn, "appId"), i) ?? throw Missing(key, "txn.appId"),
                    Long(Child(txn, "version"), i) ?? throw Missing(key, "txn.version"),
                    Long(Child(txn, "lastUpdated"), i))));
            else if (domain is not null && !domain.IsNull(i))
                state.ApplyCheckpointAction(new DeltaAction(DomainMetadata: new DomainMetadata(
                    Str(Child(domain, "domain"), i) ?? throw Missing(key, "domainMetadata.domain"),
                    Str(Child(domain, "configuration"), i) ?? "",
                    Bool(Child(domain, "removed"), i) ?? false)));
        }
    }

    private static CorruptTableException Missing(string key, string field) =>
        new($"Checkpoint file '{key}' has an action without its required field '{field}'.");

    private static AddFile ReadAdd(StructArray s, int i, string key) => new()
    {
        Path = Str(Child(s, "path"), i) ?? throw Missing(key, "add.path"),
        PartitionValues = Map(Child(s, "partitionValues"), i) ?? new Dictionary<string, string?>(),
        Size = Long(Child(s, "size"), i) ?? throw Missing(key, "add.size"),
        ModificationTime = Long(Child(s, "modificationTime"), i) ?? 0,
        DataChange = Bool(Child(s, "dataChange"), i) ?? false,
        Stats = Str(Child(s, "stats"), i),
        Tags = Map(Child(s, "tags"), i),
        DeletionVector = ReadDv(Child(s, "deletionVector") as StructArray, i),
        BaseRowId = Long(Child(s, "baseRowId"), i),
        DefaultRowCommitVersion = Long(Child(s, "defaultRowCommitVersion"), i),
    };

    private static RemoveFile ReadRemove(StructArray s, int i, string key) => new()
    {
        Path = Str(Child(s, "path"), i) ?? throw Missing(key, "remove.path"),
        DeletionTimestamp = Long(Child(s, "deletionTimestamp"), i),
        DataChange = Bool(Child(s, "dataChange"), i) ?? false,
        ExtendedFileMetadata = Bool(Child(s, "extendedFileMetadata"), i),
        PartitionValues = Map(Child(s, "partitionValues"), i),
        Size = Long(Child(s, "size"), i),
        DeletionVector = ReadDv(Child(s, "deletionVector") as StructArray, i),
    };

    private static DeletionVectorDescriptor? ReadDv(StructArray? s, int i)
    {
        if (s is null || s.IsNull(i)) return null;
        var storage = Str(Child(s, "storageType"), i);
        var path = Str(Child(s, "pathOrInlineDv"), i);
        if (storage is null || path is null) return null;
        return new DeletionVectorDescriptor(storage, path, (int?)Long(Child(s, "offset"), i),
            (int)(Long(Child(s, "sizeInBytes"), i) ?? 0), Long(Child(s, "cardinality"), i) ?? 0);
    }

    private static Metadata ReadMetadata(StructArray s, int i, string key)
    {
        var format = Format.Parquet;
        if (Child(s, "format") is StructArray f && !f.IsNull(i))
            format = new Format(Str(Child(f, "provider"), i) ?? "parquet",
                (Map(Child(f, "options"), i) ?? new Dictionary<string, string?>()).Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!));
        return new Metadata
        {
            Id = Str(Child(s, "id"), i) ?? throw Missing(key, "metaData.id"),
            Name = Str(Child(s, "name"), i),
            Description = Str(Child(s, "description"), i),
            Format = format,
            SchemaString = Str(Child(s, "schemaString"), i) ?? DeltaSchema.EmptySchemaString,
            PartitionColumns = StringList(Child(s, "partitionColumns"), i) ?? [],
            Configuration = (Map(Child(s, "configuration"), i) ?? new Dictionary<string, string?>())
                .Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!),
            CreatedTime = Long(Child(s, "createdTime"), i),
        };
    }

    // ---------------------------------------------------------------- Arrow accessors

    private static StructArray? Column(RecordBatch batch, string name)
    {
        var index = batch.Schema.GetFieldIndex(name);
        return index < 0 ? null : batch.Column(index) as StructArray;
    }

    private static IArrowArray? Child(StructArray s, string name)
    {
        var index = ((StructType)s.Data.DataType).GetFieldIndex(name);
        return index < 0 ? null : s.Fields[index];
    }

    private static string? Str(IArrowArray? a, int i) => a switch
    {
        null => null,
        _ when a.IsNull(i) => null,
        StringArray s => s.GetString(i),
        LargeStringArray s => s.GetString(i),
        StringViewArray s => s.GetString(i),
        DictionaryArray d => Str(d.Dictionary, (int)(Long(d.Indices, i) ?? 0)),
        _ => throw new InvalidDataException($"expected a string column, found {a.Data.DataType.Name}"),
    };

    private static long? Long(IArrowArray? a, int i) => a switch
    {
        null => null,
        _ when a.IsNull(i) => null,
        Int64Array x => x.GetValue(i),
        Int32Array x => x.GetValue(i),
        Int16Array x => x.GetValue(i),
        Int8Array x => x.GetValue(i),
        UInt32Array x => x.GetValue(i),
        UInt16Array x => x.GetValue(i),
        UInt8Array x => x.GetValue(i),
        _ => throw new InvalidDataException($"expected an integer column, found {a.Data.DataType.Name}"),
    };

    private static bool? Bool(IArrowArray? a, int i) => a switch
    {
        null => null,
        _ when a.IsNull(i) => null,
        BooleanArray b => b.GetValue(i),
        _ => throw new InvalidDataException($"expected a boolean column, found {a.Data.DataType.Name}"),
    };

    private static Dictionary<string, string?>? Map(IArrowArray? a, int i)
    {
        if (a is not MapArray m || m.IsNull(i)) return null;
        var start = m.ValueOffsets[i];
        var end = m.ValueOffsets[i + 1];
        var map = new Dictionary<string, string?>(end - start);
        for (var j = start; j < end; j++)
            map[Str(m.Keys, j)!] = Str(m.Values, j);
        return map;
    }

    private static List<string>? StringList(IArrowArray? a, int i)
    {
        if (a is not ListArray l || l.IsNull(i)) return null;
        var start = l.ValueOffsets[i];
        var end = l.ValueOffsets[i + 1];
        var list = new List<string>(end - start);
        for (var j = start; j < end; j++) list.Add(Str(l.Values, j)!);
        return list;
    }
}
