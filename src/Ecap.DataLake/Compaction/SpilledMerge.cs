using System.Runtime.CompilerServices;
using Apache.Arrow;
using Ecap.DataLake.Delta;
using Ecap.DataLake.Parquet;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Compaction;

/// <summary>
/// A sorted merge of more overlapping files than may be open at once (an external merge sort): groups of at most
/// <c>fanIn</c> files are merged into sorted run files in a local temporary folder, then the runs are merged (again in
/// groups while there are more than <c>fanIn</c>). So a compaction's output reaches its target size however many inputs
/// overlap (appends with random keys such as session ids overlap all), at the price of writing and reading the rows once
/// more per extra level. Runs are written with the table's encryption (nothing lands in plaintext) and without
/// compression; the folder is deleted when the merge ends, however it ends.
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

        var folder = Path.Combine(tempDirectory ?? Path.GetTempPath(), "ecap-merge-" + Guid.NewGuid().ToString("N")[..12]);
        var temp = new LocalObjectStore(folder);
        var runOptions = new ParquetWriteOptions
        {
            Codec = ParquetCodec.None, // read back once, from local disk: compressing would only cost CPU
            TargetFileSizeBytes = long.MaxValue,
            Encryption = tableFiles.Encryption,
            Keys = tableFiles.Keys,
        };
        try
        {
            var source = store;
            var level = files;
            var runs = 0;
            while (SortedMerge.OverlapDepth(level, keys, fileSchema, statsSchema) > fanIn)
            {
                var next = new List<AddFile>();
                // Groups of equal size, in key order, so each run covers a range of its own where the keys allow.
                var groups = (level.Count + fanIn - 1) / fanIn;
                for (var g = 0; g < groups; g++)
                {
                    var group = level.Skip(g * level.Count / groups).Take((g + 1) * level.Count / groups - g * level.Count / groups).ToList();
                    var name = $"run-{runs++:D5}.parquet";
                    var written = await ParquetDataWriter.WriteAllAsync(temp, fileSchema,
                        SortedMerge.MergeAsync(source, group, fileSchema, keys, batchRows, ct, statsSchema, decryptionKeys: tableFiles.Keys),
                        _ => name, runOptions, ct);
                    next.AddRange(written.Select(w => new AddFile
                    {
                        Path = AddFile.EncodePath(w.Key), PartitionValues = new Dictionary<string, string?>(), Size = w.SizeBytes,
                        ModificationTime = 0, DataChange = false, Stats = w.Stats.ToJson(),
                    }));
                    // A run read into the next level is not needed again.
                    if (ReferenceEquals(source, temp))
                        foreach (var f in group) await temp.DeleteAsync(f.ObjectKey, ct);
                }
                source = temp;
                level = next;
            }
            await foreach (var batch in SortedMerge.MergeAsync(source, level, fileSchema, keys, batchRows, ct, statsSchema, decryptionKeys: tableFiles.Keys))
                yield return batch;
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (DirectoryNotFoundException) { }
        }
    }
}
