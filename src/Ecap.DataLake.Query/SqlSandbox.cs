using System.Text.Json;
using DuckDB.NET.Data;

namespace Ecap.DataLake.Query;

/// <summary>
/// What SQL through <see cref="LakeQuery"/> may do: read the lake's tables through the views ecap registered for the caller
/// (checked against grants, masked columns already NULL), and nothing else. DuckDB's own parser reads the statement
/// (<c>json_serialize_sql</c>, which serializes SELECT statements only), and the tree is walked:
/// - one SELECT statement only: COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA, CREATE... are refused (exports go through
///   <see cref="LakeQuery.CopyToAsync"/> / <c>--out</c>);
/// - no table functions (<c>read_parquet</c>, <c>read_text</c>, <c>glob</c>...: they read files around the grants and masks);
/// - every table named is a registered lake view or a CTE of the query: a quoted path (DuckDB's replacement scan of
///   <c>FROM '/etc/passwd'</c>) or another catalog's table is refused;
/// - no scalar function that reaches outside the data (<see cref="RefusedFunctions"/>).
/// Without this, a principal with no grants could read any table's files, the grants, or overwrite them with COPY.
/// </summary>
internal static class SqlSandbox
{
    /// <summary>Scalar functions that read the process's environment or files.</summary>
    private static readonly HashSet<string> RefusedFunctions = new(StringComparer.OrdinalIgnoreCase)
    {
        "getenv", "current_setting", "read_text", "read_blob", "glob", "file_exists",
    };

    /// <summary>Throws <see cref="InvalidInputException"/> unless <paramref name="sql"/> only reads <paramref name="views"/>.</summary>
    public static void Check(DuckDBConnection connection, string sql, IReadOnlySet<string> views)
    {
        string json;
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT json_serialize_sql(CAST($1 AS VARCHAR))";
            command.Parameters.Add(new DuckDBParameter(sql));
            json = (string)command.ExecuteScalar()!;
        }
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.TryGetProperty("error", out var error) && error.GetBoolean())
        {
            var message = root.TryGetProperty("error_message", out var m) ? m.GetString() ?? "" : "";
            if (message.Contains("Only SELECT", StringComparison.Ordinal))
                throw Refused("only SELECT queries can run (COPY, ATTACH, INSTALL, LOAD, SET, PRAGMA and DDL are refused); export with --out");
            throw new InvalidInputException("Query failed: " + message);
        }
        var statements = root.GetProperty("statements");
        if (statements.GetArrayLength() != 1) throw Refused("give one SELECT statement");
        var ctes = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        CollectCtes(statements, ctes);
        Walk(statements, views, ctes);
    }

    private static InvalidInputException Refused(string why) => new($"Query refused: {why}. SQL reads lake tables by name only.");

    private static void CollectCtes(JsonElement node, HashSet<string> ctes)
    {
        if (node.ValueKind == JsonValueKind.Object)
        {
            if (node.TryGetProperty("cte_map", out var map) && map.TryGetProperty("map", out var entries) && entries.ValueKind == JsonValueKind.Array)
                foreach (var entry in entries.EnumerateArray())
                    if (entry.TryGetProperty("key", out var key) && key.ValueKind == JsonValueKind.String) ctes.Add(key.GetString()!);
            foreach (var p in node.EnumerateObject()) CollectCtes(p.Value, ctes);
        }
        else if (node.ValueKind == JsonValueKind.Array)
            foreach (var item in node.EnumerateArray()) CollectCtes(item, ctes);
    }

    private static void Walk(JsonElement node, IReadOnlySet<string> views, HashSet<string> ctes)
    {
        if (node.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in node.EnumerateArray()) Walk(item, views, ctes);
            return;
        }
        if (node.ValueKind != JsonValueKind.Object) return;
        var type = node.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        switch (type)
        {
            case "TABLE_FUNCTION":
                var name = node.TryGetProperty("function", out var f) && f.TryGetProperty("function_name", out var fn) ? fn.GetString() : "?";
                throw Refused($"table function {name}() reads outside the lake's tables");
            case "BASE_TABLE":
                var table = node.GetProperty("table_name").GetString() ?? "";
                var schema = node.TryGetProperty("schema_name", out var s) ? s.GetString() ?? "" : "";
                var catalog = node.TryGetProperty("catalog_name", out var c) ? c.GetString() ?? "" : "";
                if ((schema.Length > 0 || catalog.Length > 0 || !views.Contains(table)) && !(schema.Length == 0 && catalog.Length == 0 && ctes.Contains(table)))
                    throw Refused($"table '{(schema.Length > 0 ? schema + "." : "")}{table}' does not exist in this lake");
                break;
            case "FUNCTION" when node.TryGetProperty("function_name", out var scalar) && RefusedFunctions.Contains(scalar.GetString() ?? ""):
                throw Refused($"function {scalar.GetString()}() reaches outside the data");
        }
        foreach (var p in node.EnumerateObject()) Walk(p.Value, views, ctes);
    }
}
