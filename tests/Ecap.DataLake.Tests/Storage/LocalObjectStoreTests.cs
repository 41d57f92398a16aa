using System.Text;
using Ecap.DataLake;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tests.Storage;

public class LocalObjectStoreTests
{
    [Fact]
    public async Task Put_if_absent_creates_once_and_reports_existing_target_without_overwriting()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);

        Assert.Equal(PutResult.Created, await store.PutIfAbsentAsync("_delta_log/0.json", "first"u8.ToArray()));
        Assert.Equal(PutResult.AlreadyExists, await store.PutIfAbsentAsync("_delta_log/0.json", "second"u8.ToArray()));

        Assert.Equal("first", Encoding.UTF8.GetString(await store.ReadAllAsync("_delta_log/0.json")));
        // No temp files are left beside the target.
        Assert.Single(Directory.GetFiles(Path.Combine(dir.Path, "_delta_log")));
    }

    [Fact]
    public async Task Concurrent_put_if_absent_on_one_key_has_exactly_one_winner()
    {
        using var dir = new TempDir();
        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            // A separate store instance per writer: nothing shared but the folder.
            var store = new LocalObjectStore(dir.Path);
            return (i, result: await store.PutIfAbsentAsync("k/commit.json", Encoding.UTF8.GetBytes($"writer-{i}")));
        })));

        var winners = results.Where(r => r.result == PutResult.Created).ToList();
        Assert.Single(winners);
        var content = Encoding.UTF8.GetString(await new LocalObjectStore(dir.Path).ReadAllAsync("k/commit.json"));
        Assert.Equal($"writer-{winners[0].i}", content);
    }

    [Fact]
    public async Task List_by_prefix_is_recursive_and_ordered()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        foreach (var key in new[] { "t/b.txt", "t/a/x.txt", "t/a/y.txt", "u/z.txt", "t2/q.txt" })
            await store.WriteAsync(key, "x"u8.ToArray());

        var keys = new List<string>();
        await foreach (var o in store.ListAsync("t/")) keys.Add(o.Key);
        Assert.Equal(new[] { "t/a/x.txt", "t/a/y.txt", "t/b.txt" }, keys);

        var names = new List<string>();
        await foreach (var o in store.ListAsync("t")) names.Add(o.Key);
        Assert.Contains("t2/q.txt", names);
        Assert.DoesNotContain("u/z.txt", names);
    }

    [Fact]
    public async Task Ranged_read_returns_exact_bytes()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        await store.WriteAsync("f.bin", Enumerable.Range(0, 256).Select(i => (byte)i).ToArray());
        Assert.Equal(new byte[] { 10, 11, 12, 13 }, await store.ReadRangeAsync("f.bin", 10, 4));
        Assert.Equal(new byte[] { 254, 255 }, await store.ReadRangeAsync("f.bin", 254, 10));
    }

    [Fact]
    public async Task Delete_removes_and_tolerates_missing_objects()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        await store.WriteAsync("a.txt", "x"u8.ToArray());
        await store.DeleteAsync("a.txt");
        await store.DeleteAsync("a.txt");
        Assert.Null(await store.HeadAsync("a.txt"));
    }

    [Theory]
    [InlineData("../outside.json")]
    [InlineData("a/../../outside.json")]
    [InlineData("/etc/passwd")]
    [InlineData("a\\b")]
    public async Task Keys_that_escape_the_root_are_refused(string key)
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(Path.Combine(dir.Path, "lake"));
        await Assert.ThrowsAsync<InvalidPathException>(() => store.WriteAsync(key, "x"u8.ToArray()));
        Assert.False(File.Exists(Path.Combine(dir.Path, "outside.json")));
    }

    [Fact]
    public async Task Child_store_is_rooted_inside_its_parent()
    {
        using var dir = new TempDir();
        var lake = new LocalObjectStore(dir.Path);
        var table = lake.Child("sales");
        await table.WriteAsync("_delta_log/x.json", "{}"u8.ToArray());
        Assert.NotNull(await lake.HeadAsync("sales/_delta_log/x.json"));
        Assert.Throws<InvalidPathException>(() => lake.Child("../other"));
    }

    [Theory]
    [InlineData("s3://bucket/lake")]
    [InlineData("s3a://data-lake")]
    public void S3_locations_say_the_store_is_not_configured(string location)
    {
        var e = Assert.Throws<StoreNotConfiguredException>(() => ObjectStoreFactory.Open(location));
        Assert.Contains("S3 store not configured", e.Message);
    }

    [Fact]
    public void File_uri_and_plain_folder_open_the_same_local_folder()
    {
        using var dir = new TempDir();
        var a = (LocalObjectStore)ObjectStoreFactory.Open(dir.Path);
        var b = (LocalObjectStore)ObjectStoreFactory.Open(new Uri(dir.Path).AbsoluteUri);
        Assert.Equal(a.RootDirectory, b.RootDirectory);
    }
}

public class LocalObjectStorePrefixTests
{
    [Fact]
    public async Task List_prefixes_names_the_folders_directly_under_a_prefix()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        await store.WriteAsync("b/_delta_log/0.json", "x"u8.ToArray());
        await store.WriteAsync("a/x/y.parquet", "x"u8.ToArray());
        await store.WriteAsync("top.txt", "x"u8.ToArray());

        var names = new List<string>();
        await foreach (var n in store.ListPrefixesAsync("")) names.Add(n);
        Assert.Equal(new[] { "a", "b" }, names);

        var nested = new List<string>();
        await foreach (var n in store.ListPrefixesAsync("a/")) nested.Add(n);
        Assert.Equal(new[] { "x" }, nested);
    }
}
