namespace Ecap.DataLake;

/// <summary>
/// The one exception family of the library. Messages say what happened and what to do;
/// subclasses let callers react to a kind of failure without parsing text.
/// </summary>
public class DataLakeException : Exception
{
    public DataLakeException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A table (or its log) does not exist where it was looked for.</summary>
public sealed class TableNotFoundException(string message) : DataLakeException(message);

/// <summary>The table's log is damaged: corrupt JSON, a gap in versions, an unknown action, a missing file.</summary>
public sealed class CorruptTableException(string message, Exception? inner = null) : DataLakeException(message, inner);

/// <summary>The table needs a reader/writer version or feature this library does not implement.</summary>
public sealed class UnsupportedProtocolException(string message) : DataLakeException(message);

/// <summary>Data does not match the table's schema.</summary>
public sealed class SchemaMismatchException(string message) : DataLakeException(message);

/// <summary>Another writer committed a change that conflicts with ours, and retrying cannot fix it (or the retries ran out).</summary>
public sealed class ConcurrentModificationException(string message) : DataLakeException(message);

/// <summary>A path or name would escape its table or lake, or is otherwise not allowed.</summary>
public sealed class InvalidPathException(string message) : InvalidInputException(message);

/// <summary>A lake location whose store is not available (for example S3 before it is configured).</summary>
public sealed class StoreNotConfiguredException(string message) : DataLakeException(message);

/// <summary>The caller's input is wrong: an unknown name, a malformed filter, an option out of range.</summary>
public class InvalidInputException(string message) : DataLakeException(message);

/// <summary>
/// A commit refused because it breaks a rule of the table: an append-only table losing files, partition values that do not
/// match the partition columns, a file added twice, metadata that changes the table id, CHECK constraints, data residency.
/// Nothing of the commit was written.
/// </summary>
public class CommitValidationException(string message, Exception? inner = null) : DataLakeException(message, inner);
