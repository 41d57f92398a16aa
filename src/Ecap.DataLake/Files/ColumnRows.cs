using Apache.Arrow;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Files;

/// <summary>
/// The columns of one batch, built a row at a time, where a row may fail half-way (a value of the wrong type, a
/// required column missing): the failed row is padded to full width with nulls and dropped when the batch is built,
/// so one bad record costs one record. Shared by file (CSV, JSON lines) and message (Kafka) conversion.
/// </summary>
internal sealed class ColumnRows(Schema schema)
{
    private ColumnBuilder[] _builders = NewBuilders(schema);
    private List<int> _badRows = [];
    private int _rows;

    public Schema Schema => schema;

    /// <summary>Rows kept since the last <see cref="Build"/>.</summary>
    public int Count => _rows - _badRows.Count;

    /// <summary>
    /// Appends one row through <paramref name="append"/>, which fills the columns and returns null, or returns or throws
    /// (FormatException, InvalidOperationException, OverflowException) why the row is rejected. Returns the reason.
    /// </summary>
    public string? TryAppend<TState>(TState state, Func<ColumnBuilder[], TState, string?> append)
    {
        string? error;
        try
        {
            error = append(_builders, state);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or OverflowException)
        {
            error = e.Message;
        }
        if (error != null)
        {
            _badRows.Add(_rows);
            foreach (var b in _builders)
                while (b.Length <= _rows) b.AppendNull();
        }
        _rows++;
        return error;
    }

    /// <summary>The kept rows as a batch, in append order; the columns start over empty.</summary>
    public RecordBatch Build()
    {
        var batch = new RecordBatch(schema, _builders.Select(b => b.Build()), _rows);
        if (_badRows.Count > 0)
        {
            var bad = _badRows.ToHashSet();
            batch = ArrowGather.Take(batch, Enumerable.Range(0, _rows).Where(r => !bad.Contains(r)).ToArray());
        }
        _builders = NewBuilders(schema);
        _badRows = [];
        _rows = 0;
        return batch;
    }

    private static ColumnBuilder[] NewBuilders(Schema schema) => schema.FieldsList.Select(f => new ColumnBuilder(f)).ToArray();
}
