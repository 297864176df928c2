using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Core;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary>
/// The camera service's side of one VM socket (protocol/camera_service.proto) on a <see cref="ScriptedPeer{TIn,TOut}"/>:
/// the handshake, permission changes acknowledged as the tests' barrier, and rings passed as memfds.
/// </summary>
internal sealed class ScriptedService : ScriptedPeer<SidecarMessage, ServiceMessage>
{
    private ulong _generation = 100;

    public ScriptedService(string path, bool listen = true)
        : base(path, listen)
    {
    }

    /// <summary>Accepts, reads Hello and answers Welcome; returns the Hello.</summary>
    public Hello Welcome(bool allowed, string vm = ClientHarness.VmName)
    {
        Accept();
        var hello = Expect(SidecarMessage.KindOneofCase.Hello).Hello;
        Send(new ServiceMessage { Welcome = new Welcome { ProtocolVersion = 1, Vm = vm, Allowed = allowed, Generation = _generation } });
        return hello;
    }

    /// <summary>The next message; <see cref="StreamCounters"/> reports are skipped unless that is what is expected.</summary>
    public SidecarMessage Expect(SidecarMessage.KindOneofCase kind)
    {
        while (true)
        {
            var message = Receive() ?? throw new InvalidOperationException($"the sidecar closed the connection; expected {kind}");
            if (message.KindCase == SidecarMessage.KindOneofCase.Counters && kind != SidecarMessage.KindOneofCase.Counters)
            {
                continue;
            }

            Assert.That(message.KindCase, Is.EqualTo(kind), message.ToString());
            return message;
        }
    }

    /// <summary>
    /// Sends Permission{allowed} and waits for its ack. The client handles messages in order, so once the ack is here
    /// everything sent before was handled: the tests' barrier.
    /// </summary>
    public ulong SetPermission(bool allowed)
    {
        var generation = ++_generation;
        Send(new ServiceMessage { Permission = new Permission { Allowed = allowed, Generation = generation } });
        var ack = Expect(SidecarMessage.KindOneofCase.PermissionAck).PermissionAck;
        Assert.That(ack.Generation, Is.EqualTo(generation));
        return generation;
    }

    /// <summary>Announces <paramref name="ring"/> for <paramref name="format"/>.</summary>
    public void Attach(FrameRingWriter ring, FrameFormat format) =>
        Send(RingMessage(ring.Id, ring.Layout, format), ring.Fd);

    public static ServiceMessage RingMessage(ulong id, FrameRingLayout layout, FrameFormat format) => new()
    {
        RingAttached = new RingAttached
        {
            RingId = id,
            SlotCount = (uint)layout.SlotCount,
            SlotSize = (uint)layout.SlotSize,
            FrameSize = (uint)layout.FrameSize,
            PixelFormat = format.PixelFormat,
            Width = format.Width,
            Height = format.Height,
        },
    };

    /// <summary>Writes test-pattern frame <paramref name="frameNumber"/> into the ring's next slot and returns the bytes.</summary>
    public static byte[] WriteFrame(FrameRingWriter ring, FrameFormat format, uint frameNumber, ulong sequence, out int slot)
    {
        var sink = new MemoryFrameSink((int)format.SizeImage);
        _ = new TestPatternSource().Render(format, frameNumber, sink);
        var bytes = sink.WrittenMemory.ToArray();
        bytes.CopyTo(ring.BeginWrite(out slot));
        ring.EndWrite(sequence, MonotonicClock.NowNanoseconds());
        return bytes;
    }

    /// <summary>Writes a frame and announces it with FrameReady.</summary>
    public byte[] Publish(FrameRingWriter ring, FrameFormat format, uint frameNumber, ulong sequence)
    {
        var bytes = WriteFrame(ring, format, frameNumber, sequence, out var slot);
        Send(new ServiceMessage
        {
            FrameReady = new FrameReady { RingId = ring.Id, Slot = (uint)slot, Sequence = sequence, TimestampNs = MonotonicClock.NowNanoseconds() },
        });
        return bytes;
    }
}
