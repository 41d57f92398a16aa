using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Ecap.DataLake.Server.Json;

/// <summary>
/// The one serializer of the lake's JSON shapes, for the CLI's <c>--output json</c> and the REST API alike: result records,
/// snake_case keys, enums as snake_case strings, nulls written (a script sees every key) except in catalog records, whose
/// absent keys mean unknown (README "JSON output"). Dictionary keys are data (partition values, metrics) and stay as they are.
/// </summary>
internal static class LakeJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
            WriteIndented = true,
            Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
            TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { OmitNullsOfCatalogRecords } },
        };
        options.MakeReadOnly();
        return options;
    }

    /// <summary>Milliseconds as the JSON shows them: whole for durations of an operation.</summary>
    public static long Ms(TimeSpan span) => (long)span.TotalMilliseconds;

    // The catalog's own records (library) and the records of catalog commands leave out null members.
    private static void OmitNullsOfCatalogRecords(JsonTypeInfo type)
    {
        if (type.Kind != JsonTypeInfoKind.Object) return;
        if (type.Type.Namespace != "Ecap.DataLake.Catalog" && !type.Type.IsDefined(typeof(OmitNullMembersAttribute), inherit: false)) return;
        foreach (var property in type.Properties) property.ShouldSerialize = (_, value) => value is not null;
    }
}

/// <summary>Null members of this record are left out of its JSON (catalog shapes: absent = unknown).</summary>
[AttributeUsage(AttributeTargets.Class)]
internal sealed class OmitNullMembersAttribute : Attribute;

/// <summary>A time as UTC with a Z, ISO 8601 round-trip ("O"): the format of the storage and compaction shapes.</summary>
internal sealed class UtcTimestampConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture);

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
}
