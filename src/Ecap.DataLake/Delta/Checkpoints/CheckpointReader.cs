using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Reads a checkpoint into a replay state: a classic or multi-part Parquet checkpoint with ParquetSharp's Arrow reader,
/// or a V2 one (PROTOCOL.md "V2 Spec": UUID-named, in JSON or Parquet, or classic-named with V2 content). Parquet columns
/// are structs named after the actions (add, remove, metaData, protocol, txn, domainMetadata, checkpointMetadata, sidecar);
/// a row is the action whose struct is not null. Columns a writer left out (stats_parsed, tags, deletionVector) read as
/// absent. A V2 checkpoint's <c>sidecar</c> actions name Parquet files in <c>_delta_log/_sidecars/</c> holding its add and
/// remove actions: they are read after the checkpoint itself, one file at a time, batch by batch.
/// </summary>
internal static class CheckpointReader
{
    public const string SidecarPrefix = DeltaPaths.LogPrefix + "_sidecars/";

    /// <summary>A sidecar action: a file of <c>_delta_log/_sidecars/</c> (path relative to it, URI-encoded) and its size.</summary>
    internal sealed record Sidecar(string Path, long SizeInBytes, long? ModificationTime);

    /// <summary>What the V2-only actions of a checkpoint said: checkpointMetadata versions and sidecars.</summary>
    private sealed class V2Actions
    {
        public List<long?> CheckpointMetadataVersions { get; } = new();
        public List<Sidecar> Sidecars { get; } = new();
        public long FileActions;
    }

    public static async Task ReadAsync(IObjectStore store, CheckpointRef checkpoint, ReplayState state, CancellationToken ct)
    {
        var v2 = new V2Actions();
        foreach (var key in checkpoint.PartKeys)
        {
            try
            {
                if (key.EndsWith(".json", StringComparison.Ordinal)) await ReadJsonAsync(store, key, state, v2, ct).ConfigureAwait(false);
                else await ReadPartAsync(store, key, state, v2, sidecar: false, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException and not DataLakeException)
            {
                throw new CorruptTableException($"Checkpoint file '{key}' cannot be read: {e.Message}", e);
            }
        }
        var first = checkpoint.PartKeys[0];
        var isV2 = checkpoint.UuidNamed || v2.CheckpointMetadataVersions.Count > 0 || v2.Sidecars.Count > 0;
        if (!isV2) return;
        // PROTOCOL.md "V2 Spec": exactly one checkpointMetadata; sidecars only in a single-file checkpoint; all file
        // actions either inline or in sidecars. A checkpoint breaking these rules is damage (or a writer's bug): not trusted.
        if (v2.CheckpointMetadataVersions.Count != 1)
            throw new CorruptTableException(
                $"V2 checkpoint '{first}' has {v2.CheckpointMetadataVersions.Count} checkpointMetadata actions; the protocol requires exactly one.");
        if (v2.CheckpointMetadataVersions[0] is { } mv && mv != checkpoint.Version)
            throw new CorruptTableException($"V2 checkpoint '{first}' says it is of version {mv} (checkpointMetadata) but its name says {checkpoint.Version}.");
        if (checkpoint.PartKeys.Count > 1)
            throw new CorruptTableException($"Multi-part checkpoint '{first}' holds V2 actions (checkpointMetadata, sidecar), which multi-part checkpoints cannot.");
        if (v2.Sidecars.Count > 0 && v2.FileActions > 0)
            throw new CorruptTableException(
                $"V2 checkpoint '{first}' holds add/remove actions and sidecar files; the protocol allows one or the other.");
        foreach (var sidecar in v2.Sidecars)
        {
            var key = SidecarKey(sidecar.Path, first, state.TableRoot);
            try
            {
                var head = await store.HeadAsync(key, ct).ConfigureAwait(false)
                           ?? throw new CorruptTableException($"Sidecar file '{key}' of checkpoint '{first}' does not exist.");
                if (head.Size != sidecar.SizeInBytes)
                    throw new CorruptTableException(
                        $"Sidecar file '{key}' of checkpoint '{first}' is {head.Size} bytes but the checkpoint says {sidecar.SizeInBytes}: it is damaged or not the one referenced.");
                await ReadPartAsync(store, key, state, v2, sidecar: true, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException and not DataLakeException)
            {
                throw new CorruptTableException($"Sidecar file '{key}' of checkpoint '{first}' cannot be read: {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// The object key of a sidecar: its path is relative to <c>_delta_log/_sidecars/</c> (a file name, as writers are told to
    /// store), or an absolute URI of a file in that folder of this table.
    /// </summary>
    internal static string SidecarKey(string path, string checkpointKey, string? tableRoot)
    {
        if (path.Contains("://", StringComparison.Ordinal))
        {
            var key = DeltaPaths.DecodePath(DeltaPaths.InTable(path, tableRoot));
            if (!key.StartsWith(SidecarPrefix, StringComparison.Ordinal) || key.IndexOf('/', SidecarPrefix.Length) >= 0)
                throw new CorruptTableException($"Checkpoint '{checkpointKey}' names sidecar '{path}', which is not a file inside the table's _delta_log/_sidecars/.");
            return key;
        }
        var name = DeltaPaths.DecodePath(path);
        if (name.Length == 0 || name.Contains('/') || name.Contains('\\') || name is "." or "..")
            throw new CorruptTableException($"Checkpoint '{checkpointKey}' names sidecar '{path}', which is not a file name inside _delta_log/_sidecars/.");
        return SidecarPrefix + name;
    }

    private static async Task ReadPartAsync(IObjectStore store, string key, ReplayState state, V2Actions v2, bool sidecar, CancellationToken ct)
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
                {
                    if (sidecar) ReadSidecarBatch(batch, state, key);
                    else ReadBatch(batch, state, key, v2);
                }
            }
        }
        finally
        {
            reader.Dispose();
            stream?.Dispose();
        }
    }

    // A V2 checkpoint in JSON: one action per line, as in a commit; checkpointMetadata and sidecar lines are V2's own.
    private static async Task ReadJsonAsync(IObjectStore store, string key, ReplayState state, V2Actions v2, CancellationToken ct)
    {
        await using var stream = await store.OpenReadAsync(key, ct).ConfigureAwait(false);
        using var reader = new StreamReader(stream, new System.Text.UTF8Encoding(false, true), detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        var lineNumber = 0;
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            switch (FirstPropertyName(line))
            {
                case "checkpointMetadata":
                    using (var doc = ParseJson(line, key, lineNumber))
                    {
                        var cm = doc.RootElement.GetProperty("checkpointMetadata");
                        v2.CheckpointMetadataVersions.Add(cm.TryGetProperty("version", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number ? v.GetInt64() : null);
                    }
                    break;
                case "sidecar":
                    using (var doc = ParseJson(line, key, lineNumber))
                    {
                        var sc = doc.RootElement.GetProperty("sidecar");
                        if (!sc.TryGetProperty("path", out var p) || p.ValueKind != System.Text.Json.JsonValueKind.String ||
                            !sc.TryGetProperty("sizeInBytes", out var size) || size.ValueKind != System.Text.Json.JsonValueKind.Number)
                            throw new CorruptTableException($"Checkpoint file '{key}' line {lineNumber}: a sidecar action needs path and sizeInBytes.");
                        v2.Sidecars.Add(new Sidecar(p.GetString()!, size.GetInt64(),
                            sc.TryGetProperty("modificationTime", out var mt) && mt.ValueKind == System.Text.Json.JsonValueKind.Number ? mt.GetInt64() : null));
                    }
                    break;
                default:
                    var action = ActionSerializer.ParseLine(line, key, lineNumber);
                    if (action.CommitInfo is not null || action.Other is not null) continue; // not state (cdc, commitInfo)
                    if (action.Add is not null || action.Remove is not null) v2.FileActions++;
                    state.ApplyCheckpointAction(action);
                    break;
            }
        }
        if (lineNumber == 0) throw new CorruptTableException($"Checkpoint file '{key}' is empty.");
    }

    private static System.Text.Json.JsonDocument ParseJson(string line, string key, int lineNumber)
    {
        try
        {
            return System.Text.Json.JsonDocument.Parse(line);
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new CorruptTableException($"Checkpoint file '{key}' line {lineNumber} is not valid JSON: {e.Message}", e);
        }
    }

    /// <summary>The name of the first property of a one-line JSON object (<c>{"add":...}</c> gives add), or null.</summary>
    private static string? FirstPropertyName(string line)
    {
        var open = line.IndexOf('"');
        if (open < 0 || line.AsSpan(0, open).Trim() is not "{") return null;
        var close = line.IndexOf('"', open + 1);
        return close < 0 ? null : line[(open + 1)..close];
    }

    private static void ReadSidecarBatch(RecordBatch batch, ReplayState state, string key)
    {
        // Sidecars hold only add and remove actions (PROTOCOL.md "Sidecar Files").
        var add = Column(batch, "add");
        var remove = Column(batch, "remove");
        for (var i = 0; i < batch.Length; i++)
        {
            if (add is not null && !add.IsNull(i)) state.ApplyCheckpointAction(new DeltaAction(Add: ReadAdd(add, i, key)));
            else if (remove is not null && !remove.IsNull(i)) state.ApplyCheckpointAction(new DeltaAction(Remove: ReadRemove(remove, i, key)));
        }
    }

    private static void ReadBatch(RecordBatch batch, ReplayState state, string key, V2Actions v2)
    {
        var checkpointMetadata = Column(batch, "checkpointMetadata");
        var sidecar = Column(batch, "sidecar");
        var add = Column(batch, "add");
        var remove = Column(batch, "remove");
        var metaData = Column(batch, "metaData");
        var protocol = Column(batch, "protocol");
        var txn = Column(batch, "txn");
        var domain = Column(batch, "domainMetadata");
        for (var i = 0; i < batch.Length; i++)
        {
            if (add is not null && !add.IsNull(i))
            {
                v2.FileActions++;
                state.ApplyCheckpointAction(new DeltaAction(Add: ReadAdd(add, i, key)));
            }
            else if (remove is not null && !remove.IsNull(i))
            {
                v2.FileActions++;
                state.ApplyCheckpointAction(new DeltaAction(Remove: ReadRemove(remove, i, key)));
            }
            else if (checkpointMetadata is not null && !checkpointMetadata.IsNull(i))
                v2.CheckpointMetadataVersions.Add(Long(Child(checkpointMetadata, "version"), i));
            else if (sidecar is not null && !sidecar.IsNull(i))
                v2.Sidecars.Add(new Sidecar(
                    Str(Child(sidecar, "path"), i) ?? throw Missing(key, "sidecar.path"),
                    Long(Child(sidecar, "sizeInBytes"), i) ?? throw Missing(key, "sidecar.sizeInBytes"),
                    Long(Child(sidecar, "modificationTime"), i)));
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
