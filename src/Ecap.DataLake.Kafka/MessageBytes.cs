using System.Buffers;
using Confluent.Kafka;

namespace Ecap.DataLake.Kafka;

/// <summary>
/// The bytes of one chunk of messages, copied out of librdkafka's buffers into one pooled array as they are consumed.
/// A byte[] per message (Confluent's byte deserializer) would be one allocation per message that then lives until
/// the chunk is converted, long enough to be promoted; one growing array per chunk is neither.
/// </summary>
internal sealed class MessageArena
{
    private const int InitialBytes = 1 << 20;
    private byte[]? _buffer = ArrayPool<byte>.Shared.Rent(InitialBytes);
    private int _used;

    public MessageSlice Append(ReadOnlySpan<byte> data)
    {
        var buffer = _buffer ?? throw new ObjectDisposedException(nameof(MessageArena));
        if (buffer.Length - _used < data.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, _used + data.Length));
            buffer.AsSpan(0, _used).CopyTo(bigger);
            ArrayPool<byte>.Shared.Return(buffer);
            _buffer = buffer = bigger;
        }
        data.CopyTo(buffer.AsSpan(_used));
        var slice = new MessageSlice(_used, data.Length);
        _used += data.Length;
        return slice;
    }

    /// <summary>The bytes of a slice (null for a null slice); valid until the arena is released.</summary>
    public ReadOnlyMemory<byte>? Get(MessageSlice slice) =>
        // The cast matters: a bare null would convert through byte[] to an empty, non-null ReadOnlyMemory (a tombstone read as "").
        slice.IsNull ? (ReadOnlyMemory<byte>?)null : (_buffer ?? throw new ObjectDisposedException(nameof(MessageArena))).AsMemory(slice.Start, slice.Length);

    /// <summary>Gives the array back to the pool; nothing may read the arena's slices afterwards.</summary>
    public void Release()
    {
        if (_buffer is { } b) ArrayPool<byte>.Shared.Return(b);
        _buffer = null;
    }
}

/// <summary>Where a message's key or value lies in its chunk's <see cref="MessageArena"/>; a length of -1 is a null.</summary>
internal readonly record struct MessageSlice(int Start, int Length)
{
    public static readonly MessageSlice Null = new(0, -1);

    public bool IsNull => Length < 0;
}

/// <summary>
/// Key and value deserializers that copy into the current chunk's arena (the consuming thread swaps the arena at chunk
/// boundaries). Keys are copied only when asked for (the metadata columns); otherwise they are skipped.
/// </summary>
internal sealed class ArenaDeserializers
{
    public ArenaDeserializers(bool keepKeys)
    {
        Keys = new Copy(this, keepKeys);
        Values = new Copy(this, true);
    }

    public MessageArena Arena { get; set; } = new();

    public IDeserializer<MessageSlice> Keys { get; }

    public IDeserializer<MessageSlice> Values { get; }

    private sealed class Copy(ArenaDeserializers owner, bool keep) : IDeserializer<MessageSlice>
    {
        public MessageSlice Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context) =>
            isNull || !keep ? MessageSlice.Null : owner.Arena.Append(data);
    }
}
