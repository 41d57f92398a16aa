using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ecap.TestSupport;

/// <summary>
/// A real Azure Blob Storage emulator for tests: Azurite's blob service on 127.0.0.1 (scripts/azure-test-server.sh) on a
/// free port, with one container, <see cref="Container"/>. Each test takes its own
/// prefix (<see cref="NewLocation"/>). Use it as an xunit fixture; disposing stops it and deletes its folder.
/// </summary>
public class AzuriteTestServer : IDisposable
{
    public const string Container = "ecap-test";

    private readonly string _dir = Path.Combine("/tmp", "ecap-azurite-" + Guid.NewGuid().ToString("N")[..10]);

    public AzuriteTestServer()
    {
        Port = FreePort();
        try
        {
            ConnectionString = Script("start", _dir, Port.ToString(CultureInfo.InvariantCulture)).Trim();
            new global::Azure.Storage.Blobs.BlobContainerClient(ConnectionString, Container).CreateIfNotExists();
        }
        catch
        {
            Script("stop", _dir); // xunit does not dispose a fixture whose constructor failed
            throw;
        }
    }

    /// <summary>The emulator's connection string (development account devstoreaccount1 and its published key).</summary>
    public string ConnectionString { get; }

    public int Port { get; }

    /// <summary>A fresh, empty location in the container.</summary>
    public string NewLocation() => $"az://{Container}/t-{Guid.NewGuid():N}";

    /// <summary>Environment for a child process (the ecap CLI, a writer script) to reach this emulator.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["AZURE_STORAGE_CONNECTION_STRING"] = ConnectionString,
    };

    public virtual void Dispose()
    {
        Script("stop", _dir);
        GC.SuppressFinalize(this);
    }

    private static string Script(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(RepoPaths.Root, "scripts", "azure-test-server.sh"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"azure-test-server.sh {string.Join(' ', args)}: {error.Result}");
        return output;
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
