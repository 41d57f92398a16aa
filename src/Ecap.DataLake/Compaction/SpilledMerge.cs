using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// A sorted merge of more overlapping files than may be open at once (an external merge sort): groups of at most
/// <c>fanIn</c> files are merged into sorted run files in a local temporary folder, then the runs are merged (again in
/// groups while more than <c>fanIn</c> overlap). So a compaction's output reaches its target size however many inputs
/// overlap (appends with random keys such as session ids overlap all), at the price of writing and reading the rows once
/// more per extra level. Runs are Arrow IPC streams (no encoding: read back once, from local disk), or for an encrypted
/// table Parquet with the table's encryption, so nothing lands in plaintext; the folder is deleted when the merge ends,
/// however it ends.
/// </summary>
internal static class SpilledMerge
{
    public static async IAsyncEnumerable<RecordBatch> MergeAsync(IObjectStore store, IReadOnlyList<AddFile> files, Schema fileSchema,
        IReadOnlyList<SortKey> keys, int batchRows, int fanIn, Schema statsSchema, TableFiles tableFiles,
        [EnumeratorCancellation] CancellationToken ct, string? tempDirectory = null)
    {
        if (fanIn < 2) throw new InvalidInputException($"The merge fan-in must be at least 2 (got {fanIn}).");
        if (keys.Count == 0 || SortedMerge.OverlapDepth(files, keys, fileSchema, statsSchema) <= fanIn)
        {
            await foreach (var batch in SortedMerge.MergeAsync(store, files, fileSchema, keys, batchRows, ct, statsSchema, decryptionKeys: tableFiles.Keys))
                yield return batch;
            yield break;
        }

        // The pid in the name lets the next compaction remove the folder of a process that was killed (RemoveStaleFolders).
        var folder = Path.Combine(tempDirectory ?? Path.GetTempPath(), $"{FolderPrefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(folder);
        var runs = new RunFiles(folder, fileSchema, tableFiles);
        try
        {
            IReadOnlyList<AddFile> level = files;
            var fromRuns = false;
            // The inputs overlap more than the fan-in (checked above); runs carry no stats, so each counts as overlapping all others.
            do
            {
                // Runs are merged on every core at once (no encoder runs meanwhile), the fan-in shared between them, so
                // the inputs open at once stay within it.
                var parallel = Math.Clamp(Environment.ProcessorCount, 1, Math.Max(1, fanIn / 2));
                var groupFanIn = Math.Max(2, fanIn / parallel);
                // Groups of equal size, in key order, so each run covers a range of its own where the keys allow.
                var groups = (level.Count + groupFanIn - 1) / groupFanIn;
                var next = new AddFile[groups];
                var current = level;
                var readRuns = fromRuns;
                await Parallel.ForAsync(0, groups, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = ct }, async (g, token) =>
                {
                    var group = current.Skip(g * current.Count / groups).Take((g + 1) * current.Count / groups - g * current.Count / groups).ToList();
                    var merged = readRuns
                        ? SortedMerge.MergeAsync(store, group, fileSchema, keys, batchRows, token, outputRows: RunFiles.RunBatchRows, open: runs.Read)
                        : SortedMerge.MergeAsync(store, group, fileSchema, keys, batchRows, token, statsSchema, RunFiles.RunBatchRows, tableFiles.Keys);
                    try
                    {
                        next[g] = await runs.WriteAsync(merged, token);
                    }
                    catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
                    {
                        throw new DataLakeException($"Writing a sorted run to {folder} failed ({e.Message}). Runs need about the decoded size " +
                                                    "of a bin of overlapping files; free space there or choose another folder (CompactOptions.TempDirectory, CLI --temp-dir).", e);
                    }
                    // A run read into the next level is not needed again.
                    if (readRuns)
                        foreach (var f in group) File.Delete(Path.Combine(folder, f.Path));
                });
                level = next;
                fromRuns = true;
            }
            while (level.Count > fanIn);
            await foreach (var batch in SortedMerge.MergeAsync(store, level, fileSchema, keys, batchRows, ct, open: runs.Read))
                yield return batch;
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (DirectoryNotFoundException) { }
        }
    }

    private const string FolderPrefix = "ecap-merge-";

    /// <summary>
    /// Deletes the spill folders of merges whose process is gone (killed: its finally never ran). A folder of a live
    /// process is kept (a pid reused by another process only delays the cleanup); a folder without a pid (older
    /// versions) is removed once a day old. Returns how many were removed; failures are left for the next time.
    /// </summary>
    public static int RemoveStaleFolders(string? tempDirectory = null, DateTimeOffset? now = null)
    {
        var root = tempDirectory ?? Path.GetTempPath();
        var removed = 0;
        string[] folders;
        try { folders = Directory.GetDirectories(root, FolderPrefix + "*"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
        foreach (var folder in folders)
        {
            var rest = Path.GetFileName(folder)[FolderPrefix.Length..];
            var dash = rest.IndexOf('-');
            var stale = dash > 0 && int.TryParse(rest[..dash], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid)
                ? !IsRunning(pid)
                : Directory.GetLastWriteTimeUtc(folder) < (now ?? DateTimeOffset.UtcNow).UtcDateTime - TimeSpan.FromDays(1);
            if (!stale) continue;
            try
            {
                Directory.Delete(folder, recursive: true);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return removed;
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException) { return false; } // no such process
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>The run files of one merge: written and read by name inside the merge's folder.</summary>
    private sealed class RunFiles(string folder, Schema schema, TableFiles tableFiles)
    {
        /// <summary>Rows per batch of a run: the runs' batches read back together stay small.</summary>
        public const int RunBatchRows = 16 * 1024;

        private readonly LocalObjectStore _store = new(folder);
        private int _count;

        private bool Encrypted => tableFiles.Encryption is not null;

        public async Task<AddFile> WriteAsync(IAsyncEnumerable<RecordBatch> batches, CancellationToken ct)
        {
            var name = $"run-{Interlocked.Increment(ref _count) - 1:D5}" + (Encrypted ? ".parquet" : ".arrows");
            if (Encrypted)
            {
                await ParquetDataWriter.WriteAllAsync(_store, schema, batches, _ => name, new ParquetWriteOptions
                {
                    Codec = ParquetCodec.None, TargetFileSizeBytes = long.MaxValue, UseThreads = false, Encryption = tableFiles.Encryption, Keys = tableFiles.Keys,
                }, ct);
            }
            else
            {
                await using var file = new FileStream(Path.Combine(folder, name), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, useAsync: false);
                using var writer = new ArrowStreamWriter(file, schema);
                await foreach (var batch in batches.WithCancellation(ct))
                {
                    // The merge's batches carry the file schema's fields (nullability may differ): present them under it.
                    // Written in slices, so the runs' batches read back together stay small whatever a round emitted.
                    var whole = new RecordBatch(schema, batch.Arrays, batch.Length);
                    for (var offset = 0; offset < whole.Length; offset += RunBatchRows)
                        await writer.WriteRecordBatchAsync(offset == 0 && whole.Length <= RunBatchRows ? whole : whole.Slice(offset, Math.Min(RunBatchRows, whole.Length - offset)), ct);
                }
                await writer.WriteEndAsync(ct);
            }
            // A handle for the merge: no stats (no key range), so runs are opened together.
            return new AddFile { Path = name, Size = new FileInfo(Path.Combine(folder, name)).Length, ModificationTime = 0, DataChange = false };
        }

        public IAsyncEnumerable<RecordBatch> Read(AddFile run, CancellationToken ct) => Encrypted
            ? ParquetDataReader.ReadAsync(_store, run.Path, new ParquetReadOptions { TableSchema = schema, UseThreads = false, DecryptionKeys = tableFiles.Keys }, ct: ct)
            : ReadIpcAsync(Path.Combine(folder, run.Path), ct);

        private static async IAsyncEnumerable<RecordBatch> ReadIpcAsync(string path, [EnumeratorCancellation] CancellationToken ct)
        {
            await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, useAsync: false);
            using var reader = new ArrowStreamReader(file);
            while (await reader.ReadNextRecordBatchAsync(ct) is { } batch) yield return batch;
        }
    }
}
