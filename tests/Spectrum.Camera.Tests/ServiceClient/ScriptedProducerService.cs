using Spectrum.Camera.Frames;
using Spectrum.Camera.Protocol.Producer;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary>
/// The camera service's side of a camera VM's producer socket (protocol/producer.proto) on a
/// <see cref="ScriptedPeer{TIn,TOut}"/>: the handshake, demand changes acknowledged as the tests' barrier, rings passed
/// as memfds, and the frames the producer announces read back from them.
/// </summary>
internal sealed class ScriptedProducerService : ScriptedPeer<ProducerMessage, ServiceToProducer>
{
    private ulong _generation = 500;

    public ScriptedProducerService(string path, bool listen = true)
        : base(path, listen)
    {
    }

    /// <summary>Accepts, reads ProducerHello and answers ProducerWelcome; returns the hello.</summary>
    public ProducerHello Welcome(string vm = ClientHarness.VmName, string camera = "usb")
    {
        Accept();
        var hello = Expect(ProducerMessage.KindOneofCase.Hello).Hello;
        Send(new ServiceToProducer { Welcome = new ProducerWelcome { ProtocolVersion = 1, Vm = vm, Camera = camera } });
        return hello;
    }

    public ProducerMessage Expect(ProducerMessage.KindOneofCase kind)
    {
        var message = Receive() ?? throw new InvalidOperationException($"the sidecar closed the connection; expected {kind}");
        Assert.That(message.KindCase, Is.EqualTo(kind), message.ToString());
        return message;
    }

    /// <summary>
    /// Sends a Demand (<paramref name="demand"/>, or none wanted when null) and waits for its ack. The client handles
    /// messages in order and acks once the device has the demand, so everything sent before was handled: the tests'
    /// barrier. Returns the generation.
    /// </summary>
    public ulong SetDemand(FrameDemand? demand)
    {
        var generation = ++_generation;
        Send(new ServiceToProducer { Demand = DemandOf(generation, demand) });
        var ack = Expect(ProducerMessage.KindOneofCase.DemandAck).DemandAck;
        Assert.That(ack.Generation, Is.EqualTo(generation));
        return generation;
    }

    public static Demand DemandOf(ulong generation, FrameDemand? demand) => demand is null
        ? new Demand { Generation = generation }
        : new Demand
        {
            Generation = generation,
            Wanted = true,
            PixelFormat = demand.Format.PixelFormat,
            Width = demand.Format.Width,
            Height = demand.Format.Height,
            IntervalNumerator = demand.Rate.Numerator,
            IntervalDenominator = demand.Rate.Denominator,
        };

    /// <summary>Passes <paramref name="ring"/> (ProducerRing with its memfd) for frames of the ring's format.</summary>
    public void SendRing(ProducerRingMemory ring, FrameFormat? announcedFormat = null, uint? announcedFrameSize = null)
    {
        ArgumentNullException.ThrowIfNull(ring);
        var format = announcedFormat ?? ring.Format;
        Send(new ServiceToProducer
        {
            Ring = new ProducerRing
            {
                RingId = ring.Id,
                SlotCount = (uint)ring.Layout.SlotCount,
                SlotSize = (uint)ring.Layout.SlotSize,
                FrameSize = announcedFrameSize ?? (uint)ring.Layout.FrameSize,
                PixelFormat = format.PixelFormat,
                Width = format.Width,
                Height = format.Height,
            },
        }, ring.Fd);
    }

    /// <summary>The next ProducerFrame and the frame it announces, read from <paramref name="ring"/> (null if torn or stale).</summary>
    public (ProducerFrame Notice, byte[]? Frame) NextFrame(ProducerRingMemory ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        var notice = Expect(ProducerMessage.KindOneofCase.Frame).Frame;
        Assert.That(notice.RingId, Is.EqualTo(ring.Id), "announced in the ring it was written to");
        return (notice, ring.Read((int)notice.Slot, notice.Sequence));
    }
}
