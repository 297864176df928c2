using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.VhostUser;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Sends events on the eventq. An eventq buffer is popped only when an event is ready (so a VM stop never strands a
/// popped buffer), and events wait in a bounded, preallocated backlog while the driver has none posted. A full
/// backlog refuses new events; the streamer then drops the frame, which the guest sees as a sequence gap.
/// </summary>
internal sealed class EventQueueWriter
{
    /// <summary>Backlog capacity: two seconds of 30 fps, far more than a driver with 16 posted buffers needs.</summary>
    public const int BacklogCapacity = 64;

    /// <summary>Bytes of a backlog slot: the largest event, EVT_DQBUF.</summary>
    private static readonly int SlotSize = WireStruct.SizeOf<VirtioMediaDqbufEvent>();

    private readonly byte[] _slots = new byte[BacklogCapacity * SlotSize];
    private readonly int[] _lengths = new int[BacklogCapacity];
    private readonly GuestRangeWriter _writer = new();
    private int _head;
    private int _count;

    public int Pending => _count;

    public bool IsFull => _count == BacklogCapacity;

    /// <summary>Appends <paramref name="e"/>, an event structure that starts with its header, to the backlog.</summary>
    public void Enqueue<T>(in T e)
        where T : unmanaged
    {
        var length = WireStruct.SizeOf<T>();
        if (IsFull || length > SlotSize)
        {
            throw new InvalidOperationException(IsFull ? "event backlog is full" : $"an event of {length} bytes does not fit a slot");
        }

        var slot = (_head + _count) % BacklogCapacity;
        _lengths[slot] = length;
        _count++;
        WireStruct.Write(_slots.AsSpan(slot * SlotSize, length), in e);
    }

    /// <summary>Drops every queued event (device reset).</summary>
    public void Clear() => _count = 0;

    /// <summary>
    /// Drops the queued events of <paramref name="sessionId"/> and keeps the others in order. STREAMOFF and the owner's
    /// CLOSE use it: a frame whose EVT_DQBUF has not reached the driver belongs to no stream any more, and delivering it
    /// later would hand the application a buffer it already got back (or a buffer of a closed session).
    /// </summary>
    public void Discard(uint sessionId)
    {
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            var from = (_head + i) % BacklogCapacity;
            var slot = _slots.AsSpan(from * SlotSize, SlotSize);
            if (WireStruct.Read<VirtioMediaEventHeader>(slot).SessionId == sessionId)
            {
                continue;
            }

            var to = (_head + kept) % BacklogCapacity;
            if (to != from)
            {
                slot.CopyTo(_slots.AsSpan(to * SlotSize));
                _lengths[to] = _lengths[from];
            }

            kept++;
        }

        _count = kept;
    }

    /// <summary>Writes as many pending events as the driver has buffers for, then notifies it once.</summary>
    public void Flush(DeviceQueue? eventq)
    {
        if (eventq is null || eventq.IsBroken)
        {
            return;
        }

        var sent = false;
        while (_count > 0)
        {
            if (eventq.TryPop(out var chain) != QueuePopResult.Chain)
            {
                // Out of driver buffers with events waiting: ask for a kick when it posts more (EVENT_IDX re-arm);
                // if some arrived meanwhile, keep going.
                if (eventq.IsBroken || !eventq.EnableNotification())
                {
                    break;
                }

                continue;
            }

            var length = _lengths[_head];
            if (chain!.WritableLength < length)
            {
                // A buffer too small for the event: hand it back empty and keep the event for the next one.
                Log.GuestFault("virtio-media", "event-buffer-small",
                    $"eventq buffer of {chain.WritableLength} bytes is smaller than a {length}-byte event; returned unused");
                eventq.Complete(chain, 0);
                sent = true;
                continue;
            }

            chain.OpenWritable(eventq.Memory, _writer);
            var ok = _writer.Write(_slots.AsSpan(_head * SlotSize, length));
            eventq.Complete(chain, ok ? (uint)length : 0);
            sent = true;
            if (ok)
            {
                _head = (_head + 1) % BacklogCapacity;
                _count--;
            }
        }

        if (sent)
        {
            eventq.NotifyIfNeeded();
        }
    }
}
