using System.Text.RegularExpressions;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Kafka.Tests;

/// <summary>Where a simulated crash hits a commit of the watched table.</summary>
public enum CrashPoint
{
    /// <summary>The commit's data files are written, its log entry is not: the process dies in between.</summary>
    BeforeLogEntry,
    /// <summary>The log entry landed; the process dies before anything else (Kafka's offset commit among it).</summary>
    AfterLogEntry,
}

/// <summary>The process "dies" here: not an I/O error, so nothing retries it; the run ends with it.</summary>
internal sealed class SimulatedCrashException(string message) : Exception(message);

/// <summary>
/// A lake store that crashes at the Nth commit (put-if-absent of a <c>_delta_log/N.json</c>) of one table, before or
/// after the entry is written; everything else passes through. After the crash the "process" is dead: it writes and
/// deletes nothing more (no cleanup of its data files runs, as after a real kill). Children (tables) share the state.
/// </summary>
internal sealed class CrashingObjectStore(IObjectStore inner, string table, int crashAtCommit, CrashPoint point, string prefix = "") : IObjectStore
{
    private static readonly Regex CommitKey = new(@"^_delta_log/\d{20}\.json$");
    private readonly int[] _commits = [0, 0]; // [commits seen, crashed (1)], shared with the children

    private CrashingObjectStore(IObjectStore inner, string table, int crashAtCommit, CrashPoint point, string prefix, int[] commits)
        : this(inner, table, crashAtCommit, point, prefix) => _commits = commits;

    private bool Dead => Volatile.Read(ref _commits[1]) == 1;

    private void ThrowIfDead()
    {
        if (Dead) throw new SimulatedCrashException("the process is dead");
    }

    public string Location => inner.Location;
    public IObjectStore Child(string p) => new CrashingObjectStore(inner.Child(p), table, crashAtCommit, point, prefix + p.TrimEnd('/') + "/", _commits);
    public IAsyncEnumerable<ObjectInfo> ListAsync(string p, CancellationToken ct = default) => inner.ListAsync(p, ct);
    public IAsyncEnumerable<string> ListPrefixesAsync(string p, CancellationToken ct = default) => inner.ListPrefixesAsync(p, ct);
    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default) => inner.HeadAsync(key, ct);
    public Task<byte[]> ReadAllAsync(string key, CancellationToken ct = default) => inner.ReadAllAsync(key, ct);
    public Task<byte[]> ReadRangeAsync(string key, long offset, int length, CancellationToken ct = default) => inner.ReadRangeAsync(key, offset, length, ct);
    public Task<Stream> OpenReadAsync(string key, CancellationToken ct = default) => inner.OpenReadAsync(key, ct);
    public Task WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) { ThrowIfDead(); return inner.WriteAsync(key, data, ct); }
    public Task<Stream> OpenWriteAsync(string key, CancellationToken ct = default) { ThrowIfDead(); return inner.OpenWriteAsync(key, ct); }
    public Task DeleteAsync(string key, CancellationToken ct = default) { ThrowIfDead(); return inner.DeleteAsync(key, ct); }
    public string? TryGetLocalPath(string key) => inner.TryGetLocalPath(key);

    public async Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        ThrowIfDead();
        if (prefix != table + "/" || !CommitKey.IsMatch(key) || Interlocked.Increment(ref _commits[0]) != crashAtCommit)
            return await inner.PutIfAbsentAsync(key, data, ct);
        if (point == CrashPoint.AfterLogEntry) await inner.PutIfAbsentAsync(key, data, ct);
        Volatile.Write(ref _commits[1], 1);
        throw new SimulatedCrashException($"crash {(point == CrashPoint.AfterLogEntry ? "after" : "before")} {key}");
    }
}
