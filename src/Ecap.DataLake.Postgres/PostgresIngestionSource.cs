using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Ingestion;
using Npgsql;

namespace Ecap.DataLake.Postgres;

public sealed record PostgresIngestionOptions
{
    /// <summary>A column that only grows (an id, <c>updated_at</c>): each run reads rows above the last committed value.</summary>
    public string? IncrementalColumn { get; init; }

    /// <summary>Rows per Arrow batch.</summary>
    public int BatchRows { get; init; } = 100_000;

    /// <summary>Reconnects after a dropped connection before the run fails (incremental reads only).</summary>
    public int MaxReconnects { get; init; } = 5;

    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// Rows of a query, streamed from the server (never the whole result in memory) into Arrow batches.
/// Incremental (<see cref="PostgresIngestionOptions.IncrementalColumn"/>): rows are read ordered by the column,
/// only those above the last committed value (<c>ecap.pg.watermark</c> in the table's log); batches break only
/// between different values, so equal values are never split by a watermark. A dropped connection is reopened
/// and the read continues after the last row handed to the ingester (counted as <c>reconnects</c>).
/// Without an incremental column every run reads the whole result, and a dropped connection fails the run.
/// </summary>
internal sealed class PostgresIngestionSource : IIngestionSource
{
    public const string WatermarkParameter = "ecap.pg.watermark";

    private readonly PostgresConnectionConfig _connection;
    private readonly string _query;
    private readonly PostgresIngestionOptions _options;
    private readonly Dictionary<string, long> _counters = new() { ["rows_read"] = 0, ["reconnects"] = 0 };

    public PostgresIngestionSource(PostgresConnectionConfig connection, string query, PostgresIngestionOptions? options = null)
    {
        _connection = connection;
        _query = query.Trim().TrimEnd(';');
        _options = options ?? new PostgresIngestionOptions();
        var id = $"{connection.Display}\n{_query}\n{_options.IncrementalColumn}";
        AppId = "ecap-pg-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..16];
        Name = connection.Display;
    }

    public string AppId { get; }

    public string Name { get; }

    public IReadOnlyDictionary<string, long> Counters => _counters;

    public async IAsyncEnumerable<SourceBatch> ReadAsync(IngestionContext context, [EnumeratorCancellation] CancellationToken ct)
    {
        Watermark? watermark = null;
        try
        {
            foreach (var commit in context.CommittedPositions)
                if (commit.TryGetValue(WatermarkParameter, out var w)) watermark = JsonSerializer.Deserialize<Watermark>(w);
        }
        catch (JsonException e)
        {
            throw new CorruptTableException($"The table's commits record a watermark ({WatermarkParameter}) that cannot be read: {e.Message}", e);
        }

        var reconnects = 0;
        var yielded = false;
        while (true)
        {
            var batches = ReadOnceAsync(watermark, ct).GetAsyncEnumerator(ct);
            var restart = false;
            try
            {
                while (true)
                {
                    bool more;
                    try
                    {
                        more = await batches.MoveNextAsync();
                    }
                    catch (Exception e) when (IsTransient(e) && reconnects < _options.MaxReconnects && (_options.IncrementalColumn != null || !yielded))
                    {
                        reconnects++;
                        _counters["reconnects"]++;
                        await Task.Delay(_options.ReconnectDelay * Math.Pow(2, reconnects - 1), ct);
                        restart = true;
                        break;
                    }
                    catch (PostgresException e) when (!IsTransient(e))
                    {
                        // The server refused what the user asked for: the query, the table, the credentials.
                        throw new InvalidInputException($"PostgreSQL at {Name} refused the query: {e.MessageText} (SQLSTATE {e.SqlState}).");
                    }
                    catch (NpgsqlException e) when (e is not PostgresException)
                    {
                        throw new DataLakeException($"Cannot read from PostgreSQL at {Name}: {e.Message}", e);
                    }
                    if (!more) break;
                    var (rows, mark) = batches.Current;
                    watermark = mark ?? watermark;
                    yielded = true;
                    _counters["rows_read"] += rows.Length;
                    yield return new SourceBatch(rows, [], rows.Length, watermark ?? (object)"");
                }
            }
            finally
            {
                try { await batches.DisposeAsync(); }
                catch (Exception e) when (IsTransient(e)) { /* the connection is gone already */ }
            }
            if (!restart) yield break;
        }
    }

    private async IAsyncEnumerable<(RecordBatch Rows, Watermark? Mark)> ReadOnceAsync(Watermark? after, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var conn = _connection.Connect();
        await conn.OpenAsync(ct);
        await using var cmd = conn.CreateCommand();
        var column = _options.IncrementalColumn;
        if (column == null) cmd.CommandText = _query;
        else
        {
            var q = "src.\"" + column.Replace("\"", "\"\"") + "\"";
            // The watermark travels as text and is cast to the column's type on the server.
            cmd.CommandText = after == null
                ? $"SELECT * FROM ({_query}) AS src ORDER BY {q}"
                : $"SELECT * FROM ({_query}) AS src WHERE {q} > CAST(@w AS {after.Type}) ORDER BY {q}";
            if (after != null) cmd.Parameters.AddWithValue("w", after.Value);
        }
        cmd.CommandTimeout = 0;
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var columns = Enumerable.Range(0, reader.FieldCount).Select(i => PgColumn.For(reader, i)).ToArray();
        var schema = new Schema(columns.Select(c => c.Field), null);
        var markIndex = column == null ? -1 : reader.GetOrdinal(column);
        if (column != null && markIndex < 0) throw new InvalidInputException($"The query has no column '{column}' (the incremental column).");

        var count = 0;
        string? lastMark = null;
        Watermark? mark = null;
        while (await reader.ReadAsync(ct))
        {
            string? rowMark = null;
            if (markIndex >= 0)
            {
                if (reader.IsDBNull(markIndex)) throw new InvalidInputException($"The incremental column '{column}' is null in a row: it must never be.");
                rowMark = WatermarkText(reader.GetValue(markIndex));
            }
            // Break between batches only where the watermark changes: equal values commit together.
            if (count >= _options.BatchRows && rowMark != lastMark)
            {
                yield return (Build(), mark);
                count = 0;
            }
            for (var i = 0; i < columns.Length; i++) columns[i].Append(reader, i);
            count++;
            if (rowMark != null)
            {
                lastMark = rowMark;
                mark = new Watermark(reader.GetDataTypeName(markIndex), rowMark);
            }
        }
        if (count > 0) yield return (Build(), mark);

        RecordBatch Build() => new(schema, columns.Select(c => c.Build()), count);
    }

    public IReadOnlyDictionary<string, string> CommitParameters(IReadOnlyList<SourceBatch> unit)
    {
        var result = new Dictionary<string, string> { ["ecap.pg.query"] = _query };
        if (unit.Count > 0 && unit[^1].Position is Watermark w) result[WatermarkParameter] = JsonSerializer.Serialize(w);
        return result;
    }

    private static bool IsTransient(Exception e) => e switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException => true,
        IOException or System.Net.Sockets.SocketException or EndOfStreamException => true,
        _ => false,
    };

    /// <summary>A value in PostgreSQL's text input format, so it casts back to the column's type exactly.</summary>
    private static string WatermarkText(object value) => value switch
    {
        DateTime { Kind: DateTimeKind.Utc } d => d.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        DateTime d => d.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        DateTimeOffset d => d.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The position of a database source: the last value of the incremental column, with its PostgreSQL type.</summary>
#pragma warning disable IDE1006
    internal sealed record Watermark(string Type, string Value);
#pragma warning restore IDE1006
}
