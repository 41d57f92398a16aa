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

    /// <summary>Reader features whose data this library reads correctly.</summary>
    public static IReadOnlySet<string> SupportedReaderFeatures { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "columnMapping",
        "timestampNtz",
        "typeWidening",
        "typeWidening-preview",
        "vacuumProtocolCheck",
    };

    /// <summary>Writer features whose rules this library's writes respect.</summary>
    public static IReadOnlySet<string> SupportedWriterFeatures { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "appendOnly",
        "checkConstraints",
        "invariants",
        "timestampNtz",
        // Writes never change a column's type (SchemaAlignment refuses) and write the table's types; rewrites read old files widened.
        "typeWidening",
        "typeWidening-preview",
        "vacuumProtocolCheck",
    };

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
        if (w == 7)
        {
            var unsupported = (protocol.WriterFeatures ?? []).Where(f => !SupportedWriterFeatures.Contains(f) && !(columnMappingAware && f == "columnMapping")).ToList();
            if (unsupported.Count > 0)
                throw new UnsupportedProtocolException(
                    $"Table '{location}' uses Delta writer feature(s) {string.Join(", ", unsupported)}, which this library cannot write safely " +
                    $"(supported: {string.Join(", ", SupportedWriterFeatures)}).");
        }
    }

    /// <summary>True when the table is append-only (delta.appendOnly = true): data-changing removes are refused.</summary>
    public static bool IsAppendOnly(Metadata metadata) =>
        metadata.Configuration.TryGetValue("delta.appendOnly", out var v) && string.Equals(v, "true", StringComparison.OrdinalIgnoreCase);
}
