using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Metrics;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;

namespace Ecap.DataLake.Tests.Metrics;

/// <summary>The Ecap.DataLake meter observed with a MeterListener: its counts match the work done.</summary>
public class LakeMetricsTests
{
    /// <summary>Sums of every measurement for one table location (other tests in the process use other tables).</summary>
    internal sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly string _table;
        public ConcurrentDictionary<string, double> Sums { get; } = new();
        public ConcurrentDictionary<string, int> Counts { get; } = new();

        public Recorder(string tableLocation)
        {
            _table = tableLocation;
            _listener.InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == LakeMetrics.MeterName) l.EnableMeasurementEvents(instrument); };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
            _listener.Start();
        }

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var t in tags)
                if (t.Key == LakeMetrics.TableTag && t.Value is string s && s.Contains(_table, StringComparison.Ordinal))
                {
                    Sums.AddOrUpdate(instrument.Name, value, (_, old) => old + value);
                    Counts.AddOrUpdate(instrument.Name, 1, (_, old) => old + 1);
                    return;
                }
        }

        public long Sum(string name) => (long)Sums.GetValueOrDefault(name);

        public void Dispose() => _listener.Dispose();
    }

    [Fact]
    public async Task Writes_reads_and_commits_are_counted()
    {
        using var dir = new TempDir();
        var storage = new DataLakeStorage(dir.Sub("lake"));
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        using var rec = new Recorder(storage.OpenTable("tx").Location); // the table's own commits, not the lake's audit trail

        var write = await storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 4000, 7, 1000, start, 10),
            "tx", DataType.Transactions, WriteMode.Append, new WriteOptions());
        Assert.Equal(4000, rec.Sum("ecap.datalake.rows.written"));
        Assert.Equal(write.BytesWritten, rec.Sum("ecap.datalake.bytes.written"));
        Assert.Equal(write.FilesWritten, rec.Sum("ecap.datalake.files.added"));
        Assert.Equal(1, rec.Counts.GetValueOrDefault("ecap.datalake.commit.duration"));

        var scan = await storage.ReadPartitionedDataAsync("tx", new ReadOptions { PartitionFilters = [PartitionFilter.Equal("day", 3)] });
        long rows = 0;
        await foreach (var b in scan.ReadBatchesAsync()) rows += b.Length;
        Assert.Equal(rows, rec.Sum("ecap.datalake.rows.read"));
        Assert.Equal(scan.Metrics.BytesScanned, rec.Sum("ecap.datalake.bytes.read"));
        Assert.Equal(scan.Files.Count, rec.Sum("ecap.datalake.files.scanned"));
        Assert.Equal(scan.Metrics.FilesTotal - scan.Files.Count, rec.Sum("ecap.datalake.files.pruned"));
        Assert.True(rec.Sum("ecap.datalake.files.pruned") > 0);

        // Overwrite removes every file the table had.
        var before = (await storage.OpenTable("tx").GetSnapshotAsync()).Files.Count;
        await storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 100, 8, 100, start, 1),
            "tx", DataType.Transactions, WriteMode.Overwrite, new WriteOptions());
        Assert.Equal(before, rec.Sum("ecap.datalake.files.removed"));
    }

    [Fact]
    public async Task A_lost_race_counts_a_retry_and_a_conflict_counts_a_conflict()
    {
        using var dir = new TempDir();
        var storage = new DataLakeStorage(dir.Sub("lake"));
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        await storage.WritePartitionedDataAsync(SampleDataGenerator.Generate(DataType.Transactions, 500, 7, 500, start, 2),
            "tx", DataType.Transactions, WriteMode.Append, new WriteOptions());
        var table = storage.OpenTable("tx");
        var snapshot = await table.GetSnapshotAsync();
        var file = snapshot.Files.First();
        using var rec = new Recorder(dir.Path);

        // Two blind appends from one snapshot: the second loses the race, finds no conflict and retries.
        var a = table.StartTransaction(snapshot, "WRITE");
        a.Add(file with { Path = "extra-a.parquet" });
        var b = table.StartTransaction(snapshot, "WRITE");
        b.Add(file with { Path = "extra-b.parquet" });
        await a.CommitAsync();
        var result = await b.CommitAsync();
        Assert.Equal(2, result.Attempts);
        Assert.Equal(1, rec.Sum("ecap.datalake.commit.retries"));

        // Two removes of the same file: the second conflicts.
        var now = await table.GetSnapshotAsync();
        var c = table.StartTransaction(now, "DELETE");
        c.Remove(RemoveFile.For(file));
        var d = table.StartTransaction(now, "DELETE");
        d.Remove(RemoveFile.For(file));
        await c.CommitAsync();
        await Assert.ThrowsAsync<ConcurrentModificationException>(() => d.CommitAsync());
        Assert.Equal(1, rec.Sum("ecap.datalake.commit.conflicts"));
        Assert.Equal(3, rec.Counts.GetValueOrDefault("ecap.datalake.commit.duration"));
    }

    [Fact]
    public async Task Checkpoints_and_ingestion_records_dead_letters_and_rates_are_measured()
    {
        using var dir = new TempDir();
        var storage = new DataLakeStorage(dir.Sub("lake"));
        using var rec = new Recorder(dir.Path);
        Directory.CreateDirectory(dir.Sub("in"));
        File.WriteAllText(Path.Combine(dir.Sub("in"), "a.csv"),
            Ingestion.FileIngestionTests.CsvRows(0, 40) + "40,2026-08-01T00:00:00Z,not-a-number,paid\n41,2026-08-01T00:00:00Z\n");
        var typed = new Ecap.DataLake.Files.SourceFileOptions { Schema = Ecap.DataLake.Ingestion.SchemaFile.Parse("transaction_id:long, timestamp:timestamp, amount:double, status:string") };
        var report = await new Ecap.DataLake.Ingestion.DataLakeIngester(storage).IngestAsync(
            new Ecap.DataLake.Ingestion.FileIngestionSource(dir.Sub("in"), typed), "tx", DataType.Transactions);

        Assert.Equal(42, report.RecordsRead);
        Assert.Equal(report.RecordsRead, rec.Sum("ecap.datalake.ingestion.records"));
        Assert.Equal(2, rec.Sum("ecap.datalake.ingestion.dead_letters"));
        Assert.Equal(0, rec.Sum("ecap.datalake.ingestion.retries"));
        Assert.Equal(1, rec.Counts.GetValueOrDefault("ecap.datalake.ingestion.throughput"));
        Assert.True(rec.Sums["ecap.datalake.ingestion.throughput"] > 0);

        var table = storage.OpenTable("tx");
        Assert.Equal(0, rec.Counts.GetValueOrDefault("ecap.datalake.checkpoint.duration"));
        await table.CheckpointAsync();
        Assert.Equal(1, rec.Counts.GetValueOrDefault("ecap.datalake.checkpoint.duration"));
    }

    [Fact]
    public void Consumer_lag_and_compaction_bytes_record_with_their_table_and_partition()
    {
        using var dir = new TempDir();
        using var rec = new Recorder(dir.Path);
        var partitions = new ConcurrentBag<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Name == "ecap.datalake.ingestion.consumer_lag") l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((_, v, tags, _) =>
        {
            string? table = null, partition = null;
            foreach (var t in tags)
            {
                if (t.Key == LakeMetrics.TableTag) table = t.Value as string;
                if (t.Key == LakeMetrics.PartitionTag) partition = t.Value as string;
            }
            if (table == dir.Path) partitions.Add($"{partition}={v}");
        });
        listener.Start();

        LakeMetrics.RecordConsumerLag(dir.Path, "0", 10);
        LakeMetrics.RecordConsumerLag(dir.Path, "1", 0);
        LakeMetrics.RecordCompaction(dir.Path, 4096);
        Assert.Equal(10, rec.Sum("ecap.datalake.ingestion.consumer_lag"));
        Assert.Equal(2, rec.Counts.GetValueOrDefault("ecap.datalake.ingestion.consumer_lag"));
        Assert.Equal(["0=10", "1=0"], partitions.Order());
        Assert.Equal(4096, rec.Sum("ecap.datalake.compaction.bytes.rewritten"));
    }
}
