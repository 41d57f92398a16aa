using System.Buffers;
using System.Text;
using Ecap.DataLake.Delta;
using Xunit;

namespace Ecap.DataLake.Tests.Delta;

/// <summary>How actions look in a commit file: one JSON object per line, exactly as PROTOCOL.md spells them.</summary>
public class ActionSerializerTests
{
    private static async Task<List<DeltaAction>> ReadAsync(string text, string file = "_delta_log/00000000000000000007.json")
    {
        var list = new List<DeltaAction>();
        await foreach (var a in ActionSerializer.ReadCommitAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), file))
            list.Add(a);
        return list;
    }

    [Fact]
    public void Add_NullPartitionValueIsJsonNull_StatsIsAString_TagsAMap()
    {
        var line = ActionSerializer.ToJsonLine(new DeltaAction(Add: new AddFile
        {
            Path = AddFile.EncodePath("p=a b%/f.parquet"),
            PartitionValues = new Dictionary<string, string?> { ["p"] = null },
            Size = 5,
            ModificationTime = 7,
            DataChange = true,
            Stats = "{\"numRecords\":1}",
            Tags = new Dictionary<string, string?> { ["bucket"] = "3" },
        }));
        Assert.Equal(
            "{\"add\":{\"path\":\"p=a%20b%25/f.parquet\",\"partitionValues\":{\"p\":null},\"size\":5,\"modificationTime\":7," +
            "\"dataChange\":true,\"stats\":\"{\\\"numRecords\\\":1}\",\"tags\":{\"bucket\":\"3\"}}}", line);
    }

    [Fact]
    public async Task EveryActionRoundTrips()
    {
        var actions = new DeltaAction[]
        {
            new(CommitInfo: new CommitInfo { Timestamp = 1, Operation = "WRITE", OperationParameters = new Dictionary<string, string> { ["mode"] = "Append" }, IsBlindAppend = true, ReadVersion = 3 }),
            new(Protocol: new Protocol(3, 7, ["timestampNtz"], ["timestampNtz", "appendOnly"])),
            new(Metadata: new Metadata { Id = "id", SchemaString = DeltaSchema.EmptySchemaString, PartitionColumns = ["a"], Configuration = new Dictionary<string, string> { ["k"] = "v" }, CreatedTime = 9 }),
            new(Txn: new SetTransaction("app", 42, 100)),
            new(Remove: new RemoveFile { Path = "x%25y", DeletionTimestamp = 5, DataChange = false, ExtendedFileMetadata = true, PartitionValues = new Dictionary<string, string?> { ["a"] = null }, Size = 3 }),
            new(Add: new AddFile { Path = "a=1/f", PartitionValues = new Dictionary<string, string?> { ["a"] = "1" }, Size = 10, ModificationTime = 2 }),
            new(DomainMetadata: new DomainMetadata("d", "{}", false)),
        };
        var buffer = new ArrayBufferWriter<byte>();
        ActionSerializer.Write(actions, buffer);
        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.Equal(actions.Length, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var back = await ReadAsync(text);
        Assert.Equal(actions.Length, back.Count);
        Assert.Equal("WRITE", back[0].CommitInfo!.Operation);
        Assert.Equal("Append", back[0].CommitInfo!.OperationParameters["mode"]);
        Assert.Equal(actions[1].Protocol!.WriterFeatures, back[1].Protocol!.WriterFeatures);
        Assert.Equal(["a"], back[2].Metadata!.PartitionColumns);
        Assert.Equal(actions[3].Txn, back[3].Txn);
        Assert.Equal("x%y", back[4].Remove!.ObjectKey);
        Assert.Null(back[4].Remove!.PartitionValues!["a"]);
        Assert.Equal("1", back[5].Add!.PartitionValues["a"]);
        Assert.Equal(actions[6].DomainMetadata, back[6].DomainMetadata);
        // the written text parses back to the same JSON line
        Assert.Equal(text.Split('\n')[5], ActionSerializer.ToJsonLine(back[5]));
    }

    [Theory]
    [InlineData("_2=bar+%2521/part.parquet", "_2=bar+%252521/part.parquet")]
    [InlineData("a=x y/f.parquet", "a=x%20y/f.parquet")]
    [InlineData("a=ü:/f.parquet", "a=%C3%BC%3A/f.parquet")]
    public void Paths_AreUriEncodedInTheLog_AndDecodedToObjectKeys(string key, string logPath)
    {
        Assert.Equal(logPath, AddFile.EncodePath(key));
        Assert.Equal(key, new AddFile { Path = logPath, Size = 1, ModificationTime = 1 }.ObjectKey);
    }

    [Fact]
    public async Task KnownOptionalActions_AreAccepted()
    {
        var actions = await ReadAsync(
            "{\"cdc\":{\"path\":\"c\",\"partitionValues\":{},\"size\":1,\"dataChange\":false}}\n" +
            "{\"checkpointMetadata\":{\"version\":1}}\n{\"sidecar\":{\"path\":\"s\",\"sizeInBytes\":1,\"modificationTime\":1}}\n\n");
        Assert.Equal(["cdc", "checkpointMetadata", "sidecar"], actions.Select(a => a.Other));
    }

    [Fact]
    public async Task UnknownAction_IsCorruptTable_NamingFileAndAction()
    {
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => ReadAsync("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n{\"frobnicate\":{}}\n"));
        Assert.Contains("00000000000000000007.json", e.Message);
        Assert.Contains("'frobnicate'", e.Message);
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public async Task CorruptJson_IsCorruptTable_NamingFileAndLine()
    {
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => ReadAsync("{\"commitInfo\":{}}\n{\"add\":{\"path\":\"x\",\n"));
        Assert.Contains("00000000000000000007.json", e.Message);
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public async Task AddWithoutRequiredField_IsCorruptTable()
    {
        var e = await Assert.ThrowsAsync<CorruptTableException>(() => ReadAsync("{\"add\":{\"path\":\"x\",\"partitionValues\":{}}}"));
        Assert.Contains("size", e.Message);
    }
}
