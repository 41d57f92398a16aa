namespace Ecap.DataLake.Catalog;

/// <summary>Search over the catalog's entries: case-insensitive substring, ranked exact name, name prefix, name substring, other fields.</summary>
internal sealed class CatalogSearch(ICatalogStore store)
{
    private static readonly string[] Fields = ["table_name", "description", "tags", "columns", "owner"];

    public async Task<IReadOnlyList<SearchResult>> SearchAsync(string term, IEnumerable<string>? fields, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(term)) throw new InvalidInputException("Search term must not be empty.");
        term = term.Trim();
        var selected = (fields ?? []).Select(f => f.Trim().ToLowerInvariant()).ToHashSet();
        foreach (var f in selected)
            if (!Fields.Contains(f))
                throw new InvalidInputException($"Unknown search field '{f}'. Valid fields: {string.Join(", ", Fields)}.");
        if (selected.Count == 0) selected = Fields.ToHashSet();

        var results = new List<SearchResult>();
        foreach (var e in (await store.ListAsync(ct: ct)).Where(e => !e.IsReserved))
        {
            var matched = new List<string>();
            var rank = int.MaxValue;
            if (selected.Contains("table_name"))
            {
                var r = e.Name.Equals(term, StringComparison.OrdinalIgnoreCase) ? 0
                    : e.Name.StartsWith(term, StringComparison.OrdinalIgnoreCase) ? 1
                    : Has(e.Name, term) ? 2 : int.MaxValue;
                if (r != int.MaxValue) { rank = r; matched.Add("table_name"); }
            }
            if (selected.Contains("description") && Has(e.Description, term)) matched.Add("description");
            if (selected.Contains("tags") && e.Tags.Any(t => Has(t, term))) matched.Add("tags");
            if (selected.Contains("columns") && e.Columns.Any(c => Has(c.Name, term))) matched.Add("columns");
            if (selected.Contains("owner") && Has(e.Owner, term)) matched.Add("owner");
            if (matched.Count == 0) continue;
            results.Add(new SearchResult(e, Math.Min(rank, 3), matched));
        }
        return results.OrderBy(r => r.Rank).ThenBy(r => r.Entry.Name, StringComparer.OrdinalIgnoreCase).ToList();
    }

    private static bool Has(string? text, string term) => text?.Contains(term, StringComparison.OrdinalIgnoreCase) == true;
}
