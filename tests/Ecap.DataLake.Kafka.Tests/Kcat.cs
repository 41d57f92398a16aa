using System.Diagnostics;

namespace Ecap.DataLake.Kafka.Tests;

/// <summary>Debian's kcat as an independent Kafka client (a separate process): produces the tests' messages and lists what a topic holds.</summary>
internal static class Kcat
{
    /// <summary>
    /// Produces one message per line (key TAB value when <paramref name="keyed"/>), zstd-compressed, and waits until all are
    /// acknowledged. With <paramref name="emptyIsNull"/> an empty value (or key) is sent as NULL: a tombstone.
    /// </summary>
    public static void Produce(string bootstrap, string topic, IEnumerable<string> lines, bool keyed = true, int? partition = null, bool emptyIsNull = false)
    {
        var args = new List<string> { "-P", "-b", bootstrap, "-t", topic, "-z", "zstd", "-X", "acks=all" };
        if (keyed) args.AddRange(["-K", "\t"]);
        if (emptyIsNull) args.Add("-Z");
        if (partition is { } p) args.AddRange(["-p", p.ToString()]);
        var input = string.Join("\n", lines) + "\n";
        var (code, _, err) = Run(args, input);
        if (code != 0) throw new InvalidOperationException($"kcat produce failed ({code}): {err}");
    }

    /// <summary>Every message of a topic as (partition, offset, value), read from the beginning to the end.</summary>
    public static List<(int Partition, long Offset, string Value)> Consume(string bootstrap, string topic)
    {
        // kcat stops at a fetch error (a test may have injected some): read again.
        var (code, output, err) = (0, "", "");
        for (var attempt = 0; attempt < 5; attempt++)
        {
            (code, output, err) = Run(["-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p\t%o\t%s\n"], null);
            if (code == 0) break;
        }
        if (code != 0) throw new InvalidOperationException($"kcat consume failed ({code}): {err}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('\t', 3))
            .Select(p => (int.Parse(p[0]), long.Parse(p[1]), p[2]))
            .ToList();
    }

    private static (int Code, string Stdout, string Stderr) Run(IEnumerable<string> args, string? input)
    {
        var psi = new ProcessStartInfo("kcat") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("kcat did not start (is it installed? `.ci/run` installs it).");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (input != null) process.StandardInput.Write(input);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill();
            throw new TimeoutException("kcat " + string.Join(' ', args) + " did not finish");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
