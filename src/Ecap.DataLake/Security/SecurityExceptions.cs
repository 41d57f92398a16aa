namespace Ecap.DataLake.Security;

/// <summary>The caller lacks the privilege an operation needs; nothing was read or written.</summary>
public sealed class AccessDeniedException(string message) : DataLakeException(message);

/// <summary>The caller's identity could not be established (e.g. an expired or foreign bearer token).</summary>
public sealed class AuthenticationFailedException(string message) : DataLakeException(message);

/// <summary>An operation's audit record could not be written. The message says whether the operation itself completed.</summary>
public sealed class AuditFailedException(string message, Exception inner) : DataLakeException(message, inner)
{
    /// <summary>The audited operation's own error, when it failed too (null: it completed).</summary>
    public Exception? OperationError { get; init; }
}
