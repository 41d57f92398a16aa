using System.Globalization;
using System.Text;

namespace Ecap.DataLake.Expressions;

/// <summary>A <c>--where</c> string could not be parsed; <see cref="Position"/> is the 0-based character offset.</summary>
public sealed class PredicateSyntaxException(string message, int position)
    : InvalidInputException(message)
{
    public int Position { get; } = position;
}

/// <summary>
/// Parses SQL-like filters:
/// <code>amount > 100 AND (status IN ('paid','shipped') OR country = 'DE') AND coupon IS NULL</code>
/// Grammar (keywords case-insensitive): <c>or := and (OR and)*</c>, <c>and := not (AND not)*</c>,
/// <c>not := NOT not | '(' or ')' | ident tail | literal op ident</c>,
/// <c>tail := op literal | [NOT] IN '(' literal, ... ')' | IS [NOT] NULL | [NOT] BETWEEN literal AND literal</c>.
/// Operators: <c>= == != &lt;&gt; &lt; &lt;= &gt; &gt;=</c>. Identifiers: <c>[A-Za-z_][A-Za-z0-9_.]*</c> or double-quoted
/// (<c>""</c> escapes a quote). Literals: <c>'text'</c> (<c>''</c> escapes), integers (long), decimals
/// (<c>1.5</c> is decimal, <c>1e3</c> is double), TRUE/FALSE/NULL, <c>DATE '2024-10-01'</c>,
/// <c>TIMESTAMP '2024-10-01T12:00:00Z'</c>. Plain strings compared with date/timestamp columns are
/// converted when evaluated, so <c>ts >= '2024-10-01'</c> works.
/// </summary>
public static class PredicateParser
{
    public static Predicate Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var p = new Parser(text);
        var result = p.ParseOr();
        p.SkipWs();
        if (!p.AtEnd) throw p.Error($"unexpected '{p.Rest(12)}'");
        Predicate.EnsureDepth(result);
        return result;
    }

    /// <summary>
    /// Builds a chain of ANDs or ORs as a balanced tree (left-heavy, so 2 and 3 terms are the usual left-deep tree): a generated
    /// filter of thousands of terms stays a few dozen levels deep for the recursive evaluators.
    /// </summary>
    private static Predicate Chain(List<Predicate> terms, int from, int count, Func<Predicate, Predicate, Predicate> join)
    {
        if (count == 1) return terms[from];
        var left = (count + 1) / 2;
        return join(Chain(terms, from, left, join), Chain(terms, from + left, count - left, join));
    }

    private sealed class Parser(string s)
    {
        private int _pos;

        public bool AtEnd => _pos >= s.Length;

        public string Rest(int max) => s.Substring(_pos, Math.Min(max, s.Length - _pos));

        public PredicateSyntaxException Error(string what, int? at = null)
        {
            var pos = at ?? _pos;
            return new PredicateSyntaxException($"Invalid filter at position {pos + 1}: {what}. Filter: {s}", pos);
        }

        public void SkipWs()
        {
            while (_pos < s.Length && char.IsWhiteSpace(s[_pos])) _pos++;
        }

        private bool PeekKeyword(string kw)
        {
            SkipWs();
            if (_pos + kw.Length > s.Length) return false;
            if (string.Compare(s, _pos, kw, 0, kw.Length, StringComparison.OrdinalIgnoreCase) != 0) return false;
            var end = _pos + kw.Length;
            return end == s.Length || !(char.IsLetterOrDigit(s[end]) || s[end] == '_');
        }

        private bool TryKeyword(string kw)
        {
            if (!PeekKeyword(kw)) return false;
            _pos += kw.Length;
            return true;
        }

        private void ExpectKeyword(string kw)
        {
            if (!TryKeyword(kw)) throw Error(AtEnd ? $"expected {kw} but the filter ended" : $"expected {kw} but found '{Rest(12)}'");
        }

        private bool TryChar(char c)
        {
            SkipWs();
            if (_pos < s.Length && s[_pos] == c) { _pos++; return true; }
            return false;
        }

        private void ExpectChar(char c)
        {
            if (!TryChar(c)) throw Error(AtEnd ? $"expected '{c}' but the filter ended" : $"expected '{c}' but found '{Rest(12)}'");
        }

        public Predicate ParseOr()
        {
            var terms = new List<Predicate> { ParseAnd() };
            while (TryKeyword("OR")) terms.Add(ParseAnd());
            return Chain(terms, 0, terms.Count, (l, r) => new Or(l, r));
        }

        private Predicate ParseAnd()
        {
            var terms = new List<Predicate> { ParseNot() };
            while (TryKeyword("AND")) terms.Add(ParseNot());
            return Chain(terms, 0, terms.Count, (l, r) => new And(l, r));
        }

        // Parentheses and NOTs recurse: bounded, so a hostile --where fails with a message instead of overflowing the stack.
        private int _nesting;

        private void Enter()
        {
            if (++_nesting > Predicate.MaxDepth)
                throw Error($"the filter nests more than {Predicate.MaxDepth} levels of parentheses or NOT");
        }

        private Predicate ParseNot()
        {
            if (TryKeyword("NOT"))
            {
                Enter();
                var negated = new Not(ParseNot());
                _nesting--;
                return negated;
            }
            SkipWs();
            if (AtEnd) throw Error("expected a condition but the filter ended");
            if (TryChar('('))
            {
                Enter();
                var inner = ParseOr();
                ExpectChar(')');
                _nesting--;
                return inner;
            }
            if (StartsLiteral())
            {
                // literal op column: flip the operator.
                var lit = ParseLiteral();
                var op = ParseOp() ?? throw Error("expected a comparison operator after the literal");
                var col = ParseIdent();
                return new Comparison(col, Flip(op), lit);
            }
            var column = ParseIdent();
            return ParseTail(column);
        }

        private Predicate ParseTail(string column)
        {
            var at = _pos;
            var op = ParseOp();
            if (op is not null) return new Comparison(column, op.Value, ParseLiteral());
            if (TryKeyword("IS"))
            {
                var negate = TryKeyword("NOT");
                ExpectKeyword("NULL");
                return negate ? new IsNotNull(column) : new IsNull(column);
            }
            var not = TryKeyword("NOT");
            if (TryKeyword("IN"))
            {
                ExpectChar('(');
                var values = new List<object?> { ParseLiteral() };
                while (TryChar(',')) values.Add(ParseLiteral());
                ExpectChar(')');
                Predicate p = new InList(column, values);
                return not ? new Not(p) : p;
            }
            if (TryKeyword("BETWEEN"))
            {
                var lo = ParseLiteral();
                ExpectKeyword("AND");
                var hi = ParseLiteral();
                Predicate p = new And(new Comparison(column, ComparisonOp.GreaterThanOrEqual, lo), new Comparison(column, ComparisonOp.LessThanOrEqual, hi));
                return not ? new Not(p) : p;
            }
            SkipWs();
            // A bare column is a boolean test (SQL: WHERE is_deleted): column = true.
            if (!not && (AtEnd || s[_pos] == ')' || PeekKeyword("AND") || PeekKeyword("OR"))) return new Comparison(column, ComparisonOp.Equal, true);
            throw Error(AtEnd
                ? $"expected an operator, IN, IS or BETWEEN after column '{column}' but the filter ended"
                : $"expected an operator, IN, IS or BETWEEN after column '{column}' but found '{Rest(12)}'", not ? at : _pos);
        }

        private static ComparisonOp Flip(ComparisonOp op) => op switch
        {
            ComparisonOp.LessThan => ComparisonOp.GreaterThan,
            ComparisonOp.LessThanOrEqual => ComparisonOp.GreaterThanOrEqual,
            ComparisonOp.GreaterThan => ComparisonOp.LessThan,
            ComparisonOp.GreaterThanOrEqual => ComparisonOp.LessThanOrEqual,
            _ => op,
        };

        private ComparisonOp? ParseOp()
        {
            SkipWs();
            if (AtEnd) return null;
            string[] ops = ["==", "!=", "<>", "<=", ">=", "=", "<", ">"];
            foreach (var o in ops)
            {
                if (string.CompareOrdinal(s, _pos, o, 0, o.Length) != 0) continue;
                _pos += o.Length;
                return o switch
                {
                    "==" or "=" => ComparisonOp.Equal,
                    "!=" or "<>" => ComparisonOp.NotEqual,
                    "<=" => ComparisonOp.LessThanOrEqual,
                    ">=" => ComparisonOp.GreaterThanOrEqual,
                    "<" => ComparisonOp.LessThan,
                    _ => ComparisonOp.GreaterThan,
                };
            }
            return null;
        }

        private string ParseIdent()
        {
            SkipWs();
            if (AtEnd) throw Error("expected a column name but the filter ended");
            var start = _pos;
            if (s[_pos] == '"')
            {
                var sb = new StringBuilder();
                _pos++;
                while (true)
                {
                    if (_pos >= s.Length) throw Error("unterminated quoted identifier", start);
                    var c = s[_pos++];
                    if (c == '"')
                    {
                        if (_pos < s.Length && s[_pos] == '"') { sb.Append('"'); _pos++; continue; }
                        break;
                    }
                    sb.Append(c);
                }
                if (sb.Length == 0) throw Error("empty quoted identifier", start);
                return sb.ToString();
            }
            if (!(char.IsLetter(s[_pos]) || s[_pos] == '_')) throw Error($"expected a column name but found '{Rest(12)}'");
            while (_pos < s.Length && (char.IsLetterOrDigit(s[_pos]) || s[_pos] is '_' or '.')) _pos++;
            var name = s[start.._pos];
            if (name.Equals("AND", StringComparison.OrdinalIgnoreCase) || name.Equals("OR", StringComparison.OrdinalIgnoreCase))
                throw Error($"expected a column name but found keyword {name.ToUpperInvariant()}", start);
            return name;
        }

        private bool StartsLiteral()
        {
            SkipWs();
            if (AtEnd) return false;
            var c = s[_pos];
            if (c == '\'' || char.IsDigit(c) || ((c == '-' || c == '+' || c == '.') && _pos + 1 < s.Length && (char.IsDigit(s[_pos + 1]) || s[_pos + 1] == '.'))) return true;
            return PeekKeyword("TRUE") || PeekKeyword("FALSE") || PeekKeyword("NULL") || PeekKeyword("DATE") && NextIsQuote("DATE") || PeekKeyword("TIMESTAMP") && NextIsQuote("TIMESTAMP");
        }

        private bool NextIsQuote(string kw)
        {
            var i = _pos + kw.Length;
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
            return i < s.Length && s[i] == '\'';
        }

        private object? ParseLiteral()
        {
            SkipWs();
            if (AtEnd) throw Error("expected a value but the filter ended");
            var start = _pos;
            var c = s[_pos];
            if (c == '\'') return ParseString();
            if (TryKeyword("TRUE")) return true;
            if (TryKeyword("FALSE")) return false;
            if (TryKeyword("NULL")) return null;
            if (PeekKeyword("DATE") && NextIsQuote("DATE"))
            {
                _pos += 4;
                SkipWs();
                var text = ParseString();
                if (!DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
                    throw Error($"invalid DATE literal '{text}' (expected yyyy-MM-dd)", start);
                return d;
            }
            if (PeekKeyword("TIMESTAMP") && NextIsQuote("TIMESTAMP"))
            {
                _pos += 9;
                SkipWs();
                var text = ParseString();
                return ValueDomain.TryParseTimestamp(text, out var micros)
                    ? DateTimeOffset.UnixEpoch.AddTicks(micros * 10)
                    : throw Error($"invalid TIMESTAMP literal '{text}'", start);
            }
            if (char.IsDigit(c) || c is '-' or '+' or '.')
            {
                _pos++;
                while (_pos < s.Length && (char.IsDigit(s[_pos]) || s[_pos] is '.' or 'e' or 'E' ||
                                           (s[_pos] is '-' or '+' && (s[_pos - 1] is 'e' or 'E')))) _pos++;
                var text = s[start.._pos];
                if (!text.Contains('.') && !text.Contains('e') && !text.Contains('E') &&
                    long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
                if (!text.Contains('e') && !text.Contains('E') &&
                    decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var m)) return m;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var dbl)) return dbl;
                throw Error($"invalid number '{text}'", start);
            }
            throw Error($"expected a value (a 'quoted string', a number, TRUE, FALSE or NULL) but found '{Rest(12)}'");
        }

        private string ParseString()
        {
            var start = _pos;
            _pos++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= s.Length) throw Error("unterminated string literal", start);
                var c = s[_pos++];
                if (c == '\'')
                {
                    if (_pos < s.Length && s[_pos] == '\'') { sb.Append('\''); _pos++; continue; }
                    return sb.ToString();
                }
                sb.Append(c);
            }
        }
    }
}
