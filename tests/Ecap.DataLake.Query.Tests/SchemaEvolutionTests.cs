using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.DataLake.Query.Tests;

/// <summary>A column added by schema evolution: files written before it read as NULL in the view.</summary>
public class SchemaEvolutionTests
{
    private static RecordBatch WithColumn(RecordBatch b, string name, bool value)
    {
        var fields = b.Schema.FieldsList.Append(new Field(name, BooleanType.Default, true)).ToList();
        var cols = Enumerable.Range(0, b.ColumnCount).Select(b.Column).Append(new BooleanArray.Builder().AppendRange(Enumerable.Repeat(value, b.Length)).Build()).ToList();
        return new RecordBatch(new Schema(fields, null), cols, b.Length);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Old_files_read_the_new_column_as_null(bool hivePaths)
    {
        using var dir = new TempDir();
        var lake = new DataLakeStorage(dir.Path);
        var start = new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero);
        await lake.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 300, 1, 300, start, 3), "tx", DataType.Transactions);
        // The new rows land on other days, so some partitions hold only files without the column.
        var wider = SampleDataGenerator.Generate(DataType.Transactions, 100, 2, 100, start.AddDays(10), 2).Select(b => WithColumn(b, "gift_wrap", true)).ToList();
        await lake.WritePartitionedDataAsync(wider, "tx", DataType.Transactions, WriteMode.Append, new WriteOptions { MergeSchema = true });

        using var q = new LakeQuery(lake) { PreferHivePaths = hivePaths };
        await using var result = await q.QueryAsync("SELECT count(*) FILTER (WHERE gift_wrap IS NULL), count(*) FILTER (WHERE gift_wrap) FROM tx");
        var rows = new List<object?[]>();
        await foreach (var r in result.ReadRowsAsync()) rows.Add(r);
        Assert.Equal(300L, Convert.ToInt64(rows[0][0], CultureInfo.InvariantCulture));
        Assert.Equal(100L, Convert.ToInt64(rows[0][1], CultureInfo.InvariantCulture));
    }
}
