using System.Collections.Immutable;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Log replay (PROTOCOL.md, "Action Reconciliation"): the live files keyed by path + deletion vector id,
/// tombstones, the latest metaData and protocol, the latest txn version per appId, domain metadata.
/// Applied oldest to newest. Immutable builders let a refreshed snapshot share structure with the previous one,
/// so refreshing costs the size of the new commits, not of the table.
/// </summary>
internal sealed class ReplayState
{
    public ImmutableDictionary<FileKey, AddFile>.Builder Files { get; }
    public ImmutableDictionary<FileKey, RemoveFile>.Builder Tombstones { get; }
    public ImmutableDictionary<string, SetTransaction>.Builder Txns { get; }
    public ImmutableDictionary<string, DomainMetadata>.Builder Domains { get; }
    public Protocol? Protocol { get; set; }
    public Metadata? Metadata { get; set; }

    /// <summary>The table's location: absolute data paths inside it (<c>file:///...</c>, written by shallow clones) are made relative.</summary>
    public string? TableRoot { get; init; }

    public ReplayState()
    {
        Files = ImmutableDictionary.CreateBuilder<FileKey, AddFile>();
        Tombstones = ImmutableDictionary.CreateBuilder<FileKey, RemoveFile>();
        Txns = ImmutableDictionary.CreateBuilder<string, SetTransaction>(StringComparer.Ordinal);
        Domains = ImmutableDictionary.CreateBuilder<string, DomainMetadata>(StringComparer.Ordinal);
    }

    public ReplayState(Snapshot from)
    {
        Files = from.FileMap.ToBuilder();
        Tombstones = from.TombstoneMap.ToBuilder();
        Txns = from.TxnMap.ToBuilder();
        Domains = from.DomainMap.ToBuilder();
        Protocol = from.Protocol;
        Metadata = from.Metadata;
        TableRoot = from.Location;
    }

    /// <summary>Applies one action of a commit (in log order).</summary>
    public void Apply(in DeltaAction action)
    {
        if (action.Add is { } add)
        {
            if (IsAbsolute(add.Path)) add = add with { Path = DeltaPaths.InTable(add.Path, TableRoot) };
            var key = add.Key;
            Files[key] = add;
            Tombstones.Remove(key);
        }
        else if (action.Remove is { } remove)
        {
            remove = InTable(remove);
            var key = remove.Key;
            Files.Remove(key);
            Tombstones[key] = remove;
        }
        else if (action.Metadata is { } md) Metadata = md;
        else if (action.Protocol is { } p) Protocol = p;
        else if (action.Txn is { } txn) Txns[txn.AppId] = txn;
        else if (action.DomainMetadata is { } dm)
        {
            if (dm.Removed) Domains.Remove(dm.Domain);
            else Domains[dm.Domain] = dm;
        }
    }

    /// <summary>Applies one action of a checkpoint: removes there are tombstones only, never applied to adds.</summary>
    public void ApplyCheckpointAction(in DeltaAction action)
    {
        if (action.Remove is { } remove)
        {
            remove = InTable(remove);
            Tombstones[remove.Key] = remove;
        }
        else Apply(action);
    }

    private static bool IsAbsolute(string path) => path.Contains("://", StringComparison.Ordinal);

    private RemoveFile InTable(RemoveFile remove) => IsAbsolute(remove.Path) ? remove with { Path = DeltaPaths.InTable(remove.Path, TableRoot) } : remove;
}
