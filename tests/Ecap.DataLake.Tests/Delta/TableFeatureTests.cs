using System.Text.Json;
using Ecap.DataLake.Compaction;
using Ecap.DataLake.Delta;
using Ecap.TestSupport;
using Xunit;
using static Ecap.DataLake.Tests.Delta.DeltaTestHelpers;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>
/// The writer table features (PROTOCOL.md "Table Features"): those implemented (inCommitTimestamp, domainMetadata, clustering,
/// changeDataFeed's append/delete, generatedColumns and identityColumns when no column uses them, vacuumProtocolCheck) and those
/// refused, each with a message naming the feature.
/// </summary>
public class TableFeatureTests
{
    private const string IdSchemaString = "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}";

    private static string Json(string s) => JsonSerializer.Serialize(s);

    /// <summary>Writes commit 0 of a table by hand (features this library refuses to create): protocol, metaData, then extra lines.</summary>
    private static DeltaTable HandMade(string dir, string protocol, string schemaString = IdSchemaString, string configuration = "{}", params string[] extra)
    {
        Directory.CreateDirectory(Path.Combine(dir, "_delta_log"));
        var lines = new List<string>
        {
            "{\"commitInfo\":{\"timestamp\":1700000000000,\"operation\":\"CREATE TABLE\"}}",
            "{\"protocol\":" + protocol + "}",
            "{\"metaData\":{\"id\":\"" + Guid.NewGuid() + "\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":" + Json(schemaString) +
            ",\"partitionColumns\":[],\"configuration\":" + configuration + ",\"createdTime\":1700000000000}}",
        };
        lines.AddRange(extra);
        File.WriteAllLines(LogFile(dir, 0), lines);
        return At(dir);
    }

    private static string Field(string name, string type, string metadata) =>
        "{\"name\":\"" + name + "\",\"type\":\"" + type + "\",\"nullable\":true,\"metadata\":" + metadata + "}";

    private static string Schema(params string[] fields) => "{\"type\":\"struct\",\"fields\":[" + string.Join(",", fields) + "]}";

    private static List<JsonElement> CommitInfos(string dir, int versions) =>
        Enumerable.Range(0, versions).Select(v => JsonDocument.Parse(File.ReadLines(LogFile(dir, v)).First()).RootElement.GetProperty("commitInfo").Clone()).ToList();

    // ---------------------------------------------------------------- inCommitTimestamp

    [Fact]
    public async Task In_commit_timestamps_are_monotonic_and_time_travel_uses_them_not_file_times()
    {
        using var dir = new TempDir();
        var t0 = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var clock = new TableWriteTests.SteppedClock(t0);
        var table = At(dir.Path, new DeltaTableOptions { Clock = clock });
        await table.CreateAsync(Metadata.Create(IdSchema, configuration: new Dictionary<string, string> { ["delta.enableInCommitTimestamps"] = "true" }));
        var protocol = (await table.GetSnapshotAsync()).Protocol;
        Assert.Equal(7, protocol.MinWriterVersion);
        Assert.Contains("inCommitTimestamp", protocol.WriterFeatures!);
        clock.Now = t0.AddHours(-1); // the writer's clock goes back: the timestamp still moves forward
        await AppendAsync(table, FakeAdd("a"));
        clock.Now = t0.AddHours(1);
        await AppendAsync(table, FakeAdd("b"));

        var ict = CommitInfos(dir.Path, 3).Select(ci => ci.GetProperty("inCommitTimestamp").GetInt64()).ToList();
        var ms = t0.ToUnixTimeMilliseconds();
        Assert.Equal([ms, ms + 1, ms + 3_600_000], ict);

        // File times in the opposite order: a reader that used them (Spark without in-commit timestamps) would travel wrong.
        for (var v = 0; v < 3; v++) File.SetLastWriteTimeUtc(LogFile(dir.Path, v), new DateTime(2030 - v * 10, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var reader = At(dir.Path, new DeltaTableOptions { TimestampSource = CommitTimestampSource.FileModificationTime });
        Assert.Equal(0, (await reader.GetSnapshotAtAsync(t0)).Version);
        Assert.Equal(1, (await reader.GetSnapshotAtAsync(t0.AddMilliseconds(1))).Version);
        Assert.Equal(1, (await reader.GetSnapshotAtAsync(t0.AddMinutes(30))).Version);
        Assert.Equal(2, (await reader.GetSnapshotAtAsync(t0.AddHours(1))).Version);
        await Assert.ThrowsAsync<VersionNotAvailableException>(() => reader.GetSnapshotAtAsync(t0.AddMilliseconds(-1)));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(ms + 1), (await reader.GetSnapshotAsync(1)).Timestamp);
        Assert.Equal(ict.AsEnumerable().Reverse().Select(DateTimeOffset.FromUnixTimeMilliseconds), (await reader.GetHistoryAsync()).Select(h => h.Timestamp));
    }

    [Fact]
    public async Task Enabling_in_commit_timestamps_on_a_table_records_where_they_start()
    {
        using var dir = new TempDir();
        var table = await CreateIdTableAsync(dir.Path);
        await AppendAsync(table, FakeAdd("a"));
        var before = File.GetLastWriteTimeUtc(LogFile(dir.Path, 1));
        var tx = await table.StartTransactionAsync("SET TBLPROPERTIES");
        tx.SetMetadata(tx.ReadSnapshot!.Metadata with { Configuration = new Dictionary<string, string> { ["delta.enableInCommitTimestamps"] = "true" } });
        await tx.CommitAsync();

        var snapshot = await At(dir.Path).GetSnapshotAsync();
        // Writer 7 lists what writer 2 implied, plus the new feature; the reader version stays.
        Assert.Equal((1, 7), (snapshot.Protocol.MinReaderVersion, snapshot.Protocol.MinWriterVersion));
        Assert.Null(snapshot.Protocol.ReaderFeatures);
        Assert.Equal(["appendOnly", "invariants", "inCommitTimestamp"], snapshot.Protocol.WriterFeatures);
        var ict = CommitInfos(dir.Path, 3)[2].GetProperty("inCommitTimestamp").GetInt64();
        Assert.Equal("2", snapshot.Metadata.Configuration["delta.inCommitTimestampEnablementVersion"]);
        Assert.Equal(ict.ToString(), snapshot.Metadata.Configuration["delta.inCommitTimestampEnablementTimestamp"]);
        Assert.True(ict > new DateTimeOffset(before).ToUnixTimeMilliseconds(), "after the previous commit's file time");
        Assert.False(CommitInfos(dir.Path, 3)[1].TryGetProperty("inCommitTimestamp", out _));
    }

    [Fact]
    public async Task Time_travel_after_enabling_in_commit_timestamps_looks_only_at_the_versions_that_have_them()
    {
        using var dir = new TempDir();
        var t0 = new DateTimeOffset(2035, 1, 1, 0, 0, 0, TimeSpan.Zero); // after the commit files' real times
        var clock = new TableWriteTests.SteppedClock(t0);
        var table = await CreateIdTableAsync(dir.Path, new DeltaTableOptions { Clock = clock });
        clock.Now = t0.AddMinutes(1);
        await AppendAsync(table, FakeAdd("a"));
        clock.Now = t0.AddMinutes(2);
        var tx = await table.StartTransactionAsync("SET TBLPROPERTIES");
        tx.SetMetadata(tx.ReadSnapshot!.Metadata with { Configuration = new Dictionary<string, string> { ["delta.enableInCommitTimestamps"] = "true" } });
        await tx.CommitAsync();
        clock.Now = t0.AddMinutes(3);
        await AppendAsync(table, FakeAdd("b"));
        // The commits before the enablement got file times later than the in-commit timestamps after it (a skewed clock).
        File.SetLastWriteTimeUtc(LogFile(dir.Path, 0), t0.AddMinutes(10).UtcDateTime);
        File.SetLastWriteTimeUtc(LogFile(dir.Path, 1), t0.AddMinutes(11).UtcDateTime);

        var reader = At(dir.Path, new DeltaTableOptions { TimestampSource = CommitTimestampSource.FileModificationTime });
        Assert.Equal(2, (await reader.GetSnapshotAtAsync(t0.AddMinutes(2.5))).Version);
        Assert.Equal(3, (await reader.GetSnapshotAtAsync(t0.AddMinutes(3))).Version);
        Assert.Equal(3, (await reader.GetSnapshotAtAsync(t0.AddMinutes(10.5))).Version);
    }

    [Theory]
    [InlineData("1/2", "delta.enableChangeDataFeed=true", "1/7 [] [appendOnly,invariants,changeDataFeed]")]
    [InlineData("1/7 [] [appendOnly]", "delta.enableChangeDataFeed=true", "1/7 [] [appendOnly,changeDataFeed]")]
    [InlineData("3/7 [timestampNtz] [timestampNtz]", "delta.checkpointPolicy=v2", "3/7 [timestampNtz,v2Checkpoint] [timestampNtz,v2Checkpoint]")]
    [InlineData("1/3", "delta.enableInCommitTimestamps=true", "1/7 [] [appendOnly,invariants,checkConstraints,inCommitTimestamp]")]
    [InlineData("2/5", "delta.checkpointPolicy=v2",
        "3/7 [columnMapping,v2Checkpoint] [appendOnly,invariants,checkConstraints,changeDataFeed,generatedColumns,columnMapping,v2Checkpoint]")]
    [InlineData("1/2", "delta.appendOnly=true", "1/2")]
    public void Table_properties_bring_the_features_they_need_into_the_protocol(string from, string property, string expected)
    {
        static Protocol Parse(string p)
        {
            var parts = p.Split(' ');
            var versions = parts[0].Split('/').Select(int.Parse).ToArray();
            List<string>? List(int i) => parts.Length > i && parts[i] != "[]" ? parts[i].Trim('[', ']').Split(',').ToList() : null;
            return new Protocol(versions[0], versions[1], List(1), List(2));
        }
        static string Show(Protocol p) =>
            $"{p.MinReaderVersion}/{p.MinWriterVersion}" + (p.MinWriterVersion == 7
                ? $" [{string.Join(",", p.ReaderFeatures ?? [])}] [{string.Join(",", p.WriterFeatures ?? [])}]" : "");
        var kv = property.Split('=');
        var metadata = Metadata.Create(IdSchema, configuration: new Dictionary<string, string> { [kv[0]] = kv[1] });
        var protocol = Parse(from);
        var result = TableFeatures.WithConfiguredFeatures(protocol, metadata);
        Assert.Equal(expected, Show(result));
        if (expected == from) Assert.Same(protocol, result);
    }

    // ---------------------------------------------------------------- domainMetadata, clustering

    [Fact]
    public async Task Domain_metadata_and_the_clustering_domain_are_kept_across_a_write_and_a_checkpoint()
    {
        using var dir = new TempDir();
        var table = HandMade(dir.Path, "{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"domainMetadata\",\"clustering\"]}",
            extra:
            [
                "{\"domainMetadata\":{\"domain\":\"delta.clustering\",\"configuration\":" + Json("{\"clusteringColumns\":[[\"id\"]]}") + ",\"removed\":false}}",
                "{\"domainMetadata\":{\"domain\":\"app.owner\",\"configuration\":" + Json("{\"team\":\"risk\"}") + ",\"removed\":false}}",
                "{\"domainMetadata\":{\"domain\":\"app.gone\",\"configuration\":\"{}\",\"removed\":false}}",
            ]);
        File.WriteAllLines(LogFile(dir.Path, 1),
            ["{\"commitInfo\":{\"timestamp\":1700000000001}}", "{\"domainMetadata\":{\"domain\":\"app.gone\",\"configuration\":\"{}\",\"removed\":true}}"]);

        await AppendAsync(table, WriteIds(table, "a.parquet", 1, 2));
        Assert.Equal(2, await table.CheckpointAsync());
        File.Delete(LogFile(dir.Path, 0));
        File.Delete(LogFile(dir.Path, 1));

        var fresh = await At(dir.Path).GetSnapshotAsync();
        Assert.Equal(2, fresh.LoadInfo.CheckpointVersion);
        Assert.Equal(["app.owner={\"team\":\"risk\"}", "delta.clustering={\"clusteringColumns\":[[\"id\"]]}"],
            fresh.DomainMap.Values.Select(d => d.Domain + "=" + d.Configuration).Order(StringComparer.Ordinal));

        using var duck = new DuckDbReader();
        var cp = Path.Combine(dir.Path, "_delta_log", $"{2:D20}.checkpoint.parquet").Replace("'", "''");
        Assert.Equal(["app.owner|{\"team\":\"risk\"}|False", "delta.clustering|{\"clusteringColumns\":[[\"id\"]]}|False"],
            duck.Rows($"SELECT domainMetadata.domain, domainMetadata.configuration, domainMetadata.removed FROM read_parquet('{cp}') WHERE domainMetadata IS NOT NULL ORDER BY 1")
                .Select(r => $"{r[0]}|{r[1]}|{r[2]}"));
    }

    // ---------------------------------------------------------------- changeDataFeed

    [Fact]
    public async Task Change_data_feed_tables_take_appends_and_whole_file_deletes_but_refuse_rewrites()
    {
        using var dir = new TempDir();
        var table = HandMade(dir.Path, "{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"changeDataFeed\",\"appendOnly\",\"invariants\"]}",
            configuration: "{\"delta.enableChangeDataFeed\":\"true\"}");
        await AppendAsync(table, FakeAdd("a"), FakeAdd("b"));
        var delete = await table.StartTransactionAsync("DELETE");
        delete.Remove(delete.ReadSnapshot!.Files.Single(f => f.Path == "a"));
        await delete.CommitAsync();

        var overwrite = await table.StartTransactionAsync("WRITE");
        overwrite.Remove(overwrite.ReadSnapshot!.Files.Single());
        overwrite.Add(FakeAdd("c"));
        var e = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => overwrite.CommitAsync());
        Assert.Contains("changeDataFeed", e.Message);
        Assert.Equal(2, (await At(dir.Path).GetSnapshotAsync()).Version);
    }

    // ---------------------------------------------------------------- refused features

    [Fact]
    public async Task Row_tracking_tables_are_read_but_writes_and_vacuum_are_refused_naming_the_feature()
    {
        using var dir = new TempDir();
        var table = HandMade(dir.Path,
            "{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"vacuumProtocolCheck\"],\"writerFeatures\":[\"rowTracking\",\"domainMetadata\",\"vacuumProtocolCheck\"]}",
            extra: ["{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true,\"baseRowId\":0,\"defaultRowCommitVersion\":0}}"]);
        Assert.Equal(0L, Assert.Single((await table.GetSnapshotAsync()).Files).BaseRowId);
        var e = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => AppendAsync(table, FakeAdd("b")));
        Assert.Contains("rowTracking", e.Message);
        // vacuumProtocolCheck: vacuum checks the writer protocol before it deletes anything.
        File.WriteAllText(dir.Sub("stray.parquet"), "x");
        var v = await Assert.ThrowsAsync<UnsupportedProtocolException>(() =>
            TableVacuum.RunAsync(table, "t", new VacuumOptions { Retention = TimeSpan.Zero, Force = true, Now = DateTimeOffset.UtcNow.AddDays(1) }, default));
        Assert.Contains("rowTracking", v.Message);
        Assert.True(File.Exists(dir.Sub("stray.parquet")));

        // Without vacuumProtocolCheck, row tracking needs no files beyond data files: vacuum goes ahead. A feature whose files
        // vacuum could take for unreferenced (UniForm's Iceberg metadata, deletion vector files) stops it.
        using var other = new TempDir();
        var plain = HandMade(other.Sub("rt"), "{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"rowTracking\",\"domainMetadata\"]}");
        File.WriteAllText(Path.Combine(other.Sub("rt"), "stray.parquet"), "x");
        var done = await TableVacuum.RunAsync(plain, "rt", new VacuumOptions { Retention = TimeSpan.Zero, Force = true, Now = DateTimeOffset.UtcNow.AddDays(1) }, default);
        Assert.Equal(["stray.parquet"], done.Files.Select(f => f.Path));
        var iceberg = HandMade(other.Sub("ice"), "{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"icebergCompatV2\",\"columnMapping\"]}");
        var refused = await Assert.ThrowsAsync<UnsupportedProtocolException>(() =>
            TableVacuum.RunAsync(iceberg, "ice", new VacuumOptions { DryRun = true }, default));
        Assert.Contains("icebergCompatV2", refused.Message);
    }

    [Fact]
    public async Task Generated_columns_refuse_writes_naming_the_feature_and_the_column_unless_no_column_is_generated()
    {
        using var dir = new TempDir();
        var schema = Schema(Field("id", "long", "{}"), Field("twice", "long", "{\"delta.generationExpression\":\"id * 2\"}"));
        var table = HandMade(dir.Sub("gen"), "{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"generatedColumns\",\"appendOnly\",\"invariants\"]}", schema);
        var e = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => AppendAsync(table, FakeAdd("a")));
        Assert.Contains("generatedColumns", e.Message);
        Assert.Contains("twice", e.Message);

        var none = HandMade(dir.Sub("none"), "{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"generatedColumns\",\"appendOnly\",\"invariants\"]}");
        Assert.Equal(1, (await AppendAsync(none, FakeAdd("a"))).Version);
    }

    [Fact]
    public async Task Identity_columns_refuse_writes_naming_the_feature_and_the_column_unless_no_column_is_one()
    {
        using var dir = new TempDir();
        var schema = Schema(Field("key", "long", "{\"delta.identity.start\":1,\"delta.identity.step\":1,\"delta.identity.allowExplicitInsert\":false}"), Field("id", "long", "{}"));
        var table = HandMade(dir.Sub("ident"), "{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"identityColumns\",\"appendOnly\",\"invariants\"]}", schema);
        var e = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => AppendAsync(table, FakeAdd("a")));
        Assert.Contains("identityColumns", e.Message);
        Assert.Contains("key", e.Message);

        var none = HandMade(dir.Sub("none"), "{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"identityColumns\",\"appendOnly\",\"invariants\"]}");
        Assert.Equal(1, (await AppendAsync(none, FakeAdd("a"))).Version);
    }

    [Theory]
    [InlineData("variantType")]
    [InlineData("variantType-preview")]
    public async Task Variant_tables_are_refused_for_reads_and_writes_naming_the_feature(string feature)
    {
        using var dir = new TempDir();
        var schema = Schema(Field("id", "long", "{}"), Field("v", "variant", "{}"));
        var table = HandMade(dir.Path, $"{{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"{feature}\"],\"writerFeatures\":[\"{feature}\"]}}", schema);
        var read = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => table.GetSnapshotAsync());
        Assert.Contains(feature, read.Message);
        Assert.Contains("variant", read.Message);
        var write = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => table.StartTransactionAsync("WRITE"));
        Assert.Contains(feature, write.Message);

        // A variant column without the feature listed (a damaged or hand-edited log) is refused the same way, never read as something else.
        using var other = new TempDir();
        var bare = HandMade(other.Path, "{\"minReaderVersion\":1,\"minWriterVersion\":2}", schema);
        Assert.Contains("variant", (await Assert.ThrowsAsync<UnsupportedProtocolException>(() => bare.GetSnapshotAsync())).Message);
    }

    [Fact]
    public async Task Tables_with_the_reader_and_writer_features_that_need_nothing_more_are_read_and_written()
    {
        using var dir = new TempDir();
        var table = HandMade(dir.Path,
            "{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"timestampNtz\",\"vacuumProtocolCheck\",\"v2Checkpoint\"]," +
            "\"writerFeatures\":[\"timestampNtz\",\"vacuumProtocolCheck\",\"v2Checkpoint\",\"appendOnly\",\"invariants\",\"checkConstraints\",\"domainMetadata\",\"clustering\",\"inCommitTimestamp\",\"changeDataFeed\",\"generatedColumns\",\"identityColumns\"]}");
        await AppendAsync(table, WriteIds(table, "a.parquet", 7));
        var snapshot = await At(dir.Path).GetSnapshotAsync();
        Assert.Equal(1, snapshot.Version);
        Assert.Equal([7L], Longs(ReadRows(table, snapshot), "id"));
        var vacuum = await TableVacuum.RunAsync(table, "t", new VacuumOptions { DryRun = true }, default);
        Assert.Empty(vacuum.Files);
    }
}
