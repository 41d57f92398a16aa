using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ecap.DataLake.Delta;

/// <summary>
/// Reads and writes actions as the protocol's newline-delimited JSON: one action per line, streamed
/// (a commit of thousands of adds is never held as one string). Partition values are strings with
/// JSON null for null, stats a JSON string, paths URI-encoded as given.
/// </summary>
internal static class ActionSerializer
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
        SkipValidation = false,
    };

    // ---------------------------------------------------------------- reading

    /// <summary>Reads the actions of one commit file, line by line. Errors name the file and the line.</summary>
    public static async IAsyncEnumerable<DeltaAction> ReadCommitAsync(Stream stream, string fileName,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        using var reader = new StreamReader(stream, new UTF8Encoding(false, true), detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        var lineNumber = 0;
        var actions = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            string? line;
            try
            {
                line = await reader.ReadLineAsync(ct);
            }
            catch (DecoderFallbackException e)
            {
                throw new CorruptTableException($"Delta log file '{fileName}' is corrupt after line {lineNumber}: invalid UTF-8.", e);
            }
            if (line is null)
            {
                if (actions == 0) throw EmptyCommit(fileName);
                yield break;
            }
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            actions++;
            yield return ParseLine(line, fileName, lineNumber);
        }
    }

    /// <summary>
    /// A commit holds at least one action, and commits are published whole (rename or put-if-absent), so an empty one is damage
    /// (a truncated copy, a full disk), never a commit in progress: reading it as "no changes" would hide that version's files.
    /// </summary>
    public static CorruptTableException EmptyCommit(string fileName) =>
        new($"Delta log file '{fileName}' is empty (no actions): the commit is damaged (truncated or zeroed).");

    /// <summary>Parses one line of a commit into its action.</summary>
    public static DeltaAction ParseLine(string line, string fileName, int lineNumber)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new CorruptTableException($"Delta log file '{fileName}' line {lineNumber} is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new CorruptTableException($"Delta log file '{fileName}' line {lineNumber} is not a JSON object.");
            DeltaAction? action = null;
            foreach (var prop in root.EnumerateObject())
            {
                if (action is not null)
                    throw new CorruptTableException($"Delta log file '{fileName}' line {lineNumber} holds more than one action ('{prop.Name}' after another).");
                try
                {
                    action = ParseAction(prop.Name, prop.Value, fileName, lineNumber);
                }
                catch (Exception e) when (e is InvalidOperationException or FormatException or KeyNotFoundException or JsonException)
                {
                    throw new CorruptTableException($"Delta log file '{fileName}' line {lineNumber}: malformed '{prop.Name}' action: {e.Message}", e);
                }
            }
            return action ?? throw new CorruptTableException($"Delta log file '{fileName}' line {lineNumber} is an empty object, not an action.");
        }
    }

    private static DeltaAction ParseAction(string name, JsonElement v, string fileName, int lineNumber) => name switch
    {
        "add" => new DeltaAction(Add: ParseAdd(v)),
        "remove" => new DeltaAction(Remove: ParseRemove(v)),
        "metaData" => new DeltaAction(Metadata: ParseMetadata(v)),
        "protocol" => new DeltaAction(Protocol: ParseProtocol(v)),
        "txn" => new DeltaAction(Txn: new SetTransaction(Req(v, "appId").GetString()!, Req(v, "version").GetInt64(), OptLong(v, "lastUpdated"))),
        "commitInfo" => new DeltaAction(CommitInfo: ParseCommitInfo(v)),
        "domainMetadata" => new DeltaAction(DomainMetadata: new DomainMetadata(
            Req(v, "domain").GetString()!, OptString(v, "configuration") ?? "", OptBool(v, "removed") ?? false)),
        "cdc" or "checkpointMetadata" or "sidecar" => new DeltaAction(Other: name),
        _ => throw new CorruptTableException(
            $"Delta log file '{fileName}' line {lineNumber} has an unknown action '{name}'. " +
            "The table may have been written by a newer Delta writer, or the file is damaged."),
    };

    private static JsonElement Req(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null
            ? v
            : throw new KeyNotFoundException($"required field '{name}' is missing");

    private static string? OptString(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? OptLong(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt64() : null;

    private static bool? OptBool(JsonElement o, string name) =>
        o.TryGetProperty(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    private static Dictionary<string, string?>? OptNullableMap(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Object) return null;
        var map = new Dictionary<string, string?>();
        foreach (var p in v.EnumerateObject())
            map[p.Name] = p.Value.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.String => p.Value.GetString(),
                _ => p.Value.GetRawText(),
            };
        return map;
    }

    private static Dictionary<string, string> OptMap(JsonElement o, string name)
    {
        var map = new Dictionary<string, string>();
        if (!o.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Object) return map;
        foreach (var p in v.EnumerateObject())
        {
            if (p.Value.ValueKind == JsonValueKind.Null) continue;
            map[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
        }
        return map;
    }

    private static List<string>? OptStringList(JsonElement o, string name)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind != JsonValueKind.Array) return null;
        return v.EnumerateArray().Select(e => e.GetString()!).ToList();
    }

    private static DeletionVectorDescriptor? ParseDv(JsonElement o)
    {
        if (!o.TryGetProperty("deletionVector", out var v) || v.ValueKind != JsonValueKind.Object) return null;
        return new DeletionVectorDescriptor(
            Req(v, "storageType").GetString()!, Req(v, "pathOrInlineDv").GetString()!,
            v.TryGetProperty("offset", out var off) && off.ValueKind == JsonValueKind.Number ? off.GetInt32() : null,
            Req(v, "sizeInBytes").GetInt32(), Req(v, "cardinality").GetInt64());
    }

    private static AddFile ParseAdd(JsonElement v) => new()
    {
        Path = Req(v, "path").GetString()!,
        PartitionValues = OptNullableMap(v, "partitionValues") ?? throw new KeyNotFoundException("required field 'partitionValues' is missing"),
        Size = Req(v, "size").GetInt64(),
        ModificationTime = Req(v, "modificationTime").GetInt64(),
        DataChange = Req(v, "dataChange").GetBoolean(),
        Stats = OptString(v, "stats"),
        Tags = OptNullableMap(v, "tags"),
        DeletionVector = ParseDv(v),
        BaseRowId = OptLong(v, "baseRowId"),
        DefaultRowCommitVersion = OptLong(v, "defaultRowCommitVersion"),
    };

    private static RemoveFile ParseRemove(JsonElement v) => new()
    {
        Path = Req(v, "path").GetString()!,
        DeletionTimestamp = OptLong(v, "deletionTimestamp"),
        DataChange = Req(v, "dataChange").GetBoolean(),
        ExtendedFileMetadata = OptBool(v, "extendedFileMetadata"),
        PartitionValues = OptNullableMap(v, "partitionValues"),
        Size = OptLong(v, "size"),
        Stats = OptString(v, "stats"),
        Tags = OptNullableMap(v, "tags"),
        DeletionVector = ParseDv(v),
    };

    private static Metadata ParseMetadata(JsonElement v)
    {
        var format = Format.Parquet;
        if (v.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.Object)
            format = new Format(OptString(f, "provider") ?? "parquet", OptMap(f, "options"));
        return new Metadata
        {
            Id = Req(v, "id").GetString()!,
            Name = OptString(v, "name"),
            Description = OptString(v, "description"),
            Format = format,
            SchemaString = OptString(v, "schemaString") ?? DeltaSchema.EmptySchemaString,
            PartitionColumns = OptStringList(v, "partitionColumns") ?? [],
            Configuration = OptMap(v, "configuration"),
            CreatedTime = OptLong(v, "createdTime"),
        };
    }

    private static Protocol ParseProtocol(JsonElement v) => new(
        Req(v, "minReaderVersion").GetInt32(),
        Req(v, "minWriterVersion").GetInt32(),
        OptStringList(v, "readerFeatures"),
        OptStringList(v, "writerFeatures"));

    private static CommitInfo ParseCommitInfo(JsonElement v) => new()
    {
        Timestamp = OptLong(v, "timestamp"),
        InCommitTimestamp = OptLong(v, "inCommitTimestamp"),
        Operation = OptString(v, "operation"),
        OperationParameters = OptMap(v, "operationParameters"),
        OperationMetrics = OptMap(v, "operationMetrics"),
        ReadVersion = OptLong(v, "readVersion"),
        IsolationLevel = OptString(v, "isolationLevel"),
        IsBlindAppend = OptBool(v, "isBlindAppend"),
        EngineInfo = OptString(v, "engineInfo"),
        TxnId = OptString(v, "txnId"),
        UserName = OptString(v, "userName"),
        Attribution = v.TryGetProperty(CommitAttribution.CommitInfoField, out var a) && a.ValueKind == JsonValueKind.Object ? OptMap(v, CommitAttribution.CommitInfoField) : null,
    };

    // ---------------------------------------------------------------- writing

    /// <summary>Writes actions as newline-delimited JSON into <paramref name="output"/>, one line per action.</summary>
    public static void Write(IEnumerable<DeltaAction> actions, IBufferWriter<byte> output)
    {
        using var w = new Utf8JsonWriter(output, WriterOptions);
        foreach (var action in actions)
        {
            WriteAction(w, action);
            w.Flush();
            output.Write("\n"u8);
            w.Reset(output);
        }
    }

    /// <summary>One action as its JSON line (without the newline); for tests and messages.</summary>
    public static string ToJsonLine(DeltaAction action)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write([action], buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan).TrimEnd('\n');
    }

    private static void WriteAction(Utf8JsonWriter w, DeltaAction a)
    {
        w.WriteStartObject();
        if (a.Add is { } add) WriteAdd(w, add);
        else if (a.Remove is { } remove) WriteRemove(w, remove);
        else if (a.Metadata is { } md) WriteMetadata(w, md);
        else if (a.Protocol is { } p) WriteProtocol(w, p);
        else if (a.Txn is { } t)
        {
            w.WriteStartObject("txn");
            w.WriteString("appId", t.AppId);
            w.WriteNumber("version", t.Version);
            if (t.LastUpdated is { } lu) w.WriteNumber("lastUpdated", lu);
            w.WriteEndObject();
        }
        else if (a.CommitInfo is { } ci) WriteCommitInfo(w, ci);
        else if (a.DomainMetadata is { } dm)
        {
            w.WriteStartObject("domainMetadata");
            w.WriteString("domain", dm.Domain);
            w.WriteString("configuration", dm.Configuration);
            w.WriteBoolean("removed", dm.Removed);
            w.WriteEndObject();
        }
        else throw new ArgumentException("An action to write must set add, remove, metaData, protocol, txn, commitInfo or domainMetadata.");
        w.WriteEndObject();
    }

    private static void WriteNullableMap(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string?> map)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in map)
        {
            if (v is null) w.WriteNull(k);
            else w.WriteString(k, v);
        }
        w.WriteEndObject();
    }

    private static void WriteMap(Utf8JsonWriter w, string name, IReadOnlyDictionary<string, string> map)
    {
        w.WriteStartObject(name);
        foreach (var (k, v) in map) w.WriteString(k, v);
        w.WriteEndObject();
    }

    private static void WriteDv(Utf8JsonWriter w, DeletionVectorDescriptor? dv)
    {
        if (dv is null) return;
        w.WriteStartObject("deletionVector");
        w.WriteString("storageType", dv.StorageType);
        w.WriteString("pathOrInlineDv", dv.PathOrInlineDv);
        if (dv.Offset is { } o) w.WriteNumber("offset", o);
        w.WriteNumber("sizeInBytes", dv.SizeInBytes);
        w.WriteNumber("cardinality", dv.Cardinality);
        w.WriteEndObject();
    }

    private static void WriteAdd(Utf8JsonWriter w, AddFile a)
    {
        w.WriteStartObject("add");
        w.WriteString("path", a.Path);
        WriteNullableMap(w, "partitionValues", a.PartitionValues);
        w.WriteNumber("size", a.Size);
        w.WriteNumber("modificationTime", a.ModificationTime);
        w.WriteBoolean("dataChange", a.DataChange);
        if (a.Stats is not null) w.WriteString("stats", a.Stats);
        if (a.Tags is not null) WriteNullableMap(w, "tags", a.Tags);
        WriteDv(w, a.DeletionVector);
        if (a.BaseRowId is { } b) w.WriteNumber("baseRowId", b);
        if (a.DefaultRowCommitVersion is { } d) w.WriteNumber("defaultRowCommitVersion", d);
        w.WriteEndObject();
    }

    private static void WriteRemove(Utf8JsonWriter w, RemoveFile r)
    {
        w.WriteStartObject("remove");
        w.WriteString("path", r.Path);
        if (r.DeletionTimestamp is { } ts) w.WriteNumber("deletionTimestamp", ts);
        w.WriteBoolean("dataChange", r.DataChange);
        if (r.ExtendedFileMetadata is { } e) w.WriteBoolean("extendedFileMetadata", e);
        if (r.PartitionValues is not null) WriteNullableMap(w, "partitionValues", r.PartitionValues);
        if (r.Size is { } s) w.WriteNumber("size", s);
        if (r.Stats is not null) w.WriteString("stats", r.Stats);
        if (r.Tags is not null) WriteNullableMap(w, "tags", r.Tags);
        WriteDv(w, r.DeletionVector);
        w.WriteEndObject();
    }

    private static void WriteMetadata(Utf8JsonWriter w, Metadata m)
    {
        w.WriteStartObject("metaData");
        w.WriteString("id", m.Id);
        if (m.Name is not null) w.WriteString("name", m.Name);
        if (m.Description is not null) w.WriteString("description", m.Description);
        w.WriteStartObject("format");
        w.WriteString("provider", m.Format.Provider);
        WriteMap(w, "options", m.Format.Options);
        w.WriteEndObject();
        w.WriteString("schemaString", m.SchemaString);
        w.WriteStartArray("partitionColumns");
        foreach (var c in m.PartitionColumns) w.WriteStringValue(c);
        w.WriteEndArray();
        WriteMap(w, "configuration", m.Configuration);
        if (m.CreatedTime is { } ct) w.WriteNumber("createdTime", ct);
        w.WriteEndObject();
    }

    private static void WriteProtocol(Utf8JsonWriter w, Protocol p)
    {
        w.WriteStartObject("protocol");
        w.WriteNumber("minReaderVersion", p.MinReaderVersion);
        w.WriteNumber("minWriterVersion", p.MinWriterVersion);
        if (p.ReaderFeatures is not null)
        {
            w.WriteStartArray("readerFeatures");
            foreach (var f in p.ReaderFeatures) w.WriteStringValue(f);
            w.WriteEndArray();
        }
        if (p.WriterFeatures is not null)
        {
            w.WriteStartArray("writerFeatures");
            foreach (var f in p.WriterFeatures) w.WriteStringValue(f);
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    private static void WriteCommitInfo(Utf8JsonWriter w, CommitInfo c)
    {
        w.WriteStartObject("commitInfo");
        if (c.Timestamp is { } ts) w.WriteNumber("timestamp", ts);
        if (c.InCommitTimestamp is { } ict) w.WriteNumber("inCommitTimestamp", ict);
        if (c.Operation is not null) w.WriteString("operation", c.Operation);
        WriteMap(w, "operationParameters", c.OperationParameters);
        if (c.ReadVersion is { } rv) w.WriteNumber("readVersion", rv);
        if (c.IsolationLevel is not null) w.WriteString("isolationLevel", c.IsolationLevel);
        if (c.IsBlindAppend is { } b) w.WriteBoolean("isBlindAppend", b);
        WriteMap(w, "operationMetrics", c.OperationMetrics);
        if (c.EngineInfo is not null) w.WriteString("engineInfo", c.EngineInfo);
        if (c.TxnId is not null) w.WriteString("txnId", c.TxnId);
        if (c.UserName is not null) w.WriteString("userName", c.UserName);
        if (c.Attribution is { } attribution) WriteMap(w, CommitAttribution.CommitInfoField, attribution);
        w.WriteEndObject();
    }
}
