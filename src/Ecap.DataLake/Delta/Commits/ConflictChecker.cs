namespace Ecap.DataLake.Delta;

/// <summary>
/// Decides whether a transaction that lost the race for a version may be rebased onto the winner's commit
/// (optimistic concurrency, PROTOCOL.md leaves the rules to writers; these follow Delta's):
/// <list type="bullet">
/// <item>a protocol change by the winner conflicts with everyone;</item>
/// <item>a metaData change by the winner conflicts, except with a blind append when schema and partitioning stayed the same;</item>
/// <item>a transaction that changes metaData/protocol conflicts with any winner;</item>
/// <item>a txn for an appId this transaction also sets conflicts (exactly-once ingestion relies on it);</item>
/// <item>removing a file the winner also removed conflicts (delete/delete);</item>
/// <item>a transaction that read the whole table conflicts with any data change (added or removed data) by the winner;</item>
/// <item>a transaction that read rows of a file (DELETE, UPDATE, MERGE) conflicts with a winner that removed that file (or replaced
/// its deletion vector), data change or not: its positions and vectors are about the file it read;</item>
/// <item>a transaction with <see cref="Transaction.ConflictsWithAppend"/> conflicts with a winner's add it answers true for;</item>
/// <item>otherwise (e.g. appends and appends, compaction and appends) there is no conflict.</item>
/// </list>
/// </summary>
internal static class ConflictChecker
{
    /// <summary>The reason the winner's commit conflicts with the transaction, or null when it can be rebased.</summary>
    public static string? FindConflict(Transaction mine, long winnerVersion, IReadOnlyList<DeltaAction> winner)
    {
        var winnerOp = winner.Select(a => a.CommitInfo?.Operation).FirstOrDefault(o => o is not null) ?? "unknown operation";
        var at = $"version {winnerVersion} ({winnerOp})";
        var myRemoves = mine.RemovedKeys;
        foreach (var a in winner)
        {
            if (a.Protocol is not null)
                return $"{at} changed the table protocol";
            if (a.Metadata is { } md)
            {
                var read = mine.ReadSnapshot?.Metadata;
                var sameShape = read is not null && md.SchemaString == read.SchemaString && md.PartitionColumns.SequenceEqual(read.PartitionColumns);
                if (!(mine.IsBlindAppend && sameShape))
                    return $"{at} changed the table metadata (schema, partitioning or properties)";
            }
            if (a.Txn is { } txn && mine.Txns.ContainsKey(txn.AppId))
                return $"{at} committed txn version {txn.Version} for application '{txn.AppId}', which this transaction also sets";
            if (a.Remove is { } r)
            {
                if (myRemoves.Contains(r.Key))
                    return $"{at} removed file '{r.Path}', which this transaction also removes";
                if (mine.ReadWholeTable && r.DataChange)
                    return $"{at} removed file '{r.Path}' from the data this transaction read";
                if (mine.ReadFiles.Contains((r.ObjectKey, r.DeletionVector?.UniqueId)))
                    return $"{at} removed or changed file '{r.Path}', whose rows this transaction read";
            }
            if (a.Add is { DataChange: true } add && mine.ReadWholeTable)
                return $"{at} added file '{add.Path}' to the data this transaction read";
            if (a.Add is { DataChange: true } appended && mine.ConflictsWithAppend is { } could && could(appended))
                return $"{at} added file '{appended.Path}', which may hold rows this transaction matched";
        }
        if (mine.ChangesMetadataOrProtocol)
            return $"{at} was committed while this transaction changes the table metadata or protocol";
        return null;
    }
}
