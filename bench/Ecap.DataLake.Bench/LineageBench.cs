using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ecap.DataLake;
using Ecap.DataLake.Lineage;
using Ecap.DataLake.Security;
using Ecap.DataLake.Tables.Partitioning;
using Ecap.DataLake.Tables.SampleData;
using Ecap.TestSupport;

/// <summary>
/// What OpenLineage costs a write: the same 10K-row append (guarded, audited) on a lake without lineage, with lineage to a
/// backend on loopback that answers 201, and with lineage to a backend that accepts connections and never answers (each
/// send times out in the background). Runs alternated in one process, two warm-up rounds, medians; then how long disposing
/// each lake (the flush) takes.
/// </summary>
internal static class LineageBench
{
    public static async Task RunAsync(string[] args)
    {
        var rows = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10_000;
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15;
        using var dir = new TempDir();
        using var receiver = new OpenLineageReceiver();
        using var hung = new TcpListener(IPAddress.Loopback, 0);
        hung.Start(backlog: 1000); // accepts (the kernel does), never reads nor answers
        var hungUrl = new Uri($"http://127.0.0.1:{((IPEndPoint)hung.LocalEndpoint).Port}");

        DataLake Lake(string folder, OpenLineageOptions? lineage)
        {
            var builder = new DataLakeBuilder(dir.Sub(folder)).UseIdentity(new StaticIdentity("bench"));
            if (lineage is not null) builder.UseOpenLineage(lineage with { OnSendFailure = (_, _) => { } });
            return builder.Build();
        }

        var lakes = new (string Name, DataLake Lake)[]
        {
            ("no lineage", Lake("off", null)),
            ("lineage, backend answers 201", Lake("http", new OpenLineageOptions { Url = new Uri(receiver.Url) })),
            ("lineage, backend never answers", Lake("hung", new OpenLineageOptions { Url = hungUrl })),
        };
        var start = new DateTimeOffset(2026, 8, 1, 0, 0, 0, TimeSpan.Zero);
        var data = SampleDataGenerator.Generate(DataType.Transactions, rows, 3, rows, start, 1).ToList();
        Console.WriteLine($"{rows:N0}-row appends, {runs} rounds (+2 warm-up), sides alternated; {Environment.ProcessorCount} cores");

        var times = lakes.Select(_ => new List<double>()).ToArray();
        for (var round = 0; round < runs + 2; round++)
            for (var i = 0; i < lakes.Length; i++)
            {
                var side = (i + round) % lakes.Length; // rotate who goes first
                var sw = Stopwatch.StartNew();
                await lakes[side].Lake.Storage.WritePartitionedDataAsync(data, "tx", DataType.Transactions);
                if (round >= 2) times[side].Add(sw.Elapsed.TotalMilliseconds);
            }

        var baseline = Median(times[0]);
        for (var i = 0; i < lakes.Length; i++)
            Console.WriteLine($"{lakes[i].Name}: median {Median(times[i]):F1} ms, p90 {P90(times[i]):F1} ms -> {Median(times[i]) / baseline:F2}x");
        foreach (var (name, lake) in lakes)
        {
            var sw = Stopwatch.StartNew();
            await lake.DisposeAsync();
            Console.WriteLine($"dispose (flush) {name}: {sw.Elapsed.TotalMilliseconds:F0} ms");
        }
        Console.WriteLine($"events received by the 201 backend: {receiver.Requests.Count} (2 per write: {2 * (runs + 2)})");
    }

    private static double Median(List<double> xs) => xs.Order().ElementAt(xs.Count / 2);

    private static double P90(List<double> xs) => xs.Order().ElementAt(xs.Count * 9 / 10);
}
