using System.Runtime.InteropServices;
using System.Text;

namespace Ecap.DataLake.Kafka.Dev;

/// <summary>
/// librdkafka's mock cluster: brokers speaking the real Kafka protocol on loopback ports, inside this
/// process, for tests and <c>ecap data-lake dev kafka</c>. Any Kafka client (Confluent.Kafka, kcat) connects
/// to <see cref="BootstrapServers"/>. It is reached by P/Invoke into the very librdkafka copy Confluent.Kafka
/// loaded (on Debian 12 the bundled plain build lacks libsasl2, so Confluent.Kafka falls back to the
/// centos8 build; loading another copy would give two libraries with separate state). Limits of the mock:
/// about 5 MiB per partition (compress), no real transactions; never ask it to list consumer groups.
/// </summary>
public sealed unsafe class MockKafkaCluster : IDisposable
{
    private readonly nint _rk;
    private nint _cluster;
    private readonly Native _native;

    public MockKafkaCluster(int brokers = 3)
    {
        _native = Native.Instance;
        var conf = _native.ConfNew();
        var err = stackalloc byte[512];
        // The cluster's own handle has no bootstrap servers of its own; librdkafka's notice saying so is noise.
        fixed (byte* name = "log_level\0"u8, value = "4\0"u8) _native.ConfSet(conf, name, value, err, 512);
        _rk = _native.New(0 /* RD_KAFKA_PRODUCER */, conf, err, 512);
        if (_rk == 0) throw new InvalidOperationException("rd_kafka_new failed: " + Marshal.PtrToStringUTF8((nint)err));
        _cluster = _native.ClusterNew(_rk, brokers);
        if (_cluster == 0) throw new InvalidOperationException("rd_kafka_mock_cluster_new failed.");
        BootstrapServers = Marshal.PtrToStringUTF8(_native.Bootstraps(_cluster))!;
        // Admin requests wait for a controller (60 s otherwise); groups form after 100 ms instead of 3 s.
        _native.SetControllerId(_cluster, 1);
        _native.InitialRebalanceDelay(_cluster, 100);
        Brokers = brokers;
    }

    /// <summary>host:port,host:port,... of the brokers.</summary>
    public string BootstrapServers { get; }

    public int Brokers { get; }

    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        using var name = new Utf8(topic);
        Check(_native.TopicCreate(_cluster, name.Ptr, partitions, replicationFactor), $"create topic {topic}");
    }

    /// <summary>Moves a partition's leadership to a broker (ids 1..Brokers).</summary>
    public void SetPartitionLeader(string topic, int partition, int brokerId)
    {
        using var name = new Utf8(topic);
        Check(_native.PartitionSetLeader(_cluster, name.Ptr, partition, brokerId), $"set leader of {topic}[{partition}]");
    }

    /// <summary>Takes a broker down (its connections close and it refuses new ones) until <see cref="SetBrokerUp"/>.</summary>
    public void SetBrokerDown(int brokerId) => Check(_native.BrokerSetDown(_cluster, brokerId), $"set broker {brokerId} down");

    public void SetBrokerUp(int brokerId) => Check(_native.BrokerSetUp(_cluster, brokerId), $"set broker {brokerId} up");

    /// <summary>The next requests of an API (e.g. <see cref="ApiKeys.Fetch"/>) fail with these error codes, in order, on any broker.</summary>
    public void PushRequestErrors(short apiKey, params int[] errors)
    {
        fixed (int* e = errors) _native.PushRequestErrors(_cluster, apiKey, (nuint)errors.Length, e);
    }

    public void Dispose()
    {
        if (_cluster != 0)
        {
            _native.ClusterDestroy(_cluster);
            _cluster = 0;
            _native.Destroy(_rk);
        }
    }

    private static void Check(int err, string what)
    {
        if (err != 0) throw new InvalidOperationException($"mock cluster: {what} failed with Kafka error code {err}.");
    }

    /// <summary>Kafka API keys for <see cref="PushRequestErrors"/>.</summary>
    internal static class ApiKeys
    {
        public const short Produce = 0;
        public const short Fetch = 1;
        public const short ListOffsets = 2;
        public const short OffsetCommit = 8;
        public const short OffsetFetch = 9;
        public const short Heartbeat = 12;
    }

    /// <summary>Kafka error codes for <see cref="PushRequestErrors"/>.</summary>
    internal static class Errors
    {
        public const int NotLeaderForPartition = 6;
        public const int RequestTimedOut = 7;
        public const int NotCoordinator = 16;
        public const int UnknownServerError = -1;
    }

    private readonly struct Utf8 : IDisposable
    {
        public Utf8(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s + "\0");
            Ptr = (byte*)NativeMemory.Alloc((nuint)bytes.Length);
            bytes.CopyTo(new Span<byte>(Ptr, bytes.Length));
        }

        public byte* Ptr { get; }

        public void Dispose() => NativeMemory.Free(Ptr);
    }

    /// <summary>Entry points of the librdkafka Confluent.Kafka loaded, found through /proc/self/maps.</summary>
    private sealed class Native
    {
        private static readonly Lazy<Native> Shared = new(() => new Native());

        public static Native Instance => Shared.Value;

        public readonly delegate* unmanaged<nint> ConfNew;
        public readonly delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int> ConfSet;
        public readonly delegate* unmanaged<int, nint, byte*, nuint, nint> New;
        public readonly delegate* unmanaged<nint, void> Destroy;
        public readonly delegate* unmanaged<nint, int, nint> ClusterNew;
        public readonly delegate* unmanaged<nint, void> ClusterDestroy;
        public readonly delegate* unmanaged<nint, nint> Bootstraps;
        public readonly delegate* unmanaged<nint, byte*, int, int, int> TopicCreate;
        public readonly delegate* unmanaged<nint, byte*, int, int, int> PartitionSetLeader;
        public readonly delegate* unmanaged<nint, int, int> BrokerSetDown;
        public readonly delegate* unmanaged<nint, int, int> BrokerSetUp;
        public readonly delegate* unmanaged<nint, short, nuint, int*, void> PushRequestErrors;
        public readonly delegate* unmanaged<nint, int, int> SetControllerId;
        public readonly delegate* unmanaged<nint, int, void> InitialRebalanceDelay;

        private Native()
        {
            // Makes Confluent.Kafka load its librdkafka (and pick the build that loads on this system).
            _ = Confluent.Kafka.Library.Version;
            var path = File.ReadLines("/proc/self/maps")
                .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(p => p.Length >= 6 && Path.GetFileName(p[5]).Contains("librdkafka", StringComparison.Ordinal))
                .Select(p => p[5]).FirstOrDefault()
                ?? throw new InvalidOperationException("librdkafka is not loaded in this process (Confluent.Kafka could not load it).");
            var lib = NativeLibrary.Load(path);
            nint F(string name) => NativeLibrary.GetExport(lib, name);
            ConfNew = (delegate* unmanaged<nint>)F("rd_kafka_conf_new");
            ConfSet = (delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int>)F("rd_kafka_conf_set");
            New = (delegate* unmanaged<int, nint, byte*, nuint, nint>)F("rd_kafka_new");
            Destroy = (delegate* unmanaged<nint, void>)F("rd_kafka_destroy");
            ClusterNew = (delegate* unmanaged<nint, int, nint>)F("rd_kafka_mock_cluster_new");
            ClusterDestroy = (delegate* unmanaged<nint, void>)F("rd_kafka_mock_cluster_destroy");
            Bootstraps = (delegate* unmanaged<nint, nint>)F("rd_kafka_mock_cluster_bootstraps");
            TopicCreate = (delegate* unmanaged<nint, byte*, int, int, int>)F("rd_kafka_mock_topic_create");
            PartitionSetLeader = (delegate* unmanaged<nint, byte*, int, int, int>)F("rd_kafka_mock_partition_set_leader");
            BrokerSetDown = (delegate* unmanaged<nint, int, int>)F("rd_kafka_mock_broker_set_down");
            BrokerSetUp = (delegate* unmanaged<nint, int, int>)F("rd_kafka_mock_broker_set_up");
            PushRequestErrors = (delegate* unmanaged<nint, short, nuint, int*, void>)F("rd_kafka_mock_push_request_errors_array");
            SetControllerId = (delegate* unmanaged<nint, int, int>)F("rd_kafka_mock_set_controller_id");
            InitialRebalanceDelay = (delegate* unmanaged<nint, int, void>)F("rd_kafka_mock_group_initial_rebalance_delay_ms");
        }
    }
}
