using Apache.Arrow;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Compaction;

/// <summary>Tables made of many small appends, and DuckDB fingerprints of a table's live rows.</summary>
internal static class CompactionTestData
{
    /// <summary>
    /// <paramref name="appends"/> small transaction appends over <paramref name="days"/> days. Append i gets ids
    /// i*rows+1.. (key ranges that follow each other, as ids growing with time do), except every
    /// <paramref name="overlapEvery"/>-th append, which reuses the ids of append 0 so inputs overlap and must be merged.
    /// </summary>
    public static async Task WriteSmallTransactionAppendsAsync(DataLakeStorage lake, string table, int appends, int rows, int days, int overlapEvery = 5)
    {
        for (var i = 0; i < appends; i++)
        {
            var offset = i % overlapEvery == overlapEvery - 1 ? 0 : (long)i * rows;
            var batches = Generate(DataType.Transactions, rows, seed: i + 1, days: days).Select(b => ShiftIds(b, "transaction_id", offset));
            await lake.WritePartitionedDataAsync(batches, table, DataType.Transactions);
        }
    }

    public static RecordBatch ShiftIds(RecordBatch batch, string column, long offset)
    {
        var index = batch.Schema.GetFieldIndex(column);
        var ids = (Int64Array)batch.Column(index);
        var builder = new Int64Array.Builder().Reserve(ids.Length);
        for (var i = 0; i < ids.Length; i++) builder.Append(ids.GetValue(i)!.Value + offset);
        var arrays = batch.Arrays.ToList();
        arrays[index] = builder.Build();
        return new RecordBatch(batch.Schema, arrays, batch.Length);
    }

    /// <summary>Row count and an order-independent hash of every transaction row's values, read by DuckDB from the live files.</summary>
    public static async Task<(long Rows, decimal Hash)> FingerprintAsync(DataLakeStorage lake, string lakeDir, string table)
    {
        using var duck = new DuckDbReader();
        var files = DuckDbReader.FileList(await LiveFilesAsync(lake, lakeDir, table));
        var row = duck.Rows($"""
            SELECT count(*), sum(hash(transaction_id, customer_id, product_id, timestamp, amount, currency, payment_method, status, quantity, country, discount_code, shipping_cost, is_first_purchase)::HUGEINT)
            FROM read_parquet({files}, hive_partitioning = false)
            """)[0];
        return (Convert.ToInt64(row[0]), Convert.ToDecimal(row[1]?.ToString() ?? "0", System.Globalization.CultureInfo.InvariantCulture));
    }
}
