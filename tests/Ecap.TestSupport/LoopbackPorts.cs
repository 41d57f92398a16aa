using System.Net;
using System.Net.Sockets;

namespace Ecap.TestSupport;

/// <summary>Free TCP ports on 127.0.0.1 for the test servers the tests start.</summary>
public static class LoopbackPorts
{
    /// <summary>A port the system says is free now (bound to port 0, then released).</summary>
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
