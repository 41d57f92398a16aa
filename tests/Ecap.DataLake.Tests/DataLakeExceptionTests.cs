using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Files;
using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Residency;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Ecap.TestSupport;
using Xunit;
using static Ecap.DataLake.Tests.Delta.DeltaTestHelpers;
using static Ecap.DataLake.Tests.Tables.LakeTestData;

namespace Ecap.DataLake.Tests;

/// <summary>
/// The exception family: what a user gets wrong is an <see cref="InvalidInputException"/>, a commit that breaks a table rule a
/// <see cref="CommitValidationException"/>, all of them <see cref="DataLakeException"/>s (what the CLI reports without a stack trace).
/// </summary>
public sealed class DataLakeExceptionTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_families_share_the_root()
    {
        Assert.True(typeof(InvalidInputException).IsSubclassOf(typeof(DataLakeException)));
        Assert.True(typeof(InvalidPathException).IsSubclassOf(typeof(InvalidInputException)));
        Assert.True(typeof(PredicateSyntaxException).IsSubclassOf(typeof(InvalidInputException)));
        Assert.True(typeof(CommitValidationException).IsSubclassOf(typeof(DataLakeException)));
        Assert.True(typeof(ConstraintViolationException).IsSubclassOf(typeof(CommitValidationException)));
        Assert.True(typeof(ResidencyViolationException).IsSubclassOf(typeof(CommitValidationException)));
    }

    [Fact]
    public void A_bad_predicate_is_invalid_input()
    {
        var e = Assert.ThrowsAny<InvalidInputException>(() => Predicate.Parse("amount >> 1"));
        Assert.IsType<PredicateSyntaxException>(e);
    }

    [Fact]
    public void Bad_option_strings_are_invalid_input()
    {
        Assert.Contains("'sometimes'", Assert.Throws<InvalidInputException>(() => WriteModes.Parse("sometimes")).Message);
        Assert.Contains("'xml'", Assert.Throws<InvalidInputException>(() => FileFormats.Parse("xml")).Message);
        Assert.Contains("'data.txt'", Assert.Throws<InvalidInputException>(() => FileFormats.FromPath("data.txt")).Message);
        Assert.Throws<InvalidInputException>(() => DataTypes.Parse("nope"));
        Assert.Throws<InvalidInputException>(() => SampleDataGenerator.Generate(DataType.Transactions, -1, 1, 10, Start, 1).ToList());
    }

    [Fact]
    public void A_schema_file_with_a_bad_type_names_the_file()
    {
        var e = Assert.Throws<InvalidInputException>(() => SchemaFile.Parse("id: long, amount: decimal(50,2)", "schema.txt"));
        Assert.StartsWith("schema.txt:", e.Message);
        Assert.Throws<InvalidInputException>(() => SchemaFile.Parse("{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"nope\"}]}", "s.json"));
    }

    [Fact]
    public void A_key_file_that_is_not_json_names_the_file()
    {
        var path = _dir.Sub("keys.json");
        File.WriteAllText(path, "k1 = abc");
        var e = Assert.Throws<InvalidInputException>(() => new global::Ecap.DataLake.Parquet.Encryption.LocalKeyFileProvider(path).TryGetKey("k1"));
        Assert.Contains("keys.json", e.Message);
    }

    [Fact]
    public async Task A_bad_table_name_is_invalid_input()
    {
        var lake = new DataLakeStorage(_dir.Sub("lake"));
        var e = await Assert.ThrowsAnyAsync<InvalidInputException>(() => lake.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "../up", DataType.Transactions));
        Assert.IsType<InvalidPathException>(e);
    }

    [Fact]
    public async Task Write_options_that_do_not_fit_together_are_invalid_input()
    {
        var lake = new DataLakeStorage(_dir.Sub("lake"));
        var rows = Generate(DataType.Transactions, 10, days: 1);
        var overwriteSchema = await Assert.ThrowsAsync<InvalidInputException>(() =>
            lake.WritePartitionedDataAsync(rows, "tx", DataType.Transactions, WriteMode.Append, new WriteOptions { OverwriteSchema = true }));
        Assert.Contains("overwriteSchema", overwriteSchema.Message);
        var skip = await Assert.ThrowsAsync<InvalidInputException>(() =>
            lake.WritePartitionedDataAsync(rows, "tx", DataType.Transactions, WriteMode.Append, new WriteOptions { SkipExistingKeys = true }));
        Assert.Contains("skipExistingKeys", skip.Message);
    }

    [Fact]
    public async Task A_non_positive_sample_size_is_invalid_input()
    {
        var lake = new DataLakeBuilder(_dir.Sub("lake")).Build();
        await lake.Storage.WritePartitionedDataAsync(Generate(DataType.Transactions, 10, days: 1), "tx", DataType.Transactions);
        var e = await Assert.ThrowsAsync<InvalidInputException>(() => lake.Catalog.UpdateTableStatisticsAsync("tx", computeColumnStats: true, sampleSize: -5));
        Assert.Contains("-5", e.Message);
    }

    [Fact]
    public async Task Removing_files_from_an_append_only_table_is_a_commit_validation_error()
    {
        var table = At(_dir.Sub("t"));
        await table.CreateAsync(Metadata.Create(IdSchema, configuration: new Dictionary<string, string> { ["delta.appendOnly"] = "true" }));
        await AppendAsync(table, FakeAdd("a"));
        var tx = await table.StartTransactionAsync("DELETE");
        tx.Remove(tx.ReadSnapshot!.Files.Single());
        var e = await Assert.ThrowsAsync<CommitValidationException>(() => tx.CommitAsync());
        Assert.Contains("append-only", e.Message);
    }

    [Fact]
    public async Task A_file_added_twice_is_a_commit_validation_error()
    {
        var table = await CreateIdTableAsync(_dir.Sub("t"));
        var tx = await table.StartTransactionAsync("WRITE");
        tx.Add(FakeAdd("a"));
        tx.Add(FakeAdd("a"));
        Assert.Contains("added twice", (await Assert.ThrowsAsync<CommitValidationException>(() => tx.CommitAsync())).Message);
    }
}
