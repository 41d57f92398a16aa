using Ecap.DataLake.Storage;
using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Ecap.Cli.Output;
using Ecap.DataLake;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Ingestion.Streams;
using Ecap.DataLake.Kafka;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary>
/// <c>ecap data-lake ingestion kafka-batch | kafka-stream | stream-status | stream-stop</c>: Kafka topics into tables,
/// exactly once (positions in the table's log), with stream heartbeats in the lake.
/// </summary>
internal static class KafkaCommands
{
    private const string DataTypes = "transactions, user_events, product_updates, analytics_results or customer_profiles";

    public static IEnumerable<Command> Build() => [Batch(), Stream(), Status(), Stop()];

    /// <summary>The options both kafka-batch and kafka-stream take.</summary>
    private sealed class Common
    {
        public Argument<string> Topic { get; } = new("TOPIC") { Description = "The Kafka topic to read (JSON messages)" };
        public Argument<string> Table { get; } = new("TABLE") { Description = "Table name: a folder under the lake root holding _delta_log" };
        public Option<string> DataType { get; } = new("--data-type") { Description = DataTypes + ": the message schema and the table's layout", Required = true };
        public Option<string> Bootstrap { get; } = new("--bootstrap-servers")
        {
            Description = "Kafka brokers host:port[,host:port] (default: $KAFKA_BOOTSTRAP_SERVERS, else localhost:9092)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("KAFKA_BOOTSTRAP_SERVERS") is { Length: > 0 } env ? env : "localhost:9092",
        };
        public Option<string?> Group { get; } = new("--group") { Description = "Consumer group (default ecap-TABLE); the table keeps one position per group and partition" };
        public Option<bool> Metadata { get; } = new("--metadata-columns") { Description = "Add _kafka_key, _kafka_partition, _kafka_offset and _kafka_timestamp columns" };
        public Option<bool> Infer { get; } = new("--infer-schema") { Description = "For a new table: infer column types from the first 1000 messages instead of the data type's canonical schema" };
        public Option<string[]> Properties { get; } = new("--consumer-property")
        {
            Description = "A librdkafka consumer property KEY=VALUE (repeatable), e.g. security.protocol=SSL",
            AllowMultipleArgumentsPerToken = false,
        };
        public Option<string> Format { get; } = new("--format")
        {
            Description = "json (a message is a row) or debezium (Debezium JSON change events, with or without the schema envelope; needs --merge-on)",
            DefaultValueFactory = _ => "json",
        };
        public Option<string?> MergeOn { get; } = new("--merge-on")
        {
            Description = "Change data: upsert each batch into the table by these key column(s) instead of appending (the later offset of a key wins); " +
                          "with --format debezium, deletes and tombstones delete their key",
        };

        public void AddTo(Command c)
        {
            c.Add(Topic);
            c.Add(Table);
            c.Add(DataType);
            c.Add(Bootstrap);
            c.Add(Group);
            c.Add(Metadata);
            c.Add(Infer);
            c.Add(Properties);
            c.Add(Format);
            c.Add(MergeOn);
        }

        public KafkaIngestionOptions Options(CliContext ctx) => new()
        {
            BootstrapServers = ctx.Get(Bootstrap),
            GroupId = ctx.Get(Group),
            IncludeMetadataColumns = ctx.Get(Metadata),
            InferSchema = ctx.Get(Infer),
            ConsumerProperties = CliValues.Unique((ctx.Get(Properties) ?? []).Select(p => p.Split('=', 2)).Select(p => (
                p.Length == 2 && p[0].Length > 0 ? p[0] : throw new InvalidInputException($"--consumer-property needs KEY=VALUE, not '{string.Join('=', p)}'."),
                p[1])), "--consumer-property"),
            Format = ctx.Get(Format).ToLowerInvariant() switch
            {
                "json" => KafkaMessageFormat.Json,
                "debezium" => KafkaMessageFormat.Debezium,
                var other => throw new InvalidInputException($"--format '{other}' is not json or debezium."),
            },
            MergeOn = ctx.Get(MergeOn) is { } keys ? keys.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : null,
        };
    }

    private static Command Batch()
    {
        var common = new Common();
        var batchSize = new Option<int>("--batch-size") { Description = "Records per commit", DefaultValueFactory = _ => 100_000 };
        var maxBatches = new Option<int>("--max-batches") { Description = "Commits at most this many batches, then stops (it stops earlier at the end of the topic)", DefaultValueFactory = _ => 10 };
        var command = new Command("kafka-batch",
            "Read a topic from where the table says it was left, up to --max-batches x --batch-size records or the end of every partition, " +
            "and commit each batch with its partition offsets (txn actions), so reruns never duplicate. Bad messages go to TABLE__dead_letters.\n\n" +
            "Example:\n  ecap data-lake ingestion kafka-batch transactions transactions --data-type transactions --batch-size 50000 --max-batches 20 " +
            "--bootstrap-servers localhost:9092 --output json\n" +
            "  ecap data-lake ingestion kafka-batch dbserver1.public.customers customers --data-type customer_profiles --format debezium " +
            "--merge-on customer_id");
        common.AddTo(command);
        command.Add(batchSize);
        command.Add(maxBatches);
        command.SetCliAction(async (ctx, ct) =>
        {
            var type = DataLake.Tables.Partitioning.DataTypes.Parse(ctx.Get(common.DataType));
            if (ctx.Get(batchSize) < 1) throw new InvalidInputException("--batch-size must be at least 1.");
            if (ctx.Get(maxBatches) < 1) throw new InvalidInputException("--max-batches must be at least 1.");
            var ingester = ctx.OpenDataLake().Ingester;
            var options = common.Options(ctx) with { Progress = new Progress<KafkaIngestionReport>(r => ctx.Status.MarkupLine($"[grey]{Markup.Escape(Line(r))}[/]")) };
            ctx.Status.MarkupLine($"[grey]reading {Markup.Escape(ctx.Get(common.Topic))} from {Markup.Escape(options.BootstrapServers)} into {Markup.Escape(ctx.Get(common.Table))}[/]");
            try
            {
                var report = await ingester.IngestFromKafkaBatchAsync(ctx.Get(common.Topic), ctx.Get(common.Table), type, ctx.Get(batchSize), ctx.Get(maxBatches), options, ct);
                Report(ctx, report);
                return 0;
            }
            catch (Confluent.Kafka.KafkaException e)
            {
                return KafkaFailed(e);
            }
        });
        return command;
    }

    private static Command Stream()
    {
        var common = new Common();
        var trigger = new Option<string>("--trigger-interval") { Description = "How often to commit: \"30 seconds\", \"1 minute\", \"500 ms\", \"10s\"", DefaultValueFactory = _ => "30 seconds" };
        var batchSize = new Option<int>("--batch-size") { Description = "Commit earlier when this many records are pending", DefaultValueFactory = _ => 100_000 };
        var streamId = new Option<string?>("--stream-id") { Description = "The stream's id (its heartbeat file and stream-stop name; default TABLE-<random>)" };
        var command = new Command("kafka-stream",
            "Stream a topic into a table until Ctrl-C or `stream-stop ID`: a commit every trigger interval (earlier when a batch is full), " +
            "exactly once through per-partition txn actions; several streams in one --group split the partitions. A live line shows records, " +
            "rate, lag and the table version; the heartbeat in LAKE/_ecap/streams/ID.json feeds `stream-status`. Ctrl-C stops after a last commit.\n\n" +
            "Example:\n  ecap data-lake ingestion kafka-stream transactions transactions --data-type transactions --trigger-interval \"30 seconds\" " +
            "--bootstrap-servers localhost:9092");
        common.AddTo(command);
        command.Add(trigger);
        command.Add(batchSize);
        command.Add(streamId);
        command.SetCliAction(async (ctx, ct) =>
        {
            var type = DataLake.Tables.Partitioning.DataTypes.Parse(ctx.Get(common.DataType));
            var interval = ParseInterval(ctx.Get(trigger));
            if (ctx.Get(batchSize) < 1) throw new InvalidInputException("--batch-size must be at least 1.");
            var live = !Console.IsErrorRedirected;
            var lastLine = DateTime.MinValue;
            (long Records, TimeSpan At) previous = (0, TimeSpan.Zero);
            var options = common.Options(ctx) with
            {
                BatchSize = ctx.Get(batchSize),
                StreamId = ctx.Get(streamId),
                Progress = new Progress<KafkaIngestionReport>(r =>
                {
                    // The rate since the previous line: what the stream does now, not its average since the start.
                    var seconds = (r.Duration - previous.At).TotalSeconds;
                    var rate = seconds > 0 ? (r.RecordsRead - previous.Records) / seconds : 0;
                    previous = (r.RecordsRead, r.Duration);
                    var line = Line(r, rate);
                    // A terminal gets one line rewritten in place; a log file a line every few seconds.
                    if (live) Console.Error.Write("\r" + line.PadRight(Math.Max(0, Console.BufferWidth - 1))[..Math.Max(1, Console.BufferWidth - 1)]);
                    else if (DateTime.UtcNow - lastLine > TimeSpan.FromSeconds(5)) { Console.Error.WriteLine(line); lastLine = DateTime.UtcNow; }
                }),
            };
            var ingester = ctx.OpenDataLake().Ingester;
            // Ctrl-C / SIGTERM: stop consuming, make the last commit, then exit (the command line's own handler would not wait for it).
            using var stopping = new CancellationTokenSource();
            using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stopping.Cancel(); });
            using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stopping.Cancel(); });
            var stream = ingester.IngestFromKafkaStreaming(ctx.Get(common.Topic), ctx.Get(common.Table), type, interval, options, stopping.Token);
            ctx.Status.MarkupLine($"[grey]stream {Markup.Escape(stream.StreamId)}: {Markup.Escape(ctx.Get(common.Topic))} -> {Markup.Escape(ctx.Get(common.Table))}, " +
                $"a commit every {interval.TotalSeconds:0.###}s; Ctrl-C or `ecap data-lake ingestion stream-stop {Markup.Escape(stream.StreamId)}` stops it[/]");
            try
            {
                var report = await stream.Completion;
                if (live) Console.Error.WriteLine();
                Report(ctx, report);
                return 0;
            }
            catch (Confluent.Kafka.KafkaException e)
            {
                return KafkaFailed(e);
            }
        });
        return command;
    }

    private static Command Status()
    {
        var command = new Command("stream-status",
            "Show the streams of the lake from their heartbeats: state (stale when a running stream has been silent for 3 trigger intervals, " +
            "at least 30 s), records, rate, lag, last table version, last error.\n\n" +
            "Example:\n  ecap data-lake ingestion stream-status --lake ./data-lake --output json");
        command.SetCliAction(async (ctx, ct) =>
        {
            var streams = await new StreamStatusStore(ctx.OpenLake()).ListAsync(ct);
            var now = DateTimeOffset.UtcNow;
            if (ctx.Json)
            {
                // Each heartbeat's keys (the shared contract) plus whether it is stale now, side by side in one object.
                CliJson.Write(new StreamStatusListJson(streams.Select(s =>
                {
                    var node = System.Text.Json.JsonSerializer.SerializeToNode(s, CliJson.Options)!.AsObject();
                    node["stale"] = s.IsStale(now);
                    return node;
                })));
                return 0;
            }
            if (streams.Count == 0)
            {
                AnsiConsole.MarkupLine("[grey]no streams in this lake[/]");
                return 0;
            }
            var table = new Spectre.Console.Table().AddColumns("stream", "topic -> table", "state", "records", "records/s", "lag", "version", "heartbeat", "last error");
            foreach (var s in streams)
            {
                var state = s.IsStale(now) ? "[red]stale[/]" : s.State switch { StreamStatusStore.Running => "[green]running[/]", StreamStatusStore.Failed => "[red]failed[/]", _ => s.State };
                table.AddRow(Markup.Escape(s.StreamId), Markup.Escape($"{s.Topic ?? "?"} -> {s.Table ?? "?"}"), state, s.RecordsTotal.ToString("N0", CultureInfo.InvariantCulture),
                    s.RecordsPerSecond.ToString("N0", CultureInfo.InvariantCulture), s.TotalLag.ToString("N0", CultureInfo.InvariantCulture),
                    s.LastVersion?.ToString(CultureInfo.InvariantCulture) ?? "-", s.LastHeartbeat is { } beat ? $"{(now - beat).TotalSeconds:N0}s ago" : "-", Markup.Escape(s.LastError ?? ""));
            }
            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }

    private static Command Stop()
    {
        var id = new Argument<string>("STREAM_ID") { Description = "The stream's id, as stream-status shows it" };
        var command = new Command("stream-stop",
            "Ask a running stream to stop: at its next trigger it commits what it has read and ends (its heartbeat then says stopped).\n\n" +
            "Example:\n  ecap data-lake ingestion stream-stop transactions-1a2b3c --lake ./data-lake")
        { id };
        command.SetCliAction(async (ctx, ct) =>
        {
            var store = new StreamStatusStore(ctx.OpenLake());
            var status = await store.ReadAsync(ctx.Get(id), ct)
                ?? throw new InvalidInputException($"No stream '{ctx.Get(id)}' in this lake (see `ecap data-lake ingestion stream-status`).");
            await store.RequestStopAsync(status.StreamId, ct);
            if (ctx.Json)
            {
                CliJson.Write(new StreamStopJson(status.StreamId, StopRequested: true, status.State));
            }
            else
            {
                AnsiConsole.MarkupLine($"[green]stop requested[/] for {Markup.Escape(status.StreamId)} (state {Markup.Escape(status.State)}); it stops after its next commit");
            }
            return 0;
        });
        return command;
    }

    /// <summary>A Kafka client error: what was committed stays committed, and a rerun resumes from the table's positions.</summary>
    private static int KafkaFailed(Confluent.Kafka.KafkaException e)
    {
        Console.Error.WriteLine($"error: Kafka: {e.Error.Reason} ({e.Error.Code})");
        Console.Error.WriteLine("hint: check --bootstrap-servers and --consumer-property; committed batches are kept and a rerun resumes after them.");
        return 1;
    }

    /// <summary>"30 seconds", "1 minute", "500 ms", "10s", "2m", "1.5 hours".</summary>
    internal static TimeSpan ParseInterval(string text, string option = "--trigger-interval")
    {
        var m = Regex.Match(text.Trim().ToLowerInvariant(), @"^(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)$");
        if (!m.Success) throw new InvalidInputException($"{option} '{text}' is not a duration such as \"30 seconds\", \"1 minute\" or \"500 ms\".");
        var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        var span = m.Groups[2].Value switch
        {
            "ms" or "millisecond" or "milliseconds" => TimeSpan.FromMilliseconds(n),
            "m" or "min" or "mins" or "minute" or "minutes" => TimeSpan.FromMinutes(n),
            "h" or "hour" or "hours" => TimeSpan.FromHours(n),
            _ => TimeSpan.FromSeconds(n),
        };
        return span > TimeSpan.Zero ? span : throw new InvalidInputException($"{option} must be positive.");
    }

    private static string Line(KafkaIngestionReport r, double? rate = null) =>
        $"{r.Topic} -> {r.Table}: {r.RecordsRead:N0} records ({rate ?? r.RecordsPerSecond:N0}/s), {r.RecordsDeadLettered:N0} dead-lettered, lag {r.TotalLag:N0}, " +
        $"{r.Commits} commit(s), table v{(r.LastVersion?.ToString(CultureInfo.InvariantCulture) ?? "-")}";

    private static void Report(CliContext ctx, KafkaIngestionReport r)
    {
        if (ctx.Json)
        {
            CliJson.Write(KafkaIngestionJson.From(r));
            return;
        }
        AnsiConsole.MarkupLine(
            $"[green]ingested[/] {Markup.Escape(r.Topic)} -> {Markup.Escape(r.Table)}: {r.RecordsRead:N0} records read, {r.RecordsWritten:N0} written, " +
            $"{r.RecordsDeadLettered:N0} dead-lettered{(r.RecordsDeadLettered > 0 ? $" (in {Markup.Escape(TableNames.DeadLetterTable(r.Table))})" : "")}, " +
            $"{r.Commits} commit(s), lag {r.TotalLag:N0} [grey]({r.Duration.TotalSeconds:F1}s, {r.RecordsPerSecond:N0} records/s, table v{r.LastVersion?.ToString(CultureInfo.InvariantCulture) ?? "-"}, " +
            $"positions {Markup.Escape(string.Join(" ", r.Positions.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}:{kv.Value}")))})[/]");
    }
}
