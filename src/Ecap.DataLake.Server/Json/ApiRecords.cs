using Ecap.DataLake.Catalog;

namespace Ecap.DataLake.Server.Json;

// Shapes of the REST API that the CLI has no command for (they compose the shared ones).

/// <summary><c>GET /api/tables/{name}</c>: the table's storage figures (<c>storage info</c>) and its catalog entry (null: not registered).</summary>
internal sealed record TableDetailJson(TableInfoJson Info, CatalogEntry? Catalog);

/// <summary>
/// <c>GET /api/tables/{name}/lineage</c>: the shape of <c>catalog lineage --output json</c> plus <c>nodes</c>, every table of
/// the graph once with its side (self, upstream, downstream), so a client can draw it without walking the edges.
/// </summary>
internal sealed record LineageJson(string Table, IReadOnlyList<string> DirectUpstream, IReadOnlyList<string> DirectDownstream,
    IReadOnlyList<string> AllUpstream, IReadOnlyList<string> AllDownstream, IReadOnlyList<LineageEdge> Edges, IReadOnlyList<LineageJson.Node> Nodes)
{
    internal sealed record Node(string Name, string Side);

    public static LineageJson From(LineageGraph g) => new(g.Table, g.DirectUpstream, g.DirectDownstream, g.AllUpstream, g.AllDownstream, g.Edges,
        [new Node(g.Table, "self"), .. g.AllUpstream.Select(n => new Node(n, "upstream")), .. g.AllDownstream.Where(n => !g.AllUpstream.Contains(n)).Select(n => new Node(n, "downstream"))]);
}

/// <summary><c>POST /api/query</c>'s body: the SQL and how many rows at most to return.</summary>
internal sealed record QueryRequestJson(string? Sql, int? Limit);

/// <summary><c>GET /healthz</c>.</summary>
internal sealed record HealthJson(string Status, string Lake);
