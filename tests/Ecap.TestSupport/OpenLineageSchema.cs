using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Ecap.TestSupport;

/// <summary>
/// The official OpenLineage JSON schemas (vendored in OpenLineage/, see its README), as a validator: a run event against
/// the spec, and each facet it carries against the facet's own schema. Offline: the facets' references to the core spec
/// (by its versioned https://openlineage.io URL) resolve to the vendored file.
/// </summary>
public static class OpenLineageSchema
{
    private static readonly Lazy<(JsonSchema Spec, Dictionary<string, JsonSchema> Facets)> Schemas = new(Load);

    private static string Folder => Path.Combine(AppContext.BaseDirectory, "OpenLineage");

    private static (JsonSchema, Dictionary<string, JsonSchema>) Load()
    {
        var registry = new SchemaRegistry();
        var build = new BuildOptions { SchemaRegistry = registry };
        var specText = File.ReadAllText(Path.Combine(Folder, "OpenLineage.json"));
        var spec = JsonSchema.FromText(specText, build);
        // The facet schemas name the core spec of the version they were written against; its base facets are the same.
        foreach (var version in new[] { "1-0-1", "1-0-2" })
            JsonSchema.FromText(specText.Replace("/spec/2-0-2/OpenLineage.json", $"/spec/{version}/OpenLineage.json", StringComparison.Ordinal), build);
        var facets = new Dictionary<string, JsonSchema>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(Path.Combine(Folder, "facets"), "*.json"))
        {
            var text = File.ReadAllText(file);
            var id = JsonNode.Parse(text)!["$id"]!.GetValue<string>();
            facets[id] = JsonSchema.FromText(text, build);
        }
        return (spec, facets);
    }

    /// <summary>The problems of <paramref name="runEvent"/> (empty when valid): the spec, then every facet's own schema.</summary>
    public static IReadOnlyList<string> Problems(JsonObject runEvent)
    {
        var (spec, facets) = Schemas.Value;
        var problems = new List<string>();
        Check(spec, runEvent, "event", problems);
        foreach (var (path, name, facet) in Facets(runEvent))
        {
            var url = facet["_schemaURL"]?.GetValue<string>() ?? "";
            var id = url.Split('#')[0];
            if (!facets.TryGetValue(id, out var schema)) { problems.Add($"{path}: facet '{name}' names a schema that is not vendored: {url}"); continue; }
            // A facet schema's root describes the facets object holding it under its name.
            Check(schema, new JsonObject { [name] = facet.DeepClone() }, path, problems);
        }
        return problems;
    }

    private static IEnumerable<(string Path, string Name, JsonObject Facet)> Facets(JsonObject runEvent)
    {
        IEnumerable<(string, string, JsonObject)> Of(JsonNode? facets, string path) =>
            facets is JsonObject o ? o.Select(kv => ($"{path}.{kv.Key}", kv.Key, (JsonObject)kv.Value!)) : [];
        foreach (var f in Of(runEvent["run"]?["facets"], "run.facets")) yield return f;
        foreach (var f in Of(runEvent["job"]?["facets"], "job.facets")) yield return f;
        foreach (var side in new[] { "inputs", "outputs" })
            if (runEvent[side] is JsonArray datasets)
                for (var i = 0; i < datasets.Count; i++)
                {
                    foreach (var f in Of(datasets[i]!["facets"], $"{side}[{i}].facets")) yield return f;
                    foreach (var f in Of(datasets[i]!["inputFacets"], $"{side}[{i}].inputFacets")) yield return f;
                    foreach (var f in Of(datasets[i]!["outputFacets"], $"{side}[{i}].outputFacets")) yield return f;
                }
    }

    private static void Check(JsonSchema schema, JsonNode instance, string what, List<string> problems)
    {
        using var doc = JsonDocument.Parse(instance.ToJsonString());
        var result = schema.Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        if (result.IsValid) return;
        foreach (var detail in result.Details ?? [])
            foreach (var (keyword, message) in detail.Errors ?? new Dictionary<string, string>())
                problems.Add($"{what}: {detail.InstanceLocation} {keyword}: {message}");
        if (problems.Count == 0) problems.Add($"{what}: invalid");
    }
}
