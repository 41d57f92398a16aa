using Ecap.DataLake.Ingestion;
using Ecap.DataLake.Postgres;
using Ecap.DataLake.Tables;
using Ecap.DataLake.Tables.Partitioning;
using Npgsql;

namespace Ecap.DataLake.Tests.Ingestion;

/// <summary>The test PostgreSQL server with a seeded products table of 1M rows.</summary>
public sealed class PostgresServer : PostgresTestServer
{
    public const int SeedRows = 1_000_000;

    public PostgresServer()
    {
        using var conn = Open();
        Exec(conn, """
            CREATE TABLE products (
                product_id bigint PRIMARY KEY, category text NOT NULL, name text, price numeric(10,2), in_stock boolean,
                tags text[], attrs jsonb, uid uuid, launched date, updated_at timestamptz NOT NULL, rating real);
            INSERT INTO products SELECT i, 'cat_' || (i % 7), 'product ' || i, (i % 10000) / 100.0, i % 3 = 0,
                ARRAY['t' || (i % 5), 'x'], jsonb_build_object('size', i % 4), md5(i::text)::uuid, DATE '2026-01-01' + (i % 300),
                TIMESTAMPTZ '2026-08-01 00:00:00+00' + make_interval(secs => i), (i % 50) / 10.0
            FROM generate_series(1, 1000000) AS i;
            """);
    }

    public PostgresConnectionConfig Config => PostgresConnectionConfig.Parse(Url, "ecap", "ecap");
}

public sealed class PostgresIngestionTests(PostgresServer server) : IClassFixture<PostgresServer>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Jdbc_urls_and_connection_strings_parse_and_the_password_is_never_shown()
    {
        var c = PostgresConnectionConfig.Parse("jdbc:postgresql://db.example:6543/shop?sslmode=disable&loggerLevel=OFF", "etl", "s3cret");
        Assert.Equal("postgresql://etl@db.example:6543/shop", c.ToString());
        Assert.DoesNotContain("s3cret", c.ToString(), StringComparison.Ordinal);
        var s = PostgresConnectionConfig.Parse("Host=h;Port=5433;Database=d;Username=u;Password=p");
        Assert.Equal("postgresql://u@h:5433/d", s.Display);
        Assert.Throws<InvalidInputException>(() => PostgresConnectionConfig.Parse("jdbc:postgresql://"));
    }

    [Fact]
    public async Task Types_map_to_arrow_and_read_back_through_duckdb()
    {
        var lake = new DataLakeStorage(_dir.Sub("lake"));
        var report = await new DataLakeIngester(lake).IngestFromDatabaseAsync(server.Config,
            "SELECT * FROM products WHERE product_id <= 1000", "products_small", DataType.ProductUpdates);
        Assert.Equal(1000, report.RecordsWritten);
        var snapshot = await lake.OpenTable("products_small").GetSnapshotAsync();
        var files = DuckDbReader.FileList(snapshot.Files.Select(f => Path.Combine(_dir.Sub("lake"), "products_small", f.ObjectKey)));
        using var duck = new DuckDbReader();
        var row = duck.Rows($"SELECT product_id, name, price, in_stock, tags, attrs, uid, launched, updated_at, rating FROM read_parquet({files}) WHERE product_id = 7")[0];
        Assert.Equal(7L, row[0]);
        Assert.Equal("product 7", row[1]);
        Assert.Equal(0.07m, Assert.IsType<decimal>(row[2])); // numeric(10,2) stays a decimal, not its text
        Assert.Equal("DECIMAL(10,2)", duck.Scalar($"SELECT typeof(price) FROM read_parquet({files}) LIMIT 1"));
        Assert.Equal(false, row[3]);
        Assert.Equal("[\"t2\",\"x\"]", row[4]);
        Assert.Equal("{\"size\": 3}", row[5]);
        Assert.Equal(36, ((string)row[6]!).Length);
        Assert.Equal("2026-01-08", Convert.ToString(row[7] is DateOnly d ? d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) : row[7]));
        Assert.Equal(new DateTime(2026, 8, 1, 0, 0, 7), row[8] is DateTimeOffset o ? o.UtcDateTime : (DateTime)row[8]!);
        Assert.Equal(0.7f, Convert.ToSingle(row[9]), 3);
    }

    [Fact]
    public async Task A_killed_connection_is_reopened_and_an_incremental_rerun_reads_only_new_rows()
    {
        var lake = new DataLakeStorage(_dir.Sub("lake"));
        var ingester = new DataLakeIngester(lake);
        var options = new PostgresIngestionOptions { IncrementalColumn = "product_id", BatchRows = 50_000 };
        // Commits of 200K rows: the query stays open while each commit is written, so the kill lands mid-read.
        var ingestion = new IngestionOptions { MaxRecordsPerCommit = 200_000 };
        const string query = "SELECT product_id, category, price, updated_at FROM products";
        var killer = Task.Run(async () =>
        {
            using var admin = server.Open();
            for (var i = 0; i < 600; i++)
            {
                var killed = PostgresServer.Exec(admin,
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'SELECT * FROM (SELECT product_id, category%' AND pid <> pg_backend_pid()");
                if (killed > 0) return killed;
                await Task.Delay(50);
            }
            return 0L;
        });
        var report = await ingester.IngestFromDatabaseAsync(server.Config, query, "products", DataType.ProductUpdates, options, ingestion);
        Assert.True(await killer > 0, "the ingesting connection was never seen");
        Assert.True(report.SourceCounters["reconnects"] >= 1, "no reconnect was needed");
        Assert.Equal(PostgresServer.SeedRows, report.RecordsWritten);
        using var duck = new DuckDbReader();
        async Task<(long, long)> Counts()
        {
            var snapshot = await lake.OpenTable("products").GetSnapshotAsync();
            var files = DuckDbReader.FileList(snapshot.Files.Select(f => Path.Combine(_dir.Sub("lake"), "products", f.ObjectKey)));
            var r = duck.Rows($"SELECT count(*), count(DISTINCT product_id) FROM read_parquet({files})")[0];
            return (Convert.ToInt64(r[0]), Convert.ToInt64(r[1]));
        }
        Assert.Equal((PostgresServer.SeedRows, PostgresServer.SeedRows), await Counts());

        using (var conn = server.Open())
            PostgresServer.Exec(conn, "INSERT INTO products (product_id, category, updated_at) SELECT i, 'new', now() FROM generate_series(1000001, 1000010) AS i");
        var again = await ingester.IngestFromDatabaseAsync(server.Config, query, "products", DataType.ProductUpdates, options, ingestion);
        Assert.Equal(10, again.RecordsRead);
        Assert.Equal((PostgresServer.SeedRows + 10L, PostgresServer.SeedRows + 10L), await Counts());
        using (var conn = server.Open())
            PostgresServer.Exec(conn, "DELETE FROM products WHERE product_id > 1000000");
    }
}
