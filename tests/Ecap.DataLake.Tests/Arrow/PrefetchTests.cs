using Ecap.DataLake.Arrow;

namespace Ecap.DataLake.Tests.Arrow;

public class PrefetchTests
{
    private static async IAsyncEnumerable<int> Numbers(int count, Action<int>? produced = null, int failAt = -1)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            if (i == failAt) throw new IOException($"source failed at {i}");
            produced?.Invoke(i);
            yield return i;
        }
    }

    [Fact]
    public async Task Items_arrive_in_order_and_complete()
    {
        var seen = new List<int>();
        await foreach (var i in Numbers(100).Ahead(2)) seen.Add(i);
        Assert.Equal(Enumerable.Range(0, 100), seen);
    }

    [Fact]
    public async Task The_producer_runs_at_most_a_bounded_number_of_items_ahead()
    {
        var produced = 0;
        await foreach (var i in Numbers(100, _ => Interlocked.Increment(ref produced)).Ahead(2))
        {
            if (i == 10)
            {
                await Task.Delay(100); // give the producer time to run ahead as far as it may
                Assert.InRange(Volatile.Read(ref produced), 11, 11 + 2 + 1);
                break;
            }
        }
    }

    [Fact]
    public async Task A_source_failure_reaches_the_consumer()
    {
        var seen = new List<int>();
        var e = await Assert.ThrowsAsync<IOException>(async () => { await foreach (var i in Numbers(10, failAt: 5).Ahead(2)) seen.Add(i); });
        Assert.Contains("failed at 5", e.Message);
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, seen);
    }
}
