using Ecap.DataLake.Delta;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Tables;

/// <summary>
/// How a table is laid out, read back from its own Delta metadata: the strategy it was created with
/// (<see cref="PartitionStrategy.ToTableProperties"/>), or for tables written by other engines just their
/// partition columns. The bucket of each data file is in its <c>add.tags</c> under <see cref="BucketTag"/>.
/// </summary>
public static class TableLayout
{
    /// <summary>The bucket number of a data file, in <c>add.tags</c>.</summary>
    public const string BucketTag = "ecap.bucket";

    public static PartitionStrategy FromMetadata(Metadata metadata) =>
        PartitionStrategy.FromTableProperties(metadata.Configuration)
        ?? new PartitionStrategy { PartitionColumns = metadata.PartitionColumns };
}
