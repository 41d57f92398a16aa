namespace Ecap.DataLake.Delta;

// The actions of the Delta log (PROTOCOL.md, "Actions"). Each commit file is a list of these, one JSON
// object per line; a checkpoint holds the reconciled set of them. Records are immutable values: replay
// builds snapshots out of them, transactions collect them, the serializer reads and writes them.

/// <summary>The reader/writer versions (and, for reader 3 / writer 7, the table features) a client must implement.</summary>
public sealed record Protocol(
    int MinReaderVersion,
    int MinWriterVersion,
    IReadOnlyList<string>? ReaderFeatures = null,
    IReadOnlyList<string>? WriterFeatures = null)
{
    /// <summary>The protocol tables are created with unless a feature needs more.</summary>
    public static Protocol Default { get; } = new(1, 2);
}

/// <summary>The storage format of the data files (always parquet for Delta).</summary>
public sealed record Format(string Provider, IReadOnlyDictionary<string, string> Options)
{
    public static Format Parquet { get; } = new("parquet", new Dictionary<string, string>());
}

/// <summary>The table's identity, schema (Spark JSON), partition columns and configuration.</summary>
public sealed record Metadata
{
    public required string Id { get; init; }
    public string? Name { get; init; }
    public string? Description { get; init; }
    public Format Format { get; init; } = Format.Parquet;
    public required string SchemaString { get; init; }
    public IReadOnlyList<string> PartitionColumns { get; init; } = [];
    public IReadOnlyDictionary<string, string> Configuration { get; init; } = new Dictionary<string, string>();
    public long? CreatedTime { get; init; }

    /// <summary>A new table's metadata: a fresh id, the schema converted from Arrow, creation time now.</summary>
    public static Metadata Create(Apache.Arrow.Schema schema, IEnumerable<string>? partitionColumns = null,
        IReadOnlyDictionary<string, string>? configuration = null, string? name = null, string? description = null) => new()
    {
        Id = Guid.NewGuid().ToString(),
        Name = name,
        Description = description,
        SchemaString = DeltaSchema.ToSchemaString(schema),
        PartitionColumns = partitionColumns?.ToList() ?? [],
        Configuration = configuration ?? new Dictionary<string, string>(),
        CreatedTime = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
    };
}

/// <summary>Points at a deletion vector of a data file. Only identified here (for reconciliation); not applied.</summary>
public sealed record DeletionVectorDescriptor(string StorageType, string PathOrInlineDv, int? Offset, int SizeInBytes, long Cardinality)
{
    /// <summary>The unique id the protocol defines: storageType + pathOrInlineDv (+ "@" + offset).</summary>
    public string UniqueId => StorageType + PathOrInlineDv + (Offset is { } o ? "@" + o : "");
}

/// <summary>A data file that is part of the table.</summary>
public sealed record AddFile
{
    /// <summary>URI-encoded path relative to the table root (or an absolute URI). Use <see cref="ObjectKey"/> to open it.</summary>
    public required string Path { get; init; }
    /// <summary>Partition column -> value as a string; a null value is a JSON null, never omitted.</summary>
    public IReadOnlyDictionary<string, string?> PartitionValues { get; init; } = new Dictionary<string, string?>();
    public required long Size { get; init; }
    public required long ModificationTime { get; init; }
    public bool DataChange { get; init; } = true;
    /// <summary>Statistics as the JSON string the protocol stores (numRecords, minValues, maxValues, nullCount).</summary>
    public string? Stats { get; init; }
    public IReadOnlyDictionary<string, string?>? Tags { get; init; }
    public DeletionVectorDescriptor? DeletionVector { get; init; }
    public long? BaseRowId { get; init; }
    public long? DefaultRowCommitVersion { get; init; }

    /// <summary>The object key (relative to the table root) of this file: <see cref="Path"/> URI-decoded.</summary>
    public string ObjectKey => DeltaPaths.DecodePath(Path);

    /// <summary>The log form of an object key: URI-encoded (a '%' in a directory name becomes '%25').</summary>
    public static string EncodePath(string objectKey) => DeltaPaths.EncodePath(objectKey);

    /// <summary>The key replay reconciles adds and removes by: the decoded path plus the deletion vector id.</summary>
    internal FileKey Key => new(ObjectKey, DeletionVector?.UniqueId);
}

/// <summary>A logical removal of a data file (a tombstone until vacuum deletes the file).</summary>
public sealed record RemoveFile
{
    public required string Path { get; init; }
    public long? DeletionTimestamp { get; init; }
    public bool DataChange { get; init; } = true;
    public bool? ExtendedFileMetadata { get; init; }
    public IReadOnlyDictionary<string, string?>? PartitionValues { get; init; }
    public long? Size { get; init; }
    public string? Stats { get; init; }
    public IReadOnlyDictionary<string, string?>? Tags { get; init; }
    public DeletionVectorDescriptor? DeletionVector { get; init; }

    public string ObjectKey => DeltaPaths.DecodePath(Path);

    internal FileKey Key => new(ObjectKey, DeletionVector?.UniqueId);

    /// <summary>The remove of a live file, carrying its partition values and size (extended file metadata).</summary>
    public static RemoveFile For(AddFile file, bool dataChange = true, DateTimeOffset? at = null) => new()
    {
        Path = file.Path,
        DeletionTimestamp = (at ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds(),
        DataChange = dataChange,
        ExtendedFileMetadata = true,
        PartitionValues = file.PartitionValues,
        Size = file.Size,
        Stats = file.Stats,
        Tags = file.Tags,
        DeletionVector = file.DeletionVector,
    };
}

/// <summary>The latest version an application (a Kafka partition, an ingester) has committed: exactly-once ingestion.</summary>
public sealed record SetTransaction(string AppId, long Version, long? LastUpdated);

/// <summary>Provenance of a commit: when, which operation, its parameters and metrics.</summary>
public sealed record CommitInfo
{
    public long? Timestamp { get; init; }
    public long? InCommitTimestamp { get; init; }
    public string? Operation { get; init; }
    public IReadOnlyDictionary<string, string> OperationParameters { get; init; } = new Dictionary<string, string>();
    public IReadOnlyDictionary<string, string> OperationMetrics { get; init; } = new Dictionary<string, string>();
    public long? ReadVersion { get; init; }
    public string? IsolationLevel { get; init; }
    public bool? IsBlindAppend { get; init; }
    public string? EngineInfo { get; init; }
    public string? TxnId { get; init; }
    /// <summary>Who the commit was made for (Spark's <c>userName</c>; ecap writes the principal).</summary>
    public string? UserName { get; init; }
    /// <summary>ecap's attribution of the commit (<c>ecapAudit</c>: audit id, principal, operation); see <see cref="CommitAttribution"/>.</summary>
    public IReadOnlyDictionary<string, string>? Attribution { get; init; }
}

/// <summary>Domain metadata (a writer feature); replay keeps the latest per domain.</summary>
public sealed record DomainMetadata(string Domain, string Configuration, bool Removed);

/// <summary>
/// One line of a commit. Exactly one of the properties is set. Actions the protocol defines but this
/// library does not act on (cdc, checkpointMetadata, sidecar) are recognised and kept as <see cref="Other"/>.
/// </summary>
public readonly record struct DeltaAction(
    AddFile? Add = null,
    RemoveFile? Remove = null,
    Metadata? Metadata = null,
    Protocol? Protocol = null,
    SetTransaction? Txn = null,
    CommitInfo? CommitInfo = null,
    DomainMetadata? DomainMetadata = null,
    string? Other = null);

/// <summary>Reconciliation key of a logical file: decoded path and deletion vector id.</summary>
internal readonly record struct FileKey(string Path, string? DeletionVectorId);
