using System.Text.Json.Nodes;
using ParquetSharp;

namespace Ecap.DataLake.Parquet.Encryption;

/// <summary>
/// Parquet modular encryption of a table's data files, declared by table properties:
/// <c>ecap.encryption.footerKey</c> (key id of the footer; with no column keys every column is encrypted with it),
/// <c>ecap.encryption.columnKeys</c> (<c>col:keyId,col2:keyId2</c>: only these columns are encrypted, each with its key),
/// <c>ecap.encryption.encryptedColumnStats</c> (<c>false</c>: the log's min/max stats leave encrypted columns out, so no
/// values leak into _delta_log). Key ids go into each file's key metadata; keys come from an <see cref="IKeyProvider"/>.
/// Readers other than this library (DuckDB, Spark without the keys) cannot read such files.
/// </summary>
public sealed record TableEncryption(string FooterKeyId, IReadOnlyDictionary<string, string> ColumnKeyIds, bool EncryptedColumnStats = true)
{
    public const string FooterKeyProperty = "ecap.encryption.footerKey";
    public const string ColumnKeysProperty = "ecap.encryption.columnKeys";
    public const string StatsProperty = "ecap.encryption.encryptedColumnStats";

    /// <summary>The encryption a table's properties (Delta <c>metaData.configuration</c>) declare, null when none.</summary>
    public static TableEncryption? Of(IReadOnlyDictionary<string, string> configuration)
    {
        if (!configuration.TryGetValue(FooterKeyProperty, out var footer)) return null;
        var columns = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in (configuration.GetValueOrDefault(ColumnKeysProperty) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.LastIndexOf(':');
            if (colon <= 0) throw new CorruptTableException($"Table property {ColumnKeysProperty} entry '{part}' is not column:keyId.");
            columns[part[..colon]] = part[(colon + 1)..];
        }
        var stats = !string.Equals(configuration.GetValueOrDefault(StatsProperty), "false", StringComparison.OrdinalIgnoreCase);
        return new TableEncryption(footer, columns, stats);
    }

    /// <summary>The table properties that declare this encryption.</summary>
    public IReadOnlyDictionary<string, string> ToTableProperties()
    {
        var p = new Dictionary<string, string> { [FooterKeyProperty] = FooterKeyId, [StatsProperty] = EncryptedColumnStats ? "true" : "false" };
        if (ColumnKeyIds.Count > 0) p[ColumnKeysProperty] = string.Join(",", ColumnKeyIds.Select(kv => kv.Key + ":" + kv.Value));
        return p;
    }

    /// <summary>True when <paramref name="column"/> is encrypted (every column when no column keys are given).</summary>
    public bool Encrypts(string column) => ColumnKeyIds.Count == 0 || ColumnKeyIds.ContainsKey(column);

    /// <summary>Fails early, with the key id and where to put it, when the provider lacks a key of this table.</summary>
    public void EnsureKeys(IKeyProvider keys, string table, IEnumerable<string>? columns = null)
    {
        keys.Get(FooterKeyId, $"Table '{table}' is encrypted; reading or writing it");
        foreach (var (column, keyId) in ColumnKeyIds)
            if (columns is null || columns.Contains(column))
                keys.Get(keyId, $"Column '{column}' of table '{table}' is encrypted; reading or writing it");
    }

    /// <summary>Writer properties for one file (fresh each file: the native properties are single-use).</summary>
    internal FileEncryptionProperties BuildEncryption(IKeyProvider keys)
    {
        using var builder = new FileEncryptionPropertiesBuilder(keys.Get(FooterKeyId, "Writing an encrypted table"));
        builder.FooterKeyMetadata(FooterKeyId);
        if (ColumnKeyIds.Count > 0)
        {
            var columns = ColumnKeyIds.Select(kv =>
            {
                using var c = new ColumnEncryptionPropertiesBuilder(kv.Key);
                return c.Key(keys.Get(kv.Value, $"Writing encrypted column '{kv.Key}'")).KeyMetadata(kv.Value).Build();
            }).ToArray();
            builder.EncryptedColumns(columns);
        }
        return builder.Build();
    }

    /// <summary>Reader properties that fetch keys by the ids in the file's key metadata.</summary>
    public static FileDecryptionProperties BuildDecryption(IKeyProvider keys)
    {
        using var builder = new FileDecryptionPropertiesBuilder();
        builder.KeyRetriever(new ProviderKeyRetriever(keys));
        builder.PlaintextFilesAllowed(); // files written before the table was encrypted stay readable
        return builder.Build();
    }

    /// <summary>Removes min/max of encrypted columns from a Delta stats JSON (when <see cref="EncryptedColumnStats"/> is off).</summary>
    public string? FilterStats(string? statsJson)
    {
        if (EncryptedColumnStats || statsJson is null) return statsJson;
        var node = JsonNode.Parse(statsJson)!.AsObject();
        foreach (var bound in new[] { "minValues", "maxValues" })
            if (node[bound] is JsonObject values)
                foreach (var column in values.Select(kv => kv.Key).Where(Encrypts).ToList())
                    values.Remove(column);
        return node.ToJsonString();
    }

    private sealed class ProviderKeyRetriever(IKeyProvider keys) : DecryptionKeyRetriever
    {
        public override byte[] GetKey(string keyMetadata) => keys.Get(keyMetadata, "Reading an encrypted file");
    }
}
