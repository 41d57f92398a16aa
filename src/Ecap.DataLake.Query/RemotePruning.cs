using System.Globalization;
using System.Text.Json;
using Apache.Arrow.Types;
using DuckDB.NET.Data;
using Ecap.DataLake.Delta;

namespace Ecap.DataLake.Query;

/// <summary>
/// Which data files of a remote table a query can need, from its partition filters, so SQL on S3 or Azure copies only
/// those. Deliberately narrow, because a file wrongly left out would silently drop rows: one SELECT over exactly one
/// table (no join, subquery, CTE or set operation anywhere), and only the top-level AND terms of its WHERE that compare an
/// integer partition column with integer constants (<c>=</c>, <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>,
/// <c>IN</c>). WHERE filters the table's rows before anything else runs, so a file whose partition value fails such a
/// term holds no row the query can see. Anything else keeps every file.
/// </summary>
internal static class RemotePruning
{
    /// <summary>A term: the partition column, and whether a (non-null) value passes.</summary>
    internal sealed record Term(string Column, Func<long, bool> Passes);

    /// <summary>The table (view name) the query reads and its prunable terms; null when the query is not that simple.</summary>
    public static (string Table, IReadOnlyList<Term> Terms)? Analyze(DuckDBConnection connection, string sql)
    {
        string json;
        try
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT json_serialize_sql(CAST($1 AS VARCHAR))";
            command.Parameters.Add(new DuckDBParameter(sql));
            json = (string)command.ExecuteScalar()!;
        }
        catch (DuckDBException) { return null; }
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.True) return null;
        if (!root.TryGetProperty("statements", out var statements) || statements.GetArrayLength() != 1) return null;
        if (!statements[0].TryGetProperty("node", out var node) || Str(node, "type") != "SELECT_NODE") return null;
        var tables = 0;
        if (!Simple(node, ref tables) || tables != 1) return null;
        if (!node.TryGetProperty("from_table", out var from) || Str(from, "type") != "BASE_TABLE") return null;
        var table = Str(from, "table_name");
        if (string.IsNullOrEmpty(table) || Str(from, "schema_name") is { Length: > 0 } || Str(from, "catalog_name") is { Length: > 0 }) return null;
        var alias = Str(from, "alias");
        var terms = new List<Term>();
        if (node.TryGetProperty("where_clause", out var where) && where.ValueKind == JsonValueKind.Object)
            Collect(where, table, alias, terms);
        return (table, terms);
    }

    /// <summary>The files of <paramref name="snapshot"/> whose partition values pass every term.</summary>
    public static IReadOnlyCollection<AddFile> Keep(Snapshot snapshot, IReadOnlyList<Term> terms)
    {
        var columns = snapshot.PartitionColumns.ToList();
        var usable = new List<(string Column, Term Term)>();
        foreach (var term in terms)
        {
            // DuckDB resolves identifiers case-insensitively: the term must name exactly one integer partition column.
            var matches = columns.Where(c => string.Equals(c, term.Column, StringComparison.OrdinalIgnoreCase)).ToList();
            if (matches.Count != 1) continue;
            if (snapshot.Schema.GetFieldByName(matches[0])?.DataType is not (Int8Type or Int16Type or Int32Type or Int64Type)) continue;
            usable.Add((matches[0], term));
        }
        if (usable.Count == 0) return snapshot.Files;
        return snapshot.Files.Where(f => usable.All(u =>
        {
            f.PartitionValues.TryGetValue(u.Column, out var v);
            if (v is null) return false; // NULL compared with a constant is never true: WHERE drops every row of the file
            return !long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) || u.Term.Passes(n);
        })).ToList();
    }

    // No subquery, set operation, CTE, join or table function anywhere; counts the tables named.
    private static bool Simple(JsonElement node, ref int tables)
    {
        if (node.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in node.EnumerateArray()) if (!Simple(item, ref tables)) return false;
            return true;
        }
        if (node.ValueKind != JsonValueKind.Object) return true;
        var type = Str(node, "type");
        var cls = Str(node, "class");
        if (type is "SUBQUERY" or "SET_OPERATION_NODE" or "JOIN" or "TABLE_FUNCTION" or "EXPRESSION_LIST" or "CTE_NODE" or "RECURSIVE_CTE_NODE" || cls == "SUBQUERY") return false;
        if (type == "BASE_TABLE") tables++;
        if (node.TryGetProperty("cte_map", out var map) && map.TryGetProperty("map", out var entries) && entries.ValueKind == JsonValueKind.Array && entries.GetArrayLength() > 0)
            return false;
        foreach (var p in node.EnumerateObject()) if (!Simple(p.Value, ref tables)) return false;
        return true;
    }

    private static void Collect(JsonElement e, string table, string? alias, List<Term> terms)
    {
        var type = Str(e, "type");
        if (type == "CONJUNCTION_AND" && e.TryGetProperty("children", out var children))
        {
            foreach (var c in children.EnumerateArray()) Collect(c, table, alias, terms);
            return;
        }
        if (type == "COMPARE_IN" && e.TryGetProperty("children", out var items) && items.GetArrayLength() >= 2 &&
            Column(items[0], table, alias) is { } inColumn)
        {
            var values = new HashSet<long>();
            foreach (var item in items.EnumerateArray().Skip(1))
            {
                if (Integer(item) is not { } v) return; // a non-integer in the list: no pruning from this term
                values.Add(v);
            }
            terms.Add(new Term(inColumn, values.Contains));
            return;
        }
        if (!e.TryGetProperty("left", out var left) || !e.TryGetProperty("right", out var right)) return;
        var flipped = false;
        var column = Column(left, table, alias);
        var constant = Integer(right);
        if (column is null || constant is null)
        {
            column = Column(right, table, alias);
            constant = Integer(left);
            flipped = true;
        }
        if (column is null || constant is not { } k) return;
        Func<long, bool>? passes = (type, flipped) switch
        {
            ("COMPARE_EQUAL", _) => n => n == k,
            ("COMPARE_LESSTHAN", false) or ("COMPARE_GREATERTHAN", true) => n => n < k,
            ("COMPARE_LESSTHANOREQUALTO", false) or ("COMPARE_GREATERTHANOREQUALTO", true) => n => n <= k,
            ("COMPARE_GREATERTHAN", false) or ("COMPARE_LESSTHAN", true) => n => n > k,
            ("COMPARE_GREATERTHANOREQUALTO", false) or ("COMPARE_LESSTHANOREQUALTO", true) => n => n >= k,
            _ => null,
        };
        if (passes is not null) terms.Add(new Term(column, passes));
    }

    // A bare column, or one qualified with the table's name or alias.
    private static string? Column(JsonElement e, string table, string? alias)
    {
        if (Str(e, "class") != "COLUMN_REF" || !e.TryGetProperty("column_names", out var names)) return null;
        var parts = names.EnumerateArray().Select(n => n.GetString() ?? "").ToList();
        if (parts.Count == 1) return parts[0];
        if (parts.Count == 2 && (string.Equals(parts[0], alias is { Length: > 0 } ? alias : table, StringComparison.OrdinalIgnoreCase))) return parts[1];
        return null;
    }

    // An integer constant (no cast, no expression).
    private static long? Integer(JsonElement e)
    {
        if (Str(e, "class") != "CONSTANT" || !e.TryGetProperty("value", out var value)) return null;
        if (value.TryGetProperty("is_null", out var isNull) && isNull.ValueKind == JsonValueKind.True) return null;
        if (!value.TryGetProperty("type", out var t) || Str(t, "id") is not ("TINYINT" or "SMALLINT" or "INTEGER" or "BIGINT")) return null;
        return value.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
