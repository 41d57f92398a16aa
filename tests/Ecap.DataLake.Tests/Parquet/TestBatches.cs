using Apache.Arrow;
using Apache.Arrow.Types;
using Ecap.DataLake.Storage;

namespace Ecap.DataLake.Tests.Parquet;

/// <summary>Deterministic record batches with many column types and nulls, for Parquet tests.</summary>
internal static class TestBatches
{
    public static readonly TimestampType Ts = new(TimeUnit.Microsecond, "UTC");
    public static readonly Decimal128Type Dec = new(18, 4);

    public static readonly StructType Point = new([
        new Field("x", Int64Type.Default, true),
        new Field("label", StringType.Default, true),
    ]);

    public static Schema Schema { get; } = new Schema.Builder()
        .Field(new Field("id", Int64Type.Default, false))
        .Field(new Field("ts", Ts, true))
        .Field(new Field("name", StringType.Default, true))
        .Field(new Field("status", StringType.Default, true))
        .Field(new Field("amount", DoubleType.Default, true))
        .Field(new Field("price", Dec, true))
        .Field(new Field("day", Date32Type.Default, true))
        .Field(new Field("flag", BooleanType.Default, true))
        .Field(new Field("small", Int32Type.Default, true))
        .Field(new Field("tiny", Int8Type.Default, true))
        .Field(new Field("ratio", FloatType.Default, true))
        .Field(new Field("payload", BinaryType.Default, true))
        .Field(new Field("point", Point, true))
        .Build();

    public static readonly string[] Statuses = ["paid", "shipped", "new", "cancelled"];

    /// <summary>Base timestamp: 2024-01-02T03:04:05Z in microseconds.</summary>
    public const long BaseMicros = 1_704_164_645_000_000L;

    public static long TsOf(long id) => BaseMicros + id * 1_000_123L + 7; // sub-millisecond micros on purpose
    public static bool TsNull(long id) => id % 7 == 3;
    public static bool NameNull(long id) => id % 11 == 5;
    public static string NameOf(long id) => "name-" + (id * 7919 % 100_003).ToString("D6");
    public static bool AmountNull(long id) => id % 13 == 2;
    public static double AmountOf(long id) => (id % 1000) * 1.25 - 300;
    public static bool PriceNull(long id) => id % 17 == 4;
    public static decimal PriceOf(long id) => (id % 5000 - 2500) * 1.0001m;
    public static int DayOf(long id) => 19_700 + (int)(id % 400);
    public static bool? FlagOf(long id) => id % 5 == 0 ? null : id % 2 == 0;
    public static int? SmallOf(long id) => id % 19 == 0 ? null : (int)(id % 10_000) - 5000;

    public static RecordBatch Make(long start, int count)
    {
        var id = new Int64Array.Builder();
        var ts = new TimestampArray.Builder(Ts);
        var name = new StringArray.Builder();
        var status = new StringArray.Builder();
        var amount = new DoubleArray.Builder();
        var price = new Decimal128Array.Builder(Dec);
        var day = new Date32Array.Builder();
        var flag = new BooleanArray.Builder();
        var small = new Int32Array.Builder();
        var tiny = new Int8Array.Builder();
        var ratio = new FloatArray.Builder();
        var payload = new BinaryArray.Builder();
        var px = new Int64Array.Builder();
        var plabel = new StringArray.Builder();
        var pointValid = new ArrowBuffer.BitmapBuilder();
        var pointNulls = 0;
        for (var i = 0; i < count; i++)
        {
            var k = start + i;
            id.Append(k);
            if (TsNull(k)) ts.AppendNull(); else ts.Append(DateTimeOffset.UnixEpoch.AddTicks(TsOf(k) * 10));
            if (NameNull(k)) name.AppendNull(); else name.Append(NameOf(k));
            status.Append(Statuses[k % Statuses.Length]);
            if (AmountNull(k)) amount.AppendNull(); else amount.Append(AmountOf(k));
            if (PriceNull(k)) price.AppendNull(); else price.Append(PriceOf(k));
            day.Append(DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + DayOf(k)));
            if (FlagOf(k) is { } f) flag.Append(f); else flag.AppendNull();
            if (SmallOf(k) is { } s) small.Append(s); else small.AppendNull();
            if (k % 3 == 0) tiny.AppendNull(); else tiny.Append((sbyte)(k % 100));
            ratio.Append((float)(k % 100) / 8f);
            if (k % 4 == 0) payload.AppendNull(); else payload.Append(BitConverter.GetBytes(k).AsSpan());
            var pointNull = k % 9 == 1;
            pointValid.Append(!pointNull);
            if (pointNull) pointNulls++;
            px.Append(k * 2);
            if (k % 2 == 0) plabel.AppendNull(); else plabel.Append("p" + k);
        }
        var pointArray = new StructArray(Point, count, [px.Build(), plabel.Build()], pointValid.Build(), pointNulls);
        return new RecordBatch(Schema, [
            id.Build(), ts.Build(), name.Build(), status.Build(), amount.Build(), price.Build(), day.Build(), flag.Build(),
            small.Build(), tiny.Build(), ratio.Build(), payload.Build(), pointArray,
        ], count);
    }

    public static async IAsyncEnumerable<RecordBatch> Stream(long rows, int batchSize)
    {
        for (long s = 0; s < rows; s += batchSize)
        {
            yield return Make(s, (int)Math.Min(batchSize, rows - s));
            await Task.Yield();
        }
    }
}

/// <summary>A store that hides local paths, so the stream-based write and read paths get exercised; counts open read streams.</summary>
internal sealed class StreamOnlyStore(IObjectStore inner) : IObjectStore
{
    private int _openReads;
    private int _maxOpenReads;

    /// <summary>The most read streams open at one time so far.</summary>
    public int MaxOpenReads => Volatile.Read(ref _maxOpenReads);

    public async Task<Stream> OpenReadAsync(string key, CancellationToken ct = default)
    {
        var stream = await inner.OpenReadAsync(key, ct);
        var open = Interlocked.Increment(ref _openReads);
        int max;
        while (open > (max = Volatile.Read(ref _maxOpenReads)) && Interlocked.CompareExchange(ref _maxOpenReads, open, max) != max) { }
        return new ClosingStream(stream, () => Interlocked.Decrement(ref _openReads));
    }

    public string Location => inner.Location;
    public IObjectStore Child(string prefix) => new StreamOnlyStore(inner.Child(prefix));
    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken ct = default) => inner.ListAsync(prefix, ct);
    public IAsyncEnumerable<string> ListPrefixesAsync(string prefix, CancellationToken ct = default) => inner.ListPrefixesAsync(prefix, ct);
    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken ct = default) => inner.HeadAsync(key, ct);
    public Task<byte[]> ReadAllAsync(string key, CancellationToken ct = default) => inner.ReadAllAsync(key, ct);
    public Task<byte[]> ReadRangeAsync(string key, long offset, int length, CancellationToken ct = default) => inner.ReadRangeAsync(key, offset, length, ct);
    public Task WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.WriteAsync(key, data, ct);
    public Task<Stream> OpenWriteAsync(string key, CancellationToken ct = default) => inner.OpenWriteAsync(key, ct);
    public Task<PutResult> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct = default) => inner.PutIfAbsentAsync(key, data, ct);
    public Task DeleteAsync(string key, CancellationToken ct = default) => inner.DeleteAsync(key, ct);
    public string? TryGetLocalPath(string key) => null;
}

/// <summary>A read stream that reports its disposal (once).</summary>
internal sealed class ClosingStream(Stream inner, Action closed) : Stream
{
    private int _closed;
    public override bool CanRead => inner.CanRead;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => inner.Position = value; }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _closed, 1) == 0)
        {
            inner.Dispose();
            closed();
        }
        base.Dispose(disposing);
    }
}
