namespace Ecap.DataLake.Delta;

/// <summary>
/// Which protocol versions and table features this library reads and writes (PROTOCOL.md, "Table Features").
/// Reading: reader versions 1..3; at 2 column mapping must be off; at 3 only the reader features below.
/// Writing: writer versions 1..3, or 7 with only the writer features below.
/// </summary>
internal static class TableFeatures
{
    public const int MaxReaderVersion = 3;
    public const int MaxWriterVersion = 7;

    /// <summary>The table property that lets writers create deletion vectors (the feature comes with it on commit).</summary>
    public const string DeletionVectorsProperty = "delta.enableDeletionVectors";

    /// <summary>True when new deletion vectors may be written: the property is on and the protocol has the feature.</summary>
    public static bool DeletionVectorsEnabled(Protocol protocol, Metadata metadata) =>
        IsEnabled(metadata, DeletionVectorsProperty) && protocol.MinWriterVersion == 7 && (protocol.WriterFeatures ?? []).Contains("deletionVectors", StringComparer.Ordinal);

    /// <summary>Reader features whose data this library reads correctly.</summary>
    public static IReadOnlySet<string> SupportedReaderFeatures { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "columnMapping",
        "deletionVectors",
        "timestampNtz",
        "typeWidening",
        "typeWidening-preview",
        "v2Checkpoint",
        "vacuumProtocolCheck",
    };

    /// <summary>Writer features whose rules this library's writes respect.</summary>
    public static IReadOnlySet<string> SupportedWriterFeatures { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "appendOnly",
        "changeDataFeed",      // commits that would need cdc files are refused (EnsureCommitAllowed)
        "checkConstraints",
        "clustering",          // the delta.clustering domain is kept; new files are not clustered (as any append)
        // DELETE, UPDATE and MERGE write vectors (Tables/Changes); rewrites (compaction, purge) drop deleted rows; removes carry the vector.
        "deletionVectors",
        "domainMetadata",      // domains are kept by replay and written into checkpoints
        "generatedColumns",    // writes refused while a column has a generation expression (EnsureWritable)
        "identityColumns",     // writes refused while a column is an identity column (EnsureWritable)
        "inCommitTimestamp",   // monotonic commitInfo.inCommitTimestamp (Transaction)
        "invariants",
        "timestampNtz",
        // Writes never change a column's type (SchemaAlignment refuses) and write the table's types; rewrites read old files widened.
        "typeWidening",
        "typeWidening-preview",
        "v2Checkpoint",        // V2 checkpoints with sidecars (CheckpointWriter)
        "vacuumProtocolCheck", // vacuum checks the protocol first (TableVacuum)
    };

    /// <summary>Features this library knowingly does not write, and why (the refusal names the feature).</summary>
    private static readonly Dictionary<string, string> RefusedWriterFeatures = new(StringComparer.Ordinal)
    {
        ["rowTracking"] = "new files would need baseRowId/defaultRowCommitVersion and a row-id high-water mark, and rewrites (compaction) would have to keep row ids",
    };

    /// <summary>The variant type's features (PROTOCOL.md "Variant Data Type"): not read nor written.</summary>
    private static readonly string[] VariantFeatures = ["variantType", "variantType-preview", "variantShredding", "variantShredding-preview"];

    private static readonly System.Text.RegularExpressions.Regex VariantInSchema =
        new("\"(type|elementType|keyType|valueType)\"\\s*:\\s*\"variant\"", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

    /// <summary>The protocol a new table needs for its schema: reader 1 / writer 2, or 3/7 with timestampNtz.</summary>
    public static Protocol ProtocolFor(Apache.Arrow.Schema schema) =>
        DeltaSchema.UsesTimestampNtz(schema)
            ? new Protocol(3, 7, ["timestampNtz"], ["timestampNtz"])
            : Protocol.Default;

    /// <summary>Throws <see cref="UnsupportedProtocolException"/> when a table needs a reader this library is not.</summary>
    public static void EnsureReadable(Protocol protocol, Metadata? metadata, string location)
    {
        if (protocol.MinReaderVersion > MaxReaderVersion || protocol.MinReaderVersion < 1)
            throw new UnsupportedProtocolException(
                $"Table '{location}' requires Delta reader version {protocol.MinReaderVersion}; this library reads versions 1 to {MaxReaderVersion}. " +
                "Use a newer Delta reader for this table.");
        var variant = (protocol.ReaderFeatures ?? []).Concat(protocol.WriterFeatures ?? []).FirstOrDefault(f => VariantFeatures.Contains(f, StringComparer.Ordinal));
        if (variant is not null || (metadata is not null && VariantInSchema.IsMatch(metadata.SchemaString)))
            throw new UnsupportedProtocolException(
                $"Table '{location}' has columns of the variant type (Delta feature {variant ?? "variantType"}), which this library neither reads nor writes. " +
                "Read it with an engine that supports variant (Spark 4, Databricks).");
        if (protocol.MinReaderVersion == 3)
        {
            var unsupported = (protocol.ReaderFeatures ?? []).Where(f => !SupportedReaderFeatures.Contains(f)).ToList();
            if (unsupported.Count > 0)
                throw new UnsupportedProtocolException(
                    $"Table '{location}' uses Delta reader feature(s) {string.Join(", ", unsupported)}, which this library does not support " +
                    $"(supported: {string.Join(", ", SupportedReaderFeatures)}).");
        }
        // Column mapping (modes name and id) is read: files by physical name or field id, users see logical names.
        // An unknown mode is refused rather than guessed.
        try { ColumnMapping.ModeOf(metadata); }
        catch (UnsupportedProtocolException e) { throw new UnsupportedProtocolException($"Table '{location}': {e.Message}"); }
        // Type widening: old files are read as the widened type; a recorded change this library cannot convert is refused.
        if (metadata is not null) TypeWidening.EnsureSupported(metadata, location);
    }

    /// <summary>Throws <see cref="UnsupportedProtocolException"/> when writing could break a rule of the table's protocol.</summary>
    /// <param name="protocol">The protocol written under.</param>
    /// <param name="metadata">The table's metadata.</param>
    /// <param name="location">The table, for messages.</param>
    /// <param name="columnMappingAware">The commit's files and actions use physical names (appends and column changes do; others refuse mapped tables).</param>
    public static void EnsureWritable(Protocol protocol, Metadata? metadata, string location, bool columnMappingAware = false)
    {
        EnsureReadable(protocol, metadata, location);
        var mapped = metadata is not null && ColumnMapping.IsMapped(metadata);
        if (mapped && !columnMappingAware)
            throw new UnsupportedProtocolException(
                $"Table '{location}' uses column mapping (delta.columnMapping.mode = {metadata!.Configuration[ColumnMapping.ModeKey]}); " +
                "this library appends to such tables and alters their columns, but does not run this operation on them.");
        var w = protocol.MinWriterVersion;
        // Writer 5 is column mapping (on top of 4: change data feed and generated columns, refused below when in use).
        if (mapped && w is 5 or 6 && metadata is not null)
        {
            if (w == 6 || metadata.SchemaString.Contains("\"delta.generationExpression\"", StringComparison.Ordinal) ||
                (metadata.Configuration.TryGetValue("delta.enableChangeDataFeed", out var cdf) && string.Equals(cdf, "true", StringComparison.OrdinalIgnoreCase)))
                throw new UnsupportedProtocolException(
                    $"Table '{location}' requires Delta writer version {w} with change data feed, generated or identity columns, which this library does not write.");
            w = 3;
        }
        // Writer 3 adds CHECK constraints, which DataLakeStorage enforces on every write (Quality/TableConstraints).
        if (w is >= 4 and <= 6 || w > MaxWriterVersion || w < 1)
            throw new UnsupportedProtocolException(
                $"Table '{location}' requires Delta writer version {w}; this library writes versions 1, 2, 3 and 7 " +
                $"(with features {string.Join(", ", SupportedWriterFeatures)}). Write to it with a newer Delta writer.");
        if (metadata is not null && metadata.SchemaString.Contains("\"delta.invariants\"", StringComparison.Ordinal))
            throw new UnsupportedProtocolException(
                $"Table '{location}' has column invariants (delta.invariants), which this library cannot enforce; it does not write to such tables.");
        if (metadata is not null && metadata.SchemaString.Contains("\"delta.generationExpression\"", StringComparison.Ordinal))
            throw new UnsupportedProtocolException(
                $"Table '{location}' has generated columns (Delta feature generatedColumns: {string.Join(", ", ColumnsWith(metadata, "delta.generationExpression"))}), " +
                "whose expressions this library cannot evaluate; it does not write to such tables.");
        if (metadata is not null && metadata.SchemaString.Contains("\"delta.identity.", StringComparison.Ordinal))
            throw new UnsupportedProtocolException(
                $"Table '{location}' has identity columns (Delta feature identityColumns: {string.Join(", ", ColumnsWith(metadata, "delta.identity.start"))}), " +
                "whose values this library does not assign; it does not write to such tables.");
        if (w == 7)
        {
            foreach (var f in protocol.WriterFeatures ?? [])
                if (RefusedWriterFeatures.TryGetValue(f, out var why))
                    throw new UnsupportedProtocolException(
                        $"Table '{location}' uses Delta writer feature {f}, which this library does not write: {why}. Write to it with a newer Delta writer.");
            var unsupported = (protocol.WriterFeatures ?? []).Where(f => !SupportedWriterFeatures.Contains(f) && !(columnMappingAware && f == "columnMapping")).ToList();
            if (unsupported.Count > 0)
                throw new UnsupportedProtocolException(
                    $"Table '{location}' uses Delta writer feature(s) {string.Join(", ", unsupported)}, which this library cannot write safely " +
                    $"(supported: {string.Join(", ", SupportedWriterFeatures)}).");
        }
    }

    /// <summary>
    /// Throws <see cref="UnsupportedProtocolException"/> unless this library may vacuum the table. With
    /// <c>vacuumProtocolCheck</c> (PROTOCOL.md "VACUUM Protocol Check") it must read the table and write its writer version and
    /// features. Without it, it must read the table and know every writer feature not to need files vacuum would take for
    /// unreferenced (deletion vector files, Iceberg metadata of UniForm tables, features it does not know). Column-level write
    /// rules (generated columns, identity columns, invariants) do not matter to vacuum, so the schema is not checked.
    /// </summary>
    public static void EnsureVacuumable(Protocol protocol, string location)
    {
        var writerFeatures = protocol.MinWriterVersion == 7 ? protocol.WriterFeatures ?? [] : [];
        if (writerFeatures.Contains("vacuumProtocolCheck", StringComparer.Ordinal) ||
            (protocol.ReaderFeatures ?? []).Contains("vacuumProtocolCheck", StringComparer.Ordinal))
        {
            EnsureWritable(protocol, null, location);
            return;
        }
        EnsureReadable(protocol, null, location);
        if (protocol.MinWriterVersion > MaxWriterVersion || protocol.MinWriterVersion < 1)
            throw new UnsupportedProtocolException($"Table '{location}' requires Delta writer version {protocol.MinWriterVersion}; this library does not vacuum it.");
        var unknown = writerFeatures.Where(f => !SupportedWriterFeatures.Contains(f) && !VacuumSafeWriterFeatures.Contains(f)).ToList();
        if (unknown.Count > 0)
            throw new UnsupportedProtocolException(
                $"Table '{location}' uses Delta writer feature(s) {string.Join(", ", unknown)}, whose files vacuum could delete as unreferenced; " +
                "this library does not vacuum it. Vacuum it with a Delta writer that supports them.");
    }

    /// <summary>Writer features this library does not write but whose tables hold no files beyond the data files and the log.</summary>
    private static readonly HashSet<string> VacuumSafeWriterFeatures = new(StringComparer.Ordinal)
    {
        "allowColumnDefaults", "columnMapping", "rowTracking", "typeWidening", "typeWidening-preview",
    };

    /// <summary>
    /// Refuses a commit the table's enabled features would need more for: with the change data feed on
    /// (<c>delta.enableChangeDataFeed</c>), a commit that both adds and removes data (an overwrite, a rewrite of rows) needs
    /// cdc files, which this library does not write. Appends, whole-file deletes and rearrangements (dataChange = false) need none.
    /// </summary>
    public static void EnsureCommitAllowed(Metadata metadata, IEnumerable<AddFile> adds, IEnumerable<RemoveFile> removes, string location)
    {
        if (IsEnabled(metadata, "delta.enableChangeDataFeed") && adds.Any(a => a.DataChange) && removes.Any(r => r.DataChange))
            throw new UnsupportedProtocolException(
                $"Table '{location}' has the change data feed on (Delta feature changeDataFeed, delta.enableChangeDataFeed = true): " +
                "this commit adds and removes data, which needs change data (cdc) files this library does not write. " +
                "Appends and whole-file deletes are allowed; turn the change data feed off or use a Delta writer that writes cdc files.");
    }

    /// <summary>True when in-commit timestamps are on (<c>delta.enableInCommitTimestamps</c>): commits carry a monotonic inCommitTimestamp.</summary>
    public static bool InCommitTimestampsEnabled(Metadata metadata) => IsEnabled(metadata, "delta.enableInCommitTimestamps");

    /// <summary>
    /// The protocol <paramref name="metadata"/>'s configuration needs on top of <paramref name="protocol"/>: in-commit timestamps
    /// (<c>inCommitTimestamp</c>), V2 checkpoints (<c>delta.checkpointPolicy = v2</c>: <c>v2Checkpoint</c>) and the change data feed
    /// (<c>changeDataFeed</c>). Returns <paramref name="protocol"/> itself when it already has them.
    /// </summary>
    public static Protocol WithConfiguredFeatures(Protocol protocol, Metadata metadata)
    {
        var writer = new List<string>();
        var reader = new List<string>();
        if (InCommitTimestampsEnabled(metadata)) writer.Add("inCommitTimestamp");
        if (IsEnabled(metadata, "delta.enableChangeDataFeed")) writer.Add("changeDataFeed");
        if (IsEnabled(metadata, DeletionVectorsProperty))
        {
            writer.Add("deletionVectors");
            reader.Add("deletionVectors");
        }
        if (string.Equals(metadata.Configuration.GetValueOrDefault("delta.checkpointPolicy"), "v2", StringComparison.OrdinalIgnoreCase))
        {
            writer.Add("v2Checkpoint");
            reader.Add("v2Checkpoint");
        }
        var hasWriter = protocol.MinWriterVersion == 7 ? protocol.WriterFeatures ?? [] : ImpliedWriterFeatures(protocol.MinWriterVersion);
        var hasReader = protocol.MinReaderVersion == 3 ? protocol.ReaderFeatures ?? [] : [];
        writer.RemoveAll(f => hasWriter.Contains(f, StringComparer.Ordinal));
        reader.RemoveAll(f => hasReader.Contains(f, StringComparer.Ordinal));
        if (writer.Count == 0 && reader.Count == 0) return protocol;
        // Writer 7 lists every feature the older writer version implied (PROTOCOL.md "Table Features for New and Existing Tables").
        var writerFeatures = new List<string>(hasWriter);
        writerFeatures.AddRange(writer);
        var readerVersion = reader.Count > 0 ? 3 : protocol.MinReaderVersion;
        // Reader 2 implied column mapping; reader 3 lists it.
        List<string>? readerFeatures = readerVersion == 3
            ? (protocol.MinReaderVersion == 2 ? ["columnMapping"] : new List<string>(hasReader)).Concat(reader).ToList()
            : null;
        return new Protocol(readerVersion, 7, readerFeatures, writerFeatures);
    }

    /// <summary>The writer features a legacy writer version (1..6) implies (PROTOCOL.md "Writer Version Requirements").</summary>
    private static List<string> ImpliedWriterFeatures(int writerVersion)
    {
        var implied = new List<string>();
        if (writerVersion >= 2) implied.AddRange(["appendOnly", "invariants"]);
        if (writerVersion >= 3) implied.Add("checkConstraints");
        if (writerVersion >= 4) implied.AddRange(["changeDataFeed", "generatedColumns"]);
        if (writerVersion >= 5) implied.Add("columnMapping");
        if (writerVersion >= 6) implied.Add("identityColumns");
        return implied;
    }

    private static bool IsEnabled(Metadata metadata, string key) =>
        metadata.Configuration.TryGetValue(key, out var v) && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The (top-level) column names whose field metadata has <paramref name="key"/>, for messages.</summary>
    private static IEnumerable<string> ColumnsWith(Metadata metadata, string key)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(metadata.SchemaString);
            return doc.RootElement.GetProperty("fields").EnumerateArray()
                .Where(f => f.TryGetProperty("metadata", out var m) && m.ValueKind == System.Text.Json.JsonValueKind.Object && m.TryGetProperty(key, out _))
                .Select(f => f.GetProperty("name").GetString()!).ToList();
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return [];
        }
    }

    /// <summary>True when the table is append-only (delta.appendOnly = true): data-changing removes are refused.</summary>
    public static bool IsAppendOnly(Metadata metadata) => IsEnabled(metadata, "delta.appendOnly");
}
