using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Tables.Partitioning;

namespace Ecap.DataLake.Postgres;

public static class PostgresIngestion
{
    /// <summary>
    /// Ingests the rows of <paramref name="query"/> into <paramref name="tableName"/> exactly once per watermark:
    /// with an incremental column, its last value is committed with the rows (txn appId <c>ecap-pg-&lt;hash&gt;</c>) and
    /// the next run reads only newer rows.
    /// </summary>
    public static Task<IngestionReport> IngestFromDatabaseAsync(this DataLakeIngester ingester, PostgresConnectionConfig connection,
        string query, string tableName, DataType dataType, PostgresIngestionOptions? options = null, IngestionOptions? ingestion = null,
        CancellationToken ct = default) =>
        ingester.IngestAsync(new PostgresIngestionSource(connection, query, options), tableName, dataType, ingestion, ct);
}
