using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary>
/// A producer's frame ring as the scripted service passes it: the camera service's own <see cref="ProducerFrameRing"/>
/// (what the producer writes is read back through its seqlock check), or, from <see cref="Misfit"/>, a memfd sealed
/// or sized otherwise, for the producer to refuse.
/// </summary>
internal sealed class ProducerRingMemory : IDisposable
{
    private static ulong s_nextMisfitId = 1UL << 40;
    private readonly ProducerFrameRing? _ring;

    public ProducerRingMemory(FrameFormat format, int slots = 4)
    {
        _ring = new ProducerFrameRing(slots, (int)format.SizeImage);
        Format = format;
        Layout = _ring.Layout;
        Id = _ring.Id;
        Fd = _ring.Fd;
    }

    private ProducerRingMemory(FrameFormat format, int slots, int seals, long extraBytes)
    {
        Format = format;
        Layout = FrameRingLayout.For(slots, (int)format.SizeImage);
        Id = Interlocked.Increment(ref s_nextMisfitId);
        Fd = MemFd.CreateSealable($"test-producer-ring-{Id}", (ulong)(Layout.TotalSize + extraBytes));
        MemFd.AddSeals(Fd, seals);
    }

    public ulong Id { get; }

    public FrameFormat Format { get; }

    public FrameRingLayout Layout { get; }

    public FdHandle Fd { get; }

    /// <summary>A memfd announced with <paramref name="format"/>'s layout but carrying <paramref name="seals"/> and <paramref name="extraBytes"/> more.</summary>
    public static ProducerRingMemory Misfit(FrameFormat format, int slots, int seals, long extraBytes) => new(format, slots, seals, extraBytes);

    /// <summary>
    /// The frame in <paramref name="slot"/> if the slot holds <paramref name="sequence"/> whole (as the service copies
    /// it out); null otherwise.
    /// </summary>
    public byte[]? Read(int slot, ulong sequence)
    {
        var ring = _ring ?? throw new InvalidOperationException("a misfit ring is never written");
        var sink = new MemoryFrameSink(Layout.FrameSize);
        return ring.CopyFrame(slot, sequence, sink) == RingReadResult.Copied ? sink.WrittenMemory.ToArray() : null;
    }

    public void Dispose()
    {
        if (_ring is not null)
        {
            _ring.Dispose();
        }
        else
        {
            Fd.Dispose();
        }
    }
}
