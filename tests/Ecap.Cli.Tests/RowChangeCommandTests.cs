namespace Ecap.Cli.Tests;

/// <summary>
/// `storage delete|update|merge|erase` and `compaction purge` as a user runs them, checked against DuckDB over the
/// generated source file (the expected rows) and `storage read` / `query` (every read path agrees).
/// </summary>
public class RowChangeCommandTests
{
    private static string Lit(string path) => "'" + path.Replace("'", "''") + "'";

    private static (string Lake, string Source) Table(TempDir dir, params string[] writeOptions)
    {
        var lake = dir.Sub("lake");
        var source = dir.Sub("tx.parquet");
        Assert.Equal(0, EcapProcess.Run("data-lake", "generate", "transactions", "--rows", "3000", "--days", "3", "--out", source, "--seed", "2").ExitCode);
        var write = EcapProcess.Run(["--lake", lake, "data-lake", "storage", "write", "tx", "--data-type", "transactions", "--source-path", source, .. writeOptions]);
        Assert.True(write.ExitCode == 0, write.Stderr);
        return (lake, source);
    }

    private static List<long> Ids(string lake, string? where = null)
    {
        var read = EcapProcess.Run(["--lake", lake, "--output", "json", "data-lake", "storage", "read", "tx", "--columns", "transaction_id", "--limit", "1000000",
            .. where is null ? Array.Empty<string>() : ["--where", where]]);
        Assert.True(read.ExitCode == 0, read.Stderr);
        return read.Json().EnumerateArray().Select(e => e.GetProperty("transaction_id").GetInt64()).Order().ToList();
    }

    [Fact]
    public void Delete_and_update_print_their_json_and_every_read_path_sees_the_change()
    {
        using var dir = new TempDir();
        var (lake, source) = Table(dir);
        using var duck = new DuckDbReader();
        var expected = duck.Rows($"SELECT transaction_id FROM read_parquet({Lit(source)}) WHERE NOT (status = 'failed') ORDER BY 1")
            .Select(r => Convert.ToInt64(r[0])).ToList();

        var delete = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "delete", "tx", "--where", "status = 'failed'");
        Assert.True(delete.ExitCode == 0, delete.Stderr);
        var d = delete.Json();
        Assert.Equal(3000 - expected.Count, d.GetProperty("rows_deleted").GetInt64());
        Assert.True(d.GetProperty("deletion_vectors_written").GetInt32() > 0);
        Assert.Equal(0, d.GetProperty("files_rewritten").GetInt32());
        foreach (var key in new[] { "table", "version", "files_touched", "duration_ms" }) Assert.True(d.TryGetProperty(key, out _), key);
        Assert.Equal(expected, Ids(lake));
        var sql = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "query", "SELECT count(*) AS n FROM tx WHERE status = 'failed'");
        Assert.True(sql.ExitCode == 0, sql.Stderr);
        Assert.Equal(0, sql.Json().EnumerateArray().Single().GetProperty("n").GetInt64());

        var update = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "update", "tx", "--set", "status='cancelled'", "--set", "quantity=99",
            "--where", "transaction_id <= 10");
        Assert.True(update.ExitCode == 0, update.Stderr);
        Assert.Equal(expected.Count(i => i <= 10), update.Json().GetProperty("rows_updated").GetInt64());
        Assert.Equal(expected.Where(i => i <= 10).ToList(), Ids(lake, "quantity = 99 AND status = 'cancelled'"));
        Assert.Equal(expected, Ids(lake));

        var history = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "history", "tx", "--limit", "2");
        Assert.True(history.ExitCode == 0, history.Stderr);
        Assert.Equal(["UPDATE", "DELETE"], history.Json().EnumerateArray().Select(e => e.GetProperty("operation").GetString()).ToList());

        var bad = EcapProcess.Run("--lake", lake, "data-lake", "storage", "update", "tx", "--set", "quantity=many", "--where", "transaction_id = 1");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("quantity", bad.Stderr);
        Assert.DoesNotContain("   at ", bad.Stderr);
    }

    [Fact]
    public void Merge_upserts_a_csv_with_a_soft_delete_column_and_refuses_duplicate_keys()
    {
        using var dir = new TempDir();
        var (lake, source) = Table(dir);
        using var duck = new DuckDbReader();
        // Changes: ids 1-3 updated, 4 soft-deleted, 4999-5000 new (other columns from rows 1-6 of the source).
        var changes = dir.Sub("changes.csv");
        duck.Rows($"COPY (SELECT CASE WHEN transaction_id <= 4 THEN transaction_id ELSE transaction_id + 4994 END AS transaction_id, customer_id, product_id, " +
                  $"timestamp, amount, currency, payment_method, 'merged' AS status, quantity, country, discount_code, shipping_cost, is_first_purchase, " +
                  $"transaction_id = 4 AS is_deleted FROM read_parquet({Lit(source)}) WHERE transaction_id <= 6) TO {Lit(changes)} (HEADER, DELIMITER ',')");

        var merge = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "merge", "tx", "--source-path", changes, "--on", "transaction_id",
            "--delete-when", "is_deleted = true");
        Assert.True(merge.ExitCode == 0, merge.Stderr);
        var m = merge.Json();
        Assert.Equal(2, m.GetProperty("rows_inserted").GetInt64());
        Assert.Equal(3, m.GetProperty("rows_updated").GetInt64());
        Assert.Equal(1, m.GetProperty("rows_deleted").GetInt64());
        var ids = Ids(lake);
        Assert.Equal(3000 - 1 + 2, ids.Count);
        Assert.DoesNotContain(4L, ids);
        Assert.Equal([1L, 2, 3, 4999, 5000], Ids(lake, "status = 'merged'"));

        var dup = dir.Sub("dup.csv");
        File.WriteAllLines(dup, File.ReadAllLines(changes).Concat(File.ReadAllLines(changes).Skip(1).Take(1)));
        var refused = EcapProcess.Run("--lake", lake, "data-lake", "storage", "merge", "tx", "--source-path", dup, "--on", "transaction_id", "--delete-when", "is_deleted = true");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("(1)", refused.Stderr);
        Assert.Contains("--dedup-order-by", refused.Stderr);
    }

    [Fact]
    public void A_table_made_without_vectors_is_changed_by_copy_on_write_until_alter_enables_them_then_purge_and_erase_rewrite()
    {
        using var dir = new TempDir();
        var (lake, _) = Table(dir, "--no-deletion-vectors");
        var delete = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "delete", "tx", "--where", "status = 'failed'");
        Assert.True(delete.ExitCode == 0, delete.Stderr);
        Assert.Equal(0, delete.Json().GetProperty("deletion_vectors_written").GetInt32());
        Assert.True(delete.Json().GetProperty("files_rewritten").GetInt32() > 0);

        var alter = EcapProcess.Run("--lake", lake, "data-lake", "storage", "alter", "tx", "--enable-deletion-vectors");
        Assert.True(alter.ExitCode == 0, alter.Stderr);
        var second = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "storage", "delete", "tx", "--where", "status = 'pending'");
        Assert.True(second.Json().GetProperty("deletion_vectors_written").GetInt32() > 0);

        var purge = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "compaction", "purge", "tx", "--all");
        Assert.True(purge.ExitCode == 0, purge.Stderr);
        Assert.True(purge.Json().GetProperty("files_rewritten").GetInt32() > 0);
        var ids = Ids(lake);

        var customer = EcapProcess.Run("--lake", lake, "--output", "json", "data-lake", "query", "SELECT customer_id FROM tx LIMIT 1").Json()
            .EnumerateArray().Single().GetProperty("customer_id").GetInt64();
        var erase = EcapProcess.Run("--lake", lake, "data-lake", "storage", "erase", "tx", "--where", $"customer_id = {customer}");
        Assert.True(erase.ExitCode == 0, erase.Stderr);
        Assert.Contains("vacuum", erase.Stdout);
        Assert.Empty(Ids(lake, $"customer_id = {customer}"));
        Assert.True(Ids(lake).Count < ids.Count);
    }
}
