using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ecap.DataLake.Storage;

/// <summary>
/// An object store over a local folder. Keys map to files under the root; listing is recursive.
/// Put-if-absent writes a temp file beside the target and hard-links it into place (link(2) fails
/// with EEXIST when the target exists), so a commit is atomic and can never replace another.
/// </summary>
internal sealed class LocalObjectStore : IObjectStore
{
    private readonly string _root;

    public LocalObjectStore(string rootDirectory)
    {
        _root = Path.GetFullPath(rootDirectory);
    }

    public string Location => _root;

    public string RootDirectory => _root;

    public IObjectStore Child(string prefix) => new LocalObjectStore(FullPath(ObjectKeys.Validate(prefix.TrimEnd('/'))));

    private string FullPath(string key)
    {
        ObjectKeys.Validate(key);
        var full = Path.GetFullPath(Path.Combine(_root, key));
        if (!full.StartsWith(_root, StringComparison.Ordinal))
            throw new InvalidPathException($"Path '{key}' escapes the store root '{_root}'.");
        return full;
    }

    public string? TryGetLocalPath(string key) => FullPath(key);

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        // List the deepest directory the prefix names fully, then filter by the remaining name prefix.
        var slash = prefix.LastIndexOf('/');
        var dirKey = slash >= 0 ? prefix[..slash] : "";
        var dir = dirKey.Length == 0 ? _root : FullPath(dirKey);
        if (!Directory.Exists(dir)) yield break;

        var results = new List<ObjectInfo>();
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            ct.ThrowIfCancellationRequested();
            var key = Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            // Another writer's temp file can vanish between the directory read and this look: skip it.
            var info = new FileInfo(file);
            if (!info.Exists) continue;
            long length;
            try { length = info.Length; }
            catch (FileNotFoundException) { continue; }
            results.Add(new ObjectInfo(key, length, info.LastWriteTimeUtc));
        }
        results.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var r in results) yield return r;
        await Task.CompletedTask;
    }

    public async IAsyncEnumerable<string> ListPrefixesAsync(string prefix, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var dir = prefix.Trim('/').Length == 0 ? _root : FullPath(prefix.Trim('/'));
        if (!Directory.Exists(dir)) yield break;
        var names = Directory.EnumerateDirectories(dir).Select(Path.GetFileName).OfType<string>().ToList();
        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            ct.ThrowIfCancellationRequested();
            yield return name;
        }
        await Task.CompletedTask;
    }

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default)
    {
        var info = new FileInfo(FullPath(key));
        return Task.FromResult<ObjectInfo?>(info.Exists ? new ObjectInfo(key, info.Length, info.LastWriteTimeUtc) : null);
    }

    public async Task<byte[]> ReadAllAsync(string key, CancellationToken ct = default)
    {
        try
        {
            return await File.ReadAllBytesAsync(FullPath(key), ct);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new FileNotFoundException($"Object '{key}' does not exist in '{_root}'.", key, e);
        }
    }

    public async Task<byte[]> ReadRangeAsync(string key, long offset, int length, CancellationToken ct = default)
    {
        await using var fs = new FileStream(FullPath(key), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: false);
        var buffer = new byte[length];
        var read = await RandomAccess.ReadAsync(fs.SafeFileHandle, buffer, offset, ct);
        return read == length ? buffer : buffer[..read];
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken ct = default) =>
        Task.FromResult<Stream>(new FileStream(FullPath(key), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16));

    public async Task WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        var path = FullPath(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Write beside, then rename, so a reader never sees a half-written object.
        var tmp = TempPathBeside(path);
        try
        {
            await using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                await fs.WriteAsync(data, ct);
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public Task<Stream> OpenWriteAsync(string key, CancellationToken ct = default)
    {
        var path = FullPath(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return Task.FromResult<Stream>(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16));
    }

    public async Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        var path = FullPath(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = TempPathBeside(path);
        try
        {
            await using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 12))
            {
                await fs.WriteAsync(data, ct);
                fs.Flush(flushToDisk: true);
            }
            return AtomicPublish(tmp, path);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public Task DeleteAsync(string key, CancellationToken ct = default)
    {
        var path = FullPath(key);
        if (File.Exists(path)) File.Delete(path);
        return Task.CompletedTask;
    }

    private static string TempPathBeside(string path) =>
        Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");

    /// <summary>Makes <paramref name="source"/> visible as <paramref name="target"/> unless the target exists.</summary>
    private static PutResult AtomicPublish(string source, string target)
    {
        if (OperatingSystem.IsWindows())
        {
            // MoveFileEx without MOVEFILE_REPLACE_EXISTING is atomic and fails if the target exists.
            try
            {
                File.Move(source, target, overwrite: false);
                return PutResult.Created;
            }
            catch (IOException) when (File.Exists(target))
            {
                return PutResult.AlreadyExists;
            }
        }

        if (Link(source, target) == 0) return PutResult.Created;
        var errno = Marshal.GetLastPInvokeError();
        if (errno == EEXIST) return PutResult.AlreadyExists;
        // No copy or overwrite fallback: a non-atomic publish would be a silent lost commit.
        throw new IOException(
            $"Atomic put-if-absent failed for '{target}': link(2) returned errno {errno}. " +
            "The file system must support hard links for safe commits.");
    }

    private const int EEXIST = 17;

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);
}
