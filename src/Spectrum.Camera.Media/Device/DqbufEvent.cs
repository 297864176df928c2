using Spectrum.Camera.Native;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>The EVT_DQBUF that hands a buffer back to the guest, for either direction.</summary>
internal static class DqbufEvent
{
    /// <summary>
    /// The event for <paramref name="buffer"/> of the queue's owner: its v4l2_buffer as DQBUF returns it (type of the
    /// device's queue, field NONE, a monotonic end-of-frame timestamp taken now, the guest's own m.userptr for USERPTR or
    /// m.offset and MAPPED for MMAP, and the length), zero planes. A failed frame carries V4L2_BUF_FLAG_ERROR.
    /// </summary>
    public static VirtioMediaDqbufEvent Of(DeviceState state, QueueBuffer buffer, uint sequence, uint bytesUsed, bool failed)
    {
        var now = MonotonicClock.NowNanoseconds();
        var mapped = buffer.Owned is { WindowMappings: > 0 } ? V4l2.BufFlagMapped : 0;
        return new VirtioMediaDqbufEvent
        {
            Header = new VirtioMediaEventHeader { Event = VirtioMediaWire.EventDqbuf, SessionId = state.Queue.Owner ?? 0 },
            Buffer = new V4l2Buffer
            {
                Index = buffer.Index,
                Type = state.BufferType,
                BytesUsed = bytesUsed,
                Flags = V4l2.BufFlagTimestampMonotonic | V4l2.BufFlagTstampSrcEof | mapped | (failed ? V4l2.BufFlagError : 0),
                Field = V4l2.FieldNone,
                TimestampSeconds = now / 1_000_000_000,
                TimestampMicroseconds = now % 1_000_000_000 / 1000,
                Sequence = sequence,
                Memory = buffer.Owned is null ? V4l2.MemoryUserPtr : V4l2.MemoryMmap,
                UserPtr = buffer.Owned is null ? buffer.UserPtr : buffer.MemOffset,
                Length = buffer.Length,
            },
        };
    }
}
