using System.Text;
using Ecap.DataLake.Files;
using Xunit;

namespace Ecap.DataLake.Tests.Files;

/// <summary><see cref="JsonArrayReader"/>: elements of one JSON array, streamed across buffer refills.</summary>
public class JsonArrayReaderTests
{
    private static List<string> Elements(string text)
    {
        using var reader = new JsonArrayReader(new MemoryStream(Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(text)).ToArray()));
        var list = new List<string>();
        while (reader.Next() is { } e) list.Add(Encoding.UTF8.GetString(e.Span));
        return list;
    }

    [Fact]
    public void Elements_larger_than_the_buffer_and_strings_with_brackets_come_whole()
    {
        var big = new string('x', 200_000);
        var text = $"\n [ {{\"a\": \"{big}\"}},\n{{\"b\": \"],[{{\\\" é\"}} , {{\"c\": [1, {{\"d\": 2}}]}} ]\n";
        var elements = Elements(text);
        Assert.Equal(3, elements.Count);
        Assert.Equal($"{{\"a\": \"{big}\"}}", elements[0]);
        Assert.Equal("{\"b\": \"],[{\\\" é\"}", elements[1]);
        Assert.Equal("{\"c\": [1, {\"d\": 2}]}", elements[2]);
        Assert.Empty(Elements("[]"));
    }

    [Theory]
    [InlineData("[{\"a\": 1}", "not closed")]
    [InlineData("[{\"a\": 1}] x", "more after")]
    [InlineData("[{\"a\": ", "not valid JSON")]
    public void A_file_that_is_not_one_array_is_an_input_error(string text, string message)
    {
        var e = Assert.Throws<InvalidInputException>(() => Elements(text));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }
}
