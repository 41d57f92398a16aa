namespace Ecap.DataLake.Catalog;

/// <summary>
/// Lineage: edges live in the downstream entry (<c>upstream: ["db.name", "source:..."]</c>); recorded between registered
/// tables, kept from commits' sources, and walked both ways breadth-first.
/// </summary>
internal sealed class CatalogLineage(ICatalogStore store, Func<string, CancellationToken, Task<CatalogEntry>> getTable)
{
    // An entry keeps its newest external sources only: a table fed file by file would otherwise grow without bound.
    private const int MaxSources = 20;

    /// <summary>Records that <paramref name="table"/> is derived from <paramref name="upstream"/> and feeds <paramref name="downstream"/>. All tables must be registered.</summary>
    public async Task AddAsync(string table, IEnumerable<string>? upstream, IEnumerable<string>? downstream, CancellationToken ct)
    {
        var self = await getTable(table, ct);
        var ups = new List<CatalogEntry>();
        foreach (var u in upstream ?? []) ups.Add(await getTable(u, ct));
        var downs = new List<CatalogEntry>();
        foreach (var d in downstream ?? []) downs.Add(await getTable(d, ct));
        if (ups.Concat(downs).Any(e => e.QualifiedName == self.QualifiedName))
            throw new InvalidInputException($"A table cannot be its own upstream or downstream ('{self.QualifiedName}').");

        if (ups.Count > 0)
            await AddUpstreamAsync(self, ups.Select(u => u.QualifiedName), ct);
        foreach (var d in downs)
            await AddUpstreamAsync(d, [self.QualifiedName], ct);
    }

    private Task<CatalogEntry?> AddUpstreamAsync(CatalogEntry entry, IEnumerable<string> names, CancellationToken ct)
    {
        var add = names.ToList();
        return store.UpdateAsync(entry.Database, entry.Name, current =>
        {
            if (current is null) return null;
            var merged = current.Upstream.Concat(add).Distinct(StringComparer.Ordinal).ToList();
            return merged.Count == current.Upstream.Count ? current : current with { Upstream = merged, UpdatedAt = DateTimeOffset.UtcNow };
        }, ct);
    }

    /// <summary>Sources written into the table become upstream lineage (newest last, each once, the newest <see cref="MaxSources"/> kept).</summary>
    public static List<string> WithSources(IEnumerable<string> upstream, IEnumerable<string> sources)
    {
        var result = upstream.ToList();
        foreach (var source in sources.Select(s => MetadataManager.SourcePrefix + s))
        {
            result.Remove(source);
            result.Add(source);
        }
        var external = result.Where(u => u.StartsWith(MetadataManager.SourcePrefix, StringComparison.Ordinal)).ToList();
        foreach (var old in external.Take(Math.Max(0, external.Count - MaxSources))) result.Remove(old);
        return result;
    }

    /// <summary>Direct and transitive upstream and downstream tables (cycles are walked once).</summary>
    public async Task<LineageGraph> GetAsync(string table, CancellationToken ct)
    {
        var self = await getTable(table, ct);
        var all = await store.ListAsync(ct: ct);
        var up = all.ToDictionary(e => e.QualifiedName, e => e.Upstream, StringComparer.Ordinal);
        var down = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var e in all)
            foreach (var u in e.Upstream)
            {
                if (!down.TryGetValue(u, out var list)) down[u] = list = [];
                list.Add(e.QualifiedName);
            }
        IReadOnlyList<string> Next(Dictionary<string, IReadOnlyList<string>> map, string n) => map.GetValueOrDefault(n) ?? [];
        var upMap = up;
        var downMap = down.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal);
        var edges = new HashSet<LineageEdge>();
        var allUp = Walk(self.QualifiedName, n => Next(upMap, n), (from, to) => edges.Add(new LineageEdge(to, from)));
        var allDown = Walk(self.QualifiedName, n => Next(downMap, n), (from, to) => edges.Add(new LineageEdge(from, to)));
        return new LineageGraph(self.QualifiedName, Next(upMap, self.QualifiedName).Order(StringComparer.Ordinal).ToList(),
            Next(downMap, self.QualifiedName).Order(StringComparer.Ordinal).ToList(), allUp, allDown,
            edges.OrderBy(e => e.Upstream, StringComparer.Ordinal).ThenBy(e => e.Downstream, StringComparer.Ordinal).ToList());
    }

    private static List<string> Walk(string start, Func<string, IReadOnlyList<string>> next, Action<string, string> edge)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal) { start };
        var order = new List<string>();
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            var n = queue.Dequeue();
            foreach (var m in next(n))
            {
                edge(n, m);
                if (!seen.Add(m)) continue; // already visited: a cycle or a diamond
                order.Add(m);
                queue.Enqueue(m);
            }
        }
        return order;
    }
}
