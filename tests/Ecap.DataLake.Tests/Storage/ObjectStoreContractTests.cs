using System.Text;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tests.Storage;

/// <summary>What every object store must do, run against each store (local folder, S3 server).</summary>
public abstract class ObjectStoreContractTests
{
    protected abstract IStoreSource Stores { get; }

    private static async Task<List<string>> KeysAsync(IObjectStore store, string prefix)
    {
        var keys = new List<string>();
        await foreach (var o in store.ListAsync(prefix)) keys.Add(o.Key);
        return keys;
    }

    [Fact]
    public async Task Put_if_absent_creates_once_and_reports_existing_target_without_overwriting()
    {
        var store = Stores.NewStore();

        Assert.Equal(PutResult.Created, await store.PutIfAbsentAsync("_delta_log/0.json", "first"u8.ToArray()));
        Assert.Equal(PutResult.AlreadyExists, await store.PutIfAbsentAsync("_delta_log/0.json", "second"u8.ToArray()));

        Assert.Equal("first", Encoding.UTF8.GetString(await store.ReadAllAsync("_delta_log/0.json")));
        // No temp objects are left behind.
        Assert.Equal(["_delta_log/0.json"], await KeysAsync(store, ""));
    }

    [Fact]
    public async Task Concurrent_put_if_absent_on_one_key_has_exactly_one_winner()
    {
        var first = Stores.NewStore();
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            // A separate store instance per writer: nothing shared but the objects.
            var store = Stores.Reopen(first);
            return (i, result: await store.PutIfAbsentAsync("k/00000000000000000001.json", Encoding.UTF8.GetBytes($"writer-{i}")));
        })));

        var winners = results.Where(r => r.result == PutResult.Created).ToList();
        Assert.Single(winners);
        var content = Encoding.UTF8.GetString(await Stores.Reopen(first).ReadAllAsync("k/00000000000000000001.json"));
        Assert.Equal($"writer-{winners[0].i}", content);
    }

    [Fact]
    public async Task List_by_prefix_is_recursive_and_ordered()
    {
        var store = Stores.NewStore();
        foreach (var key in new[] { "t/b.txt", "t/a/x.txt", "t/a/y.txt", "u/z.txt", "t2/q.txt" })
            await store.WriteAsync(key, "x"u8.ToArray());

        Assert.Equal(["t/a/x.txt", "t/a/y.txt", "t/b.txt"], await KeysAsync(store, "t/"));
        var names = await KeysAsync(store, "t");
        Assert.Contains("t2/q.txt", names);
        Assert.DoesNotContain("u/z.txt", names);
    }

    [Fact]
    public async Task Ranged_read_returns_exact_bytes()
    {
        var store = Stores.NewStore();
        await store.WriteAsync("f.bin", Enumerable.Range(0, 256).Select(i => (byte)i).ToArray());
        Assert.Equal(new byte[] { 10, 11, 12, 13 }, await store.ReadRangeAsync("f.bin", 10, 4));
        Assert.Equal(new byte[] { 254, 255 }, await store.ReadRangeAsync("f.bin", 254, 10));
    }

    [Fact]
    public async Task Open_read_streams_the_object_and_seeks()
    {
        var store = Stores.NewStore();
        var data = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        await store.WriteAsync("s/f.bin", data);
        await using var stream = await store.OpenReadAsync("s/f.bin");
        var all = new MemoryStream();
        await stream.CopyToAsync(all);
        Assert.Equal(data, all.ToArray());
        if (stream.CanSeek)
        {
            stream.Seek(-10, SeekOrigin.End);
            var tail = new byte[10];
            await stream.ReadExactlyAsync(tail);
            Assert.Equal(data[^10..], tail);
        }
    }

    [Fact]
    public async Task Missing_objects_read_as_not_found()
    {
        var store = Stores.NewStore();
        Assert.Null(await store.HeadAsync("nope.json"));
        // Callers (log replay, commit retries) treat both of these as "not there".
        var e1 = await Assert.ThrowsAnyAsync<IOException>(() => store.ReadAllAsync("nope.json"));
        var e2 = await Assert.ThrowsAnyAsync<IOException>(() => store.OpenReadAsync("_delta_log/00000000000000000007.json"));
        Assert.All(new[] { e1, e2 }, e => Assert.True(e is FileNotFoundException or DirectoryNotFoundException, e.GetType().Name));
    }

    [Fact]
    public async Task Write_stream_larger_than_several_parts_reads_back_whole()
    {
        var store = Stores.NewStore();
        var data = new byte[17 << 20]; // more than two 8 MiB parts: a multipart upload on S3
        new Random(5).NextBytes(data);
        await using (var w = await store.OpenWriteAsync("big/file.bin"))
        {
            for (var off = 0; off < data.Length; off += 1_000_003)
                await w.WriteAsync(data.AsMemory(off, Math.Min(1_000_003, data.Length - off)));
        }
        Assert.Equal(data.Length, (await store.HeadAsync("big/file.bin"))!.Value.Size);
        Assert.Equal(data[(9 << 20)..((9 << 20) + 4096)], await store.ReadRangeAsync("big/file.bin", 9 << 20, 4096));
        Assert.Equal(data, await store.ReadAllAsync("big/file.bin"));
    }

    [Fact]
    public async Task Delete_removes_and_tolerates_missing_objects()
    {
        var store = Stores.NewStore();
        await store.WriteAsync("a.txt", "x"u8.ToArray());
        await store.DeleteAsync("a.txt");
        await store.DeleteAsync("a.txt");
        Assert.Null(await store.HeadAsync("a.txt"));
    }

    [Fact]
    public async Task Delete_many_removes_exactly_the_given_objects()
    {
        var store = Stores.NewStore();
        var keys = Enumerable.Range(0, 25).Select(i => $"d/f{i:D2}.bin").ToList();
        foreach (var k in keys) await store.WriteAsync(k, "x"u8.ToArray());
        await store.DeleteManyAsync(keys.Take(20).Append("d/missing.bin"));
        Assert.Equal(keys.Skip(20), await KeysAsync(store, "d/"));
    }

    [Theory]
    [InlineData("../outside.json")]
    [InlineData("a/../../outside.json")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\b")]
    public async Task Keys_that_escape_the_root_are_refused(string key)
    {
        var store = Stores.NewStore();
        await Assert.ThrowsAsync<InvalidPathException>(() => store.WriteAsync(key, "x"u8.ToArray()));
    }

    [Fact]
    public async Task Child_store_is_rooted_inside_its_parent()
    {
        var lake = Stores.NewStore();
        var table = lake.Child("sales");
        await table.WriteAsync("_delta_log/x.json", "{}"u8.ToArray());
        Assert.NotNull(await lake.HeadAsync("sales/_delta_log/x.json"));
        Assert.Equal(lake.Location.TrimEnd('/') + "/sales", table.Location);
        Assert.Throws<InvalidPathException>(() => lake.Child("../other"));
    }

    [Fact]
    public async Task List_prefixes_names_the_folders_directly_under_a_prefix()
    {
        var store = Stores.NewStore();
        await store.WriteAsync("b/_delta_log/0.json", "x"u8.ToArray());
        await store.WriteAsync("a/x/y.parquet", "x"u8.ToArray());
        await store.WriteAsync("top.txt", "x"u8.ToArray());

        var names = new List<string>();
        await foreach (var n in store.ListPrefixesAsync("")) names.Add(n);
        Assert.Equal(["a", "b"], names);

        var nested = new List<string>();
        await foreach (var n in store.ListPrefixesAsync("a/")) nested.Add(n);
        Assert.Equal(["x"], nested);
    }
}

public sealed class LocalObjectStoreContractTests(LocalStores stores) : ObjectStoreContractTests, IClassFixture<LocalStores>
{
    protected override IStoreSource Stores => stores;
}

[Collection(S3Collection.Name)]
public sealed class S3ObjectStoreContractTests(S3Lake lake) : ObjectStoreContractTests
{
    protected override IStoreSource Stores => lake;
}

[Collection(AzureCollection.Name)]
public sealed class AzureObjectStoreContractTests(AzureLake lake) : ObjectStoreContractTests
{
    protected override IStoreSource Stores => lake;
}
