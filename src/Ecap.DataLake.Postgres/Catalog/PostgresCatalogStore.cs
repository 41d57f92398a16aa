using Ecap.DataLake.Storage;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ecap.DataLake.Catalog;
using Ecap.DataLake.Tables;
using Npgsql;
using NpgsqlTypes;

namespace Ecap.DataLake.Postgres.Catalog;

/// <summary>
/// The catalog in PostgreSQL, for deployments where several machines share one catalog. One row per entry in
/// <c>&lt;schema&gt;.catalog_entries(database, name, version, doc jsonb)</c>; the document is the same JSON the lake store
/// writes. An update reads (version, doc), applies the edit and writes with <c>WHERE version = @read</c> (or inserts
/// with <c>ON CONFLICT DO NOTHING</c>): when no row changed another writer got there first, and the edit is re-applied
/// to the newer document, so concurrent processes never lose an edit. The schema is created and migrated on first
/// use (<see cref="CatalogMigrations"/>).
/// </summary>
public sealed partial class PostgresCatalogStore : ICatalogStore, IAsyncDisposable
{
    public const string DefaultSchema = "ecap_catalog";
    private const int MaxAttempts = 200;

    private readonly NpgsqlDataSource _source;
    private readonly string _schema;
    private readonly string _table;
    private readonly SemaphoreSlim _migrateGate = new(1, 1);
    private bool _migrated;

    /// <param name="config">The server and database.</param>
    /// <param name="schema">The PostgreSQL schema holding the catalog's tables (letters, digits, '_'); created when missing.</param>
    public PostgresCatalogStore(PostgresConnectionConfig config, string schema = DefaultSchema)
    {
        if (!SchemaName().IsMatch(schema))
            throw new InvalidInputException($"'{schema}' is not a valid catalog schema name: use lower-case letters, digits and '_' (at most 63).");
        _schema = schema;
        _table = CatalogMigrations.Quote(schema) + ".catalog_entries";
        _source = NpgsqlDataSource.Create(config.ConnectionString);
        Location = config.Display + "#" + schema;
    }

    public string Location { get; }

    /// <summary>True when <paramref name="catalog"/> names a PostgreSQL database: a postgresql:// or JDBC URL, or a connection string.</summary>
    public static bool IsPostgresLocation(string catalog)
    {
        var text = catalog.Trim();
        return text.StartsWith("jdbc:postgresql:", StringComparison.OrdinalIgnoreCase)
            || text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase)
            || text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || ConnectionStringHost().IsMatch(text);
    }

    /// <summary>Creates and migrates the schema now (it is otherwise done on first use); returns the schema version.</summary>
    public Task<int> MigrateAsync(CancellationToken ct = default) => Reachable(async () =>
    {
        await EnsureSchemaAsync(ct);
        return CatalogMigrations.Latest;
    });

    public Task<CatalogEntry?> GetAsync(string database, string name, CancellationToken ct = default) =>
        Reachable(async () => (await ReadAsync(database, name, ct)).Entry);

    public Task<CatalogEntry?> UpdateAsync(string database, string name, Func<CatalogEntry?, CatalogEntry?> edit, CancellationToken ct = default) =>
        Reachable(() => UpdateCoreAsync(database, name, edit, ct));

    private async Task<CatalogEntry?> UpdateCoreAsync(string database, string name, Func<CatalogEntry?, CatalogEntry?> edit, CancellationToken ct)
    {
        TableNames.Validate(database);
        TableNames.Validate(name);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var (version, current) = await ReadAsync(database, name, ct);
            var next = edit(current);
            if (next is null || ReferenceEquals(next, current)) return current;
            var doc = JsonSerializer.Serialize(next, CatalogJson.Options);
            var sql = current is null
                ? $"INSERT INTO {_table} (database, name, version, doc) VALUES (@db, @name, 0, @doc) ON CONFLICT (database, name) DO NOTHING"
                : $"UPDATE {_table} SET version = version + 1, doc = @doc, updated_at = now() WHERE database = @db AND name = @name AND version = @version";
            await using var cmd = _source.CreateCommand(sql);
            cmd.Parameters.AddWithValue("db", database);
            cmd.Parameters.AddWithValue("name", name);
            cmd.Parameters.AddWithValue("doc", NpgsqlDbType.Jsonb, doc);
            if (current is not null) cmd.Parameters.AddWithValue("version", version);
            if (await cmd.ExecuteNonQueryAsync(ct) == 1) return next;
            // Another writer changed the row since we read it: back off a little (randomised) and re-apply.
            await Task.Delay(Random.Shared.Next(1, 5 + Math.Min(attempt, 20) * 2), ct);
        }
        throw new ConcurrentModificationException(
            $"Catalog entry '{database}.{name}' in {Location} kept changing; gave up after {MaxAttempts} attempts.");
    }

    public Task<IReadOnlyList<string>> ListDatabasesAsync(CancellationToken ct = default) => Reachable(() => ListDatabasesCoreAsync(ct));

    private async Task<IReadOnlyList<string>> ListDatabasesCoreAsync(CancellationToken ct)
    {
        await EnsureSchemaAsync(ct);
        await using var cmd = _source.CreateCommand($"SELECT DISTINCT database COLLATE \"C\" AS d FROM {_table} ORDER BY d");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var result = new List<string>();
        while (await reader.ReadAsync(ct)) result.Add(reader.GetString(0));
        return result;
    }

    public Task<IReadOnlyList<CatalogEntry>> ListAsync(string? database = null, CancellationToken ct = default) => Reachable(() => ListCoreAsync(database, ct));

    private async Task<IReadOnlyList<CatalogEntry>> ListCoreAsync(string? database, CancellationToken ct)
    {
        await EnsureSchemaAsync(ct);
        await using var cmd = _source.CreateCommand(
            $"SELECT database, name, doc::text FROM {_table} WHERE @db::text IS NULL OR database = @db ORDER BY database COLLATE \"C\", name COLLATE \"C\"");
        cmd.Parameters.AddWithValue("db", NpgsqlDbType.Text, (object?)database ?? DBNull.Value);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var result = new List<CatalogEntry>();
        while (await reader.ReadAsync(ct)) result.Add(Deserialize(reader.GetString(2), reader.GetString(0) + "." + reader.GetString(1)));
        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await _source.DisposeAsync();
        _migrateGate.Dispose();
    }

    private async Task<(long Version, CatalogEntry? Entry)> ReadAsync(string database, string name, CancellationToken ct)
    {
        await EnsureSchemaAsync(ct);
        await using var cmd = _source.CreateCommand($"SELECT version, doc::text FROM {_table} WHERE database = @db AND name = @name");
        cmd.Parameters.AddWithValue("db", database);
        cmd.Parameters.AddWithValue("name", name);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return (-1, null);
        return (reader.GetInt64(0), Deserialize(reader.GetString(1), database + "." + name));
    }

    private CatalogEntry Deserialize(string json, string what)
    {
        try
        {
            return JsonSerializer.Deserialize<CatalogEntry>(json, CatalogJson.Options)
                ?? throw new CorruptTableException($"Catalog entry '{what}' in {Location} is empty.");
        }
        catch (JsonException e)
        {
            throw new CorruptTableException($"Catalog entry '{what}' in {Location} is not valid: {e.Message}");
        }
    }

    private async Task EnsureSchemaAsync(CancellationToken ct)
    {
        if (Volatile.Read(ref _migrated)) return;
        await _migrateGate.WaitAsync(ct);
        try
        {
            if (_migrated) return;
            await CatalogMigrations.ApplyAsync(_source, _schema, ct);
            Volatile.Write(ref _migrated, true);
        }
        finally
        {
            _migrateGate.Release();
        }
    }

    /// <summary>Runs a store operation; a server that cannot be reached (or goes away) is a <see cref="DataLakeException"/> naming it.</summary>
    private async Task<T> Reachable<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (NpgsqlException e) when (e is not PostgresException)
        {
            throw new DataLakeException($"Cannot reach the catalog database {Location}: {e.Message} Check that the server runs, and --catalog / $ECAP_CATALOG.", e);
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();

    [GeneratedRegex(@"(^|;)\s*(host|server)\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex ConnectionStringHost();
}
