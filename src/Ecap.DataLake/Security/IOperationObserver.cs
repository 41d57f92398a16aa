using Microsoft.Extensions.Logging;

namespace Ecap.DataLake.Security;

/// <summary>A guarded operation that passed its access check and is about to run, as <see cref="IOperationObserver"/>s see it.</summary>
/// <param name="AuditId">The operation's id: its audit record's, and the one its commits carry (<c>ecapAudit.id</c>).</param>
/// <param name="Operation">The operation's name (write, ingest, merge, compact, query-export...).</param>
/// <param name="Table">The table it names (null: the lake); a query's tables are known only when it ends.</param>
/// <param name="Parameters">Its parameters with secrets removed, as in the audit record.</param>
/// <param name="Principal">Who runs it.</param>
/// <param name="Time">When it started.</param>
public sealed record OperationStart(string AuditId, string Operation, string? Table, IReadOnlyDictionary<string, string?> Parameters, string Principal, DateTimeOffset Time);

/// <summary>
/// Told when a guarded operation starts (after its access check) and when it ends (with the record the audit gets): the seam
/// run trackers such as OpenLineage (<c>Lineage/</c>) hang off, so no entry point calls them. Only outermost operations are
/// observed (an ingest's writes are part of the ingest). Calls are made on the operation's own flow: an observer must return
/// quickly (queue, never send) and never throw; an exception is logged and ignored, never fails the operation.
/// Observers go in <see cref="LakeGuardOptions.Observers"/>.
/// </summary>
public interface IOperationObserver
{
    void OperationStarted(OperationStart operation);

    /// <summary>The operation ended: <see cref="AuditRecord.Outcome"/> says how, <see cref="AuditRecord.Error"/> (redacted) why it failed.</summary>
    void OperationEnded(AuditRecord record);
}

internal static class OperationObservers
{
    public static void Started(IReadOnlyList<IOperationObserver> observers, OperationStart operation, ILogger? logger)
    {
        foreach (var observer in observers)
        {
            try { observer.OperationStarted(operation); }
            catch (Exception e) { logger?.LogWarning(e, "Operation observer {Observer} failed at the start of {Operation}", observer.GetType().Name, operation.Operation); }
        }
    }

    public static void Ended(IReadOnlyList<IOperationObserver> observers, AuditRecord record, ILogger? logger)
    {
        foreach (var observer in observers)
        {
            try { observer.OperationEnded(record); }
            catch (Exception e) { logger?.LogWarning(e, "Operation observer {Observer} failed at the end of {Operation}", observer.GetType().Name, record.Operation); }
        }
    }
}
