namespace Ecap.DataLake.Expressions;

/// <summary>
/// A row predicate over named columns: the filter of a read (<c>--where</c>), evaluated three ways:
/// against column bounds to skip files and row groups (<see cref="StatsEvaluator"/>), and against
/// record batches to keep matching rows (<see cref="RowFilter"/>). SQL semantics: a comparison with
/// null is unknown, NOT of unknown is unknown, and only rows where the predicate is true are kept.
/// Literals are loosely typed (long, double, decimal, string, bool, DateTime, DateTimeOffset, DateOnly)
/// and coerced to the column's Arrow type when evaluated (<see cref="ValueDomain.Coerce"/>).
/// Column names may name a nested struct leaf with dots (<c>a.b</c>) for stats evaluation.
/// </summary>
public abstract record Predicate
{
    /// <summary>Parses a <c>--where</c> string; see <see cref="PredicateParser"/>.</summary>
    public static Predicate Parse(string text) => PredicateParser.Parse(text);

    /// <summary>The distinct column names the predicate reads, in first-seen order.</summary>
    public IReadOnlyList<string> Columns()
    {
        var list = new List<string>();
        Collect(this, list);
        return list;

        static void Collect(Predicate p, List<string> acc)
        {
            switch (p)
            {
                case ColumnPredicate c:
                    if (!acc.Contains(c.Column)) acc.Add(c.Column);
                    break;
                case And a: Collect(a.Left, acc); Collect(a.Right, acc); break;
                case Or o: Collect(o.Left, acc); Collect(o.Right, acc); break;
                case Not n: Collect(n.Inner, acc); break;
            }
        }
    }

    /// <summary>The deepest predicate tree the evaluators accept (they recurse over it).</summary>
    internal const int MaxDepth = 256;

    /// <summary>
    /// Refuses a predicate tree deeper than <see cref="MaxDepth"/> (built in code, e.g. a long left-deep chain of <c>&amp;</c>)
    /// before anything recurses over it; measured without recursion.
    /// </summary>
    internal static void EnsureDepth(Predicate predicate)
    {
        var stack = new Stack<(Predicate Node, int Depth)>();
        stack.Push((predicate, 1));
        while (stack.Count > 0)
        {
            var (node, depth) = stack.Pop();
            if (depth > MaxDepth)
                throw new InvalidInputException($"The filter is nested more than {MaxDepth} levels deep; use IN (...) for long lists of values.");
            switch (node)
            {
                case And a: stack.Push((a.Left, depth + 1)); stack.Push((a.Right, depth + 1)); break;
                case Or o: stack.Push((o.Left, depth + 1)); stack.Push((o.Right, depth + 1)); break;
                case Not n: stack.Push((n.Inner, depth + 1)); break;
            }
        }
    }

    public static Predicate operator &(Predicate left, Predicate right) => new And(left, right);
    public static Predicate operator |(Predicate left, Predicate right) => new Or(left, right);
    public static Predicate operator !(Predicate inner) => new Not(inner);
}

public enum ComparisonOp
{
    Equal,
    NotEqual,
    LessThan,
    LessThanOrEqual,
    GreaterThan,
    GreaterThanOrEqual,
}

/// <summary>A predicate on one column.</summary>
public abstract record ColumnPredicate(string Column) : Predicate;

/// <summary><c>column op literal</c>. A null literal makes the comparison unknown for every row.</summary>
public sealed record Comparison(string Column, ComparisonOp Op, object? Value) : ColumnPredicate(Column)
{
    public override string ToString() => $"{PredicateText.Ident(Column)} {PredicateText.Op(Op)} {PredicateText.Literal(Value)}";
}

/// <summary><c>column IN (v1, v2, ...)</c>.</summary>
public sealed record InList(string Column, IReadOnlyList<object?> Values) : ColumnPredicate(Column)
{
    public bool Equals(InList? other) =>
        other is not null && Column == other.Column && Values.SequenceEqual(other.Values);

    public override int GetHashCode() => HashCode.Combine(Column, Values.Count);

    public override string ToString() =>
        $"{PredicateText.Ident(Column)} IN ({string.Join(", ", Values.Select(PredicateText.Literal))})";
}

public sealed record IsNull(string Column) : ColumnPredicate(Column)
{
    public override string ToString() => $"{PredicateText.Ident(Column)} IS NULL";
}

public sealed record IsNotNull(string Column) : ColumnPredicate(Column)
{
    public override string ToString() => $"{PredicateText.Ident(Column)} IS NOT NULL";
}

public sealed record And(Predicate Left, Predicate Right) : Predicate
{
    public override string ToString() => $"({Left} AND {Right})";
}

public sealed record Or(Predicate Left, Predicate Right) : Predicate
{
    public override string ToString() => $"({Left} OR {Right})";
}

public sealed record Not(Predicate Inner) : Predicate
{
    public override string ToString() => $"NOT ({Inner})";
}

internal static class PredicateText
{
    public static string Ident(string name) =>
        name.Length > 0 && (char.IsLetter(name[0]) || name[0] == '_') && name.All(c => char.IsLetterOrDigit(c) || c is '_' or '.')
            ? name
            : "\"" + name.Replace("\"", "\"\"") + "\"";

    public static string Op(ComparisonOp op) => op switch
    {
        ComparisonOp.Equal => "=",
        ComparisonOp.NotEqual => "!=",
        ComparisonOp.LessThan => "<",
        ComparisonOp.LessThanOrEqual => "<=",
        ComparisonOp.GreaterThan => ">",
        _ => ">=",
    };

    public static string Literal(object? v) => v switch
    {
        null => "NULL",
        string s => "'" + s.Replace("'", "''") + "'",
        bool b => b ? "TRUE" : "FALSE",
        DateTime d => "'" + d.ToString("O", System.Globalization.CultureInfo.InvariantCulture) + "'",
        DateTimeOffset d => "'" + d.ToString("O", System.Globalization.CultureInfo.InvariantCulture) + "'",
        DateOnly d => "'" + d.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + "'",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
