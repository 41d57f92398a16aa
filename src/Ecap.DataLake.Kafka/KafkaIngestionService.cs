using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Microsoft.Extensions.Hosting;

namespace Ecap.DataLake.Kafka;

/// <summary>What a <see cref="KafkaIngestionService"/> streams: a topic into a table, committing every trigger interval.</summary>
public sealed record KafkaStreamSettings(string Topic, string Table, DataType DataType, TimeSpan TriggerInterval, KafkaIngestionOptions Options);

/// <summary>
/// A Kafka stream as a hosted service in a user's application (<c>services.AddHostedService(...)</c>): it runs while
/// the host runs and, when the host stops, makes a last clean commit before it ends. Give it the application's
/// <see cref="DataLake"/> (built once with <see cref="DataLakeBuilder"/>), so its commits share the lake's guard and catalog.
/// </summary>
public sealed class KafkaIngestionService(DataLakeStorage storage, KafkaStreamSettings settings) : BackgroundService
{
    /// <summary>Streams into a lake built by <see cref="DataLakeBuilder"/> (its guard, catalog sync and snapshot cache).</summary>
    public KafkaIngestionService(DataLake lake, KafkaStreamSettings settings) : this(lake.Storage, settings) { }

    /// <summary>The final report once the service has stopped (null while running).</summary>
    public KafkaIngestionReport? LastReport { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LastReport = await new DataLakeIngester(storage).IngestFromKafkaStreamingAsync(
            settings.Topic, settings.Table, settings.DataType, settings.TriggerInterval, settings.Options, stoppingToken);
    }
}
