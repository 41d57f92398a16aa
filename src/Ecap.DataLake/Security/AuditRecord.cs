using System.Text.RegularExpressions;

namespace Ecap.DataLake.Security;

/// <summary>What happened to an operation: it ran to the end, was refused by access control, or failed.</summary>
public static class AuditOutcome
{
    public const string Succeeded = "succeeded";
    public const string Denied = "denied";
    public const string Failed = "failed";
}

/// <summary>One row of the audit table <c>_ecap/audit</c>: who did what to which table, with what result.</summary>
public sealed record AuditRecord
{
    public required DateTimeOffset Time { get; init; }
    public required string Principal { get; init; }
    public IReadOnlyList<string> Groups { get; init; } = [];
    /// <summary>The identity provider that named the principal (os, environment, jwt:ISSUER, static).</summary>
    public string? IdentitySource { get; init; }
    public required string Operation { get; init; }
    /// <summary>The table operated on; several tables (a query) are comma-separated; null for lake-level operations.</summary>
    public string? Table { get; init; }
    /// <summary>The operation's parameters with secrets removed (see <see cref="AuditRedaction"/>).</summary>
    public IReadOnlyDictionary<string, string?> Parameters { get; init; } = new Dictionary<string, string?>();
    public required string Outcome { get; init; }
    public string? Error { get; init; }
    public long? Rows { get; init; }
    public long? Bytes { get; init; }
    public long? TableVersion { get; init; }
    public long DurationMs { get; init; }
    public string Host { get; init; } = Environment.MachineName;
    /// <summary>The operation's id; the commits it made carry it in their commitInfo (<c>ecapAudit.id</c>).</summary>
    public string? AuditId { get; init; }
    /// <summary>True when the record was rebuilt from a table log by reconciliation (the writer died before writing it).</summary>
    public bool Recovered { get; init; }

    /// <summary>True when the record names <paramref name="table"/> (alone or in a query's list).</summary>
    public bool Names(string table) => Table is not null && Table.Split(',').Contains(table, StringComparer.Ordinal);
}

/// <summary>
/// Removes secrets from audit parameters: values of keys that name a secret (password, secret, token, key,
/// credential) are replaced, and passwords inside connection strings and URLs (<c>Password=...</c>,
/// <c>user:pass@host</c>, <c>?password=</c>) are cut out of any value.
/// </summary>
internal static partial class AuditRedaction
{
    public const string Mask = "***";

    [GeneratedRegex("pass(word)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential", RegexOptions.IgnoreCase)]
    private static partial Regex SecretKey();

    [GeneratedRegex(@"((?:password|pwd|secret|token|apikey|api_key|access_key)\s*[=:]\s*)(""[^""]*""|'[^']*'|[^;&\s,]+)", RegexOptions.IgnoreCase)]
    private static partial Regex SecretAssignment();

    [GeneratedRegex(@"(://[^/:@\s]+:)([^@/\s]+)(@)")]
    private static partial Regex UrlPassword();

    public static IReadOnlyDictionary<string, string?> Redact(IReadOnlyDictionary<string, string?>? parameters)
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (key, value) in parameters ?? new Dictionary<string, string?>())
            result[key] = value is null ? null : SecretKey().IsMatch(key) ? Mask : RedactValue(value);
        return result;
    }

    public static string RedactValue(string value) =>
        UrlPassword().Replace(SecretAssignment().Replace(value, m => m.Groups[1].Value + Mask), m => m.Groups[1].Value + Mask + m.Groups[3].Value);
}
