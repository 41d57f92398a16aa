using System.Text;
using Ecap.DataLake;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tests.Storage;

public class LocalObjectStoreTests
{
    [Fact]
    public async Task Put_if_absent_leaves_no_temp_files_beside_the_target()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(dir.Path);
        Assert.Equal(PutResult.Created, await store.PutIfAbsentAsync("_delta_log/0.json", "first"u8.ToArray()));
        Assert.Equal(PutResult.AlreadyExists, await store.PutIfAbsentAsync("_delta_log/0.json", "second"u8.ToArray()));
        Assert.Single(Directory.GetFiles(Path.Combine(dir.Path, "_delta_log")));
    }

    [Fact]
    public async Task Keys_that_escape_the_root_write_nothing_outside_it()
    {
        using var dir = new TempDir();
        var store = new LocalObjectStore(Path.Combine(dir.Path, "lake"));
        await Assert.ThrowsAsync<InvalidPathException>(() => store.WriteAsync("../outside.json", "x"u8.ToArray()));
        Assert.False(File.Exists(Path.Combine(dir.Path, "outside.json")));
    }

    [Theory]
    [InlineData("s3://bucket/lake", "bucket", "s3://bucket/lake")]
    [InlineData("s3a://data-lake", "data-lake", "s3a://data-lake")]
    [InlineData("s3://bucket/a/b/", "bucket", "s3://bucket/a/b")]
    public void S3_locations_open_an_S3_store_on_the_bucket_and_prefix(string location, string bucket, string shown)
    {
        var store = Assert.IsType<Ecap.DataLake.Storage.S3.S3ObjectStore>(ObjectStoreFactory.Open(location,
            new Ecap.DataLake.Storage.S3.S3StoreOptions { Region = "eu-west-1", Credentials = new Amazon.Runtime.AnonymousAWSCredentials() }));
        Assert.Equal(bucket, store.Bucket);
        Assert.Equal(shown, store.Location);
        Assert.Null(store.TryGetLocalPath("x"));
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
