using Ecap.DataLake.Storage;
using Ecap.DataLake.Delta;
using System.Diagnostics.Metrics;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Metrics;
using Ecap.DataLake.Quality;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Quality;

/// <summary>Constraints as delta.constraints.* properties: enforced on writes (refused, nothing written) and ingestion (dead letters).</summary>
public sealed class ConstraintTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private DataLakeStorage _lake = null!;
    private DataQuality _quality = null!;

    public async Task InitializeAsync()
    {
        _lake = new DataLakeStorage(_dir.Sub("lake"));
        _quality = new DataQuality(_lake);
        await _lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 2_000, days: 3), "tx", DataType.Transactions);
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Transactions whose every <paramref name="every"/>-th row has a negative amount.</summary>
    private static List<Apache.Arrow.RecordBatch> WithNegativeAmounts(int rows, int every, int seed = 4)
    {
        var result = new List<Apache.Arrow.RecordBatch>();
        foreach (var batch in Generate(DataType.Transactions, rows, seed: seed, days: 2))
        {
            var i = batch.Schema.GetFieldIndex("amount");
            var amount = batch.Column(i);
            var columns = Enumerable.Range(0, batch.ColumnCount).Select(batch.Column).ToArray();
            columns[i] = Negate(amount, every);
            result.Add(new Apache.Arrow.RecordBatch(batch.Schema, columns, batch.Length));
        }
        return result;
    }

    private static Apache.Arrow.IArrowArray Negate(Apache.Arrow.IArrowArray amount, int every)
    {
        switch (amount)
        {
            case Apache.Arrow.DoubleArray d:
                {
                    var b = new Apache.Arrow.DoubleArray.Builder();
                    for (var r = 0; r < d.Length; r++) { var v = d.GetValue(r); if (v is null) b.AppendNull(); else b.Append(r % every == 0 ? -Math.Abs(v.Value) - 1 : v.Value); }
                    return b.Build();
                }
            case Apache.Arrow.Decimal128Array m:
                {
                    var b = new Apache.Arrow.Decimal128Array.Builder((Apache.Arrow.Types.Decimal128Type)m.Data.DataType);
                    for (var r = 0; r < m.Length; r++) { var v = m.GetValue(r); if (v is null) b.AppendNull(); else b.Append(r % every == 0 ? -Math.Abs(v.Value) - 1 : v.Value); }
                    return b.Build();
                }
            default: throw new InvalidOperationException("amount is " + amount.Data.DataType.Name);
        }
    }

    [Fact]
    public async Task Constraints_are_delta_table_properties_and_bump_the_writer_version()
    {
        await _quality.AddConstraintAsync("tx", "amount_non_negative", "amount >= 0");
        await _quality.AddConstraintAsync("tx", "id_present", DataQuality.NotNull("transaction_id"));
        await _quality.AddConstraintAsync("tx", "known_status", DataQuality.AllowedValues("status", ["completed", "pending", "failed", "refunded", "cancelled"]));
        var snapshot = await _lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal("amount >= 0", snapshot.Metadata.Configuration["delta.constraints.amount_non_negative"]);
        Assert.Equal("transaction_id IS NOT NULL", snapshot.Metadata.Configuration["delta.constraints.id_present"]);
        Assert.StartsWith("status IN ('completed', ", snapshot.Metadata.Configuration["delta.constraints.known_status"]);
        // Tables are created at writer 7 (deletion vectors): constraints are then the checkConstraints feature.
        Assert.Equal(7, snapshot.Protocol.MinWriterVersion);
        Assert.Contains("checkConstraints", snapshot.Protocol.WriterFeatures!);
        // The library still writes the table (the feature is enforced), and a check reports per-constraint counts.
        await _lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, seed: 2, days: 1), "tx", DataType.Transactions);
        var results = await _quality.CheckAsync("tx");
        Assert.All(results, r => Assert.Equal((2_100L, 0L), (r.RowsChecked, r.RowsFailed)));

        await _quality.DropConstraintAsync("tx", "known_status");
        Assert.Equal(2, TableConstraints.Of((await _lake.OpenTable("tx").GetSnapshotAsync()).Metadata).All.Count);
    }

    [Fact]
    public async Task A_constraint_the_existing_data_breaks_is_not_added()
    {
        var e = await Assert.ThrowsAsync<ConstraintViolationException>(() => _quality.AddConstraintAsync("tx", "big", "amount > 1000000"));
        Assert.Equal(2_000, e.Results.Single().RowsFailed);
        Assert.Empty(TableConstraints.Of((await _lake.OpenTable("tx").GetSnapshotAsync()).Metadata).All);
        await Assert.ThrowsAsync<InvalidInputException>(() => _quality.AddConstraintAsync("tx", "bad", "no_such_column > 1"));
        await Assert.ThrowsAsync<Ecap.DataLake.Expressions.PredicateSyntaxException>(() => _quality.AddConstraintAsync("tx", "bad", "amount >>> 1"));
    }

    [Fact]
    public async Task A_write_with_a_violating_row_is_refused_and_writes_nothing()
    {
        await _quality.AddConstraintAsync("tx", "amount_non_negative", "amount >= 0");
        var before = await _lake.OpenTable("tx").GetSnapshotAsync();
        var filesBefore = Directory.GetFiles(_dir.Sub("lake/tx"), "*.parquet", SearchOption.AllDirectories).Order().ToList();

        var checkedRows = 0L;
        var failedRows = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == LakeMetrics.MeterName && i.Name.StartsWith("ecap.datalake.quality", StringComparison.Ordinal)) l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) =>
        {
            if (i.Name.EndsWith("checked", StringComparison.Ordinal)) Interlocked.Add(ref checkedRows, v); else Interlocked.Add(ref failedRows, v);
        });
        listener.Start();

        // 3,000 rows in batches of 50,000 rows max: one violating row in every 1,000.
        var e = await Assert.ThrowsAsync<ConstraintViolationException>(() =>
            _lake.WritePartitionedDataAsync(WithNegativeAmounts(3_000, 1_000), "tx", DataType.Transactions));
        Assert.Contains("violate constraint amount_non_negative (amount >= 0)", e.Message);
        Assert.Contains("Nothing was written", e.Message);
        listener.Dispose();
        Assert.Equal(3_000, checkedRows);
        Assert.Equal(3, failedRows);

        var after = await _lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal(before.Version, after.Version);
        Assert.Equal(filesBefore, Directory.GetFiles(_dir.Sub("lake/tx"), "*.parquet", SearchOption.AllDirectories).Order().ToList());
    }

    [Fact]
    public async Task Overwriting_the_schema_or_restoring_an_older_version_keeps_the_constraints()
    {
        await _quality.AddConstraintAsync("tx", "amount_non_negative", "amount >= 0");
        // Restore to version 0 (before the constraint): the constraint stays, and is still enforced.
        await _lake.RestoreAsync("tx", 0);
        var afterRestore = await _lake.OpenTable("tx").GetSnapshotAsync();
        Assert.Equal("amount >= 0", afterRestore.Metadata.Configuration["delta.constraints.amount_non_negative"]);
        await Assert.ThrowsAsync<ConstraintViolationException>(() =>
            _lake.WritePartitionedDataAsync(WithNegativeAmounts(100, 10), "tx", DataType.Transactions));

        // An overwrite that replaces the schema cannot shed it either.
        await Assert.ThrowsAsync<ConstraintViolationException>(() => _lake.WritePartitionedDataAsync(WithNegativeAmounts(100, 10), "tx",
            DataType.Transactions, WriteMode.Overwrite, new WriteOptions { OverwriteSchema = true }));
        await _lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 100, seed: 6, days: 1), "tx",
            DataType.Transactions, WriteMode.Overwrite, new WriteOptions { OverwriteSchema = true });
        Assert.Single(TableConstraints.Of((await _lake.OpenTable("tx").GetSnapshotAsync()).Metadata).All);
    }

    [Fact]
    public async Task Ingestion_routes_violating_rows_to_dead_letters_and_commits_the_rest()
    {
        await _quality.AddConstraintAsync("tx", "amount_non_negative", "amount >= 0");
        var input = _dir.Sub("in.parquet");
        var batches = WithNegativeAmounts(500, 100);
        await Ecap.DataLake.Files.RowExport.WriteAsync(input, batches[0].Schema, batches.ToAsyncEnumerable());

        var report = await new DataLakeIngester(_lake).IngestAsync(new FileIngestionSource(input), "tx", DataType.Transactions);
        Assert.Equal((500L, 495L, 5L), (report.RecordsRead, report.RecordsWritten, report.RecordsDeadLettered));

        // The table holds no violating row; the dead letters hold the five, with the constraint named.
        Assert.All(await _quality.CheckAsync("tx"), r => Assert.Equal((2_495L, 0L), (r.RowsChecked, r.RowsFailed)));
        var dead = await ReadAllAsync(await _lake.ReadPartitionedDataAsync(TableNames.DeadLetterTable("tx")));
        Assert.Equal(5, Rows(dead));
        Assert.All(Column(dead, "error"), v => Assert.Equal("constraint amount_non_negative violated: amount >= 0", v));
        Assert.All(Column(dead, "raw"), v => Assert.Contains("\"amount\":-", (string)v!));
    }
}
