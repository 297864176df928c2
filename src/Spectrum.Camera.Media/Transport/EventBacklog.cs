using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Transport;

/// <summary>
/// Events waiting for an eventq buffer: a bounded, preallocated FIFO of event bytes. An event waits here while the
/// driver has no buffer posted; a full backlog refuses new events (the streamer then drops the frame, which the guest
/// sees as a sequence gap). Pure storage: the transport writes the events out.
/// </summary>
internal sealed class EventBacklog
{
    /// <summary>Capacity: two seconds of 30 fps, far more than a driver with 16 posted buffers needs.</summary>
    public const int Capacity = 64;

    /// <summary>Bytes of a slot: the largest event, EVT_DQBUF.</summary>
    private static readonly int SlotSize = WireStruct.SizeOf<VirtioMediaDqbufEvent>();

    private readonly byte[] _slots = new byte[Capacity * SlotSize];
    private readonly int[] _lengths = new int[Capacity];
    private int _head;
    private int _count;

    public bool IsFull => _count == Capacity;

    /// <summary>Appends <paramref name="e"/>, an event structure that starts with its header.</summary>
    public void Enqueue<T>(in T e)
        where T : unmanaged
    {
        var length = WireStruct.SizeOf<T>();
        if (IsFull || length > SlotSize)
        {
            throw new InvalidOperationException(IsFull ? "event backlog is full" : $"an event of {length} bytes does not fit a slot");
        }

        var slot = (_head + _count) % Capacity;
        _lengths[slot] = length;
        _count++;
        WireStruct.Write(_slots.AsSpan(slot * SlotSize, length), in e);
    }

    /// <summary>The oldest event's bytes, if there is one.</summary>
    public bool TryPeek(out ReadOnlySpan<byte> e)
    {
        e = _count == 0 ? default : _slots.AsSpan(_head * SlotSize, _lengths[_head]);
        return _count > 0;
    }

    /// <summary>Removes the oldest event (it was delivered).</summary>
    public void Dequeue()
    {
        if (_count == 0)
        {
            throw new InvalidOperationException("event backlog is empty");
        }

        _head = (_head + 1) % Capacity;
        _count--;
    }

    /// <summary>Drops every event.</summary>
    public void Clear() => _count = 0;

    /// <summary>
    /// Drops the events of <paramref name="sessionId"/> (only those of type <paramref name="eventType"/> when it is
    /// given), keeps the others in order; returns how many it dropped.
    /// </summary>
    public int Discard(uint sessionId, uint? eventType = null)
    {
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            var from = (_head + i) % Capacity;
            var slot = _slots.AsSpan(from * SlotSize, SlotSize);
            var header = WireStruct.Read<VirtioMediaEventHeader>(slot);
            if (header.SessionId == sessionId && (eventType is null || header.Event == eventType))
            {
                continue;
            }

            var to = (_head + kept) % Capacity;
            if (to != from)
            {
                slot.CopyTo(_slots.AsSpan(to * SlotSize));
                _lengths[to] = _lengths[from];
            }

            kept++;
        }

        var dropped = _count - kept;
        _count = kept;
        return dropped;
    }
}
