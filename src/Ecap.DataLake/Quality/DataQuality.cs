using System.Globalization;
using System.Text.RegularExpressions;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Expressions;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables;

namespace Ecap.DataLake.Quality;

/// <summary>
/// Table constraints as operations: add (after checking every existing row, as Delta requires), drop, and check
/// (rows checked / failed per constraint over the whole table, streamed). Enforcement on writes lives in
/// <see cref="DataLakeStorage"/> (refuse) and the ingester (dead letters). Adding and dropping need admin on the table.
/// </summary>
public sealed partial class DataQuality(DataLakeStorage storage)
{
    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex ValidName();

    /// <summary>The expression of a NOT NULL constraint on <paramref name="column"/>.</summary>
    public static string NotNull(string column) => PredicateText.Ident(column) + " IS NOT NULL";

    /// <summary>The expression of an allowed-values constraint (null is not allowed unless listed as a NOT NULL-free check).</summary>
    public static string AllowedValues(string column, IEnumerable<string> values) =>
        PredicateText.Ident(column) + " IN (" + string.Join(", ", values.Select(v => PredicateText.Literal(v))) + ")";

    public Task<TableConstraints> AddConstraintAsync(string table, string name, string expression, CancellationToken ct = default) =>
        storage.Guard.RunAsync(new GuardedOperation("quality-add-constraint", TableNames.ValidateWritable(table), Privilege.Admin,
            new Dictionary<string, string?> { ["name"] = name, ["expression"] = expression }), async scope =>
        {
            if (!ValidName().IsMatch(name))
                throw new InvalidInputException($"Constraint name '{name}' is not valid: use letters, digits and '_', starting with a letter or '_'.");
            var constraint = new TableConstraint(name, expression); // parses: a bad expression is bad input
            var delta = storage.OpenTable(table);
            var snapshot = await delta.GetSnapshotAsync(ct);
            var key = TableConstraints.Prefix + name;
            if (snapshot.Metadata.Configuration.ContainsKey(key))
                throw new InvalidInputException($"Table '{table}' already has a constraint named {name}; drop it first.");
            var unknown = constraint.Predicate.Columns().Where(c => snapshot.Schema.GetFieldIndex(c) < 0).ToList();
            if (unknown.Count > 0)
                throw new InvalidInputException($"Constraint {name} names unknown column(s) {string.Join(", ", unknown)} of table '{table}'.");

            // Delta adds a constraint only when the data already satisfies it.
            var existing = (await CheckCoreAsync(table, snapshot.Version, new TableConstraints([constraint]), ct)).Single();
            if (existing.RowsFailed > 0)
                throw new ConstraintViolationException(
                    $"Cannot add constraint {name} ({expression}) to '{table}': {existing.RowsFailed:N0} of {existing.RowsChecked:N0} existing rows violate it.", [existing]);

            var config = new Dictionary<string, string>(snapshot.Metadata.Configuration) { [key] = expression };
            var tx = delta.StartTransaction(snapshot, "ADD CONSTRAINT");
            tx.ColumnMappingAware = true; // a property only; constraints name logical columns, as Delta's do
            tx.SetMetadata(snapshot.Metadata with { Configuration = config });
            tx.SetProtocol(WithCheckConstraints(snapshot.Protocol));
            tx.ReadWholeTable = true; // a concurrent append could bring rows the check above did not see
            tx.OperationParameters["name"] = name;
            tx.OperationParameters["expr"] = expression;
            var commit = await tx.CommitAsync(ct);
            scope.Complete(rows: existing.RowsChecked, version: commit.Version);
            return TableConstraints.Of(snapshot.Metadata with { Configuration = config });
        }, ct);

    public Task<TableConstraints> DropConstraintAsync(string table, string name, CancellationToken ct = default) =>
        storage.Guard.RunAsync(new GuardedOperation("quality-drop-constraint", TableNames.ValidateWritable(table), Privilege.Admin,
            new Dictionary<string, string?> { ["name"] = name }), async scope =>
        {
            var delta = storage.OpenTable(table);
            var snapshot = await delta.GetSnapshotAsync(ct);
            var key = TableConstraints.Prefix + name;
            if (!snapshot.Metadata.Configuration.ContainsKey(key))
                throw new InvalidInputException($"Table '{table}' has no constraint named {name}.");
            var config = snapshot.Metadata.Configuration.Where(kv => kv.Key != key).ToDictionary(kv => kv.Key, kv => kv.Value);
            var tx = delta.StartTransaction(snapshot, "DROP CONSTRAINT");
            tx.ColumnMappingAware = true;
            tx.SetMetadata(snapshot.Metadata with { Configuration = config });
            tx.OperationParameters["name"] = name;
            var commit = await tx.CommitAsync(ct);
            scope.Complete(version: commit.Version);
            return TableConstraints.Of(snapshot.Metadata with { Configuration = config });
        }, ct);

    /// <summary>Checks every row of the table's current version against its constraints (streamed); also reported as metrics.</summary>
    public Task<IReadOnlyList<ConstraintResult>> CheckAsync(string table, CancellationToken ct = default) =>
        storage.Guard.RunAsync(new GuardedOperation("quality-check", table, Privilege.Read), async scope =>
        {
            var snapshot = await storage.OpenTable(table).GetSnapshotAsync(ct);
            var results = await CheckCoreAsync(table, snapshot.Version, TableConstraints.Of(snapshot.Metadata), ct);
            scope.Complete(rows: results.FirstOrDefault()?.RowsChecked, version: snapshot.Version);
            scope.SetParameter("rows_failed", results.Sum(r => r.RowsFailed).ToString(CultureInfo.InvariantCulture));
            return results;
        }, ct);

    private async Task<IReadOnlyList<ConstraintResult>> CheckCoreAsync(string table, long version, TableConstraints constraints, CancellationToken ct)
    {
        if (constraints.IsEmpty) return [];
        var columns = constraints.All.SelectMany(c => c.Predicate.Columns()).Select(c => c.Split('.')[0]).Distinct().ToList();
        var scan = await storage.ReadPartitionedDataAsync(table, new ReadOptions { Version = version, Columns = columns }, ct);
        var failed = new long[constraints.All.Count];
        long rows = 0;
        await foreach (var batch in scan.ReadBatchesAsync(ct))
        {
            rows += batch.Length;
            var truths = constraints.Evaluate(batch);
            for (var c = 0; c < failed.Length; c++)
            {
                var f = truths[c].Count(t => t != 2);
                failed[c] += f;
                Metrics.LakeMetrics.RecordConstraintCheck(table, constraints.All[c].Name, batch.Length, f);
            }
        }
        return constraints.All.Select((c, i) => new ConstraintResult(c.Name, c.Expression, rows, failed[i])).ToList();
    }

    /// <summary>The protocol a table with CHECK constraints needs: writer 3, or the checkConstraints feature at writer 7.</summary>
    internal static Protocol WithCheckConstraints(Protocol protocol) => protocol.MinWriterVersion switch
    {
        7 => protocol with { WriterFeatures = (protocol.WriterFeatures ?? []).Union(["checkConstraints"]).ToList() },
        < 3 => protocol with { MinWriterVersion = 3 },
        _ => protocol,
    };
}
