using System.Text;
using Apache.Arrow;
using Ecap.DataLake.Expressions;

namespace Ecap.DataLake.Delta;

/// <summary>A named CHECK constraint: a predicate every row must make true (a null result is a violation).</summary>
public sealed record TableConstraint(string Name, string Expression)
{
    public Predicate Predicate { get; } = PredicateParser.Parse(Expression);
}

/// <summary>A write refused because rows break table constraints; nothing of the write was committed.</summary>
public sealed class ConstraintViolationException(string message, IReadOnlyList<ConstraintResult> results) : CommitValidationException(message)
{
    public IReadOnlyList<ConstraintResult> Results { get; } = results;
}

/// <summary>Rows checked and failed for one constraint.</summary>
public sealed record ConstraintResult(string Name, string Expression, long RowsChecked, long RowsFailed);

/// <summary>
/// A table's constraints, kept the way Delta keeps them: table properties <c>delta.constraints.&lt;name&gt; = &lt;expression&gt;</c>
/// (PROTOCOL.md "CHECK constraints"; a table with any needs writer version 3, or 7 with <c>checkConstraints</c>).
/// NOT NULL is <c>col IS NOT NULL</c>, allowed values <c>col IN ('a','b')</c>, any other check an expression of the
/// <see cref="PredicateParser"/> grammar. Evaluated per batch with <see cref="RowFilter"/> (vectorized); a row passes
/// only when every expression is true.
/// </summary>
public sealed class TableConstraints
{
    public const string Prefix = "delta.constraints.";

    public TableConstraints(IReadOnlyList<TableConstraint> constraints) => All = constraints;

    public IReadOnlyList<TableConstraint> All { get; }

    public bool IsEmpty => All.Count == 0;

    public static TableConstraints Of(Metadata metadata) => new(metadata.Configuration
        .Where(kv => kv.Key.StartsWith(Prefix, StringComparison.Ordinal))
        .OrderBy(kv => kv.Key, StringComparer.Ordinal)
        .Select(kv => new TableConstraint(kv.Key[Prefix.Length..], kv.Value)).ToList());

    /// <summary>Throws <see cref="SchemaMismatchException"/> when a constraint names a column <paramref name="schema"/> lacks (e.g. after a schema overwrite).</summary>
    public void EnsureColumns(Schema schema, string table)
    {
        foreach (var c in All)
            foreach (var column in c.Predicate.Columns().Select(n => n.Split('.')[0]).Where(n => schema.GetFieldIndex(n) < 0))
                throw new SchemaMismatchException($"Table '{table}' has constraint {c.Name} ({c.Expression}) on column '{column}', which the new schema lacks; drop the constraint first.");
    }

    /// <summary>Per constraint, the truth vector of a batch (0 false, 1 null, 2 true).</summary>
    public IReadOnlyList<byte[]> Evaluate(RecordBatch batch) => All.Select(c => RowFilter.Evaluate(batch, c.Predicate)).ToList();

    /// <summary>Throws <see cref="ConstraintViolationException"/> when any row of <paramref name="batch"/> breaks a constraint; records the checks as metrics.</summary>
    public void Enforce(RecordBatch batch, string table)
    {
        if (IsEmpty || batch.Length == 0) return;
        var truths = Evaluate(batch);
        var results = new List<ConstraintResult>();
        for (var c = 0; c < All.Count; c++)
        {
            var failed = truths[c].Count(t => t != 2);
            Metrics.LakeMetrics.RecordConstraintCheck(table, All[c].Name, batch.Length, failed);
            results.Add(new ConstraintResult(All[c].Name, All[c].Expression, batch.Length, failed));
        }
        var broken = results.Where(r => r.RowsFailed > 0).ToList();
        if (broken.Count == 0) return;
        var first = broken[0];
        var row = System.Array.FindIndex(truths[All.ToList().FindIndex(c => c.Name == first.Name)], t => t != 2);
        throw new ConstraintViolationException(
            $"Write to '{table}' refused: {string.Join("; ", broken.Select(b => $"{b.RowsFailed:N0} row(s) violate constraint {b.Name} ({b.Expression})"))}. " +
            $"First violating row: {Describe(batch, row)}. Nothing was written.", results);
    }

    /// <summary>Indices of rows that pass every constraint, and for each failing row the first constraint it breaks.</summary>
    public (int[] Passing, List<(int Row, TableConstraint Constraint)> Failing) Split(RecordBatch batch, string table)
    {
        var truths = Evaluate(batch);
        var passing = new List<int>(batch.Length);
        var failing = new List<(int, TableConstraint)>();
        for (var c = 0; c < All.Count; c++)
            Metrics.LakeMetrics.RecordConstraintCheck(table, All[c].Name, batch.Length, truths[c].Count(t => t != 2));
        for (var i = 0; i < batch.Length; i++)
        {
            var broken = -1;
            for (var c = 0; c < All.Count && broken < 0; c++) if (truths[c][i] != 2) broken = c;
            if (broken < 0) passing.Add(i); else failing.Add((i, All[broken]));
        }
        return (passing.ToArray(), failing);
    }

    /// <summary>A row as JSON (for messages and dead letters).</summary>
    public static string Describe(RecordBatch batch, int row)
    {
        using var stream = new MemoryStream();
        using (var w = new System.Text.Json.Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            for (var c = 0; c < batch.ColumnCount; c++)
            {
                w.WritePropertyName(batch.Schema.GetFieldByIndex(c).Name);
                Arrow.ArrowValues.WriteJson(w, Arrow.ArrowValues.Get(batch.Column(c), row));
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
