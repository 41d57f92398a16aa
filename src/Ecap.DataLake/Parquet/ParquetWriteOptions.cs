namespace Ecap.DataLake.Parquet;

internal enum ParquetCodec
{
    Snappy,
    Zstd,
    Gzip,
    None,
}

/// <summary>How the writer chooses dictionary encoding per column.</summary>
internal enum DictionaryPolicy
{
    /// <summary>Decided per column from a sample of the first batch: on for low-cardinality columns.</summary>
    Auto,
    Always,
    Never,
}

/// <summary>Options of <see cref="ParquetDataWriter"/>.</summary>
internal sealed record ParquetWriteOptions
{
    public static ParquetWriteOptions Default { get; } = new();

    public ParquetCodec Codec { get; init; } = ParquetCodec.Snappy;

    /// <summary>Codec level (zstd, gzip); null for the codec's default.</summary>
    public int? CompressionLevel { get; init; }

    /// <summary>A file is closed and the next one started when its (estimated) size reaches this many bytes.</summary>
    public long TargetFileSizeBytes { get; init; } = 128L * 1024 * 1024;

    /// <summary>Row groups end at this many rows ...</summary>
    public int RowGroupMaxRows { get; init; } = 1024 * 1024;

    /// <summary>... or at about this many (compressed, estimated) bytes, whichever comes first.</summary>
    public long RowGroupMaxBytes { get; init; } = 128L * 1024 * 1024;

    public DictionaryPolicy Dictionary { get; init; } = DictionaryPolicy.Auto;

    /// <summary>Let the native writer encode columns of a row group in parallel.</summary>
    public bool UseThreads { get; init; } = true;

    /// <summary>File-level key/value metadata written to every footer.</summary>
    public IReadOnlyDictionary<string, string>? KeyValueMetadata { get; init; }

    /// <summary>Parquet modular encryption of every file (null: plaintext), with the keys from <see cref="Keys"/>.</summary>
    public Encryption.TableEncryption? Encryption { get; init; }

    public Encryption.IKeyProvider? Keys { get; init; }

    /// <summary>A column-mapped table's schema: files are written with its physical names and field ids (null: names as given).</summary>
    public Apache.Arrow.Schema? ColumnMapping { get; init; }
}

/// <summary>
/// One closed Parquet data file: its store key, size in bytes, rows, Delta stats, and the
/// uncompressed size of its column chunks (size / uncompressed is the compression ratio).
/// </summary>
internal sealed record WrittenFile(string Key, long SizeBytes, long RowCount, DataFileStats Stats, long UncompressedBytes);
