using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace Ecap.DataLake.Arrow;

/// <summary>
/// Runs a producer of batches ahead of its consumer by a bounded number of items, so that decoding the
/// next batch (a file read, a parse) overlaps with work on the current one (partitioning, encoding).
/// </summary>
internal static class Prefetch
{
    public static async IAsyncEnumerable<T> Ahead<T>(this IAsyncEnumerable<T> source, int count,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(count) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var producer = Task.Run(async () =>
        {
            try
            {
                await foreach (var item in source.WithCancellation(stop.Token)) await channel.Writer.WriteAsync(item, stop.Token);
                channel.Writer.Complete();
            }
            catch (Exception e)
            {
                channel.Writer.Complete(e);
            }
        }, CancellationToken.None);
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(ct)) yield return item;
        }
        finally
        {
            // The consumer stopped early or failed: stop the producer and wait for it to let go of the source.
            await stop.CancelAsync();
            await producer;
        }
    }
}
