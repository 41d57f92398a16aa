using DuckDB.NET.Data;

namespace Ecap.TestSupport;

/// <summary>DuckDB in process, the independent reader tests check our Parquet files and tables against.</summary>
public sealed class DuckDbReader : IDisposable
{
    private readonly DuckDBConnection _connection;

    public DuckDbReader()
    {
        _connection = new DuckDBConnection("DataSource=:memory:");
        _connection.Open();
    }

    /// <summary>Runs a query and returns its first column of its first row.</summary>
    public object? Scalar(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        var value = cmd.ExecuteScalar();
        return value is DBNull ? null : value;
    }

    /// <summary>Runs a query and returns every row as an array of values (DBNull mapped to null).</summary>
    public List<object?[]> Rows(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        using var reader = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>A SQL list literal of file paths for read_parquet([...]).</summary>
    public static string FileList(IEnumerable<string> paths) =>
        "[" + string.Join(", ", paths.Select(p => "'" + p.Replace("'", "''") + "'")) + "]";

    public void Dispose() => _connection.Dispose();
}
