using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tables.Writing;

/// <summary>The optional lineage columns a write can add: <c>_ingested_at</c> and <c>_source</c>.</summary>
internal static class MetadataColumns
{
    public const string IngestedAt = "_ingested_at";
    public const string Source = "_source";

    public static RecordBatch Add(RecordBatch batch, WriteOptions options)
    {
        if (!options.AddMetadataColumns) return batch;
        var fields = batch.Schema.FieldsList.ToList();
        var columns = Enumerable.Range(0, batch.ColumnCount).Select(batch.Column).ToList();
        if (batch.Schema.GetFieldIndex(IngestedAt) < 0)
        {
            var type = new TimestampType(TimeUnit.Microsecond, "UTC");
            var now = DateTimeOffset.UtcNow;
            fields.Add(new Field(IngestedAt, type, nullable: true));
            columns.Add(ArrowArrays.Constant(type, now, batch.Length));
        }
        if (options.SourceName != null && batch.Schema.GetFieldIndex(Source) < 0)
        {
            fields.Add(new Field(Source, StringType.Default, nullable: true));
            columns.Add(ArrowArrays.Constant(StringType.Default, options.SourceName.Length == 0 ? null : options.SourceName, batch.Length));
        }
        return new RecordBatch(new Schema(fields, batch.Schema.Metadata), columns, batch.Length);
    }
}
