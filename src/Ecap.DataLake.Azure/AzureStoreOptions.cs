namespace Ecap.DataLake.Azure;

/// <summary>
/// How to reach an Azure Blob Storage (or ADLS Gen2) account. Every setting is optional: unset values come from the
/// environment (<see cref="WithEnvironmentDefaults"/>). Credentials, first that is set: a connection string, an account
/// key, a SAS token; with none, <c>DefaultAzureCredential</c> (environment, workload or managed identity, Azure CLI).
/// The record's text form never shows a secret.
/// </summary>
public sealed record AzureStoreOptions
{
    /// <summary>A storage connection string (AZURE_STORAGE_CONNECTION_STRING): account, key or SAS, and endpoints.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>The account name (AZURE_STORAGE_ACCOUNT_NAME, then AZURE_STORAGE_ACCOUNT), when the location does not name it.</summary>
    public string? AccountName { get; init; }

    /// <summary>The account's shared key (AZURE_STORAGE_ACCOUNT_KEY, then AZURE_STORAGE_KEY).</summary>
    public string? AccountKey { get; init; }

    /// <summary>A shared access signature (AZURE_STORAGE_SAS_TOKEN), with or without its leading '?'.</summary>
    public string? SasToken { get; init; }

    /// <summary>The blob service URL (AZURE_STORAGE_BLOB_ENDPOINT); default <c>https://ACCOUNT.blob.core.windows.net</c>.</summary>
    public string? BlobEndpoint { get; init; }

    /// <summary>Size of each staged block of a streamed upload, and of the one write buffer a stream holds.</summary>
    public int BlockSize { get; init; } = 8 << 20;

    /// <summary>These options with every unset value taken from the environment.</summary>
    public AzureStoreOptions WithEnvironmentDefaults() => this with
    {
        ConnectionString = ConnectionString ?? Env("AZURE_STORAGE_CONNECTION_STRING"),
        AccountName = AccountName ?? Env("AZURE_STORAGE_ACCOUNT_NAME") ?? Env("AZURE_STORAGE_ACCOUNT"),
        AccountKey = AccountKey ?? Env("AZURE_STORAGE_ACCOUNT_KEY") ?? Env("AZURE_STORAGE_KEY"),
        SasToken = SasToken ?? Env("AZURE_STORAGE_SAS_TOKEN"),
        BlobEndpoint = BlobEndpoint ?? Env("AZURE_STORAGE_BLOB_ENDPOINT"),
    };

    /// <summary>The settings the environment gives.</summary>
    public static AzureStoreOptions FromEnvironment() => new AzureStoreOptions().WithEnvironmentDefaults();

    /// <summary>Which kind of credential is in effect, never its value.</summary>
    public string CredentialKind =>
        ConnectionString is not null ? "connection string" : AccountKey is not null ? "account key" : SasToken is not null ? "SAS token" : "DefaultAzureCredential";

    // The text form (ToString) names the credential kind only: keys, SAS signatures and connection strings stay out of logs.
    private bool PrintMembers(System.Text.StringBuilder builder)
    {
        builder.Append($"AccountName = {AccountName}, BlobEndpoint = {BlobEndpoint}, Credential = {CredentialKind}, BlockSize = {BlockSize}");
        return true;
    }

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
