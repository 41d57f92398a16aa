using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Ecap.DataLake.Lineage;

/// <summary>A dataset of a run event: where it lives (OpenLineage namespace and name) and what the run learnt of it.</summary>
internal sealed record LineageDataset(string Namespace, string Name)
{
    /// <summary>Its columns (name, type) for the <c>schema</c> facet; null: unknown, no facet.</summary>
    public IReadOnlyList<(string Name, string Type)>? Fields { get; init; }

    /// <summary>Rows the run wrote to it (the <c>outputStatistics</c> facet, outputs only); null: no facet.</summary>
    public long? RowCount { get; init; }

    /// <summary>Bytes the run wrote to it.</summary>
    public long? Size { get; init; }
}

/// <summary>
/// OpenLineage RunEvents as JSON (spec 2-0-2): job, run, inputs, outputs, the <c>schema</c> dataset facet, the
/// <c>outputStatistics</c> output facet and, on FAIL, the <c>errorMessage</c> run facet. Each facet names the schema it follows.
/// </summary>
internal static class RunEventJson
{
    public const string SchemaUrl = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";
    public const string SchemaFacetUrl = "https://openlineage.io/spec/facets/1-0-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet";
    public const string OutputStatisticsFacetUrl = "https://openlineage.io/spec/1-0-1/OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet";
    public const string ErrorMessageFacetUrl = "https://openlineage.io/spec/facets/1-0-0/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet";

    /// <summary>Who sends the events: this library and its version (a URI, as the spec asks).</summary>
    public static readonly string Producer = "urn:ecap:data-lake:" +
        (typeof(RunEventJson).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    public static byte[] Write(string eventType, DateTimeOffset time, string jobNamespace, string jobName, Guid runId,
        IReadOnlyList<LineageDataset> inputs, IReadOnlyList<LineageDataset> outputs, string? errorMessage)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        // Relaxed escaping: events are JSON for machines and logs, never embedded in HTML; quotes in messages stay readable.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("eventType", eventType);
            w.WriteString("eventTime", time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteStartObject("run");
            w.WriteString("runId", runId.ToString("D"));
            if (errorMessage is not null)
            {
                w.WriteStartObject("facets");
                w.WriteStartObject("errorMessage");
                Base(w, ErrorMessageFacetUrl);
                w.WriteString("message", errorMessage);
                w.WriteString("programmingLanguage", "C#");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteStartObject("job");
            w.WriteString("namespace", jobNamespace);
            w.WriteString("name", jobName);
            w.WriteEndObject();
            w.WriteStartArray("inputs");
            foreach (var input in inputs) Dataset(w, input, output: false);
            w.WriteEndArray();
            w.WriteStartArray("outputs");
            foreach (var output in outputs) Dataset(w, output, output: true);
            w.WriteEndArray();
            w.WriteString("producer", Producer);
            w.WriteString("schemaURL", SchemaUrl);
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void Dataset(Utf8JsonWriter w, LineageDataset dataset, bool output)
    {
        w.WriteStartObject();
        w.WriteString("namespace", dataset.Namespace);
        w.WriteString("name", dataset.Name);
        w.WriteStartObject("facets");
        if (dataset.Fields is { } fields)
        {
            w.WriteStartObject("schema");
            Base(w, SchemaFacetUrl);
            w.WriteStartArray("fields");
            foreach (var (name, type) in fields)
            {
                w.WriteStartObject();
                w.WriteString("name", name);
                w.WriteString("type", type);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndObject();
        if (output && dataset.RowCount is { } rows)
        {
            w.WriteStartObject("outputFacets");
            w.WriteStartObject("outputStatistics");
            Base(w, OutputStatisticsFacetUrl);
            w.WriteNumber("rowCount", rows);
            if (dataset.Size is { } size) w.WriteNumber("size", size);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void Base(Utf8JsonWriter w, string schemaUrl)
    {
        w.WriteString("_producer", Producer);
        w.WriteString("_schemaURL", schemaUrl);
    }
}
