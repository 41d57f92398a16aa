using Ecap.DataLake.Storage;
using Ecap.DataLake.Storage.S3;
using Npgsql;

namespace Ecap.DataLake.Postgres;

/// <summary>
/// The commit coordinator in PostgreSQL: one row per claimed (table, version) in <c>ecap_commit_claims</c>, whose
/// primary key makes the claim atomic across any number of writer processes and machines. The table is created on
/// first use. See <see cref="ICommitCoordinator"/> for the protocol around it.
/// </summary>
public sealed class PostgresCommitCoordinator : ICommitCoordinator, IDisposable
{
    public const string TableName = "ecap_commit_claims";

    private readonly NpgsqlDataSource _source;
    private readonly SemaphoreSlim _schemaGate = new(1, 1);
    private bool _schemaReady;

    public PostgresCommitCoordinator(PostgresConnectionConfig config)
    {
        _source = config.CreateDataSource();
        Display = config.Display;
    }

    /// <summary>Opens the coordinator a JDBC URL or Npgsql connection string names.</summary>
    public static PostgresCommitCoordinator Open(string urlOrConnectionString) => new(PostgresConnectionConfig.Parse(urlOrConnectionString));

    /// <summary>
    /// S3 options with the coordinator their setting names opened (a PostgreSQL URL); unchanged when the setting is
    /// empty or declares a single writer, or a coordinator is already given.
    /// </summary>
    public static S3StoreOptions Resolve(S3StoreOptions options)
    {
        if (options.CommitCoordinator is not null || options.SingleWriter || string.IsNullOrWhiteSpace(options.CommitCoordinatorSetting)) return options;
        return options with { CommitCoordinator = Open(options.CommitCoordinatorSetting) };
    }

    public string Display { get; }

    public async Task<bool> TryClaimAsync(string tableUri, long version, string tempKey, string targetKey, CancellationToken ct = default)
    {
        await EnsureSchemaAsync(ct).ConfigureAwait(false);
        await using var cmd = _source.CreateCommand(
            $"INSERT INTO {TableName} (table_uri, version, temp_key, target_key) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING");
        cmd.Parameters.Add(new() { Value = tableUri });
        cmd.Parameters.Add(new() { Value = version });
        cmd.Parameters.Add(new() { Value = tempKey });
        cmd.Parameters.Add(new() { Value = targetKey });
        return await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
    }

    public async Task<CommitClaim?> GetAsync(string tableUri, long version, CancellationToken ct = default)
    {
        var claims = await QueryAsync("table_uri = $1 AND version = $2", ct, tableUri, version).ConfigureAwait(false);
        return claims.Count == 0 ? null : claims[0];
    }

    public Task<IReadOnlyList<CommitClaim>> ListIncompleteAsync(string tableUri, CancellationToken ct = default) =>
        QueryAsync("table_uri = $1 AND completed_at IS NULL", ct, tableUri);

    /// <summary>
    /// How long a completed claim is kept. Its version's object exists by then, and writers check for it before and
    /// after claiming, so the row is not needed; it is deleted when a later version of the same table completes (in
    /// the same statement). A day, as the TTL on the entries of Delta's DynamoDB log store.
    /// </summary>
    public TimeSpan CompletedRetention { get; init; } = TimeSpan.FromDays(1);

    public Task CompleteAsync(string tableUri, long version, CancellationToken ct = default) =>
        ExecAsync($"WITH done AS (UPDATE {TableName} SET completed_at = now() WHERE table_uri = $1 AND version = $2 AND completed_at IS NULL) " +
                  $"DELETE FROM {TableName} WHERE table_uri = $1 AND completed_at < now() - $3", ct, tableUri, version, CompletedRetention);

    public Task ExpireAsync(string tableUri, long version, CancellationToken ct = default) =>
        ExecAsync($"DELETE FROM {TableName} WHERE table_uri = $1 AND version = $2 AND completed_at IS NULL", ct, tableUri, version);

    private async Task<IReadOnlyList<CommitClaim>> QueryAsync(string where, CancellationToken ct, params object[] args)
    {
        await EnsureSchemaAsync(ct).ConfigureAwait(false);
        await using var cmd = _source.CreateCommand(
            $"SELECT table_uri, version, temp_key, target_key, claimed_at, completed_at IS NOT NULL FROM {TableName} WHERE {where} ORDER BY version");
        foreach (var a in args) cmd.Parameters.Add(new() { Value = a });
        var result = new List<CommitClaim>();
        await using var reader = await cmd.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
            result.Add(new CommitClaim(reader.GetString(0), reader.GetInt64(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<DateTimeOffset>(4), reader.GetBoolean(5)));
        return result;
    }

    private async Task ExecAsync(string sql, CancellationToken ct, params object[] args)
    {
        await EnsureSchemaAsync(ct).ConfigureAwait(false);
        await using var cmd = _source.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(new() { Value = a });
        await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    private async Task EnsureSchemaAsync(CancellationToken ct)
    {
        if (_schemaReady) return;
        await _schemaGate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_schemaReady) return;
            await using var cmd = _source.CreateCommand(
                $"CREATE TABLE IF NOT EXISTS {TableName} (table_uri text NOT NULL, version bigint NOT NULL, temp_key text NOT NULL, " +
                "target_key text NOT NULL, claimed_at timestamptz NOT NULL DEFAULT now(), completed_at timestamptz, PRIMARY KEY (table_uri, version))");
            try
            {
                await cmd.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateTable)
            {
                // Another process created it at the same moment (IF NOT EXISTS is not race-free in PostgreSQL).
            }
            _schemaReady = true;
        }
        finally
        {
            _schemaGate.Release();
        }
    }

    public void Dispose()
    {
        _source.Dispose();
        _schemaGate.Dispose();
    }
}
