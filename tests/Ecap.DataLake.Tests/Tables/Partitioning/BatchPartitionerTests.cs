using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Xunit;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Tables.Partitioning;

public class BatchPartitionerTests
{
    private static readonly DateTimeOffset Start = new(2024, 10, 1, 0, 0, 0, TimeSpan.Zero);

    private static RecordBatch Sample(DataType type, int rows = 4000, int days = 5) =>
        SampleDataGenerator.Generate(type, rows, seed: 7, batchSize: rows, Start, days).Single();

    [Theory]
    [InlineData(DataType.Transactions)]
    [InlineData(DataType.UserEvents)]
    [InlineData(DataType.ProductUpdates)]
    [InlineData(DataType.AnalyticsResults)]
    [InlineData(DataType.CustomerProfiles)]
    public void Built_in_strategy_groups_sorts_and_strips_partition_columns_like_the_linq_model(DataType type)
    {
        var batch = Sample(type);
        var strategy = PartitionStrategy.For(type);
        var groups = new BatchPartitioner(strategy).Partition(batch);
        PartitionVerifier.Verify(batch, strategy, groups);
    }

    [Fact]
    public void Transactions_over_five_days_make_five_daily_partitions()
    {
        var groups = new BatchPartitioner(PartitionStrategy.For(DataType.Transactions)).Partition(Sample(DataType.Transactions));
        Assert.Equal(
            ["year=2024/month=10/day=1/", "year=2024/month=10/day=2/", "year=2024/month=10/day=3/", "year=2024/month=10/day=4/", "year=2024/month=10/day=5/"],
            groups.Select(g => g.Directory).Order());
        Assert.All(groups, g => Assert.Null(g.Bucket));
        var ids = groups.SelectMany(g => ArrowRows.Column(g.Rows, "transaction_id")).Cast<long>().Order();
        Assert.Equal(Enumerable.Range(1, 4000).Select(i => (long)i), ids);
    }

    [Fact]
    public void Customer_profiles_are_bucketed_by_iceberg_hash_of_customer_id()
    {
        var batch = Sample(DataType.CustomerProfiles);
        var groups = new BatchPartitioner(PartitionStrategy.For(DataType.CustomerProfiles)).Partition(batch);
        Assert.Equal(10, groups.Select(g => g.Bucket).Distinct().Count());
        foreach (var g in groups)
        {
            Assert.NotNull(g.Bucket);
            Assert.InRange(g.Bucket!.Value, 0, 9);
            foreach (long id in ArrowRows.Column(g.Rows, "customer_id").Cast<long>())
                Assert.Equal(IcebergBucket.Bucket(id, 10), g.Bucket);
        }
        var only34 = Batch(("customer_id", Int64(34)), ("customer_segment", Strings("vip")), ("region", Strings("europe")));
        var single = new BatchPartitioner(PartitionStrategy.For(DataType.CustomerProfiles)).Partition(only34).Single();
        Assert.Equal((2017239379 & int.MaxValue) % 10, single.Bucket);
    }

    [Fact]
    public void Derived_columns_are_computed_in_utc_at_day_boundaries()
    {
        long Micros(DateTimeOffset t) => (t.UtcTicks - DateTime.UnixEpoch.Ticks) / 10;
        var times = new long?[]
        {
            Micros(new DateTimeOffset(2024, 3, 10, 23, 59, 59, TimeSpan.Zero)) + 999_999, // last microsecond of the day
            Micros(new DateTimeOffset(2024, 3, 11, 0, 0, 0, TimeSpan.Zero)),
            Micros(new DateTimeOffset(2024, 12, 31, 23, 59, 59, TimeSpan.Zero)) + 999_999,
            Micros(new DateTimeOffset(2025, 1, 1, 1, 30, 0, TimeSpan.FromHours(5))),      // 2024-12-31 20:30 UTC
            Micros(new DateTimeOffset(2024, 2, 29, 12, 0, 0, TimeSpan.Zero)),
            -1,                                                                          // 1969-12-31 23:59:59.999999
            null,
        };
        var batch = Batch(("transaction_id", Int64(1, 2, 3, 4, 5, 6, 7)), ("timestamp", Timestamps(times)));
        var strategy = PartitionStrategy.For(DataType.Transactions);
        var partitioner = new BatchPartitioner(strategy);

        var withDerived = partitioner.AddDerivedColumns(batch);
        Assert.Equal([2024L, 2024L, 2024L, 2024L, 2024L, 1969L, null], ArrowRows.Column(withDerived, "year"));
        Assert.Equal([3L, 3L, 12L, 12L, 2L, 12L, null], ArrowRows.Column(withDerived, "month"));
        Assert.Equal([10L, 11L, 31L, 31L, 29L, 31L, null], ArrowRows.Column(withDerived, "day"));
        Assert.Equal(ArrowTypeId.Int32, withDerived.Schema.GetFieldByName("year").DataType.TypeId);

        var groups = partitioner.Partition(batch);
        PartitionVerifier.Verify(batch, strategy, groups);
        var byId = groups.ToDictionary(g => (long)ArrowRows.Column(g.Rows, "transaction_id")[0]!);
        Assert.Equal("year=2024/month=3/day=10/", byId[1].Directory);
        Assert.Equal("year=2024/month=3/day=11/", byId[2].Directory);
        Assert.Equal("year=2024/month=12/day=31/", byId[3].Directory);
        Assert.Equal(2, groups.Single(g => g.Directory == "year=2024/month=12/day=31/").Rows.Length);
        Assert.Equal("year=1969/month=12/day=31/", byId[6].Directory);
        Assert.Equal("year=__HIVE_DEFAULT_PARTITION__/month=__HIVE_DEFAULT_PARTITION__/day=__HIVE_DEFAULT_PARTITION__/", byId[7].Directory);
        Assert.Null(byId[7].PartitionValues["year"]);
        // Rows keep the time column; only year/month/day (partition columns) are removed.
        Assert.Equal(["transaction_id", "timestamp"], byId[1].Rows.Schema.FieldsList.Select(f => f.Name));
    }

    [Theory]
    [InlineData(TimeUnit.Second, 86_400L)]
    [InlineData(TimeUnit.Millisecond, 86_400_000L)]
    [InlineData(TimeUnit.Nanosecond, 86_400_000_000_000L)]
    public void Derived_columns_work_for_every_timestamp_unit(TimeUnit unit, long perDay)
    {
        var type = new TimestampType(unit, "UTC");
        var raw = new long[] { 19_000 * perDay - 1, 19_000 * perDay, -perDay };
        var bytes = new byte[raw.Length * 8];
        Buffer.BlockCopy(raw, 0, bytes, 0, bytes.Length);
        var ts = new TimestampArray(type, new ArrowBuffer(bytes), ArrowBuffer.Empty, raw.Length, 0, 0);
        var batch = Batch(("id", Int64(1, 2, 3)), ("at", ts));
        var strategy = PartitionStrategy.Custom(["year", "month", "day"], ["id"], timeColumn: "at");
        var groups = new BatchPartitioner(strategy).Partition(batch);
        Assert.Equal(["year=2022/month=1/day=7/", "year=2022/month=1/day=8/", "year=1969/month=12/day=31/"], groups.Select(g => g.Directory));
    }

    [Fact]
    public void Derived_columns_work_for_a_date_time_column()
    {
        var batch = Batch(("id", Int64(1, 2)), ("on", Date32s(19_000, -1)));
        var strategy = PartitionStrategy.Custom(["year", "month"], timeColumn: "on");
        var groups = new BatchPartitioner(strategy).Partition(batch);
        Assert.Equal(["year=2022/month=1/", "year=1969/month=12/"], groups.Select(g => g.Directory));
    }

    [Fact]
    public void Derived_columns_already_in_the_batch_are_kept()
    {
        var batch = Batch(("transaction_id", Int64(1, 2)), ("timestamp", Timestamps(0, 0)),
            ("year", Int32s(2030, 2031)), ("month", Int32s(1, 1)), ("day", Int32s(2, 2)));
        var groups = new BatchPartitioner(PartitionStrategy.For(DataType.Transactions)).Partition(batch);
        Assert.Equal(["year=2030/month=1/day=2/", "year=2031/month=1/day=2/"], groups.Select(g => g.Directory));
    }

    [Fact]
    public void Missing_time_column_is_a_schema_mismatch_naming_the_column_and_the_option()
    {
        var batch = Batch(("transaction_id", Int64(1)), ("created_at", Timestamps(0)));
        var partitioner = new BatchPartitioner(PartitionStrategy.For(DataType.Transactions));
        var e = Assert.Throws<SchemaMismatchException>(() => partitioner.Partition(batch));
        Assert.Contains("'timestamp'", e.Message);
        Assert.Contains("TimeColumn", e.Message);
        Assert.Contains("created_at", e.Message); // the candidate the user probably meant
    }

    [Fact]
    public void Time_column_is_configurable()
    {
        var batch = Batch(("transaction_id", Int64(2, 1)), ("created_at", Timestamps(86_400_000_000L * 366, 0)));
        var strategy = PartitionStrategy.For(DataType.Transactions) with { TimeColumn = "created_at" };
        var groups = new BatchPartitioner(strategy).Partition(batch);
        Assert.Equal(["year=1971/month=1/day=2/", "year=1970/month=1/day=1/"], groups.Select(g => g.Directory));
        Assert.Equal(PartitionStrategy.For(DataType.Transactions, "created_at").TimeColumn, strategy.TimeColumn);
    }

    [Fact]
    public void Time_column_of_a_non_time_type_is_a_schema_mismatch()
    {
        var batch = Batch(("transaction_id", Int64(1)), ("timestamp", Strings("2024-01-01")));
        var e = Assert.Throws<SchemaMismatchException>(() => new BatchPartitioner(PartitionStrategy.For(DataType.Transactions)).Partition(batch));
        Assert.Contains("TimeColumn", e.Message);
    }

    [Fact]
    public void Missing_partition_column_is_a_schema_mismatch_naming_it()
    {
        var batch = Batch(("customer_id", Int64(1)), ("region", Strings("europe")));
        var e = Assert.Throws<SchemaMismatchException>(() => new BatchPartitioner(PartitionStrategy.For(DataType.CustomerProfiles)).Partition(batch));
        Assert.Contains("customer_segment", e.Message);
    }

    [Fact]
    public void Custom_strategy_sorts_by_several_columns_stably_with_nulls_first_and_gathers_every_type()
    {
        var rng = new Random(3);
        int n = 3000;
        string?[] keys = ["a/b", "x=y", null, "100%", "ünï"];
        var k = new string?[n]; var s1 = new string?[n]; var s2 = new long?[n]; var id = new long?[n];
        var dbl = new double?[n]; var flag = new bool?[n]; var money = new decimal?[n]; var date = new int?[n]; var small = new int?[n];
        for (int i = 0; i < n; i++)
        {
            k[i] = keys[rng.Next(keys.Length)];
            s1[i] = rng.Next(6) == 0 ? null : "v" + rng.Next(20);
            s2[i] = rng.Next(5) == 0 ? null : rng.Next(-5, 5);
            id[i] = i;
            dbl[i] = rng.Next(7) == 0 ? null : rng.NextDouble() * 100 - 50;
            flag[i] = rng.Next(4) == 0 ? null : rng.Next(2) == 0;
            money[i] = rng.Next(5) == 0 ? null : Math.Round((decimal)(rng.NextDouble() * 1000), 2);
            date[i] = rng.Next(6) == 0 ? null : 19_000 + rng.Next(100);
            small[i] = rng.Next(9) == 0 ? null : rng.Next(3);
        }
        var batch = Batch(("k", Strings(k)), ("s1", Strings(s1)), ("s2", Int64(s2)), ("id", Int64(id)),
            ("d", Doubles(dbl)), ("flag", Bools(flag)), ("money", Decimals(money)), ("date", Date32s(date)), ("small", Int32s(small)));
        var strategy = PartitionStrategy.Custom(["k", "small"], ["s1", "s2"]);
        var groups = new BatchPartitioner(strategy).Partition(batch);
        PartitionVerifier.Verify(batch, strategy, groups);
        Assert.Contains(groups, g => g.Directory == "k=a%2Fb/small=__HIVE_DEFAULT_PARTITION__/");
        // Sorting by a double, a bool and a decimal column also matches the model.
        var strategy2 = PartitionStrategy.Custom(["flag"], ["d", "money", "date"]);
        PartitionVerifier.Verify(batch, strategy2, new BatchPartitioner(strategy2).Partition(batch));
    }

    [Fact]
    public void Custom_strategy_with_string_bucket_key_buckets_utf8_bytes()
    {
        var batch = Batch(("customer_id", Strings("c-1", "c-2", "c-3", null, "c-1")), ("x", Int64(1, 2, 3, 4, 5)));
        var strategy = PartitionStrategy.Custom([], ["x"], bucketColumn: "customer_id", bucketCount: 4);
        var groups = new BatchPartitioner(strategy).Partition(batch);
        PartitionVerifier.Verify(batch, strategy, groups);
        Assert.Contains(groups, g => g.Bucket is null && g.Rows.Length == 1);
        Assert.Equal(IcebergBucket.Bucket("c-1", 4), groups.Single(g => g.Rows.Length == 2).Bucket);
    }

    [Fact]
    public void Sliced_input_batches_are_read_from_their_offset()
    {
        var full = Sample(DataType.UserEvents, rows: 2000);
        var slice = full.Slice(300, 900);
        var strategy = PartitionStrategy.For(DataType.UserEvents);
        PartitionVerifier.Verify(slice, strategy, new BatchPartitioner(strategy).Partition(slice));
    }

    [Fact]
    public void Sorting_is_stable_for_equal_keys_of_every_key_kind()
    {
        int n = 5000;
        var rng = new Random(5);
        var longKey = new long?[n]; var stringKey = new string?[n]; var id = new long?[n];
        for (int i = 0; i < n; i++)
        {
            longKey[i] = rng.Next(4);
            stringKey[i] = "same-prefix-" + rng.Next(3);
            id[i] = i;
        }
        var batch = Batch(("l", Int64(longKey)), ("s", Strings(stringKey)), ("id", Int64(id)));
        foreach (var sort in new[] { "l", "s" })
        {
            var strategy = PartitionStrategy.Custom([], [sort]);
            var rows = new BatchPartitioner(strategy).Partition(batch).Single().Rows;
            PartitionVerifier.Verify(batch, strategy, [new PartitionGroup(new Dictionary<string, string?>(), null, rows, "")]);
        }
    }

    [Fact]
    public void Unpartitioned_strategy_makes_one_sorted_group()
    {
        var batch = Batch(("id", Int64(3, 1, 2)));
        var groups = new BatchPartitioner(PartitionStrategy.Custom([], ["id"])).Partition(batch);
        var g = Assert.Single(groups);
        Assert.Equal("", g.Directory);
        Assert.Equal([1L, 2L, 3L], ArrowRows.Column(g.Rows, "id"));
    }

    [Fact]
    public void Empty_batch_makes_no_groups() =>
        Assert.Empty(new BatchPartitioner(PartitionStrategy.For(DataType.Transactions)).Partition(Sample(DataType.Transactions).Slice(0, 0)));

    [Fact]
    public void Data_file_schema_is_the_table_schema_without_partition_columns()
    {
        var p = new BatchPartitioner(PartitionStrategy.For(DataType.ProductUpdates));
        var table = p.TableSchema(CanonicalSchemas.ProductUpdates);
        Assert.Equal(["year", "month"], table.FieldsList.TakeLast(2).Select(f => f.Name));
        var data = p.DataFileSchema(CanonicalSchemas.ProductUpdates);
        Assert.DoesNotContain(data.FieldsList, f => f.Name is "category" or "year" or "month");
        Assert.Equal(CanonicalSchemas.ProductUpdates.FieldsList.Count - 1, data.FieldsList.Count);
    }

    [Fact]
    public void Strategy_validation_rejects_inconsistent_custom_strategies()
    {
        Assert.Throws<DataLakeException>(() => PartitionStrategy.Custom(["a", "a"]));
        Assert.Throws<DataLakeException>(() => PartitionStrategy.Custom(["a"], bucketColumn: "b", bucketCount: 0));
        Assert.Throws<DataLakeException>(() => PartitionStrategy.Custom(["a"], sortColumns: ["a"]));
        Assert.Throws<DataLakeException>(() => PartitionStrategy.For(DataType.CustomerProfiles, "updated_at"));
    }

    // ---- small batch builders (tests only; the library builds buffers directly) ----

    internal static RecordBatch Batch(params (string Name, IArrowArray Array)[] columns)
    {
        var schema = new Schema.Builder();
        foreach (var (name, array) in columns) schema.Field(new Field(name, array.Data.DataType, true));
        return new RecordBatch(schema.Build(), columns.Select(c => c.Array), columns[0].Array.Length);
    }

    internal static IArrowArray Int64(params long?[] values)
    {
        var b = new Int64Array.Builder();
        foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v.Value); }
        return b.Build();
    }

    internal static IArrowArray Int32s(params int?[] values)
    {
        var b = new Int32Array.Builder();
        foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v.Value); }
        return b.Build();
    }

    internal static IArrowArray Doubles(params double?[] values)
    {
        var b = new DoubleArray.Builder();
        foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v.Value); }
        return b.Build();
    }

    internal static IArrowArray Bools(params bool?[] values)
    {
        var b = new BooleanArray.Builder();
        foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v.Value); }
        return b.Build();
    }

    internal static IArrowArray Decimals(params decimal?[] values)
    {
        var b = new Decimal128Array.Builder(new Decimal128Type(18, 2));
        foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v.Value); }
        return b.Build();
    }

    internal static IArrowArray Date32s(params int?[] days)
    {
        var b = new Date32Array.Builder();
        foreach (var v in days) { if (v is null) b.AppendNull(); else b.Append(DateTime.UnixEpoch.AddDays(v.Value)); }
        return b.Build();
    }

    internal static IArrowArray Strings(params string?[] values)
    {
        var b = new StringArray.Builder();
        foreach (var v in values) { if (v is null) b.AppendNull(); else b.Append(v); }
        return b.Build();
    }

    internal static IArrowArray Timestamps(params long?[] micros)
    {
        var b = new TimestampArray.Builder(CanonicalSchemas.Timestamp);
        foreach (var v in micros)
        {
            if (v is null) b.AppendNull();
            else b.Append(DateTimeOffset.UnixEpoch.AddTicks(v.Value * 10));
        }
        return b.Build();
    }
}
