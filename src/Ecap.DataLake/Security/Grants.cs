using System.Text.Json.Serialization;

namespace Ecap.DataLake.Security;

/// <summary>What a grant allows; each privilege includes the ones below it (admin ⊇ write ⊇ read).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Privilege>))]
public enum Privilege
{
    Read = 1,
    Write = 2,
    Admin = 3,
}

public static class Privileges
{
    public static Privilege Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "read" => Privilege.Read,
        "write" => Privilege.Write,
        "admin" => Privilege.Admin,
        _ => throw new InvalidInputException($"Unknown privilege '{text}'. Valid privileges: read, write, admin."),
    };

    public static string Name(this Privilege privilege) => privilege.ToString().ToLowerInvariant();
}

/// <summary>
/// One grant: <see cref="Grantee"/> (a principal or group name) holds <see cref="Privilege"/> on <see cref="Table"/>,
/// or on every table and the lake itself when <see cref="Table"/> is null (a lake grant; lake admin administers grants).
/// <see cref="ExcludedColumns"/> are returned as nulls to this grantee (reads and SQL), unless another grant gives them.
/// </summary>
public sealed record Grant
{
    public required string Grantee { get; init; }
    public required Privilege Privilege { get; init; }
    public string? Table { get; init; }
    public IReadOnlyList<string> ExcludedColumns { get; init; } = [];
    public string? GrantedBy { get; init; }
    public DateTimeOffset GrantedAt { get; init; }

    public bool IsLakeGrant => Table is null;

    /// <summary>The same grant (grantee, privilege, scope), whatever its exclusions and provenance.</summary>
    public bool SameScope(Grant other) =>
        Grantee == other.Grantee && Privilege == other.Privilege && string.Equals(Table, other.Table, StringComparison.Ordinal);
}

/// <summary>
/// The decisions a set of grants implies. Empty set = access control off (the default for a local lake):
/// everything is allowed. Once any grant exists, a principal may do only what a grant to it (or a group) allows.
/// </summary>
public sealed class GrantSet(IReadOnlyList<Grant> grants)
{
    public IReadOnlyList<Grant> Grants { get; } = grants;

    public bool Enabled => Grants.Count > 0;

    public bool IsLakeAdmin(Principal principal) =>
        !Enabled || Grants.Any(g => g.IsLakeGrant && g.Privilege == Privilege.Admin && principal.Matches(g.Grantee));

    /// <summary>True when <paramref name="principal"/> holds <paramref name="privilege"/> on <paramref name="table"/> (null: the lake).</summary>
    public bool Allows(Principal principal, Privilege privilege, string? table) =>
        !Enabled || Applicable(principal, table).Any(g => g.Privilege >= privilege);

    /// <summary>Columns of <paramref name="table"/> hidden from <paramref name="principal"/>: excluded by every grant that lets it read.</summary>
    public IReadOnlySet<string> MaskedColumns(Principal principal, string table)
    {
        var readers = Applicable(principal, table).ToList();
        if (!Enabled || readers.Count == 0 || readers.Any(g => g.Privilege == Privilege.Admin || g.ExcludedColumns.Count == 0))
            return new HashSet<string>(StringComparer.Ordinal);
        var masked = new HashSet<string>(readers[0].ExcludedColumns, StringComparer.Ordinal);
        foreach (var g in readers.Skip(1)) masked.IntersectWith(g.ExcludedColumns);
        return masked;
    }

    /// <summary>The table whose grants govern <paramref name="table"/>: a dead-letter table belongs to its table.</summary>
    public static string? GovernedTable(string? table) =>
        table is not null && table.EndsWith(Storage.TableNames.DeadLetterSuffix, StringComparison.Ordinal) && table.Length > Storage.TableNames.DeadLetterSuffix.Length
            ? table[..^Storage.TableNames.DeadLetterSuffix.Length]
            : table;

    // Grants on the table itself plus lake grants (which cover every table).
    private IEnumerable<Grant> Applicable(Principal principal, string? table) =>
        Grants.Where(g => principal.Matches(g.Grantee) && (g.IsLakeGrant || (table is not null && string.Equals(g.Table, table, StringComparison.Ordinal))));
}
