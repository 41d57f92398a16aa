using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Ecap.TestSupport;

/// <summary>
/// A real, throwaway PostgreSQL server on 127.0.0.1 (scripts/postgres-test-server.sh) on a free port, with role and
/// database <c>ecap</c>/<c>ecap</c>. Use it as an xunit class or collection fixture; disposing stops it and deletes its folder.
/// </summary>
public class PostgresTestServer : IDisposable
{
    private readonly string _dir = Path.Combine("/tmp", "ecap-pg-" + Guid.NewGuid().ToString("N")[..10]);

    public PostgresTestServer()
    {
        Port = LoopbackPorts.Free();
        Url = Script("start", _dir, Port.ToString(CultureInfo.InvariantCulture)).Trim();
    }

    /// <summary>JDBC URL of the server's <c>ecap</c> database.</summary>
    public string Url { get; }

    public int Port { get; }

    /// <summary>An Npgsql connection string with the password (user ecap, password ecap).</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Database = "ecap", Username = "ecap", Password = "ecap",
    }.ConnectionString;

    public NpgsqlConnection Open()
    {
        var conn = new NpgsqlConnection(ConnectionString);
        conn.Open();
        return conn;
    }

    public static long Exec(NpgsqlConnection conn, string sql)
    {
        using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 300 };
        return Convert.ToInt64(cmd.ExecuteScalar() ?? 0L, CultureInfo.InvariantCulture);
    }

    public virtual void Dispose()
    {
        Script("stop", _dir);
        GC.SuppressFinalize(this);
    }

    private static string Script(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(RepoPaths.Root, "scripts", "postgres-test-server.sh"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"postgres-test-server.sh {string.Join(' ', args)}: {error}");
        return output;
    }

}
