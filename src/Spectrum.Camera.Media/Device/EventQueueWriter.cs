using Spectrum.Camera.Media.Protocol;
using Spectrum.Camera.Native.Diagnostics;
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

    private readonly byte[] _slots = new byte[BacklogCapacity * VirtioMediaWire.EventDqbufSize];
    private readonly int[] _lengths = new int[BacklogCapacity];
    private readonly GuestRangeWriter _writer = new();
    private int _head;
    private int _count;

    public int Pending => _count;

    public bool IsFull => _count == BacklogCapacity;

    /// <summary>Reserves the next backlog slot (zeroed) for an event of <paramref name="length"/> bytes.</summary>
    public Span<byte> Reserve(int length)
    {
        if (IsFull)
        {
            throw new InvalidOperationException("event backlog is full");
        }

        var slot = (_head + _count) % BacklogCapacity;
        _lengths[slot] = length;
        _count++;
        var span = _slots.AsSpan(slot * VirtioMediaWire.EventDqbufSize, length);
        span.Clear();
        return span;
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
            var slot = _slots.AsSpan(from * VirtioMediaWire.EventDqbufSize, VirtioMediaWire.EventDqbufSize);
            if (Le.U32(slot, 4) == sessionId)
            {
                continue;
            }

            var to = (_head + kept) % BacklogCapacity;
            if (to != from)
            {
                slot.CopyTo(_slots.AsSpan(to * VirtioMediaWire.EventDqbufSize));
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
            var ok = _writer.Write(_slots.AsSpan(_head * VirtioMediaWire.EventDqbufSize, length));
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
