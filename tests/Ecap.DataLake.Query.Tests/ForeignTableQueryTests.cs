using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Query.Tests;

/// <summary>SQL over a table written by another writer (INT96, millis, nanos, local timestamps, every decimal form) sees DuckDB's values of the raw file.</summary>
public class ForeignTableQueryTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_view_of_a_foreign_table_has_the_raw_file_values(bool hivePaths)
    {
        using var dir = new TempDir();
        var file = ForeignTable.Write(dir.Sub("spark_table"));
        using var q = new LakeQuery(new DataLakeStorage(dir.Path)) { PreferHivePaths = hivePaths };
        await using var result = await q.QueryAsync(ForeignTable.DuckDbSelect("spark_table"));
        var rows = new List<object?[]>();
        await foreach (var row in result.ReadRowsAsync()) rows.Add(row);
        Assert.Equal(ForeignTable.Expected(), ForeignTable.FromDuckDb(rows));

        // The view's column types are the table's (timestamp: TIMESTAMPTZ, timestamp_ntz: TIMESTAMP), whatever the file stores.
        await using var types = await q.QueryAsync("SELECT typeof(ts_int96), typeof(ts_millis), typeof(ts_nanos), typeof(ts_local_micros), typeof(ntz_millis) FROM spark_table LIMIT 1");
        await foreach (var row in types.ReadRowsAsync())
            Assert.Equal(["TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP"], row.Cast<string>().ToArray());
        Assert.True(File.Exists(file));
    }
}
