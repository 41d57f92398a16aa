using Npgsql;

namespace Ecap.DataLake.Postgres;

/// <summary>
/// Where a PostgreSQL database is: a JDBC URL (<c>jdbc:postgresql://host:5432/db?sslmode=require</c>) with a user and
/// password, or an Npgsql connection string. <see cref="ToString"/> never shows the password.
/// </summary>
public sealed class PostgresConnectionConfig
{
    private readonly string _connectionString;

    private PostgresConnectionConfig(NpgsqlConnectionStringBuilder builder)
    {
        _connectionString = builder.ConnectionString;
        Display = $"postgresql://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}";
    }

    /// <summary>The server and database without secrets, for logs and reports.</summary>
    public string Display { get; }

    public static PostgresConnectionConfig Parse(string urlOrConnectionString, string? user = null, string? password = null)
    {
        NpgsqlConnectionStringBuilder builder;
        var text = urlOrConnectionString.Trim();
        if (text.StartsWith("jdbc:", StringComparison.OrdinalIgnoreCase)) text = text[5..];
        if (text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
                throw new InvalidInputException($"'{Redact(urlOrConnectionString)}' is not a PostgreSQL URL: use jdbc:postgresql://host:5432/database.");
            builder = new NpgsqlConnectionStringBuilder
            {
                Host = uri.Host,
                Port = uri.Port > 0 ? uri.Port : 5432,
                Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')),
            };
            if (uri.UserInfo.Length > 0)
            {
                var parts = uri.UserInfo.Split(':', 2);
                builder.Username = Uri.UnescapeDataString(parts[0]);
                if (parts.Length > 1) builder.Password = Uri.UnescapeDataString(parts[1]);
            }
            foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var kv = pair.Split('=', 2);
                var key = Uri.UnescapeDataString(kv[0]);
                var value = kv.Length > 1 ? Uri.UnescapeDataString(kv[1]) : "";
                switch (key.ToLowerInvariant())
                {
                    case "user": builder.Username = value; break;
                    case "password": builder.Password = value; break;
                    case "sslmode": builder["SSL Mode"] = value; break;
                    default:
                        try { builder[key] = value; }
                        catch (ArgumentException) { /* JDBC-only parameters (e.g. loggerLevel) have no Npgsql meaning */ }
                        break;
                }
            }
        }
        else
        {
            try { builder = new NpgsqlConnectionStringBuilder(text); }
            catch (ArgumentException e) { throw new InvalidInputException($"Not a JDBC URL nor an Npgsql connection string: {e.Message}"); }
        }
        if (user != null) builder.Username = user;
        if (password != null) builder.Password = password;
        return new PostgresConnectionConfig(builder);
    }

    internal NpgsqlConnection Connect() => new(_connectionString);

    internal NpgsqlDataSource CreateDataSource() => NpgsqlDataSource.Create(_connectionString);
    /// <summary>The full connection string, password included: for Npgsql only, never for messages.</summary>
    internal string ConnectionString => _connectionString;

    public override string ToString() => Display;

    private static string Redact(string text) => System.Text.RegularExpressions.Regex.Replace(text, "(password=)[^&;]*|(://[^:/@]+:)[^@]*@", m => m.Groups[1].Success ? m.Groups[1].Value + "***" : m.Groups[2].Value + "***@", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
}
