using System.CommandLine;
using Ecap.DataLake;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.Cli.Commands;

/// <summary>
/// The layout options <c>storage write</c> and <c>ingestion files</c> share: an optional <c>--data-type</c> preset,
/// <c>--partition-by</c>, <c>--sort-by</c> and <c>--time-column</c> (see <see cref="PartitionSpec"/>).
/// </summary>
internal sealed class LayoutOptions
{
    public const string DataTypeNames = "transactions, user_events, product_updates, analytics_results or customer_profiles";

    public Option<string?> DataType { get; } = new("--data-type")
    {
        Description = DataTypeNames + ": a preset layout and canonical schema (optional: without it the layout is --partition-by/--sort-by, else unpartitioned)",
    };

    public Option<string?> PartitionBy { get; } = new("--partition-by")
    {
        Description = "A new table's partitions: columns and year(col), month(col), day(col), hour(col), bucket(N, col), truncate(W, col), comma-separated " +
                      "(with --data-type: replaces the preset's, e.g. month(timestamp))",
    };

    public Option<string?> SortBy { get; } = new("--sort-by") { Description = "A new table's sort columns inside each file, comma-separated" };

    public Option<string?> TimeColumn { get; } = new("--time-column") { Description = "With --data-type: the column the preset's year/month/day come from" };

    public IEnumerable<Option> All => [DataType, PartitionBy, SortBy, TimeColumn];

    /// <summary>The data type asked for (null: a generic table), and the layout asked for (null: the preset's or the table's own).</summary>
    public (DataType? Type, PartitionStrategy? Strategy) Resolve(CliContext ctx)
    {
        DataType? type = ctx.Get(DataType) is { Length: > 0 } name ? DataTypes.Parse(name) : null;
        var timeColumn = ctx.Get(TimeColumn);
        if (type is null && timeColumn is not null && ctx.Get(PartitionBy) is null)
            throw new InvalidInputException("--time-column needs --data-type; for a generic table name the column in --partition-by, e.g. day(" + timeColumn + ").");
        PartitionStrategy? strategy = null;
        if (ctx.Get(PartitionBy) is not null || ctx.Get(SortBy) is not null)
            strategy = PartitionSpec.Parse(ctx.Get(PartitionBy), ctx.Get(SortBy), type is { } t ? PartitionStrategy.For(t, timeColumn) : null);
        return (type, strategy);
    }

    /// <summary>
    /// A <c>--data-type</c> given for an existing generic table is an error naming its layout (the library refuses another
    /// preset and another layout itself).
    /// </summary>
    public static async Task EnsureFitsAsync(DataLakeStorage lake, string tableName, DataType? type, CancellationToken ct)
    {
        if (type is not { } asked) return;
        var table = lake.OpenTable(tableName);
        if (!await table.ExistsAsync(ct)) return;
        var layout = TableLayout.FromMetadata((await table.GetSnapshotAsync(ct)).Metadata);
        if (layout.DataType is null)
            throw new InvalidInputException(
                $"Table '{tableName}' is a generic table laid out as {PartitionSpec.Format(layout)}, not {asked.ToName()}: drop --data-type to append to it.");
    }
}
