using System.Collections;
using System.Collections.Immutable;

namespace Ecap.DataLake.Delta;

/// <summary>
/// The state of a table at one version, built by log replay: protocol, metadata, schema, the live data
/// files and the latest txn version per application. Immutable; a refreshed snapshot shares structure with
/// the one it was built from.
/// </summary>
public sealed class Snapshot
{
    private readonly Lazy<Apache.Arrow.Schema> _schema;

    internal Snapshot(long version, ReplayState state, DateTimeOffset timestamp, long commitInfoTimestamp, SnapshotLoadInfo loadInfo, string location)
    {
        Version = version;
        Protocol = state.Protocol ?? throw new CorruptTableException($"Table '{location}' at version {version} has no protocol action in its log.");
        Metadata = state.Metadata ?? throw new CorruptTableException($"Table '{location}' at version {version} has no metaData action in its log.");
        FileMap = state.Files.ToImmutable();
        TombstoneMap = state.Tombstones.ToImmutable();
        TxnMap = state.Txns.ToImmutable();
        DomainMap = state.Domains.ToImmutable();
        Timestamp = timestamp;
        CommitInfoTimestamp = commitInfoTimestamp;
        LoadInfo = loadInfo;
        Location = location;
        _schema = new Lazy<Apache.Arrow.Schema>(() => DeltaSchema.ToArrowSchema(Metadata.SchemaString));
        // Column mapping: files keep their physical partition-value and stats keys in the log (FileMap, checkpoints);
        // readers get them keyed by logical names.
        Files = ColumnMapping.IsMapped(Metadata)
            ? new LogicalFileCollection(FileMap, this)
            : new FileCollection(FileMap);
    }

    /// <summary>The table version this snapshot is at.</summary>
    public long Version { get; }

    public Protocol Protocol { get; }

    public Metadata Metadata { get; }

    /// <summary>The table schema as Arrow (partition columns included, as Spark stores them).</summary>
    public Apache.Arrow.Schema Schema => _schema.Value;

    public IReadOnlyList<string> PartitionColumns => Metadata.PartitionColumns;

    /// <summary>The live data files (adds not removed), in no particular order.</summary>
    public IReadOnlyCollection<AddFile> Files { get; }

    /// <summary>The commit timestamp of <see cref="Version"/> (per <see cref="DeltaTableOptions.TimestampSource"/>).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>The table location, for messages.</summary>
    public string Location { get; }

    /// <summary>Tombstones: files removed but maybe not yet vacuumed.</summary>
    public IReadOnlyCollection<RemoveFile> Tombstones => new TombstoneCollection(TombstoneMap);

    /// <summary>The latest committed txn version of an application (e.g. next Kafka offset), or null.</summary>
    public long? GetTxnVersion(string appId) => TxnMap.TryGetValue(appId, out var t) ? t.Version : null;

    /// <summary>All txn actions (one per appId).</summary>
    public IReadOnlyCollection<SetTransaction> Transactions => TxnMap.Values.ToList();

    /// <summary>The total size in bytes of the live files.</summary>
    public long TotalSize => FileMap.Values.Sum(f => f.Size);

    internal ImmutableDictionary<FileKey, AddFile> FileMap { get; }
    internal ImmutableDictionary<FileKey, RemoveFile> TombstoneMap { get; }
    internal ImmutableDictionary<string, SetTransaction> TxnMap { get; }
    internal ImmutableDictionary<string, DomainMetadata> DomainMap { get; }

    /// <summary>The writer-clock timestamp of the last commit (commitInfo), for monotonic commit timestamps.</summary>
    internal long CommitInfoTimestamp { get; }

    /// <summary>How this snapshot was built (tests check that refresh is incremental and checkpoints are used).</summary>
    internal SnapshotLoadInfo LoadInfo { get; }

    public override string ToString() => $"Snapshot({Location} @ v{Version}, {FileMap.Count} files)";

    private sealed class FileCollection(ImmutableDictionary<FileKey, AddFile> map) : IReadOnlyCollection<AddFile>
    {
        public int Count => map.Count;
        public IEnumerator<AddFile> GetEnumerator() => map.Values.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class LogicalFileCollection : IReadOnlyCollection<AddFile>
    {
        private readonly ImmutableDictionary<FileKey, AddFile> _map;
        private readonly Lazy<List<AddFile>> _files;

        public LogicalFileCollection(ImmutableDictionary<FileKey, AddFile> map, Snapshot snapshot)
        {
            _map = map;
            _files = new Lazy<List<AddFile>>(() =>
                map.Values.Select(f => ColumnMapping.LogicalFile(f, snapshot.Schema, snapshot.PartitionColumns)).ToList());
        }

        public int Count => _map.Count;
        public IEnumerator<AddFile> GetEnumerator() => _files.Value.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class TombstoneCollection(ImmutableDictionary<FileKey, RemoveFile> map) : IReadOnlyCollection<RemoveFile>
    {
        public int Count => map.Count;
        public IEnumerator<RemoveFile> GetEnumerator() => map.Values.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

/// <summary>Where a snapshot came from: the checkpoint it started at (if any), how many commit files were read, and its base snapshot version.</summary>
internal sealed record SnapshotLoadInfo(long? CheckpointVersion, int CommitFilesRead, long? IncrementalFromVersion);
