using Apache.Arrow;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Reading;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.DataLake.Tests.Tables;

/// <summary>Shared helpers of the DataLakeStorage tests: generated data, and DuckDB over a table's live files.</summary>
internal static class LakeTestData
{
    public static readonly DateTimeOffset Start = new(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);

    public static List<RecordBatch> Generate(DataType type, long rows, int seed = 1, int days = 90, int batchSize = 50_000) =>
        SampleDataGenerator.Generate(type, rows, seed, batchSize, Start, days).ToList();

    /// <summary>Absolute paths of the live data files of a table's latest snapshot.</summary>
    public static async Task<List<string>> LiveFilesAsync(DataLakeStorage lake, string lakeDir, string table)
    {
        var snapshot = await lake.OpenTable(table).GetSnapshotAsync();
        return snapshot.Files.Select(f => Path.Combine(lakeDir, table, f.ObjectKey)).ToList();
    }

    public static async Task<List<RecordBatch>> ReadAllAsync(TableScan scan)
    {
        var list = new List<RecordBatch>();
        await foreach (var b in scan.ReadBatchesAsync()) list.Add(b);
        return list;
    }

    public static long Rows(IEnumerable<RecordBatch> batches) => batches.Sum(b => (long)b.Length);

    public static IEnumerable<object?> Column(IEnumerable<RecordBatch> batches, string name) =>
        batches.SelectMany(b => Enumerable.Range(0, b.Length).Select(r => Ecap.DataLake.Arrow.ArrowValues.Get(b.Column(b.Schema.GetFieldIndex(name)), r)));
}
