using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Protocol;

/// <summary>
/// The camera service's side of a camera VM's frame ring (protocol/producer.proto, ProducerRing). The service makes
/// the memfd for the stream format the producer announced and seals it against resizing and further seals, so neither
/// side's mapping can ever fault and the producer cannot take the service's mapping away; it keeps a read-only
/// mapping and passes the fd to the producer sidecar, which maps it read-write and writes each frame with the slot
/// seqlock (<see cref="FrameRingWriter.Attach"/>).
/// </summary>
/// <remarks>
/// The producer is untrusted and may write any byte at any time. So each announced frame is copied out once, with the
/// seqlock check around the copy, into the service's own memory, and only that copy is converted; a copy the producer
/// overwrote meanwhile is reported <see cref="RingReadResult.Torn"/> and dropped by the caller.
/// </remarks>
public sealed class ProducerFrameRing : IDisposable
{
    private readonly FdHandle _fd;
    private readonly FrameRingSlots _slots;

    /// <summary>A ring of <paramref name="slotCount"/> slots for frames of exactly <paramref name="frameSize"/> bytes.</summary>
    public ProducerFrameRing(int slotCount, int frameSize)
    {
        var layout = FrameRingLayout.For(slotCount, frameSize);
        Id = FrameRingLayout.NextId();
        _fd = MemFd.CreateSealable($"spectrum-camera-producer-ring-{Id}", (ulong)layout.TotalSize);
        try
        {
            MemFd.AddSeals(_fd, MemFd.FixedSizeSeals);
            _slots = new FrameRingSlots(MappedMemory.MapShared(_fd, (ulong)layout.TotalSize, writable: false), layout);
        }
        catch
        {
            _fd.Dispose();
            throw;
        }
    }

    /// <summary>Process-unique id, sent as <c>ring_id</c>; a frame announced for another id is not of this ring.</summary>
    public ulong Id { get; }

    public FrameRingLayout Layout => _slots.Layout;

    /// <summary>The memfd to pass to the producer (SCM_RIGHTS).</summary>
    public FdHandle Fd => _fd;

    /// <summary>
    /// Copies the frame announced as <paramref name="sequence"/> in <paramref name="slot"/> into
    /// <paramref name="sink"/>: <see cref="RingReadResult.Copied"/> only when the slot held exactly that frame, whole,
    /// from before the copy began until after it ended.
    /// </summary>
    public RingReadResult CopyFrame(int slot, ulong sequence, IFrameSink sink) => _slots.Read(slot, sequence, sink);

    public void Dispose()
    {
        _slots.Dispose();
        _fd.Dispose();
    }
}
