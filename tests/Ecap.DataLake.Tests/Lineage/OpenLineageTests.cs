using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json.Nodes;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Lineage;
using Ecap.DataLake.Metrics;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tests.Ingestion;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests.Lineage;

/// <summary>
/// OpenLineage runs of a built lake, received by a real HTTP backend on loopback (or read from the file transport) and
/// validated against the official OpenLineage JSON schemas (vendored in Ecap.TestSupport/OpenLineage).
/// </summary>
public sealed class OpenLineageTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly OpenLineageReceiver _receiver = new();
    private readonly List<string> _warnings = [];

    public void Dispose()
    {
        _receiver.Dispose();
        _dir.Dispose();
    }

    private DataLake Lake(OpenLineageOptions? options = null) => new DataLakeBuilder(_dir.Sub("lake"))
        .UseOpenLineage((options ?? new OpenLineageOptions { Url = new Uri(_receiver.Url) }) with
        {
            OnSendFailure = (message, _) => { lock (_warnings) _warnings.Add(message); },
        })
        .Build();

    private static void AssertValid(IEnumerable<JsonObject> events)
    {
        foreach (var e in events)
        {
            var problems = OpenLineageSchema.Problems(e);
            Assert.True(problems.Count == 0, string.Join("\n", problems) + "\n" + e.ToJsonString());
        }
    }

    private static string Str(JsonNode? node) => node!.GetValue<string>();

    private string LakeNamespace => new Uri(_dir.Sub("lake")).AbsoluteUri;

    [Fact]
    public async Task A_write_sends_a_start_and_a_complete_run_whose_output_statistics_count_the_rows_written()
    {
        var lake = Lake(new OpenLineageOptions { Url = new Uri(_receiver.Url), ApiKey = "secret-key" });
        var result = await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 120, days: 3), "tx", DataType.Transactions);
        await lake.DisposeAsync(); // flushes the queue

        var events = _receiver.Events;
        AssertValid(events);
        Assert.Equal(["START", "COMPLETE"], events.Select(e => Str(e["eventType"])));
        Assert.All(_receiver.Requests, r => Assert.Equal("/api/v1/lineage", r.Path));
        Assert.All(_receiver.Requests, r => Assert.Equal("Bearer secret-key", r.Authorization));
        var (start, complete) = (events[0], events[1]);
        Assert.Equal(Str(start["run"]!["runId"]), Str(complete["run"]!["runId"]));
        Assert.Equal("ecap", Str(complete["job"]!["namespace"]));
        Assert.Equal("write.tx", Str(complete["job"]!["name"]));

        var output = Assert.Single(complete["outputs"]!.AsArray())!;
        Assert.Equal(LakeNamespace, Str(output["namespace"]));
        Assert.Equal("tx", Str(output["name"]));
        var statistics = output["outputFacets"]!["outputStatistics"]!;
        Assert.Equal(120, statistics["rowCount"]!.GetValue<long>());
        Assert.Equal(result.RowsWritten, statistics["rowCount"]!.GetValue<long>());
        Assert.Equal(result.BytesWritten, statistics["size"]!.GetValue<long>());
        var fields = output["facets"]!["schema"]!["fields"]!.AsArray().Select(f => Str(f!["name"])).ToList();
        Assert.Contains("transaction_id", fields);
        Assert.Contains("amount", fields);

        // The run id is the operation's audit id: the run, its audit record and its commits name each other.
        var audit = Assert.Single(await lake.Guard.Audit!.ReadAsync(new AuditFilter(Table: "tx")).Where(r => r.Operation == "write").ToListAsync());
        Assert.Equal(Guid.ParseExact(audit.AuditId!, "N"), Guid.Parse(Str(complete["run"]!["runId"])));
        Assert.Empty(_warnings);
    }

    [Fact]
    public async Task An_ingestion_run_names_the_file_it_read_as_its_input()
    {
        var input = _dir.Sub("in.csv");
        await File.WriteAllTextAsync(input, FileIngestionTests.CsvRows(0, 40));
        var lake = Lake();
        var report = await lake.Ingester.IngestAsync(new FileIngestionSource(input), "tx", DataType.Transactions);
        await lake.DisposeAsync();

        var events = _receiver.Events;
        AssertValid(events);
        Assert.Equal(["START", "COMPLETE"], events.Select(e => Str(e["eventType"])));
        foreach (var e in events)
        {
            var source = Assert.Single(e["inputs"]!.AsArray())!;
            Assert.Equal("file", Str(source["namespace"]));
            Assert.Equal(Path.GetFullPath(input), Str(source["name"]));
            Assert.Equal("ingest.tx", Str(e["job"]!["name"]));
        }
        var output = Assert.Single(events[1]["outputs"]!.AsArray())!;
        Assert.Equal("tx", Str(output["name"]));
        Assert.Equal(40, report.RecordsWritten);
        Assert.Equal(40, output["outputFacets"]!["outputStatistics"]!["rowCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_failed_write_sends_start_and_fail_with_the_error_message()
    {
        var lake = Lake();
        await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions);
        var error = await Assert.ThrowsAnyAsync<DataLakeException>(() =>
            lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions, WriteMode.ErrorIfExists));
        await lake.DisposeAsync();

        var events = _receiver.Events;
        AssertValid(events);
        Assert.Equal(["START", "COMPLETE", "START", "FAIL"], events.Select(e => Str(e["eventType"])));
        var fail = events[3];
        Assert.Equal(Str(events[2]["run"]!["runId"]), Str(fail["run"]!["runId"]));
        Assert.NotEqual(Str(events[0]["run"]!["runId"]), Str(fail["run"]!["runId"]));
        var facet = fail["run"]!["facets"]!["errorMessage"]!;
        Assert.Equal(error.Message, Str(facet["message"]));
        Assert.Equal("C#", Str(facet["programmingLanguage"]));
        var output = Assert.Single(fail["outputs"]!.AsArray())!;
        Assert.Equal("tx", Str(output["name"]));
        Assert.Null(output["outputFacets"]); // nothing was written
    }

    [Fact]
    public async Task A_merge_names_its_source_and_counts_the_rows_of_the_files_it_added()
    {
        var lake = Lake();
        var data = Generate(DataType.Transactions, 200, days: 2);
        await lake.Storage.WritePartitionedDataAsync(data, "tx", DataType.Transactions);
        var before = (await lake.Storage.OpenTable("tx").GetSnapshotAsync()).Files.Select(f => f.Path).ToHashSet();
        var source = data[0].Slice(0, 7); // rows the table holds: all matched, all updated
        var result = await lake.Storage.MergeAsync("tx", new[] { source }.ToAsyncEnumerable(),
            new Ecap.DataLake.Tables.Changes.MergeOptions { On = ["transaction_id"], SourceName = "s3://landing/updates.parquet" });
        await lake.DisposeAsync();

        var events = _receiver.Events;
        AssertValid(events);
        var complete = events.Last();
        Assert.Equal(("COMPLETE", "merge.tx"), (Str(complete["eventType"]), Str(complete["job"]!["name"])));
        var input = Assert.Single(complete["inputs"]!.AsArray())!;
        Assert.Equal(("s3://landing", "updates.parquet"), (Str(input["namespace"]), Str(input["name"])));
        Assert.Equal(7, result.RowsUpdated);
        // The rows of the data files the merge added, read from the table itself.
        var added = (await lake.Storage.OpenTable("tx").GetSnapshotAsync()).Files.Where(f => !before.Contains(f.Path)).ToList();
        Assert.NotEmpty(added);
        var output = Assert.Single(complete["outputs"]!.AsArray())!;
        Assert.Equal(added.Sum(f => StatsRecordCount.Parse(f.Stats, out _) ?? 0), output["outputFacets"]!["outputStatistics"]!["rowCount"]!.GetValue<long>());
        Assert.Equal(added.Sum(f => f.Size), output["outputFacets"]!["outputStatistics"]!["size"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_backend_answering_500_fails_no_write_and_is_reported_as_a_warning_and_a_metric()
    {
        _receiver.Status = HttpStatusCode.InternalServerError;
        var failed = 0L;
        using var listener = LineageListener((outcome, n) => { if (outcome == "failed") Interlocked.Add(ref failed, n); });
        var lake = Lake();
        var result = await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 30, days: 1), "tx", DataType.Transactions);
        await lake.DisposeAsync();

        Assert.Equal(30, result.RowsWritten);
        Assert.Equal(30, (await lake.Storage.OpenTable("tx").GetSnapshotAsync()).Files.Sum(f => StatsRecordCount.Parse(f.Stats, out _) ?? 0));
        Assert.Equal(2, _receiver.Requests.Count); // both events were tried
        Assert.Equal(2, Interlocked.Read(ref failed));
        var warning = Assert.Single(_warnings); // one warning per outage, not per event
        Assert.Contains("500", warning);
    }

    [Fact]
    public async Task A_backend_that_is_down_fails_no_write_and_is_reported()
    {
        var down = LoopbackPorts.Free(); // nothing listens there
        var lake = Lake(new OpenLineageOptions { Url = new Uri($"http://127.0.0.1:{down}") });
        var result = await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 30, days: 1), "tx", DataType.Transactions);
        await lake.DisposeAsync();

        Assert.Equal(30, result.RowsWritten);
        Assert.Contains($"127.0.0.1:{down}", Assert.Single(_warnings));
    }

    [Fact]
    public async Task A_hung_backend_fills_the_queue_and_events_are_dropped_with_a_warning_not_waited_for()
    {
        using var hung = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        hung.Start(); // accepts connections, never answers
        var dropped = 0L;
        using var listener = LineageListener((outcome, n) => { if (outcome == "dropped") Interlocked.Add(ref dropped, n); });
        var lake = Lake(new OpenLineageOptions
        {
            Url = new Uri($"http://127.0.0.1:{((IPEndPoint)hung.LocalEndpoint).Port}"),
            QueueCapacity = 1, Timeout = TimeSpan.FromMinutes(5), FlushTimeout = TimeSpan.FromSeconds(1),
        });
        for (var seed = 1; seed <= 3; seed++)
            Assert.Equal(10, (await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, seed: seed, days: 1), "tx", DataType.Transactions)).RowsWritten);
        await lake.DisposeAsync(); // gives up on the send in flight after FlushTimeout

        // 6 events: one in flight (stuck), at most one queued, the rest dropped at once; the queued one is dropped at dispose.
        Assert.True(Interlocked.Read(ref dropped) >= 4, $"dropped {dropped}");
        Assert.Contains(_warnings, w => w.Contains("dropped", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_file_transport_appends_one_valid_event_per_line()
    {
        var file = _dir.Sub("lineage/events.jsonl");
        var lake = Lake(new OpenLineageOptions { FilePath = file });
        for (var seed = 1; seed <= 3; seed++) // three small files in one partition
            await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 20, seed: seed, days: 1), "tx", DataType.Transactions);
        var compaction = await lake.Compactor.CompactTableAsync("tx");
        await lake.DisposeAsync();

        var lines = await File.ReadAllLinesAsync(file);
        var events = lines.Select(l => (JsonObject)JsonNode.Parse(l)!).ToList();
        AssertValid(events);
        Assert.Equal(["START", "COMPLETE", "START", "COMPLETE", "START", "COMPLETE", "START", "COMPLETE"], events.Select(e => Str(e["eventType"])));
        Assert.Equal("compact.tx", Str(events[7]["job"]!["name"]));
        // A compaction changes no data: its output statistics are the rows it rewrote.
        Assert.Equal(60, compaction.RowsRewritten);
        Assert.Equal(60, events[7]["outputs"]![0]!["outputFacets"]!["outputStatistics"]!["rowCount"]!.GetValue<long>());
        Assert.Empty(_receiver.Requests);
    }

    [Fact]
    public async Task Reads_and_lakes_without_configuration_send_nothing()
    {
        var lake = Lake();
        await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions);
        await lake.Storage.GetTableInfoAsync("tx");
        await lake.Storage.ListTablesAsync();
        await lake.DisposeAsync();
        Assert.Equal(2, _receiver.Requests.Count); // the write's START and COMPLETE only

        var off = new DataLakeBuilder(_dir.Sub("other")).UseOpenLineage(OpenLineageOptions.FromEnvironment(_ => null)).Build();
        Assert.False(off.EmitsLineage);
        await off.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions);
        await off.DisposeAsync();
        Assert.Equal(2, _receiver.Requests.Count);
    }

    [Fact]
    public void The_environment_is_read_as_the_openlineage_clients_read_it()
    {
        static OpenLineageOptions? From(params (string Key, string Value)[] vars) =>
            OpenLineageOptions.FromEnvironment(name => vars.FirstOrDefault(v => v.Key == name).Value);

        Assert.Null(From());
        var http = From(("OPENLINEAGE_URL", "http://marquez:5000"), ("OPENLINEAGE_API_KEY", "k"), ("OPENLINEAGE_NAMESPACE", "shop"), ("OPENLINEAGE_ENDPOINT", "/api/v2/lineage"))!;
        Assert.Equal(new Uri("http://marquez:5000"), http.Url);
        Assert.Equal(("k", "shop", "api/v2/lineage"), (http.ApiKey, http.JobNamespace, http.Endpoint));
        Assert.Null(http.FilePath);
        Assert.Equal("/tmp/ol/events.jsonl", From(("OPENLINEAGE_URL", "file:///tmp/ol/events.jsonl"))!.FilePath);
        Assert.Equal(new Uri("http://host/marquez/api/v1/lineage"), HttpLineageTransport.TargetOf(new Uri("http://host/marquez"), "api/v1/lineage"));
        var file = From(("OPENLINEAGE__TRANSPORT__TYPE", "file"), ("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", "/tmp/ol.jsonl"))!;
        Assert.Equal(("/tmp/ol.jsonl", (Uri?)null), (file.FilePath, file.Url));
        Assert.Equal(TimeSpan.FromSeconds(1.5), From(("OPENLINEAGE_URL", "https://x"), ("OPENLINEAGE__TRANSPORT__TIMEOUT", "1.5"))!.Timeout);
        Assert.Null(From(("OPENLINEAGE_URL", "http://marquez:5000"), ("OPENLINEAGE_DISABLED", "true")));
        Assert.Throws<InvalidInputException>(() => From(("OPENLINEAGE_URL", "marquez:5000")));
        Assert.Throws<InvalidInputException>(() => From(("OPENLINEAGE__TRANSPORT__TYPE", "kafka")));
    }

    [Fact]
    public void Datasets_outside_the_lake_follow_the_naming_spec_and_never_carry_credentials()
    {
        Assert.Equal(new LineageDataset("s3://bucket", "raw/orders.csv"), DatasetNames.External("s3://bucket/raw/orders.csv"));
        Assert.Equal(new LineageDataset("postgresql://db.internal:5432", "shop"), DatasetNames.External("postgresql://ecap@db.internal:5432/shop"));
        Assert.Equal(new LineageDataset("file", "/data/in.csv"), DatasetNames.External("/data/in.csv"));
        Assert.Equal("s3://bucket/lake", DatasetNames.LakeNamespace("s3://bucket/lake/"));
        Assert.Equal("file:///data/lake", DatasetNames.LakeNamespace("/data/lake"));
    }

    [Fact]
    public void The_schema_check_rejects_events_the_spec_forbids()
    {
        // The validator the other tests trust: a valid event, then the same event broken in ways the spec forbids.
        JsonObject Event() => (JsonObject)JsonNode.Parse(System.Text.Encoding.UTF8.GetString(RunEventJson.Write("FAIL", DateTimeOffset.UtcNow, "ecap", "write.tx",
            Guid.NewGuid(), [new LineageDataset("file", "/in.csv")],
            [new LineageDataset("file:///lake", "tx") { Fields = [("id", "long")], RowCount = 3, Size = 10 }], "boom")))!;
        Assert.Empty(OpenLineageSchema.Problems(Event()));

        var badType = Event(); badType["eventType"] = "DONE";
        var noProducer = Event(); noProducer.Remove("producer");
        var badRunId = Event(); badRunId["run"]!["runId"] = "not-a-uuid";
        var facetWithoutProducer = Event(); ((JsonObject)facetWithoutProducer["outputs"]![0]!["facets"]!["schema"]!).Remove("_producer");
        var rowCountText = Event(); rowCountText["outputs"]![0]!["outputFacets"]!["outputStatistics"]!["rowCount"] = "3";
        var errorWithoutLanguage = Event(); ((JsonObject)errorWithoutLanguage["run"]!["facets"]!["errorMessage"]!).Remove("programmingLanguage");
        foreach (var broken in new[] { badType, noProducer, badRunId, facetWithoutProducer, rowCountText, errorWithoutLanguage })
            Assert.NotEmpty(OpenLineageSchema.Problems(broken));
    }

    private static MeterListener LineageListener(Action<string, long> record)
    {
        var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LakeMetrics.MeterName && instrument.Name == LakeMetrics.LineageEvents.Name) l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags) if (tag.Key == "ecap.outcome") record((string)tag.Value!, value);
        });
        listener.Start();
        return listener;
    }
}
