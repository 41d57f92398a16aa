namespace Ecap.DataLake.Delta;

/// <summary>
/// Snapshots kept by (table location, version), shared by the <see cref="DeltaTable"/> instances that are given it
/// (<see cref="DeltaTableOptions.SnapshotCache"/>; <c>DataLakeStorage</c> owns one), so repeated reads and queries
/// of a table do not replay its log: a version asked again is returned as is, and the latest is refreshed from the
/// newest cached version by probing for the commits after it. Snapshots are immutable, so sharing them is safe.
/// Bounded: the least recently used snapshot is dropped beyond <see cref="Capacity"/>. Hits and misses are counted
/// in <c>ecap.datalake.snapshot.cache.hits</c> / <c>misses</c>.
/// </summary>
public sealed class SnapshotCache
{
    public const int DefaultCapacity = 32;

    private readonly object _gate = new();
    private readonly Dictionary<(string Location, long Version), LinkedListNode<Snapshot>> _byKey = [];
    private readonly LinkedList<Snapshot> _recency = new();   // most recently used first

    /// <param name="capacity">How many snapshots are kept (a snapshot holds the file list of its table).</param>
    public SnapshotCache(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Capacity = capacity;
    }

    public int Capacity { get; }

    public int Count
    {
        get { lock (_gate) return _byKey.Count; }
    }

    /// <summary>The snapshot of a table at a version, when cached.</summary>
    public Snapshot? Get(string location, long version)
    {
        lock (_gate)
        {
            if (!_byKey.TryGetValue((location, version), out var node)) return null;
            Touch(node);
            return node.Value;
        }
    }

    /// <summary>The newest cached snapshot of a table, the base for refreshing to its latest version.</summary>
    public Snapshot? Newest(string location)
    {
        lock (_gate)
        {
            LinkedListNode<Snapshot>? best = null;
            foreach (var ((loc, _), node) in _byKey)
                if (loc == location && (best is null || node.Value.Version > best.Value.Version)) best = node;
            if (best is not null) Touch(best);
            return best?.Value;
        }
    }

    public void Add(Snapshot snapshot)
    {
        lock (_gate)
        {
            var key = (snapshot.Location, snapshot.Version);
            if (_byKey.TryGetValue(key, out var existing))
            {
                Touch(existing);
                return;
            }
            _byKey[key] = _recency.AddFirst(snapshot);
            while (_byKey.Count > Capacity)
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _byKey.Remove((oldest.Value.Location, oldest.Value.Version));
            }
        }
    }

    /// <summary>Forgets every snapshot of a table (its log was rewritten from scratch, e.g. the folder was deleted).</summary>
    public void Forget(string location)
    {
        lock (_gate)
        {
            foreach (var key in _byKey.Keys.Where(k => k.Location == location).ToList())
            {
                _recency.Remove(_byKey[key]);
                _byKey.Remove(key);
            }
        }
    }

    private void Touch(LinkedListNode<Snapshot> node)
    {
        _recency.Remove(node);
        _recency.AddFirst(node);
    }
}
