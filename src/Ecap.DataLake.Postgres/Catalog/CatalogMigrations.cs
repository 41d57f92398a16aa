using Npgsql;

namespace Ecap.DataLake.Postgres.Catalog;

/// <summary>
/// The PostgreSQL catalog's schema, as an ordered list of migrations. Applied by
/// <see cref="PostgresCatalogStore"/> on first use, each once, recorded in <c>&lt;schema&gt;.schema_migrations</c>,
/// under an advisory lock so processes starting together migrate once. A new table (grants, say) is a new
/// migration appended at the end; never edit one that has shipped.
/// </summary>
internal static class CatalogMigrations
{
    /// <summary>One step: its number (1, 2, ...), what it does, and its SQL (<c>{schema}</c> is the quoted schema name).</summary>
    internal sealed record Migration(int Version, string Description, string Sql);

    internal static readonly IReadOnlyList<Migration> All =
    [
        new(1, "catalog entries: one row per table, optimistic version",
            """
            CREATE TABLE {schema}.catalog_entries (
                database   text        NOT NULL,
                name       text        NOT NULL,
                version    bigint      NOT NULL,
                doc        jsonb       NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (database, name)
            );
            """),
    ];

    /// <summary>The newest migration version this build knows.</summary>
    internal static int Latest => All[^1].Version;

    /// <summary>Creates the schema and applies the migrations it lacks, in one transaction; returns the schema's version.</summary>
    internal static async Task<int> ApplyAsync(NpgsqlDataSource source, string schema, CancellationToken ct)
    {
        var quoted = Quote(schema);
        await using var conn = await source.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        // Serialises concurrent first uses (two processes starting at once) for this schema only.
        await ExecAsync(conn, tx, "SELECT pg_advisory_xact_lock(hashtext(@s))", ct, ("s", "ecap_catalog_migrate:" + schema));
        await ExecAsync(conn, tx, $"CREATE SCHEMA IF NOT EXISTS {quoted}", ct);
        await ExecAsync(conn, tx, $"""
            CREATE TABLE IF NOT EXISTS {quoted}.schema_migrations (
                version     int         PRIMARY KEY,
                description text        NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now())
            """, ct);
        int current;
        await using (var cmd = new NpgsqlCommand($"SELECT coalesce(max(version), 0) FROM {quoted}.schema_migrations", conn, tx))
            current = Convert.ToInt32(await cmd.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
        if (current > Latest)
            throw new UnsupportedProtocolException(
                $"The catalog schema '{schema}' is at version {current}, newer than this build of ecap knows ({Latest}): upgrade ecap.");
        foreach (var m in All.Where(m => m.Version > current))
        {
            await ExecAsync(conn, tx, m.Sql.Replace("{schema}", quoted, StringComparison.Ordinal), ct);
            await ExecAsync(conn, tx, $"INSERT INTO {quoted}.schema_migrations (version, description) VALUES (@v, @d)", ct, ("v", m.Version), ("d", m.Description));
        }
        await tx.CommitAsync(ct);
        return Latest;
    }

    /// <summary>A schema name as a quoted SQL identifier (validated before: letters, digits, '_').</summary>
    internal static string Quote(string schema) => "\"" + schema + "\"";

    private static async Task ExecAsync(NpgsqlConnection conn, NpgsqlTransaction tx, string sql, CancellationToken ct, params (string Name, object Value)[] args)
    {
        await using var cmd = new NpgsqlCommand(sql, conn, tx);
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
