using Ecap.DataLake.Expressions;

namespace Ecap.DataLake.Tables.Changes;

/// <summary>What a DELETE, UPDATE, MERGE or purge changed, and how.</summary>
/// <param name="Table">The table.</param>
/// <param name="Version">The version committed, or the version read when nothing changed (<paramref name="Committed"/> false).</param>
/// <param name="RowsDeleted">Rows removed from the table.</param>
/// <param name="RowsUpdated">Rows replaced by their new values.</param>
/// <param name="RowsInserted">Rows added (MERGE's not-matched inserts).</param>
/// <param name="FilesTouched">Data files whose rows changed (a new deletion vector, a rewrite or a whole-file remove).</param>
/// <param name="DeletionVectorsWritten">Files given a new deletion vector.</param>
/// <param name="FilesRewritten">Files copied without their deleted rows (copy-on-write, purge) or removed whole.</param>
/// <param name="FilesAdded">New data files (updated and inserted rows, rewrites).</param>
/// <param name="BytesWritten">Bytes of new data files and deletion vector files.</param>
/// <param name="Attempts">Times the change was planned: more than 1 when a concurrent commit made it start over.</param>
/// <param name="Committed">False when nothing matched and no commit was made.</param>
/// <param name="Duration">Wall time.</param>
public sealed record ChangeResult(string Table, long Version, long RowsDeleted, long RowsUpdated, long RowsInserted, int FilesTouched,
    int DeletionVectorsWritten, int FilesRewritten, int FilesAdded, long BytesWritten, int Attempts, bool Committed, TimeSpan Duration)
{
    /// <summary>Data files the change opened (after pruning): the others could not hold a matching row.</summary>
    public int FilesScanned { get; init; }

    /// <summary>Live data files of the table when the change planned.</summary>
    public int FilesTotal { get; init; }
}

/// <summary>What MERGE does with a target row whose key is in the source.</summary>
public enum MergeMatchedAction
{
    /// <summary>Replace the row by the source row (columns the source lacks keep their values).</summary>
    Update,
    /// <summary>Delete the row.</summary>
    Delete,
    /// <summary>Leave the row.</summary>
    Ignore,
}

/// <summary>What MERGE does with a source row whose key is not in the table.</summary>
public enum MergeNotMatchedAction
{
    Insert,
    Ignore,
}

/// <summary>What MERGE does with a target row whose key is not in the source.</summary>
public enum MergeNotMatchedBySourceAction
{
    Ignore,
    Delete,
}

/// <summary>How a MERGE matches and what it does (Delta's MERGE INTO ... ON ... WHEN [NOT] MATCHED [BY SOURCE]).</summary>
public sealed record MergeOptions
{
    /// <summary>The key columns rows are matched on (equality of all of them); source keys must be unique.</summary>
    public required IReadOnlyList<string> On { get; init; }

    public MergeMatchedAction WhenMatched { get; init; } = MergeMatchedAction.Update;

    public MergeNotMatchedAction WhenNotMatched { get; init; } = MergeNotMatchedAction.Insert;

    public MergeNotMatchedBySourceAction WhenNotMatchedBySource { get; init; } = MergeNotMatchedBySourceAction.Ignore;

    /// <summary>
    /// A predicate on source columns: a source row it holds for deletes its matched target row and is never inserted (change
    /// data: Debezium's op = 'd', a soft-delete column).
    /// </summary>
    public Predicate? DeleteWhen { get; init; }

    /// <summary>Duplicate source keys keep the row with the greatest value of this column (later rows win ties); null: duplicates are an error.</summary>
    public string? DeduplicateOrderBy { get; init; }

    /// <summary>Duplicate source keys keep the last row in source order (change events in log order); ignored with <see cref="DeduplicateOrderBy"/>.</summary>
    public bool LastDuplicateWins { get; init; }

    /// <summary>Source columns not written to the table (e.g. the change-event columns DeleteWhen reads).</summary>
    public IReadOnlyList<string> SourceOnlyColumns { get; init; } = [];

    /// <summary>Application transaction versions (txn actions) committed atomically with the merge: exactly-once change ingestion.</summary>
    public IReadOnlyDictionary<string, long>? Transactions { get; init; }

    /// <summary>Txn versions the table must still hold for these application ids, or nothing is committed.</summary>
    public IReadOnlyDictionary<string, long>? ExpectedTransactions { get; init; }

    /// <summary>Extra commitInfo.operationParameters (e.g. the source of a change ingestion).</summary>
    public IReadOnlyDictionary<string, string>? CommitParameters { get; init; }

    /// <summary>Name of the source (a file, a topic) for the audit record and history.</summary>
    public string? SourceName { get; init; }
}

/// <summary>One column assignment of an UPDATE: the column and a literal of its type (null sets SQL NULL).</summary>
public sealed record ColumnAssignment(string Column, string? Literal)
{
    /// <summary>Parses <c>COL=VALUE</c>: VALUE is a literal of the column's type, optionally in single quotes; NULL (any case) is null.</summary>
    public static ColumnAssignment Parse(string text)
    {
        var eq = text.IndexOf('=');
        if (eq <= 0) throw new InvalidInputException($"--set '{text}' is not COLUMN=VALUE.");
        var column = text[..eq].Trim();
        var value = text[(eq + 1)..].Trim();
        if (value.Equals("NULL", StringComparison.OrdinalIgnoreCase)) return new(column, null);
        if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'') value = value[1..^1].Replace("''", "'", StringComparison.Ordinal);
        return new(column, value);
    }
}
