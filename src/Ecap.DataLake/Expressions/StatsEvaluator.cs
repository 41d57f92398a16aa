namespace Ecap.DataLake.Expressions;

/// <summary>
/// Decides from column bounds whether any row of a file or row group can satisfy a predicate. One
/// evaluator serves both bound sources: Parquet row-group statistics and Delta per-file stats.
/// It tracks for each sub-predicate whether some row may make it true and whether some row may
/// make it false (unknown is neither), which gives SQL three-valued logic under NOT; it answers
/// "no match" only when the bounds prove it. Missing bounds, missing columns and values that cannot
/// be compared always answer "may match".
/// </summary>
internal static class StatsEvaluator
{
    /// <summary>False only when the bounds prove no row can match.</summary>
    public static bool CanMatch(Predicate predicate, Func<string, ColumnBounds?> bounds) => Eval(predicate, bounds).MayTrue;

    private readonly record struct Possible(bool MayTrue, bool MayFalse);

    private static readonly Possible Anything = new(true, true);
    private static readonly Possible OnlyUnknown = new(false, false);

    private static Possible Eval(Predicate p, Func<string, ColumnBounds?> bounds)
    {
        switch (p)
        {
            case And a:
                {
                    var l = Eval(a.Left, bounds);
                    var r = Eval(a.Right, bounds);
                    return new(l.MayTrue && r.MayTrue, l.MayFalse || r.MayFalse);
                }
            case Or o:
                {
                    var l = Eval(o.Left, bounds);
                    var r = Eval(o.Right, bounds);
                    return new(l.MayTrue || r.MayTrue, l.MayFalse && r.MayFalse);
                }
            case Not n:
                {
                    var i = Eval(n.Inner, bounds);
                    return new(i.MayFalse, i.MayTrue);
                }
            case ColumnPredicate c:
                {
                    var b = bounds(c.Column);
                    if (b is null) return Anything;
                    try
                    {
                        return Leaf(c, b);
                    }
                    catch (PredicateTypeException)
                    {
                        return Anything;
                    }
                }
            default:
                return Anything;
        }
    }

    private static Possible Leaf(ColumnPredicate c, ColumnBounds b)
    {
        var allNull = b.NullCount is { } nc && b.RowCount is { } rc && nc >= rc;
        var someNull = b.NullCount is null || b.NullCount > 0;
        switch (c)
        {
            case IsNull:
                return new(someNull, !allNull);
            case IsNotNull:
                return new(!allNull, someNull);
        }
        if (allNull) return OnlyUnknown;
        var result = Values(c, b);
        // Float bounds ignore NaN (Parquet writers skip it), and a NaN row makes every comparison
        // false except '!=' (IEEE, as RowFilter evaluates): keep those outcomes possible.
        if (b.Type.TypeId is Apache.Arrow.Types.ArrowTypeId.Float or Apache.Arrow.Types.ArrowTypeId.Double or Apache.Arrow.Types.ArrowTypeId.HalfFloat)
            result = c is Comparison { Op: ComparisonOp.NotEqual } ? result with { MayTrue = true } : result with { MayFalse = true };
        return result;
    }

    private static Possible Values(ColumnPredicate c, ColumnBounds b)
    {
        var min = b.Min;
        var max = b.Max;
        switch (c)
        {
            case Comparison cmp:
                {
                    var v = ValueDomain.Coerce(cmp.Value, b.Type, cmp.Column);
                    if (v is null) return OnlyUnknown;
                    return Compare(cmp.Op, v, min, max);
                }
            case InList list:
                {
                    bool mayTrue = false, mayFalse = true;
                    var allEqual = min is not null && max is not null && ValueDomain.Compare(min, max) == 0;
                    var containsPoint = false;
                    foreach (var raw in list.Values)
                    {
                        var v = ValueDomain.Coerce(raw, b.Type, list.Column);
                        if (v is null) continue;
                        if (Compare(ComparisonOp.Equal, v, min, max).MayTrue) mayTrue = true;
                        if (allEqual && ValueDomain.Compare(min!, v) == 0) containsPoint = true;
                    }
                    if (containsPoint) mayFalse = false;
                    return new(mayTrue, mayFalse);
                }
        }
        return Anything;
    }

    private static Possible Compare(ComparisonOp op, object v, object? min, object? max)
    {
        // Cmp(x) < 0 means x < v. Unknown bounds are treated as -inf / +inf.
        int? cMin = min is null ? null : ValueDomain.Compare(min, v);
        int? cMax = max is null ? null : ValueDomain.Compare(max, v);
        switch (op)
        {
            case ComparisonOp.Equal:
                return new((cMin ?? -1) <= 0 && (cMax ?? 1) >= 0, !(cMin == 0 && cMax == 0));
            case ComparisonOp.NotEqual:
                return new(!(cMin == 0 && cMax == 0), (cMin ?? -1) <= 0 && (cMax ?? 1) >= 0);
            case ComparisonOp.LessThan:
                return new((cMin ?? -1) < 0, (cMax ?? 1) >= 0);
            case ComparisonOp.LessThanOrEqual:
                return new((cMin ?? -1) <= 0, (cMax ?? 1) > 0);
            case ComparisonOp.GreaterThan:
                return new((cMax ?? 1) > 0, (cMin ?? -1) <= 0);
            default: // >=
                return new((cMax ?? 1) >= 0, (cMin ?? -1) < 0);
        }
    }
}
