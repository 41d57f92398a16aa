using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tables.Changes;

/// <summary>
/// The source of a MERGE as it is applied: in memory when it fits the budget, else spilled to a local temporary folder and
/// split by key hash into parts that each fit (about half the budget), merged one part after another into the same
/// commit. A key's rows all land in one part, so each part is an exact merge of its keys (duplicates, matches and
/// not-matched-by-source deletes stay correct); the price is one more read of the target's keys per part. Parts are Arrow
/// IPC streams (read back once from local disk); the folder is deleted when the merge ends, however it ends.
/// </summary>
internal sealed class MergeInput : IDisposable
{
    private readonly List<RecordBatch>? _memory;
    private readonly string? _folder;

    private MergeInput(List<RecordBatch>? memory, string? folder, int parts)
    {
        _memory = memory;
        _folder = folder;
        Parts = parts;
    }

    /// <summary>Parts the source is split into (1: held in memory).</summary>
    public int Parts { get; }

    /// <summary>Reads <paramref name="source"/>: held while it fits <paramref name="budgetBytes"/>, else spilled (not for encrypted tables).</summary>
    public static async Task<MergeInput> LoadAsync(IAsyncEnumerable<RecordBatch> source, IReadOnlyList<string> keys, long budgetBytes, bool encrypted,
        string tableName, CancellationToken ct)
    {
        var memory = new List<RecordBatch>();
        long bytes = 0;
        await using var input = source.GetAsyncEnumerator(ct);
        while (await input.MoveNextAsync())
        {
            var batch = input.Current;
            bytes += ArrowSizes.Of(batch);
            memory.Add(batch);
            if (bytes <= budgetBytes) continue;
            if (encrypted)
                throw new DataLakeException(
                    $"The merge source exceeds the write buffer ({budgetBytes / (1024 * 1024)} MiB) and table '{tableName}' is encrypted, so it is not spilled " +
                    "to local disk in plaintext. Merge it in smaller parts, or raise DataLakeStorageOptions.WriteBufferBytes.");
            return await SpillAsync(memory, input, keys, budgetBytes, bytes, ct);
        }
        return new MergeInput(memory, null, 1);
    }

    private static async Task<MergeInput> SpillAsync(List<RecordBatch> held, IAsyncEnumerator<RecordBatch> rest, IReadOnlyList<string> keys, long budgetBytes,
        long bytes, CancellationToken ct)
    {
        // Named as compaction's spill folders (ecap-merge-<pid>-...), whose cleanup removes those of killed processes.
        var folder = Path.Combine(Path.GetTempPath(), $"ecap-merge-{Environment.ProcessId}-src{Guid.NewGuid().ToString("N")[..12]}");
        Directory.CreateDirectory(folder);
        try
        {
            // All of it into one stream first: the number of parts follows from the total size.
            var all = Path.Combine(folder, "all.arrows");
            var schema = held[0].Schema;
            await using (var file = File.Create(all))
            using (var writer = new ArrowStreamWriter(file, schema))
            {
                foreach (var b in held) await writer.WriteRecordBatchAsync(Same(b, schema), ct);
                held.Clear();
                while (await rest.MoveNextAsync())
                {
                    var b = rest.Current;
                    bytes += ArrowSizes.Of(b);
                    await writer.WriteRecordBatchAsync(Same(b, schema), ct);
                }
                await writer.WriteEndAsync(ct);
            }
            var parts = (int)Math.Clamp((bytes + budgetBytes / 2 - 1) / Math.Max(1, budgetBytes / 2), 2, 4096);
            var files = new FileStream[parts];
            var writers = new ArrowStreamWriter?[parts];
            try
            {
                for (var p = 0; p < parts; p++) files[p] = File.Create(PartPath(folder, p));
                await foreach (var batch in ReadAsync(all, ct))
                {
                    var keyColumns = keys.Select(k => batch.Column(batch.Schema.GetFieldIndex(k))).ToArray();
                    var partOfRow = new int[batch.Length];
                    for (var r = 0; r < batch.Length; r++) partOfRow[r] = MergeKey.Of(keyColumns, r) is { } key ? key.Part(parts) : 0;
                    var split = ArrowGather.Split(batch, partOfRow, parts);
                    for (var p = 0; p < parts; p++)
                    {
                        if (split[p] is not { } rowsOfPart) continue;
                        writers[p] ??= new ArrowStreamWriter(files[p], schema);
                        await writers[p]!.WriteRecordBatchAsync(rowsOfPart, ct);
                    }
                }
                for (var p = 0; p < parts; p++)
                    if (writers[p] is { } w) await w.WriteEndAsync(ct);
            }
            finally
            {
                foreach (var w in writers) w?.Dispose();
                foreach (var f in files) if (f is not null) await f.DisposeAsync();
            }
            File.Delete(all);
            return new MergeInput(null, folder, parts);
        }
        catch
        {
            try { Directory.Delete(folder, true); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>The rows of part <paramref name="part"/> (all of them when held in memory).</summary>
    public IAsyncEnumerable<RecordBatch> Part(int part) => _memory is not null ? _memory.ToAsyncEnumerable() : ReadPartAsync(part);

    private async IAsyncEnumerable<RecordBatch> ReadPartAsync(int part, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var path = PartPath(_folder!, part);
        if (new FileInfo(path).Length == 0) yield break; // no key of the source fell in this part
        await foreach (var batch in ReadAsync(path, ct)) yield return batch;
    }

    private static async IAsyncEnumerable<RecordBatch> ReadAsync(string path, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        using var reader = new ArrowStreamReader(file);
        while (await reader.ReadNextRecordBatchAsync(ct) is { } batch) yield return batch;
    }

    // Every batch of a stream has the first one's schema (MergeSource checks the columns match by name).
    private static RecordBatch Same(RecordBatch batch, Schema schema)
    {
        if (!batch.Schema.FieldsList.Select(f => f.Name).SequenceEqual(schema.FieldsList.Select(f => f.Name)))
            throw new SchemaMismatchException("The merge source's batches have different columns; give one schema.");
        return ReferenceEquals(batch.Schema, schema) ? batch : new RecordBatch(schema, Enumerable.Range(0, batch.ColumnCount).Select(batch.Column), batch.Length);
    }

    private static string PartPath(string folder, int part) => Path.Combine(folder, $"part-{part:D4}.arrows");

    public void Dispose()
    {
        if (_folder is not null)
            try { Directory.Delete(_folder, true); } catch (IOException) { }
    }
}
