using System.Text.Json;

namespace Ecap.DataLake.Kafka;

/// <summary>
/// Debezium JSON change events, read straight from the message bytes (no document is built): the event is the message,
/// or its <c>payload</c> when the converter wrote the schema envelope (<c>{"schema":...,"payload":{...}}</c>). Ops c
/// (create), u (update) and r (snapshot read) give the <c>after</c> row; d (delete) the <c>before</c> row, which must hold
/// at least the key columns. A tombstone (null value) deletes by its message key (the key columns, bare or enveloped).
/// </summary>
internal static class DebeziumEvents
{
    /// <summary>The source-only column carrying each row's op (c, u, r or d) into the merge; never written to the table.</summary>
    public const string OperationColumn = "__ecap_op";

    /// <summary>A slice of a message: where a row object lies.</summary>
    public readonly record struct Slice(int Start, int Length)
    {
        public static readonly Slice None = new(-1, 0);

        public bool Present => Start >= 0;
    }

    /// <summary>The row a change event applies and its op; null when it is one, else why not.</summary>
    public static string? TryRead(ReadOnlySpan<byte> json, out char op, out Slice row)
    {
        op = '\0';
        row = Slice.None;
        try
        {
            var top = Scan(json, 0, out var error);
            if (error != null) return error;
            var e = top;
            if (top.Op == null && top.Payload.Present)
            {
                e = Scan(json.Slice(top.Payload.Start, top.Payload.Length), top.Payload.Start, out error);
                if (error != null) return error;
            }
            if (e.Op == null) return "not a Debezium change event (no 'op', no 'payload' object)";
            switch (e.Op)
            {
                case "c" or "u" or "r":
                    if (!e.After.Present) return $"a Debezium '{e.Op}' event without an 'after' row";
                    op = e.Op[0];
                    row = e.After;
                    return null;
                case "d":
                    if (!e.Before.Present) return "a Debezium 'd' event without a 'before' row (the key columns of the deleted row)";
                    op = 'd';
                    row = e.Before;
                    return null;
                default:
                    return $"Debezium op '{e.Op}' is not applied (only c, u, r and d are)";
            }
        }
        catch (JsonException e)
        {
            return $"not valid JSON ({e.Message})";
        }
    }

    /// <summary>The key object of a tombstone's message key: the key itself, or the payload of <c>{"schema":...,"payload":{...}}</c>.</summary>
    public static string? TryReadKey(ReadOnlySpan<byte> json, out Slice key)
    {
        key = Slice.None;
        try
        {
            var top = Scan(json, 0, out var error);
            if (error != null) return "its message key is not a JSON object of the key columns";
            key = top.HasSchema && top.Payload.Present ? top.Payload : new Slice(0, json.Length);
            return null;
        }
        catch (JsonException e)
        {
            return $"its message key is not valid JSON ({e.Message})";
        }
    }

    /// <summary>
    /// Whether a row object holds a non-null value for every one of <paramref name="names"/> (the first occurrence of a
    /// name counts, as in <see cref="Files.JsonRecordBatchBuilder"/>); null when it does, else the first one missing.
    /// </summary>
    public static string? MissingRequired(ReadOnlySpan<byte> row, byte[][] names, string[] display, bool[] seen)
    {
        if (names.Length == 0) return null;
        System.Array.Clear(seen);
        var reader = new Utf8JsonReader(row);
        reader.Read(); // the row's StartObject (the scan found an object here)
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var column = -1;
            for (var i = 0; i < names.Length; i++)
                if (reader.ValueTextEquals(names[i])) { column = i; break; }
            reader.Read();
            if (column >= 0 && !seen[column])
            {
                seen[column] = true;
                if (reader.TokenType == JsonTokenType.Null) return $"column '{display[column]}' is required but missing or null";
            }
            reader.Skip();
        }
        for (var i = 0; i < names.Length; i++)
            if (!seen[i]) return $"column '{display[i]}' is required but missing or null";
        return null;
    }

    private readonly record struct Fields(string? Op, Slice Before, Slice After, Slice Payload, bool HasSchema);

    /// <summary>The top-level fields of an object that matter here (first occurrence wins); <paramref name="offset"/> places slices in the whole message.</summary>
    private static Fields Scan(ReadOnlySpan<byte> json, int offset, out string? error)
    {
        error = null;
        var reader = new Utf8JsonReader(json);
        if (!reader.Read())
        {
            error = "an empty message is not a JSON object";
            return default;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            var kind = reader.TokenType;
            reader.Skip();
            while (reader.Read()) { } // a malformed value still reports invalid JSON first
            error = $"a message must be a JSON object, not {Kind(kind)}";
            return default;
        }
        string? op = null;
        Slice before = Slice.None, after = Slice.None, payload = Slice.None;
        bool hasSchema = false, seenOp = false, seenBefore = false, seenAfter = false, seenPayload = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var field = reader.ValueTextEquals("op"u8) ? 1 : reader.ValueTextEquals("before"u8) ? 2 : reader.ValueTextEquals("after"u8) ? 3
                : reader.ValueTextEquals("payload"u8) ? 4 : reader.ValueTextEquals("schema"u8) ? 5 : 0;
            reader.Read();
            switch (field)
            {
                case 1 when !seenOp:
                    seenOp = true;
                    op = reader.TokenType == JsonTokenType.String ? reader.GetString() : "";
                    break;
                case 2 when !seenBefore:
                    seenBefore = true;
                    before = ObjectAt(ref reader, offset);
                    continue;
                case 3 when !seenAfter:
                    seenAfter = true;
                    after = ObjectAt(ref reader, offset);
                    continue;
                case 4 when !seenPayload:
                    seenPayload = true;
                    payload = ObjectAt(ref reader, offset);
                    continue;
                case 5:
                    hasSchema = true;
                    break;
            }
            reader.Skip();
        }
        while (reader.Read()) { } // anything after the object is invalid JSON (the reader throws)
        return new Fields(op, before, after, payload, hasSchema);
    }

    /// <summary>The slice of the object value the reader is on (and skips it); none for any other value.</summary>
    private static Slice ObjectAt(ref Utf8JsonReader reader, int offset)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return Slice.None;
        }
        var start = (int)reader.TokenStartIndex;
        reader.Skip();
        return new Slice(offset + start, (int)reader.BytesConsumed - start);
    }

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        _ => "null",
    };
}
