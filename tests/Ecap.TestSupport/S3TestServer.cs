using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Storage.S3;

namespace Ecap.TestSupport;

/// <summary>
/// A real S3-compatible server for tests: single-node OpenStack Swift with s3api on 127.0.0.1
/// (scripts/s3-test-server.sh) on free ports, with one bucket, <see cref="Bucket"/>. Each test takes its own
/// prefix (<see cref="NewLocation"/>). Use it as an xunit fixture; disposing stops it and deletes its folder.
/// </summary>
public class S3TestServer : IDisposable
{
    public const string AccessKey = "test:tester";
    public const string SecretKey = "testing";
    public const string Bucket = "ecap-test";

    private readonly string _dir = Path.Combine("/tmp", "ecap-s3-" + Guid.NewGuid().ToString("N")[..10]);

    public S3TestServer()
    {
        Port = FreePortRun(5);
        Endpoint = Script("start", _dir, Port.ToString(CultureInfo.InvariantCulture)).Trim();
        try
        {
            CreateBucket();
        }
        catch
        {
            Script("stop", _dir); // xunit does not dispose a fixture whose constructor failed
            throw;
        }
    }

    private void CreateBucket()
    {
        using var client = new AmazonS3Client(new BasicAWSCredentials(AccessKey, SecretKey), new AmazonS3Config
        {
            ServiceURL = Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        });
        // The proxy answers its health check before the account/container servers are ready (503 "reduce your request rate").
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                client.PutBucketAsync(Bucket).GetAwaiter().GetResult();
                return;
            }
            catch (AmazonS3Exception e) when ((int)e.StatusCode >= 500 && attempt < 60)
            {
                Thread.Sleep(500);
            }
        }
    }

    /// <summary>The proxy's URL (http://127.0.0.1:PORT).</summary>
    public string Endpoint { get; }

    public int Port { get; }

    /// <summary>Options for the store: this endpoint, path style, compatibility mode, the test credentials.</summary>
    public S3StoreOptions Options(ICommitCoordinator? coordinator = null, string? coordinatorSetting = null) => new()
    {
        Endpoint = Endpoint,
        Region = "us-east-1",
        PathStyle = true,
        Compat = true,
        Credentials = new BasicAWSCredentials(AccessKey, SecretKey),
        CommitCoordinator = coordinator,
        CommitCoordinatorSetting = coordinatorSetting,
    };

    /// <summary>A fresh, empty location in the bucket.</summary>
    public string NewLocation() => $"s3://{Bucket}/t-{Guid.NewGuid():N}";

    /// <summary>Environment for a child process (the ecap CLI, a writer script) to reach this server.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["AWS_ACCESS_KEY_ID"] = AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
        ["AWS_REGION"] = "us-east-1",
        ["AWS_ENDPOINT_URL_S3"] = Endpoint,
        ["ECAP_S3_PATH_STYLE"] = "true",
        ["ECAP_S3_COMPAT"] = "true",
    };

    public virtual void Dispose()
    {
        Script("stop", _dir);
        GC.SuppressFinalize(this);
    }

    private static string Script(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(RepoPaths.Root, "scripts", "s3-test-server.sh"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"s3-test-server.sh {string.Join(' ', args)}: {error.Result}");
        return output;
    }

    /// <summary>A port P such that P..P+count-1 are all free (the proxy and the four internal servers).</summary>
    private static int FreePortRun(int count)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var start = Random.Shared.Next(20000, 60000);
            if (Enumerable.Range(start, count).All(IsFree)) return start;
        }
        throw new InvalidOperationException("No run of free ports found for the S3 test server.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
