using Ecap.DataLake.Azure;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Tests.Storage;
using Ecap.TestSupport;
using static Ecap.DataLake.Tests.Delta.DeltaTestHelpers;

namespace Ecap.DataLake.Tests.Storage;

/// <summary>What is particular to the Azure store: locations, credentials that never show, the commit probe, uploads a crash cuts short.</summary>
[Collection(AzureCollection.Name)]
public sealed class AzureStoreTests(AzureLake lake)
{
    [Theory]
    [InlineData("az://c/lake/t", "c", null, "core.windows.net", "lake/t")]
    [InlineData("azure://c", "c", null, "core.windows.net", "")]
    [InlineData("abfss://c@acct.dfs.core.windows.net/lake", "c", "acct", "core.windows.net", "lake")]
    [InlineData("abfs://c@acct.dfs.core.chinacloudapi.cn/lake/", "c", "acct", "core.chinacloudapi.cn", "lake")]
    [InlineData("wasbs://c@acct.blob.core.windows.net/a/b", "c", "acct", "core.windows.net", "a/b")]
    public void Locations_name_container_account_and_prefix(string location, string container, string? account, string suffix, string prefix)
    {
        var parsed = AzureLocation.Parse(location);
        Assert.Equal((container, account, suffix, prefix), (parsed.Container, parsed.Account, parsed.EndpointSuffix, parsed.Prefix));
    }

    [Theory]
    [InlineData("abfss://acct.dfs.core.windows.net/lake", "names no account")]
    [InlineData("az:///lake", "names no container")]
    [InlineData("az://c/../x", "escapes")]
    [InlineData("wasbs://c@/x", "no storage account")]
    public void Bad_locations_are_input_errors(string location, string message)
    {
        var e = Assert.ThrowsAny<InvalidInputException>(() => AzureBlobObjectStore.Open(location, new AzureStoreOptions { AccountName = "a", AccountKey = "a2V5" }));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_location_for_another_account_than_the_connection_string_is_refused()
    {
        var e = Assert.Throws<InvalidInputException>(() => AzureBlobObjectStore.Open(
            "abfss://c@other.dfs.core.windows.net/x", new AzureStoreOptions { ConnectionString = lake.Azurite.ConnectionString }));
        Assert.Contains("'other'", e.Message);
        Assert.Contains("devstoreaccount1", e.Message);
    }

    private const string DevAccount = "devstoreaccount1";
    private const string DevKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private string Endpoint => $"http://127.0.0.1:{lake.Azurite.Port}/{DevAccount}";

    [Fact]
    public async Task An_account_key_opens_the_store_as_the_connection_string_does()
    {
        var location = lake.Azurite.NewLocation();
        var byKey = AzureBlobObjectStore.Open(location, new AzureStoreOptions { AccountName = DevAccount, AccountKey = DevKey, BlobEndpoint = Endpoint });
        Assert.Equal(PutResult.Created, await byKey.PutIfAbsentAsync("k", "v"u8.ToArray()));
        Assert.Equal("v"u8.ToArray(), await lake.Reopen(byKey).ReadAllAsync("k"));
    }

    [Fact]
    public async Task A_sas_token_opens_the_store_and_its_signature_never_shows_in_an_error()
    {
        var container = new global::Azure.Storage.Blobs.BlobContainerClient(lake.Azurite.ConnectionString, AzuriteTestServer.Container);
        var sas = container.GenerateSasUri(global::Azure.Storage.Sas.BlobContainerSasPermissions.All, DateTimeOffset.UtcNow.AddHours(1)).Query;
        var location = lake.Azurite.NewLocation();
        var bySas = AzureBlobObjectStore.Open(location, new AzureStoreOptions { AccountName = DevAccount, SasToken = sas, BlobEndpoint = Endpoint });
        await bySas.WriteAsync("a/b", "x"u8.ToArray());
        Assert.Equal("x"u8.ToArray(), await lake.Reopen(bySas).ReadAllAsync("a/b"));

        // A read-only SAS: writes are refused (403) with a hint, and the signature is not in the message.
        var readOnly = container.GenerateSasUri(global::Azure.Storage.Sas.BlobContainerSasPermissions.Read, DateTimeOffset.UtcNow.AddHours(1)).Query;
        var store = AzureBlobObjectStore.Open(location, new AzureStoreOptions { AccountName = DevAccount, SasToken = readOnly, BlobEndpoint = Endpoint });
        var e = await Assert.ThrowsAsync<AzureStoreException>(() => store.WriteAsync("c", "y"u8.ToArray()));
        Assert.Contains("403", e.Message);
        Assert.Contains("Check the credentials", e.Message);
        var signature = System.Web.HttpUtility.ParseQueryString(readOnly)["sig"]!;
        Assert.DoesNotContain(signature, e.Message);
        Assert.DoesNotContain(Uri.EscapeDataString(signature), e.Message);
    }

    [Fact]
    public void Options_text_names_the_credential_kind_never_a_secret()
    {
        var options = new AzureStoreOptions { ConnectionString = lake.Azurite.ConnectionString, AccountKey = "c2VjcmV0LWtleQ==", SasToken = "sv=1&sig=SECRETSIG" };
        var text = options.ToString();
        Assert.Contains("connection string", text);
        Assert.DoesNotContain("AccountKey=", text);
        Assert.DoesNotContain("c2VjcmV0LWtleQ==", text);
        Assert.DoesNotContain("SECRETSIG", text);
    }

    [Fact]
    public async Task The_conditional_put_probe_finds_that_azurite_enforces_if_none_match_and_leaves_no_probe_behind()
    {
        var store = lake.NewStore();
        Assert.Equal(PutResult.Created, await store.PutIfAbsentAsync("k", "a"u8.ToArray()));
        Assert.Equal(PutResult.AlreadyExists, await store.PutIfAbsentAsync("k", "b"u8.ToArray()));
        Assert.Equal("a"u8.ToArray(), await store.ReadAllAsync("k"));
        var keys = new List<string>();
        await foreach (var o in store.ListAsync("")) keys.Add(o.Key);
        Assert.Equal(["k"], keys);
    }

    [Fact]
    public async Task A_put_if_absent_larger_than_a_block_is_one_conditional_block_list()
    {
        var store = AzureBlobObjectStore.Open(lake.Azurite.NewLocation(), lake.Options with { BlockSize = 64 << 10 });
        var big = new byte[300 << 10];
        Random.Shared.NextBytes(big);
        Assert.Equal(PutResult.Created, await store.PutIfAbsentAsync("big", big));
        Assert.Equal(PutResult.AlreadyExists, await store.PutIfAbsentAsync("big", new byte[200 << 10]));
        Assert.Equal(big, await store.ReadAllAsync("big"));
    }

    [Fact]
    public async Task A_streamed_upload_cut_short_by_a_crash_leaves_no_object_and_the_table_unchanged()
    {
        var store = AzureBlobObjectStore.Open(lake.Azurite.NewLocation(), lake.Options with { BlockSize = 64 << 10 });
        var table = await CreateIdTableAsync(store);
        await AppendAsync(table, FakeAdd("a.parquet"));
        // Blocks staged, the list never committed (the writer died before disposing the stream).
        var stream = await store.OpenWriteAsync("b.parquet");
        await stream.WriteAsync(new byte[200 << 10]);
        Assert.Null(await store.HeadAsync("b.parquet"));
        Assert.Null(await lake.Reopen(store).HeadAsync("b.parquet"));
        var snapshot = await new DeltaTable(lake.Reopen(store)).GetSnapshotAsync();
        Assert.Equal(1, snapshot.Version);
        Assert.Equal(["a.parquet"], snapshot.Files.Select(f => f.Path));
        GC.KeepAlive(stream);
    }

    [Fact]
    public async Task A_seekable_read_of_a_blob_larger_than_the_first_window_returns_every_byte_where_asked()
    {
        var store = lake.NewStore();
        var data = new byte[(4 << 20) + 123_457];
        Random.Shared.NextBytes(data);
        await store.WriteAsync("f", data);
        await using var s = await store.OpenReadAsync("f");
        Assert.True(s.CanSeek);
        Assert.Equal(data.Length, s.Length);
        var tail = new byte[1000];
        s.Seek(-1000, SeekOrigin.End);
        await s.ReadExactlyAsync(tail);
        Assert.Equal(data[^1000..], tail);
        s.Position = 10;
        var all = new byte[data.Length - 10];
        await s.ReadExactlyAsync(all);
        Assert.Equal(data[10..], all);
        Assert.Equal(data[(4 << 20)..((4 << 20) + 50)], await store.ReadRangeAsync("f", 4 << 20, 50));
        Assert.Empty(await store.ReadRangeAsync("f", data.Length + 5, 10));
    }
}
