using System.Diagnostics;
using Confluent.Kafka;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Kafka;
using Ecap.DataLake.Kafka.Dev;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;

/// <summary>
/// Kafka -> table end to end: N JSON transactions of about 200 bytes on a 6-partition topic of the in-process mock
/// cluster (zstd, so the mock's 5 MiB per partition holds them), ingested by a batch run (JSON parsing, Arrow conversion,
/// Parquet writing, commits with per-partition txns) vs a bare Confluent.Kafka consumer that only counts the same
/// messages. Runs alternate (bare, ecap, bare, ecap, ...) in one process; medians are compared.
/// </summary>
internal static class KafkaBench
{
    public static async Task RunAsync(string[] args)
    {
        var messages = args.Length > 0 ? int.Parse(args[0]) : 500_000;
        var runs = args.Length > 1 ? int.Parse(args[1]) : 3;
        var batchSize = args.Length > 2 ? int.Parse(args[2]) : 100_000;
        const string topic = "transactions";
        using var cluster = new MockKafkaCluster(3);
        cluster.CreateTopic(topic, 6);
        long bytes = 0;
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, CompressionType = CompressionType.Zstd, LingerMs = 50, BatchSize = 1_000_000,
        }).Build())
        {
            for (var i = 0; i < messages; i++)
            {
                var value = SampleMessages.Transaction(i);
                bytes += value.Length;
                while (true)
                {
                    try { producer.Produce(topic, new Message<string, string> { Key = i.ToString(), Value = value }); break; }
                    catch (ProduceException<string, string> e) when (e.Error.Code == ErrorCode.Local_QueueFull) { producer.Poll(TimeSpan.FromMilliseconds(50)); }
                }
            }
            producer.Flush(TimeSpan.FromMinutes(2));
        }
        Console.WriteLine($"topic: {messages:N0} JSON transactions, {bytes / (double)messages:F0} bytes each on average, 6 partitions, zstd; " +
                          $"{Environment.ProcessorCount} cores; batch size {batchSize:N0}");

        var work = Path.Combine(Path.GetTempPath(), "ecap-kafkabench-" + Guid.NewGuid().ToString("N")[..8]);
        await Parts(work, Math.Min(messages, 200_000));
        var bare = new List<double>();
        var ours = new List<double>();
        try
        {
            for (var run = 0; run < runs; run++)
            {
                // CPU time of the whole process (the mock brokers included) tells whether a side is CPU-bound on this machine.
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                var counted = CountBare(cluster.BootstrapServers, topic, messages);
                bare.Add(messages / sw.Elapsed.TotalSeconds);
                Console.WriteLine($"bare consumer run {run + 1}: {sw.Elapsed.TotalSeconds:F2}s, {bare[^1]:N0} msg/s ({counted:N0} messages), " +
                                  $"process cpu {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F1}s");

                var lake = Path.Combine(work, "lake" + run);
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
                sw.Restart();
                var report = await new DataLakeIngester(BenchLake.Open(lake)).IngestFromKafkaBatchAsync(topic, "transactions", DataType.Transactions,
                    batchSize, int.MaxValue / batchSize, new KafkaIngestionOptions { BootstrapServers = cluster.BootstrapServers, GroupId = "bench-" + run, ConsumerProperties = BenchProps() });
                ours.Add(messages / sw.Elapsed.TotalSeconds);
                if (report.RecordsWritten != messages) throw new InvalidOperationException($"wrote {report.RecordsWritten} of {messages}");
                Console.WriteLine($"ecap kafka-batch run {run + 1}: {sw.Elapsed.TotalSeconds:F2}s, {ours[^1]:N0} msg/s ({report.Commits} commits), " +
                                  $"process cpu {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F1}s");
                Directory.Delete(lake, true);
            }
        }
        finally
        {
            if (Directory.Exists(work)) Directory.Delete(work, true);
        }
        double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);
        Console.WriteLine($"median: bare {Median(bare):N0} msg/s, ecap {Median(ours):N0} msg/s, ratio {Median(ours) / Median(bare):P0} (goal >= 80%)");
        Console.WriteLine("load: " + File.ReadAllText("/proc/loadavg").Trim());
    }

    /// <summary>Where ecap's time goes, without Kafka: JSON -> Arrow on one thread, then the table write.</summary>
    private static async Task Parts(string work, int n)
    {
        var values = Enumerable.Range(0, n).Select(i => System.Text.Encoding.UTF8.GetBytes(SampleMessages.Transaction(i))).ToList();
        var builder = new Ecap.DataLake.Files.JsonRecordBatchBuilder(Ecap.DataLake.Tables.SampleData.CanonicalSchemas.Transactions);
        var sw = Stopwatch.StartNew();
        foreach (var v in values) builder.TryAppend(v);
        var batch = builder.Build();
        var convert = sw.Elapsed.TotalSeconds;
        sw.Restart();
        await BenchLake.Open(Path.Combine(work, "parts")).WritePartitionedDataAsync([batch], "t", DataType.Transactions);
        Console.WriteLine($"parts ({n:N0} messages, no Kafka): JSON -> Arrow {n / convert:N0} msg/s on one thread, table write {n / sw.Elapsed.TotalSeconds:N0} rows/s");
    }

    /// <summary>Consumer properties given to both sides (ECAP_BENCH_KAFKA_PROPS="k=v,k=v"), to study the mock cluster's fetch timing.</summary>
    private static Dictionary<string, string>? BenchProps() =>
        Environment.GetEnvironmentVariable("ECAP_BENCH_KAFKA_PROPS") is { Length: > 0 } v
            ? v.Split(',').Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]) : null;

    /// <summary>A plain consumer of every partition from the beginning that only counts messages (and touches their bytes).</summary>
    private static long CountBare(string bootstrap, string topic, int expected)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "bare-" + Guid.NewGuid().ToString("N")[..6], EnableAutoCommit = false,
            FetchQueueBackoffMs = KafkaIngestionOptions.DefaultFetchQueueBackoffMs, // ecap's consumer default, so both sides fetch alike
            ConsumeResultFields = "none", // it counts only: no headers, timestamps or topic names (as ecap without metadata columns)
        };
        foreach (var (k, v) in BenchProps() ?? []) config.Set(k, v);
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(config).Build();
        consumer.Assign(Enumerable.Range(0, 6).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        long count = 0, bytes = 0;
        while (count < expected)
        {
            var r = consumer.Consume(TimeSpan.FromSeconds(10)) ?? throw new InvalidOperationException($"bare consumer stalled at {count}");
            count++;
            bytes += r.Message.Value?.Length ?? 0;
        }
        return bytes > 0 ? count : 0;
    }
}
