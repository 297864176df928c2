using Spectrum.Camera.Native;

namespace Spectrum.Camera.Protocol;

/// <summary>
/// The writing side of a frame ring: slots used round-robin, a frame written straight into
/// <see cref="BeginWrite"/>'s span, and each slot's seqlock kept so a reader can tell a torn copy.
/// </summary>
/// <remarks>
/// Two rings are written this way. The camera service's ring for sidecars (the constructor): a memfd it alone can
/// write, because the seals forbid new writable mappings, so sidecars can only map it read-only. And a camera VM's
/// producer ring (<see cref="Attach"/>): the service made that memfd for the producer sidecar, which writes the
/// camera VM's frames into it for the service to copy out (<see cref="ProducerFrameRing"/>).
/// </remarks>
public sealed class FrameRingWriter : IDisposable
{
    private readonly FdHandle? _fd;
    private readonly FrameRingSlots _slots;
    private int _nextSlot;
    private int _writing = -1;

    public FrameRingWriter(int slotCount, int frameSize)
    {
        var layout = FrameRingLayout.For(slotCount, frameSize);
        Id = FrameRingLayout.NextId();
        _fd = MemFd.CreateSealable($"spectrum-camera-ring-{Id}", (ulong)layout.TotalSize);
        MappedMemory? memory = null;
        try
        {
            memory = MappedMemory.MapShared(_fd, (ulong)layout.TotalSize);
            MemFd.AddSeals(_fd, MemFd.ReadOnlyForOthersSeals);
            _slots = new FrameRingSlots(memory, layout);
        }
        catch
        {
            memory?.Dispose();
            _fd.Dispose();
            throw;
        }
    }

    private FrameRingWriter(ulong id, FrameRingSlots slots)
    {
        Id = id;
        _slots = slots;
    }

    /// <summary>The ring's id (<c>ring_id</c>): process-unique for a ring made here, the service's for an attached one.</summary>
    public ulong Id { get; }

    public FrameRingLayout Layout => _slots.Layout;

    /// <summary>The memfd of a ring made here, passed to readers with SCM_RIGHTS.</summary>
    /// <exception cref="InvalidOperationException">The ring was attached: its memfd stays with whoever received it.</exception>
    public FdHandle Fd => _fd ?? throw new InvalidOperationException($"ring {Id} was attached, not made here: it has no memfd to pass on");

    /// <summary>Frames written so far.</summary>
    public ulong Written { get; private set; }

    /// <summary>
    /// The producer sidecar's side of a ProducerRing the service sent: maps <paramref name="fd"/> (which stays the
    /// caller's; the mapping outlives it) read-write after checking it is a memfd sealed against resizing (so the mapping can never fault) whose size
    /// matches the announced layout. Throws <see cref="ProtocolException"/> otherwise.
    /// </summary>
    public static FrameRingWriter Attach(ulong id, FdHandle fd, uint slotCount, uint slotSize, uint frameSize)
    {
        var layout = FrameRingLayout.Validate(id, fd, slotCount, slotSize, frameSize, MemFd.FixedSizeSeals, "resizing");
        return new FrameRingWriter(id, new FrameRingSlots(MappedMemory.MapShared(fd, (ulong)layout.TotalSize), layout));
    }

    /// <summary>Marks the next slot as being written (seqlock odd) and returns it with the frame bytes to fill.</summary>
    public Span<byte> BeginWrite(out int slot)
    {
        if (_writing >= 0)
        {
            throw new InvalidOperationException("a frame write is already in progress");
        }

        slot = _nextSlot;
        _nextSlot = (_nextSlot + 1) % Layout.SlotCount;
        _writing = slot;
        return _slots.BeginWrite(slot);
    }

    /// <summary>Publishes the frame written since <see cref="BeginWrite"/> (seqlock even again).</summary>
    public void EndWrite(ulong sequence, long timestampNs)
    {
        if (_writing < 0)
        {
            throw new InvalidOperationException("no frame write in progress");
        }

        _slots.EndWrite(_writing, sequence, timestampNs);
        _writing = -1;
        Written++;
    }

    /// <summary>Abandons the write begun by <see cref="BeginWrite"/> (conversion failed): the slot is left invalid.</summary>
    public void AbortWrite()
    {
        if (_writing < 0)
        {
            return;
        }

        _slots.AbortWrite(_writing);
        _writing = -1;
    }

    public void Dispose()
    {
        _slots.Dispose();
        _fd?.Dispose();
    }
}
