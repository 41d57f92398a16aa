using System.Globalization;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Delta;

namespace Ecap.DataLake.Kafka.Tests;

/// <summary>
/// A customers table's change log written as Debezium produces it, and the state it leaves, computed here from the events
/// (not by ecap): creates, updates (some moving a row to another segment, i.e. partition), deletes whose before row holds
/// the full row, the key only, or the key with nulls, tombstones after deletes and alone, bursts of changes to one key,
/// and values with and without the schema envelope. Keys are produced by kcat, so a key's events share a partition.
/// </summary>
internal sealed class DebeziumChangeLog(int seed, bool envelopedKeys = false, bool isoTimestamps = false)
{
    public sealed record Customer(long Id, string Email, string Segment, string Region, long? Orders, long UpdatedMs);

    private static readonly string[] Segments = ["gold", "silver", "bronze"];
    private static readonly string[] Regions = ["eu", "us"];
    private readonly Random _random = new(seed);
    private readonly Dictionary<long, Customer> _state = [];
    private long _clock = 1_767_225_600_000; // 2026-01-01, in ms
    private int _version;

    /// <summary>The table's columns as the library tests give them (email, segment and region required: a delete's key-only before must still apply).</summary>
    public static Schema Schema { get; } = new Schema.Builder()
        .Field(new Field("customer_id", Int64Type.Default, false))
        .Field(new Field("email", StringType.Default, false))
        .Field(new Field("customer_segment", StringType.Default, false))
        .Field(new Field("region", StringType.Default, false))
        .Field(new Field("total_orders", Int64Type.Default, true))
        .Field(new Field("updated_at", new TimestampType(TimeUnit.Microsecond, "UTC"), true))
        .Build();

    /// <summary>The expected live rows, as <see cref="Row"/> strings, sorted.</summary>
    public List<string> Expected() => _state.Values.Select(Row).Order(StringComparer.Ordinal).ToList();

    public static string Row(Customer c) => $"{c.Id}|{c.Email}|{c.Segment}|{c.Region}|{c.Orders?.ToString(CultureInfo.InvariantCulture) ?? "null"}|{c.UpdatedMs}";

    /// <summary>Produces <paramref name="count"/> change events over keys 1..<paramref name="keys"/> (plus a burst on one key) and applies them to the expected state.</summary>
    public int Produce(string bootstrap, string topic, int count, int keys)
    {
        var lines = new List<string>();
        for (var i = 0; i < count; i++) lines.AddRange(Change(_random.Next(1, keys + 1)));
        // A burst: one key created, changed twice, deleted, created again and changed, in a row (one partition, consecutive offsets).
        var burst = keys + 1 + _random.Next(0, 5);
        if (_state.ContainsKey(burst)) lines.AddRange(Delete(burst, tombstone: true));
        lines.AddRange(Create(burst, "c"));
        lines.AddRange(Update(burst));
        lines.AddRange(Update(burst));
        lines.AddRange(Delete(burst, tombstone: false));
        lines.AddRange(Create(burst, "c"));
        lines.AddRange(Update(burst));
        Kcat.Produce(bootstrap, topic, lines, keyed: true, emptyIsNull: true);
        return lines.Count;
    }

    /// <summary>Initial snapshot rows (op r) for keys 1..n.</summary>
    public int Snapshot(string bootstrap, string topic, int n)
    {
        var lines = Enumerable.Range(1, n).SelectMany(i => Create(i, "r")).ToList();
        Kcat.Produce(bootstrap, topic, lines, keyed: true, emptyIsNull: true);
        return lines.Count;
    }

    private IEnumerable<string> Change(long id)
    {
        if (!_state.ContainsKey(id)) return Create(id, "c");
        var roll = _random.NextDouble();
        return roll < 0.6 ? Update(id) : roll < 0.85 ? Delete(id, tombstone: _random.Next(2) == 0) : Tombstone(id);
    }

    private Customer Next(long id) => new(id, $"c{id}-v{++_version}@shop.example", Segments[_random.Next(Segments.Length)], Regions[_random.Next(Regions.Length)],
        _random.Next(4) == 0 ? null : _random.Next(0, 100), _clock += 1000);

    private IEnumerable<string> Create(long id, string op)
    {
        var after = Next(id);
        _state[id] = after;
        yield return Line(id, Event(op, null, RowJson(after)));
    }

    private IEnumerable<string> Update(long id)
    {
        var before = _state[id];
        var after = Next(id);
        _state[id] = after;
        yield return Line(id, Event("u", RowJson(before), RowJson(after)));
    }

    private IEnumerable<string> Delete(long id, bool tombstone)
    {
        var before = _state[id];
        _state.Remove(id);
        // REPLICA IDENTITY FULL (the whole row), DEFAULT (the key only), or the key with the other columns null.
        var beforeJson = _random.Next(3) switch
        {
            0 => RowJson(before),
            1 => $"{{\"customer_id\":{id}}}",
            _ => $"{{\"customer_id\":{id},\"email\":null,\"customer_segment\":null,\"region\":null,\"total_orders\":null,\"updated_at\":null}}",
        };
        yield return Line(id, Event("d", beforeJson, null));
        if (tombstone) yield return Line(id, ""); // Debezium's tombstone after a delete, for log compaction
    }

    /// <summary>A tombstone alone (a compacted topic's delete marker): it deletes the key too.</summary>
    private IEnumerable<string> Tombstone(long id)
    {
        _state.Remove(id);
        yield return Line(id, "");
    }

    private string Line(long id, string value) =>
        (envelopedKeys
            ? $"{{\"schema\":{{\"type\":\"struct\",\"fields\":[{{\"type\":\"int64\",\"optional\":false,\"field\":\"customer_id\"}}],\"optional\":false,\"name\":\"dbserver1.public.customers.Key\"}},\"payload\":{{\"customer_id\":{id}}}}}"
            : $"{{\"customer_id\":{id}}}") + "\t" + value;

    private string RowJson(Customer c) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["customer_id"] = c.Id, ["email"] = c.Email, ["customer_segment"] = c.Segment, ["region"] = c.Region, ["total_orders"] = c.Orders,
        ["updated_at"] = isoTimestamps ? DateTimeOffset.FromUnixTimeMilliseconds(c.UpdatedMs).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : c.UpdatedMs,
    });

    /// <summary>An event, every other one inside the schema envelope (as with schemas.enable=true).</summary>
    private string Event(string op, string? before, string? after)
    {
        var payload = $"{{\"before\":{before ?? "null"},\"after\":{after ?? "null"},\"source\":{{\"version\":\"2.7.0.Final\",\"connector\":\"postgresql\",\"name\":\"dbserver1\"," +
                      $"\"ts_ms\":{_clock},\"db\":\"shop\",\"schema\":\"public\",\"table\":\"customers\"}},\"op\":\"{op}\",\"ts_ms\":{_clock + 5},\"transaction\":null}}";
        return _random.Next(2) == 0 ? payload
            : "{\"schema\":{\"type\":\"struct\",\"fields\":[],\"optional\":false,\"name\":\"dbserver1.public.customers.Envelope\"},\"payload\":" + payload + "}";
    }

    /// <summary>
    /// The table's live rows read by DuckDB from the raw data files, minus the positions of each file's deletion vector,
    /// with partition values from the log (they are not in the files), as <see cref="Row"/> strings, sorted.
    /// </summary>
    public static List<string> LiveRows(KafkaLake k, string table)
    {
        var t = k.Storage.OpenTable(table);
        if (!t.ExistsAsync().GetAwaiter().GetResult()) return [];
        var snapshot = t.GetSnapshotAsync().GetAwaiter().GetResult();
        using var duck = new DuckDbReader();
        var rows = new List<string>();
        foreach (var file in snapshot.Files)
        {
            var deleted = file.DeletionVector is { } dv ? DeletionVectors.LoadAsync(t.Store, dv).GetAwaiter().GetResult() : [];
            var path = Path.Combine(k.LakePath, table, file.ObjectKey).Replace("'", "''");
            var source = $"read_parquet('{path}', file_row_number = true, hive_partitioning = false)";
            var inFile = duck.Rows($"SELECT column_name FROM (DESCRIBE SELECT * FROM {source})").Select(r => (string)r[0]!).ToHashSet();
            string Column(string name) => inFile.Contains(name) ? name
                : file.PartitionValues.TryGetValue(name, out var v) && v != null ? "'" + v.Replace("'", "''") + "'" : "NULL";
            var sql = $"SELECT customer_id, {Column("email")}, {Column("customer_segment")}, {Column("region")}, total_orders, epoch_ms(updated_at) FROM {source} WHERE " +
                      (deleted.Length == 0 ? "true" : $"file_row_number NOT IN ({string.Join(",", deleted)})");
            rows.AddRange(duck.Rows(sql).Select(r => $"{r[0]}|{r[1]}|{r[2]}|{r[3]}|{r[4]?.ToString() ?? "null"}|{r[5]}"));
        }
        return rows.Order(StringComparer.Ordinal).ToList();
    }
}
