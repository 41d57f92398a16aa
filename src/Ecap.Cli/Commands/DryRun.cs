using Apache.Arrow;
using Ecap.Cli.Output;
using Ecap.DataLake;
using Ecap.DataLake.Files;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.Cli.Commands;

/// <summary>
/// <c>--dry-run</c> of <c>storage write</c> and <c>ingestion files</c>: the schema the input is read with (inferred, or the
/// given/table/preset types), printed in the <c>--schema</c> syntax so it can be copied, and the layout the rows would
/// get. Nothing is written.
/// </summary>
internal static class DryRun
{
    /// <summary>The <c>--schema</c> value: a schema file if one exists at that path, else the text <c>col type, col type, ...</c>.</summary>
    public static Schema? ParseSchemaOption(string? value) =>
        value is not { Length: > 0 } text ? null
        : File.Exists(text) ? SchemaFile.Load(text)
        // One word is no column list: a schema file that is not there.
        : !text.Any(ch => char.IsWhiteSpace(ch) || ch is ':' or ',' or '{') ? throw new InvalidInputException($"Schema file '{text}' does not exist (or give the columns as \"col type, ...\").")
        : SchemaFile.Parse(text, "--schema");

    /// <summary>The given (partial) schema's columns over <paramref name="basis"/>'s: the types the input is read with.</summary>
    public static Schema? Over(Schema? given, Schema? basis)
    {
        if (given is null || basis is null) return given ?? basis;
        var fields = basis.FieldsList.Select(f => given.GetFieldIndex(f.Name) is var i and >= 0 ? given.GetFieldByIndex(i) : f).ToList();
        fields.AddRange(given.FieldsList.Where(f => basis.GetFieldIndex(f.Name) < 0));
        return new Schema(fields, basis.Metadata);
    }

    /// <summary>The types a text input is read with when no --schema is given: the data type's, else an existing table's.</summary>
    public static async Task<Schema?> TargetSchemaAsync(DataLakeStorage lake, string tableName, DataType? type, CancellationToken ct)
    {
        if (type is { } preset) return CanonicalSchemas.For(preset);
        var table = lake.OpenTable(tableName);
        return await table.ExistsAsync(ct) ? (await table.GetSnapshotAsync(ct)).Schema : null;
    }

    public static async Task<int> PreviewAsync(CliContext ctx, DataLakeStorage lake, string tableName, DataType? type, PartitionStrategy? strategy,
        string? timeColumn, string sourceName, IAsyncEnumerable<RecordBatch> batches, CancellationToken ct)
    {
        Schema? schema = null;
        await foreach (var batch in batches.WithCancellation(ct))
        {
            schema = batch.Schema;
            break; // the reader settles the types before its first batch
        }
        if (schema is null) throw new InvalidInputException($"{sourceName} has no rows: there is no schema to show.");

        var table = lake.OpenTable(tableName);
        var snapshot = await table.ExistsAsync(ct) ? await table.GetSnapshotAsync(ct) : null;
        PartitionStrategy layout;
        if (snapshot is not null)
        {
            layout = TableLayout.FromMetadata(snapshot.Metadata);
            if (strategy is not null && !PartitionSpec.SameLayout(layout, strategy))
                throw new InvalidInputException(
                    $"Table '{tableName}' is laid out as {PartitionSpec.Format(layout)}, not {PartitionSpec.Format(strategy)}: " +
                    "drop the layout options to append with the table's own layout.");
        }
        else layout = strategy ?? (type is { } t ? PartitionStrategy.For(t, timeColumn) : PartitionStrategy.Custom([]));

        var schemaText = SchemaFile.Format(schema);
        var layoutText = PartitionSpec.Format(layout);
        if (ctx.Json)
        {
            CliJson.Write(new DryRunJson(tableName, DryRun: true, TableExists: snapshot is not null, snapshot?.Version, sourceName, schemaText, layoutText));
            return 0;
        }
        // Plain lines (no markup, no wrapping) so the schema can be copied whole.
        Console.Out.WriteLine($"dry run: nothing written; {sourceName} -> {tableName} ({(snapshot is null ? "a new table" : $"appended to v{snapshot.Version}")})");
        Console.Out.WriteLine($"layout: {layoutText}");
        Console.Out.WriteLine($"schema: {schemaText}");
        return 0;
    }

    private sealed record DryRunJson(string Table, bool DryRun, bool TableExists, long? Version, string Source, string Schema, string Layout);
}
