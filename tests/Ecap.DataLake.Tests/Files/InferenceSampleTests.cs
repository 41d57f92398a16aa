using System.Globalization;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Files;
using Ecap.TestSupport;

namespace Ecap.DataLake.Tests.Files;

/// <summary>
/// Inference looks past the first rows (issue 19): the whole of a small file, chunks spread over a large one and its end,
/// so a column that widens late gets the wider type and every row reads; chunk starts inside quoted line ends are realigned.
/// </summary>
public sealed class InferenceSampleTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Write(string name, string text)
    {
        var path = _dir.Sub(name);
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<List<RecordBatch>> ReadAllAsync(string path)
    {
        var batches = new List<RecordBatch>();
        await foreach (var chunk in SourceFiles.ReadRecordsAsync(path, new SourceFileOptions()))
        {
            Assert.Empty(chunk.Bad);
            batches.Add(chunk.Rows!);
        }
        return batches;
    }

    private static IArrowType TypeOf(Schema schema, string column) => schema.GetFieldByName(column).DataType;

    [Theory]
    [InlineData("n/a", ArrowTypeId.String, "VARCHAR")]
    [InlineData("7.25", ArrowTypeId.Double, "DOUBLE")]
    public async Task A_csv_column_of_5000_integers_then_a_wider_value_gets_the_wider_type_as_duckdb_does(string late, ArrowTypeId expected, string duckType)
    {
        var text = new StringBuilder("id,amount\n");
        for (var i = 0; i < 5_000; i++) text.Append(CultureInfo.InvariantCulture, $"{i},{i * 3}\n");
        text.Append(CultureInfo.InvariantCulture, $"5000,{late}\n");
        var path = Write("late.csv", text.ToString());

        var schema = SourceFiles.InferSchema(path, new SourceFileOptions())!;
        Assert.Equal((ArrowTypeId.Int64, expected), (TypeOf(schema, "id").TypeId, TypeOf(schema, "amount").TypeId));
        using var duck = new DuckDbReader();
        Assert.Equal(duckType, duck.Scalar($"SELECT typeof(amount) FROM read_csv('{path}') LIMIT 1"));
        // Every row reads, the late value too (the old first-1,000-rows sample made it a bad record).
        var batches = await ReadAllAsync(path);
        Assert.Equal(5_001, batches.Sum(b => b.Length));
        var last = batches[^1].Column("amount");
        Assert.Equal(late, Convert.ToString(Ecap.DataLake.Arrow.ArrowValues.Get(last, last.Length - 1), CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_json_lines_field_that_turns_decimal_at_the_end_is_double()
    {
        var text = new StringBuilder();
        for (var i = 0; i < 5_000; i++) text.Append(CultureInfo.InvariantCulture, $"{{\"id\":{i},\"score\":{i}}}\n");
        text.Append("{\"id\":5000,\"score\":0.5,\"late_column\":\"x\"}\n");
        var path = Write("late.jsonl", text.ToString());
        var schema = SourceFiles.InferSchema(path, new SourceFileOptions())!;
        Assert.Equal(ArrowTypeId.Double, TypeOf(schema, "score").TypeId);
        Assert.Equal(ArrowTypeId.String, TypeOf(schema, "late_column").TypeId); // a column first seen at the end is a column
        Assert.Equal(5_001, (await ReadAllAsync(path)).Sum(b => b.Length));
    }

    [Fact]
    public async Task A_large_csv_with_quoted_line_ends_is_sampled_across_chunks_and_to_its_end()
    {
        // Over 10 MB: sampled in spread chunks. Every record has a quoted note holding a comma and a line end, so a chunk that
        // starts on the note's second line is misaligned (two fields) and must move on to the next record.
        var path = _dir.Sub("large.csv");
        var lines = new List<string> { "id,note,value,code\n" };
        long bytes = lines[0].Length, sum = 0;
        for (var r = 0L; bytes < InferenceSample.WholeFileBytes + 2 * 1024 * 1024; r++)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{r},\"row {r}, first line\nsecond line\",{r % 97},{r}\n"));
            bytes += lines[^1].Length;
            sum += r % 97;
        }
        // The last row widens value to a decimal: only the tail chunk sees it.
        lines.Add(string.Create(CultureInfo.InvariantCulture, $"{lines.Count - 1},\"last, row\nend\",0.5,{lines.Count - 1}\n"));
        bytes += lines[^1].Length;
        // "code" turns text a few records past the middle chunk's start (the file's half): far past the first chunk.
        long offset = 0;
        var middle = 0;
        while (offset <= bytes / InferenceSample.Chunks * (InferenceSample.Chunks / 2)) offset += lines[middle++].Length;
        var late = middle + 10;
        lines[late] = lines[late][..(lines[late].LastIndexOf(',') + 1)] + "X1\n";
        File.WriteAllText(path, string.Concat(lines));
        var rows = lines.Count - 1L;
        Assert.True(new FileInfo(path).Length > InferenceSample.WholeFileBytes);
        Assert.True(late > 10 * InferenceSample.ChunkRecords, $"the text code (record {late}) must be far past the first chunk");

        var schema = SourceFiles.InferSchema(path, new SourceFileOptions())!;
        Assert.Equal(ArrowTypeId.Int64, TypeOf(schema, "id").TypeId); // no misaligned chunk fed the id column text
        Assert.Equal(ArrowTypeId.String, TypeOf(schema, "note").TypeId);
        Assert.Equal(ArrowTypeId.Double, TypeOf(schema, "value").TypeId);
        Assert.Equal(ArrowTypeId.String, TypeOf(schema, "code").TypeId);
        var batches = await ReadAllAsync(path);
        Assert.Equal(rows, batches.Sum(b => b.Length));
        Assert.Equal(sum + 0.5, batches.Sum(b => ((DoubleArray)b.Column("value")).Values.ToArray().Sum()));
        Assert.Single(batches.SelectMany(b => Enumerable.Range(0, b.Length).Select(i => ((StringArray)b.Column("code")).GetString(i))), c => c == "X1");
    }
}
