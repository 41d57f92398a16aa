using System.Text.Json;

namespace Ecap.DataLake.Parquet.Encryption;

/// <summary>
/// Where encryption keys come from, by key id (the id is stored in each file's key metadata, never the key).
/// Implement it over a KMS for production; <see cref="LocalKeyFileProvider"/> and <see cref="EnvironmentKeyProvider"/> ship.
/// Keys are AES keys of 16, 24 or 32 bytes.
/// </summary>
public interface IKeyProvider
{
    /// <summary>The key with this id, or null when the provider does not have it.</summary>
    byte[]? TryGetKey(string keyId);
}

/// <summary>A key the provider does not have: an encrypted table cannot be read or written without it.</summary>
public sealed class EncryptionKeyMissingException(string message) : DataLakeException(message);

/// <summary>Keys in a local JSON file <c>{"keyId": "base64 key", ...}</c>, for development. Keep the file out of the lake.</summary>
internal sealed class LocalKeyFileProvider(string path) : IKeyProvider
{
    private readonly Lazy<Dictionary<string, string>> _keys = new(() => Read(path));

    private static Dictionary<string, string> Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path))
                ?? throw new InvalidInputException($"Key file '{path}' is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"Key file '{path}' is not a JSON object of key ids to base64 keys ({e.Message}).");
        }
    }

    public byte[]? TryGetKey(string keyId) => _keys.Value.TryGetValue(keyId, out var b64) ? KeyProviders.Decode(b64, keyId) : null;

    /// <summary>Writes a key file with fresh random 256-bit keys for the ids (for development and tests).</summary>
    public static void Create(string path, params string[] keyIds) =>
        File.WriteAllText(path, JsonSerializer.Serialize(keyIds.ToDictionary(id => id,
            _ => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)))));
}

/// <summary>Keys in environment variables <c>ECAP_KEY_&lt;ID&gt;</c> (id upper-cased, other characters as '_'), base64.</summary>
internal sealed class EnvironmentKeyProvider(Func<string, string?>? variable = null) : IKeyProvider
{
    private readonly Func<string, string?> _variable = variable ?? Environment.GetEnvironmentVariable;

    public static string VariableName(string keyId) =>
        "ECAP_KEY_" + new string(keyId.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_').ToArray());

    public byte[]? TryGetKey(string keyId) => _variable(VariableName(keyId)) is { Length: > 0 } b64 ? KeyProviders.Decode(b64, keyId) : null;
}

/// <summary>The default provider: <c>ECAP_KEY_FILE</c> (a key file) when set, else <c>ECAP_KEY_&lt;ID&gt;</c> variables.</summary>
internal static class KeyProviders
{
    public const string KeyFileVariable = "ECAP_KEY_FILE";

    public static IKeyProvider FromEnvironment() =>
        Environment.GetEnvironmentVariable(KeyFileVariable) is { Length: > 0 } file ? new LocalKeyFileProvider(file) : new EnvironmentKeyProvider();

    public static byte[] Get(this IKeyProvider provider, string keyId, string purpose) => provider.TryGetKey(keyId)
        ?? throw new EncryptionKeyMissingException(
            $"{purpose} needs encryption key '{keyId}', which the key provider does not have: set {KeyFileVariable} to a key file holding it, " +
            $"or {EnvironmentKeyProvider.VariableName(keyId)} to the base64 key.");

    internal static byte[] Decode(string b64, string keyId)
    {
        byte[] key;
        try { key = Convert.FromBase64String(b64.Trim()); }
        catch (FormatException) { throw new InvalidInputException($"Encryption key '{keyId}' is not base64."); }
        if (key.Length is not (16 or 24 or 32)) throw new InvalidInputException($"Encryption key '{keyId}' has {key.Length} bytes; AES keys have 16, 24 or 32.");
        return key;
    }
}
