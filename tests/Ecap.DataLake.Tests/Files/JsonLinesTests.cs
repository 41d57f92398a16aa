using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Files;

namespace Ecap.DataLake.Tests.Files;

/// <summary>JSON lines files read straight from their UTF-8 bytes: line ends, blank lines, byte order marks and long lines.</summary>
public sealed class JsonLinesTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly Schema Schema = new Schema.Builder()
        .Field(new Field("id", Int64Type.Default, false))
        .Field(new Field("name", StringType.Default, true))
        .Build();

    private async Task<List<SourceChunk>> ReadAsync(byte[] content, int batchRows = 1000, long skip = 0)
    {
        var path = _dir.Sub($"f{Guid.NewGuid():N}.jsonl");
        await File.WriteAllBytesAsync(path, content);
        return await SourceFiles.ReadRecordsAsync(path, new SourceFileOptions { Schema = Schema, BatchRows = batchRows }, skip).ToListAsync();
    }

    private static List<long> Ids(IEnumerable<SourceChunk> chunks) =>
        chunks.SelectMany(c => ((Int64Array)c.Rows!.Column("id")).Values.ToArray()).ToList();

    [Fact]
    public async Task Crlf_ends_blank_lines_a_byte_order_mark_and_a_last_line_without_an_end_are_all_read()
    {
        var text = "\uFEFF{\"id\":1,\"name\":\"a\"}\r\n\r\n   \n{\"id\":2}\n\t\n{\"id\":3,\"name\":\"ü\"}";
        var chunks = await ReadAsync(Encoding.UTF8.GetBytes(text));
        Assert.Equal([1L, 2L, 3L], Ids(chunks));
        Assert.Empty(chunks.SelectMany(c => c.Bad));
        var names = (StringArray)chunks[0].Rows!.Column("name");
        Assert.Equal("a", names.GetString(0));
        Assert.True(names.IsNull(1));
        Assert.Equal("ü", names.GetString(2));
        Assert.Equal(3, chunks.Sum(c => c.RecordCount)); // blank lines are not records
    }

    [Fact]
    public async Task Bad_lines_keep_their_line_number_text_and_reason_and_a_missing_required_column_is_one()
    {
        var text = "{\"id\":1}\n\n[1,2]\n{\"name\":\"no id\"}\n{\"id\":\"x\"}\n{not json\n{\"id\":6}\n";
        var chunks = await ReadAsync(Encoding.UTF8.GetBytes(text));
        Assert.Equal([1L, 6L], Ids(chunks));
        var bad = chunks.SelectMany(c => c.Bad).ToList();
        Assert.Equal([3L, 4L, 5L, 6L], bad.Select(b => b.Line));
        Assert.Equal([1L, 2L, 3L, 4L], bad.Select(b => b.RecordNumber));
        Assert.Equal("[1,2]", bad[0].Raw);
        Assert.Contains("a line must be a JSON object, not array", bad[0].Error);
        Assert.Contains("'id' is required", bad[1].Error);
        Assert.Contains("column 'id'", bad[2].Error);
        Assert.Contains("not valid JSON", bad[3].Error);
    }

    [Fact]
    public async Task Lines_across_buffer_refills_and_a_line_longer_than_the_buffer_come_out_whole()
    {
        var text = new StringBuilder();
        var longName = new string('x', 3 << 20); // longer than the reader's 1 MiB buffer
        for (var i = 0; i < 30_000; i++)
            text.Append("{\"id\":").Append(i).Append(",\"name\":\"").Append(i == 12_345 ? longName : "n" + i).Append("\"}\n");
        var chunks = await ReadAsync(Encoding.UTF8.GetBytes(text.ToString()), batchRows: 7000);
        Assert.Equal(Enumerable.Range(0, 30_000).Select(i => (long)i), Ids(chunks));
        Assert.Equal(5, chunks.Count); // 7000 records per chunk
        var names = chunks.SelectMany(c => Enumerable.Range(0, c.Rows!.Length).Select(r => ((StringArray)c.Rows.Column("name")).GetString(r))).ToList();
        Assert.Equal(longName, names[12_345]);
        Assert.Equal("n29999", names[^1]);

        // Resuming after 29,990 records reads the last ten.
        Assert.Equal(Enumerable.Range(29_990, 10).Select(i => (long)i), Ids(await ReadAsync(Encoding.UTF8.GetBytes(text.ToString()), skip: 29_990)));
    }
}
