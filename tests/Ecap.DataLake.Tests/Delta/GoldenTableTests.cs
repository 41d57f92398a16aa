using Ecap.DataLake.Delta;
using Ecap.TestSupport;
using Xunit;
using static Ecap.DataLake.Tests.Delta.DeltaTestHelpers;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>
/// The Spark-written golden tables of tests/conformance/delta-golden, each checked as EXPECTED.md says:
/// versions and live files from the log, rows from the data files of the snapshot's live files.
/// </summary>
public class GoldenTableTests
{
    private static async Task<List<Dictionary<string, object?>>> RowsAsync(string name, long? version = null)
    {
        var table = Golden(name);
        var snapshot = version is { } v ? await table.GetSnapshotAsync(v) : await table.GetSnapshotAsync();
        return ReadRows(table, snapshot);
    }

    private static List<string> Strings(IEnumerable<Dictionary<string, object?>> rows, string column) =>
        rows.Select(r => (string)r[column]!).Order(StringComparer.Ordinal).ToList();

    private static List<string> Expected(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => $"{prefix}{i}").Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task SnapshotData0_OneAppend_Has10Rows()
    {
        var snapshot = await Golden("snapshot-data0").GetSnapshotAsync();
        Assert.Equal(0, snapshot.Version);
        var rows = await RowsAsync("snapshot-data0");
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), Longs(rows, "col1"));
        Assert.Equal(Expected("data-0-", 10), Strings(rows, "col2"));
    }

    [Fact]
    public async Task SnapshotData1_SecondAppend_Has20Rows()
    {
        var rows = await RowsAsync("snapshot-data1");
        Assert.Equal(20, rows.Count);
        Assert.Equal(Expected("data-0-", 10).Concat(Expected("data-1-", 10)).Order(StringComparer.Ordinal), Strings(rows, "col2"));
    }

    [Fact]
    public async Task SnapshotData2_OverwriteReplacesRows_AndOldVersionsStillRead()
    {
        Assert.Equal(Expected("data-2-", 10), Strings(await RowsAsync("snapshot-data2"), "col2"));
        Assert.Equal(Expected("data-0-", 10), Strings(await RowsAsync("snapshot-data2", 0), "col2"));
        Assert.Equal(20, (await RowsAsync("snapshot-data2", 1)).Count);
    }

    [Fact]
    public async Task SnapshotData3_AppendAfterOverwrite_Has30Rows()
    {
        var rows = await RowsAsync("snapshot-data3");
        Assert.Equal(30, rows.Count);
        Assert.Equal(10, rows.Count(r => ((string)r["col2"]!).StartsWith("data-2-")));
        Assert.Equal(20, rows.Count(r => ((string)r["col2"]!).StartsWith("data-3-")));
    }

    [Fact]
    public async Task SnapshotData2Deleted_DeleteRewritesFiles_Leaves20Data3Rows()
    {
        var table = Golden("snapshot-data2-deleted");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(4, snapshot.Version);
        var rows = ReadRows(table, snapshot);
        Assert.Equal(20, rows.Count);
        Assert.All(rows, r => Assert.StartsWith("data-3-", (string)r["col2"]!));
    }

    [Fact]
    public async Task SnapshotRepartitioned_RewriteWithoutDataChange_Has20RowsIn2Files()
    {
        var table = Golden("snapshot-repartitioned");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(5, snapshot.Version);
        Assert.Equal(2, snapshot.Files.Count);
        var rows = ReadRows(table, snapshot);
        Assert.Equal(20, rows.Count);
        Assert.All(rows, r => Assert.StartsWith("data-3-", (string)r["col2"]!));
    }

    [Fact]
    public async Task SnapshotVacuumed_LatestReads_OldVersionListsFilesThatAreGone()
    {
        var table = Golden("snapshot-vacuumed");
        var latest = await table.GetSnapshotAsync();
        Assert.Equal(20, ReadRows(table, latest).Count);
        Assert.Empty(await table.FindMissingFilesAsync(latest));

        var v0 = await table.GetSnapshotAsync(0);
        var missing = await table.FindMissingFilesAsync(v0);
        Assert.NotEmpty(missing);
        Assert.Equal(v0.Files.Count, missing.Count);
    }

    [Fact]
    public async Task Checkpoint_ParquetCheckpointPlusCommits_LiveFileIsExactly15()
    {
        var snapshot = await Golden("checkpoint").GetSnapshotAsync();
        Assert.Equal(14, snapshot.Version);
        Assert.Equal(10, snapshot.LoadInfo.CheckpointVersion);
        Assert.Equal(4, snapshot.LoadInfo.CommitFilesRead);
        Assert.Equal(["15"], snapshot.Files.Select(f => f.Path));
    }

    [Fact]
    public async Task CorruptedLastCheckpoint_LoadsFromCheckpoint_WithLastCheckpointDeletedOrGarbage()
    {
        var expected = Enumerable.Range(0, 11).Select(i => i.ToString()).Order(StringComparer.Ordinal).ToList();
        var golden = await Golden("corrupted-last-checkpoint").GetSnapshotAsync();
        Assert.Equal(expected, golden.Files.Select(f => f.Path).Order(StringComparer.Ordinal));

        using var tmp = new TempDir();
        var dir = tmp.CopyGolden("corrupted-last-checkpoint");
        var last = Path.Combine(dir, "_delta_log", "_last_checkpoint");
        await File.WriteAllTextAsync(last, "{\"version\":99,\"si");
        var garbage = await At(dir).GetSnapshotAsync();
        Assert.Equal(expected, garbage.Files.Select(f => f.Path).Order(StringComparer.Ordinal));
        Assert.Equal(10, garbage.LoadInfo.CheckpointVersion);

        File.Delete(last);
        var deleted = await At(dir).GetSnapshotAsync();
        Assert.Equal(expected, deleted.Files.Select(f => f.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task MultiPartCheckpoint_ReadsAllParts_31Rows()
    {
        var table = Golden("multi-part-checkpoint");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(1, snapshot.LoadInfo.CheckpointVersion);
        var ids = Longs(ReadRows(table, snapshot), "id");
        Assert.Equal(new long[] { 0 }.Concat(Enumerable.Range(0, 30).Select(i => (long)i)).Order(), ids);
    }

    [Fact]
    public async Task BasicWithInsertsDeletesCheckpoint_41Rows()
    {
        var table = Golden("basic-with-inserts-deletes-checkpoint");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(10, snapshot.LoadInfo.CheckpointVersion);
        var expected = new[] { 0, 10, 20, 30, 40 }.SelectMany(s => Enumerable.Range(s, 5)).Concat(Enumerable.Range(50, 16)).Select(i => (long)i).Order();
        Assert.Equal(expected, Longs(ReadRows(table, snapshot), "id"));
    }

    [Fact]
    public async Task DataReaderPrimitives_AllTypesAndNullRow()
    {
        var rows = await RowsAsync("data-reader-primitives");
        Assert.Equal(11, rows.Count);
        Assert.Single(rows, r => r.Values.All(v => v is null));
        foreach (var r in rows.Where(r => r["as_int"] is not null))
        {
            var i = (int)r["as_int"]!;
            Assert.Equal((long)i, r["as_long"]);
            Assert.Equal((sbyte)i, r["as_byte"]);
            Assert.Equal((short)i, r["as_short"]);
            Assert.Equal(i % 2 == 0, r["as_boolean"]);
            Assert.Equal((float)i, r["as_float"]);
            Assert.Equal((double)i, r["as_double"]);
            Assert.Equal(i.ToString(), r["as_string"]);
            Assert.Equal(new[] { (byte)i, (byte)i }, (byte[])r["as_binary"]!);
            Assert.Equal((decimal)i, r["as_big_decimal"]);
        }
        Assert.Equal(Enumerable.Range(0, 10), rows.Where(r => r["as_int"] is not null).Select(r => (int)r["as_int"]!).Order());
    }

    [Fact]
    public async Task DataReaderPartitionValues_TypedPartitionValues_NullsAndLiteralNullString()
    {
        var table = Golden("data-reader-partition-values");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(12, snapshot.PartitionColumns.Count);
        var rows = ReadRows(table, snapshot);
        Assert.Equal(3, rows.Count);
        var nullRow = Assert.Single(rows, r => r["as_int"] is null);
        Assert.All(snapshot.PartitionColumns, c => Assert.Null(nullRow[c]));
        // JSON null in the log is a null value, never the string "null"
        Assert.Contains(snapshot.Files, f => f.PartitionValues.Values.All(v => v is null));
        foreach (var r in rows.Where(r => r["as_int"] is not null))
        {
            var i = (int)r["as_int"]!;
            Assert.Equal((long)i, r["as_long"]);
            Assert.Equal((sbyte)i, r["as_byte"]);
            Assert.Equal(i % 2 == 0, r["as_boolean"]);
            Assert.Equal(i.ToString(), r["as_string"]);
            Assert.Equal("null", r["as_string_lit_null"]);
            Assert.Equal("2021-09-08", r["as_date"]);
            Assert.StartsWith("2021-09-08 11:11:11", (string)r["as_timestamp"]!);
            Assert.Equal((decimal)i, r["as_big_decimal"]);
        }
    }

    [Fact]
    public async Task DataReaderEscapedChars_PathsAreUriDecodedOnce()
    {
        var table = Golden("data-reader-escaped-chars");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Contains(snapshot.Files, f => f.Path.StartsWith("_2=bar+%252521/") && f.ObjectKey.StartsWith("_2=bar+%2521/"));
        Assert.Empty(await table.FindMissingFilesAsync(snapshot));
        var rows = ReadRows(table, snapshot).Select(r => ((string)r["_1"]!, (string)r["_2"]!)).Order().ToList();
        Assert.Equal([("foo1", "bar+%21"), ("foo2", "bar+%22"), ("foo3", "bar+%23")], rows);
    }

    [Fact]
    public async Task DataReaderNestedStruct_ReadsNestedValues()
    {
        var rows = await RowsAsync("data-reader-nested-struct");
        Assert.Equal(Enumerable.Range(0, 10), rows.Select(r => (int)r["b"]!).Order());
        foreach (var r in rows)
        {
            var i = (int)r["b"]!;
            var a = (Dictionary<string, object?>)r["a"]!;
            Assert.Equal(i.ToString(), a["aa"]);
            Assert.Equal(i.ToString(), a["ab"]);
            var ac = (Dictionary<string, object?>)a["ac"]!;
            Assert.Equal(i, ac["aca"]);
            Assert.Equal((long)i, ac["acb"]);
        }
    }

    [Fact]
    public async Task DataReaderArrayPrimitives_SchemaMapsToArrowLists_ValuesRoundTrip()
    {
        var table = Golden("data-reader-array-primitives");
        var snapshot = await table.GetSnapshotAsync();
        Assert.IsType<Apache.Arrow.Types.ListType>(snapshot.Schema.GetFieldByName("as_array_int").DataType);
        var rows = ReadRows(table, snapshot);
        Assert.Equal(Enumerable.Range(0, 10), rows.Select(r => (int)Assert.Single((List<object?>)r["as_array_int"]!)!).Order());
        foreach (var r in rows)
        {
            var i = (int)((List<object?>)r["as_array_int"]!)[0]!;
            Assert.Equal([(object?)(long)i], (List<object?>)r["as_array_long"]!);
            Assert.Equal([(object?)(sbyte)i], (List<object?>)r["as_array_byte"]!);
            Assert.Equal([(object?)(short)i], (List<object?>)r["as_array_short"]!);
            Assert.Equal([(object?)(i % 2 == 0)], (List<object?>)r["as_array_boolean"]!);
            Assert.Equal([(object?)(float)i], (List<object?>)r["as_array_float"]!);
            Assert.Equal([(object?)(double)i], (List<object?>)r["as_array_double"]!);
            Assert.Equal([(object?)i.ToString()], (List<object?>)r["as_array_string"]!);
            Assert.Equal(new[] { (byte)i, (byte)i }, (byte[])((List<object?>)r["as_array_binary"]!)[0]!);
            Assert.Equal([(object?)(decimal)i], (List<object?>)r["as_array_big_decimal"]!);
        }
    }

    [Fact]
    public async Task DataReaderMap_SchemaMapsToArrowMaps_ValuesRoundTrip()
    {
        var table = Golden("data-reader-map");
        var snapshot = await table.GetSnapshotAsync();
        Assert.IsType<Apache.Arrow.Types.MapType>(snapshot.Schema.GetFieldByName("a").DataType);
        var rows = ReadRows(table, snapshot);
        Assert.Equal(Enumerable.Range(0, 10), rows.Select(r => (int)r["i"]!).Order());
        static KeyValuePair<object?, object?> Entry(object? v) => Assert.Single((List<KeyValuePair<object?, object?>>)v!);
        foreach (var r in rows)
        {
            var i = (int)r["i"]!;
            Assert.Equal(new KeyValuePair<object?, object?>(i, i), Entry(r["a"]));
            Assert.Equal(new KeyValuePair<object?, object?>((long)i, (sbyte)i), Entry(r["b"]));
            Assert.Equal(new KeyValuePair<object?, object?>((short)i, i % 2 == 0), Entry(r["c"]));
            Assert.Equal(new KeyValuePair<object?, object?>((float)i, (double)i), Entry(r["d"]));
            Assert.Equal(new KeyValuePair<object?, object?>(i.ToString(), (decimal)i), Entry(r["e"]));
            var f = Entry(r["f"]);
            Assert.Equal(i, f.Key);
            Assert.All((List<object?>)f.Value!, s => Assert.Equal(i, ((Dictionary<string, object?>)s!)["val"]));
        }
    }

    public static TheoryData<string> ReadableGoldenTables => new(
        Directory.GetDirectories(RepoPaths.GoldenTables).Select(Path.GetFileName).OfType<string>()
            .Where(n => n is not "versions-not-contiguous" and not "deltalog-invalid-protocol-version" and not "no-delta-log-folder")
            .Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(ReadableGoldenTables))]
    public async Task EveryReadableGoldenTable_SchemaRoundTripsThroughArrow_AndItsFilesExist(string name)
    {
        var table = Golden(name);
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(snapshot.Metadata.SchemaString, DeltaSchema.ToSchemaString(snapshot.Schema));
        if (name is not "checkpoint" and not "corrupted-last-checkpoint")
            Assert.Empty(await table.FindMissingFilesAsync(snapshot));
    }

    [Fact]
    public async Task TimeTravelStart_ByVersion()
    {
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), Longs(await RowsAsync("time-travel-start-start20-start40", 0), "id"));
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), Longs(await RowsAsync("time-travel-start-start20-start40", 1), "id"));
        Assert.Equal(Enumerable.Range(0, 30).Select(i => (long)i), Longs(await RowsAsync("time-travel-start-start20-start40"), "id"));
        Assert.Equal(20, (await RowsAsync("time-travel-start-start20")).Count);
        Assert.Equal(10, (await RowsAsync("time-travel-start")).Count);
    }

    [Fact]
    public async Task TimeTravelStart_ByTimestamp_UsesFileModificationTimesLikeSpark()
    {
        using var tmp = new TempDir();
        var dir = tmp.CopyGolden("time-travel-start-start20-start40");
        var start = DateTimeOffset.FromUnixTimeMilliseconds(1540415658000);
        for (var v = 0; v < 3; v++) File.SetLastWriteTimeUtc(LogFile(dir, v), start.AddMinutes(20 * v).UtcDateTime);
        var table = At(dir, new DeltaTableOptions { TimestampSource = CommitTimestampSource.FileModificationTime });

        Assert.Equal(0, (await table.GetSnapshotAtAsync(start)).Version);
        Assert.Equal(0, (await table.GetSnapshotAtAsync(start.AddMinutes(19))).Version);
        Assert.Equal(1, (await table.GetSnapshotAtAsync(start.AddMinutes(20))).Version);
        Assert.Equal(1, (await table.GetSnapshotAtAsync(start.AddMinutes(39))).Version);
        Assert.Equal(2, (await table.GetSnapshotAtAsync(start.AddMinutes(40))).Version);
        Assert.Equal(2, (await table.GetSnapshotAtAsync(start.AddDays(400))).Version);
        var before = await Assert.ThrowsAsync<VersionNotAvailableException>(() => table.GetSnapshotAtAsync(start.AddMilliseconds(-1)));
        Assert.Contains("earliest available version is 0", before.Message);
    }

    [Fact]
    public async Task TimeTravelSchemaChanges_SchemaAtOldVersion()
    {
        var a = await Golden("time-travel-schema-changes-a").GetSnapshotAsync(0);
        Assert.Equal(["id"], a.Schema.FieldsList.Select(f => f.Name));
        var table = Golden("time-travel-schema-changes-b");
        Assert.Equal(["id"], (await table.GetSnapshotAsync(0)).Schema.FieldsList.Select(f => f.Name));
        var v1 = await table.GetSnapshotAsync(1);
        Assert.Equal(["id", "part"], v1.Schema.FieldsList.Select(f => f.Name));
        Assert.Equal(20, ReadRows(table, v1).Count);
    }

    [Fact]
    public async Task TimeTravelPartitionChanges_PartitionColumnsAtEachVersion()
    {
        var a = Golden("time-travel-partition-changes-a");
        var a0 = await a.GetSnapshotAsync(0);
        Assert.Equal(["part5"], a0.PartitionColumns);
        var rowsA = ReadRows(a, a0);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), Longs(rowsA, "id"));
        Assert.All(rowsA, r => Assert.Equal((long)r["id"]! % 5, Convert.ToInt64(r["part5"])));

        var b = Golden("time-travel-partition-changes-b");
        Assert.Equal(["part5"], (await b.GetSnapshotAsync(0)).PartitionColumns);
        var b1 = await b.GetSnapshotAsync(1);
        Assert.Equal(["part2"], b1.PartitionColumns);
        var rowsB = ReadRows(b, b1);
        Assert.Equal(Enumerable.Range(10, 10).Select(i => (long)i), Longs(rowsB, "id"));
        Assert.All(rowsB, r => Assert.Equal((long)r["id"]! % 2, Convert.ToInt64(r["part2"])));
    }

    [Fact]
    public async Task LogReplayLatestMetadataProtocol_LatestWins_Reader3WithNoReaderFeaturesIsReadable()
    {
        var table = Golden("log-replay-latest-metadata-protocol");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(3, snapshot.Protocol.MinReaderVersion);
        Assert.Equal(7, snapshot.Protocol.MinWriterVersion);
        Assert.Empty(snapshot.Protocol.ReaderFeatures!);
        Assert.Equal(["col1", "col2"], snapshot.Schema.FieldsList.Select(f => f.Name));
        Assert.Equal(40, ReadRows(table, snapshot).Count);
    }

    [Theory]
    [InlineData("data-skipping-basic-stats-all-types")]
    [InlineData("data-skipping-basic-stats-all-types-checkpoint")]
    public async Task DataSkippingStats_EveryFileCarriesStatsJson(string name)
    {
        var snapshot = await Golden(name).GetSnapshotAsync();
        Assert.NotEmpty(snapshot.Files);
        foreach (var f in snapshot.Files)
        {
            using var stats = System.Text.Json.JsonDocument.Parse(f.Stats!);
            foreach (var key in new[] { "numRecords", "minValues", "maxValues", "nullCount" })
                Assert.True(stats.RootElement.TryGetProperty(key, out _), $"{name}: stats without {key}");
        }
    }

    [Fact]
    public async Task Decimals_VariousScalesAndPrecisions_RoundTripExactly()
    {
        var table = Golden("decimal-various-scale-precision");
        var snapshot = await table.GetSnapshotAsync();
        var d = Assert.IsType<Apache.Arrow.Types.Decimal128Type>(snapshot.Schema.GetFieldByName("decimal_7_6").DataType);
        Assert.Equal((7, 6), (d.Precision, d.Scale));
        Assert.Equal(snapshot.Metadata.SchemaString, DeltaSchema.ToSchemaString(snapshot.Schema));

        // Every decimal read through Arrow prints exactly as DuckDB (an independent reader) prints it.
        var files = snapshot.Files.Select(f => table.Store.TryGetLocalPath(f.ObjectKey)!).Order().ToList();
        var columns = snapshot.Schema.FieldsList.Select(f => f.Name).ToList();
        var ours = new List<string>();
        foreach (var file in files)
        {
            using var reader = new ParquetSharp.Arrow.FileReader(file);
            using var batches = reader.GetRecordBatchReader();
            while (await batches.ReadNextRecordBatchAsync() is { } batch)
                using (batch)
                    for (var i = 0; i < batch.Length; i++)
                        ours.Add(string.Join("|", columns.Select(c =>
                            ((Apache.Arrow.Decimal128Array)batch.Column(c)).GetSqlDecimal(i)?.ToString() ?? "NULL")));
        }
        using var duck = new DuckDbReader();
        var select = string.Join(" || '|' || ", columns.Select(c => $"coalesce(CAST(\"{c}\" AS VARCHAR), 'NULL')"));
        var theirs = duck.Rows($"SELECT {select} FROM read_parquet({DuckDbReader.FileList(files)})").Select(r => (string)r[0]!).ToList();
        Assert.NotEmpty(ours);
        Assert.Equal(theirs.Order(StringComparer.Ordinal), ours.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task BasicDecimalTable_DecimalPartitionValuesAndColumnsAreExact()
    {
        var table = Golden("basic-decimal-table");
        var rows = ReadRows(table, await table.GetSnapshotAsync());
        var expected = new[]
        {
            (234.00000m, 1.00m, 2.00000m, 3.0000000000m),
            (2342222.23454m, 111.11m, 22222.22222m, 3333333333.3333333333m),
            (0.00004m, 0.00m, 0.00000m, 0m),
            (-2342342.23423m, -999.99m, -99999.99999m, -9999999999.9999999999m),
        };
        Assert.Equal(expected.Order(), rows.Select(r => ((decimal)r["part"]!, (decimal)r["col1"]!, (decimal)r["col2"]!, (decimal)r["col3"]!)).Order());
    }

    [Fact]
    public async Task VersionsNotContiguous_FailsNamingTheMissingVersion()
    {
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => Golden("versions-not-contiguous").GetSnapshotAsync());
        Assert.Contains("version 1 is missing", e.Message);
    }

    [Fact]
    public async Task DeltaLogInvalidProtocolVersion_RefusedNamingVersion99()
    {
        var e = await Assert.ThrowsAsync<UnsupportedProtocolException>(() => Golden("deltalog-invalid-protocol-version").GetSnapshotAsync());
        Assert.Contains("reader version 99", e.Message);
    }

    [Fact]
    public async Task NoDeltaLogFolder_IsNotADeltaTable()
    {
        var table = Golden("no-delta-log-folder");
        Assert.False(await table.ExistsAsync());
        var e = await Assert.ThrowsAsync<TableNotFoundException>(() => table.GetSnapshotAsync());
        Assert.Contains("not a Delta table", e.Message);
    }
}
