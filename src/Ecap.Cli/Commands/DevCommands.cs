using System.CommandLine;
using Confluent.Kafka;
using Ecap.DataLake;
using Ecap.Cli.Output;
using Ecap.DataLake.Kafka.Dev;
using Spectre.Console;

namespace Ecap.Cli.Commands;

/// <summary><c>ecap data-lake dev ...</c>: local stand-ins for services, for trying things out without infrastructure.</summary>
internal static class DevCommands
{
    public static Command Build()
    {
        var dev = new Command("dev", "Local stand-ins for services (a Kafka cluster) to try the lake out.");
        dev.Add(Kafka());
        return dev;
    }

    private static Command Kafka()
    {
        var topics = new Option<string[]>("--topic") { Description = "A topic to create, NAME:PARTITIONS (repeatable; default transactions:6)" };
        var brokers = new Option<int>("--brokers") { Description = "Number of brokers", DefaultValueFactory = _ => 3 };
        var sample = new Option<int>("--sample") { Description = "Produce this many sample JSON transactions into the first topic", DefaultValueFactory = _ => 0 };
        var command = new Command("kafka",
            "Run a local Kafka mock cluster (librdkafka's, real Kafka protocol, in memory) until Ctrl-C, and print its bootstrap address. " +
            "Not for production: each partition keeps about 5 MiB.\n\n" +
            "Example:\n  ecap data-lake dev kafka --topic transactions:6 --sample 10000\n" +
            "  ecap data-lake ingestion kafka-batch transactions transactions --data-type transactions --bootstrap-servers <printed address>")
        { topics, brokers, sample };
        command.SetCliAction(async (ctx, ct) =>
        {
            var specs = (ctx.Get(topics) is { Length: > 0 } t ? t : ["transactions:6"]).Select(ParseTopic).ToList();
            if (ctx.Get(brokers) < 1) throw new InvalidInputException("--brokers must be at least 1.");
            using var cluster = new MockKafkaCluster(ctx.Get(brokers));
            foreach (var (name, partitions) in specs) cluster.CreateTopic(name, partitions);
            if (ctx.Get(sample) > 0)
            {
                using var producer = new ProducerBuilder<string, string>(new ProducerConfig
                {
                    BootstrapServers = cluster.BootstrapServers, CompressionType = CompressionType.Zstd, LingerMs = 20,
                }).Build();
                for (var i = 0; i < ctx.Get(sample); i++)
                    producer.Produce(specs[0].Name, new Message<string, string> { Key = i.ToString(), Value = SampleMessages.Transaction(i) });
                producer.Flush(TimeSpan.FromSeconds(60));
            }
            if (ctx.Json)
            {
                CliJson.Write(new DevKafkaJson(cluster.BootstrapServers, specs.Select(t => new DevKafkaJson.Topic(t.Name, t.Partitions)).ToList(), ctx.Get(sample)));
            }
            else
            {
                AnsiConsole.MarkupLine($"bootstrap servers: [green]{Markup.Escape(cluster.BootstrapServers)}[/]");
                foreach (var (name, partitions) in specs) AnsiConsole.MarkupLine($"topic {Markup.Escape(name)}: {partitions} partition(s)");
                if (ctx.Get(sample) > 0) AnsiConsole.MarkupLine($"{ctx.Get(sample):N0} sample transactions in {Markup.Escape(specs[0].Name)}");
                ctx.Status.MarkupLine("[grey]running until Ctrl-C[/]");
            }
            try { await Task.Delay(Timeout.Infinite, ct); }
            catch (OperationCanceledException) { }
            return 0;
        });
        return command;
    }

    private static (string Name, int Partitions) ParseTopic(string spec)
    {
        var parts = spec.Split(':');
        if (parts.Length is < 1 or > 2 || parts[0].Length == 0 || (parts.Length == 2 && (!int.TryParse(parts[1], out var n) || n < 1)))
            throw new InvalidInputException($"--topic '{spec}' is not NAME or NAME:PARTITIONS.");
        return (parts[0], parts.Length == 2 ? int.Parse(parts[1]) : 1);
    }
}
