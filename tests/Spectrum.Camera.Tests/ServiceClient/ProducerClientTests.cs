using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Core;
using Kind = Spectrum.Camera.Protocol.Producer.ProducerMessage.KindOneofCase;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary>
/// The producer sidecar's client against a scripted camera service over a real seqpacket socket, with real memfd rings
/// the "service" creates and seals: handshake and reconnection, demand handed to the device and acknowledged, the
/// stream announced, frames written into the ring with the seqlock and announced, and everything the service could get
/// wrong (rings of another format, badly sealed or sized memfds, malformed messages) refused. No test measures time.
/// </summary>
public sealed class ProducerClientTests : CoreFixture
{
    private static readonly FrameFormat Nv12 = new(PixelFormats.Nv12, 320, 240);
    private static readonly FrameRate Rate = FrameRate.FromFps(30);
    private static readonly FrameDemand Wanted = new(Nv12, Rate);

    private ProducerClientHarness? _harness;

    private ProducerClientHarness H => _harness!;

    [SetUp]
    public void StartClient() => _harness = new ProducerClientHarness();

    [TearDown]
    public void StopClient()
    {
        var failure = _harness?.LoopFailure;
        _harness?.Dispose();
        _harness = null;
        Assert.That(failure, Is.Null, "an exception escaped the device loop");
    }

    [Test]
    public void Producer_hello_names_the_vm_and_protocol_version_1()
    {
        var hello = H.Service.Welcome(camera: "usb");
        Assert.That((hello.ProtocolVersion, hello.Vm), Is.EqualTo((1u, ClientHarness.VmName)));
        Assert.That(H.WaitUntil(c => c.IsConnected), Is.True);
        Assert.That(H.OnLoop(c => (c.Camera, c.Connections, c.Demand)), Is.EqualTo(("usb", 1UL, (FrameDemand?)null)));
        Assert.That(H.Log.Text, Does.Contain($"connected to the camera service at {H.Service.Path}: this VM is the producer of camera 'usb'"));
    }

    [Test]
    public void A_demand_reaches_the_device_before_it_is_acknowledged_and_not_wanted_withdraws_it()
    {
        H.Service.Welcome();
        H.Service.SetDemand(Wanted);
        Assert.That(H.OnLoop(_ => H.DemandsSeen.ToList()), Is.EqualTo(new FrameDemand?[] { Wanted }), "handed over before the ack");
        H.Service.SetDemand(Wanted);
        H.Service.SetDemand(null);
        Assert.That(H.OnLoop(_ => H.DemandsSeen.ToList()), Is.EqualTo(new FrameDemand?[] { Wanted, null }), "the same demand again is no change");
    }

    [TestCase(0u, 320u, 240u, 1u, 30u, TestName = "a demand with no pixel format")]
    [TestCase(PixelFormats.Nv12, 321u, 240u, 1u, 30u, TestName = "a demand with an odd width")]
    [TestCase(PixelFormats.Nv12, 320u, 240u, 0u, 0u, TestName = "a demand with no interval")]
    public void A_demand_for_no_frame_mode_is_a_protocol_error_and_the_client_reconnects(uint fourcc, uint width, uint height, uint num, uint den)
    {
        H.Service.Welcome();
        H.Service.Send(new ServiceToProducer
        {
            Demand = new Demand { Generation = 9, Wanted = true, PixelFormat = fourcc, Width = width, Height = height, IntervalNumerator = num, IntervalDenominator = den },
        });
        H.Service.ExpectClosed();
        Assert.That(H.Log.WaitFor("Demand 9 asks for"), Is.True, H.Log.Text);
        H.Service.Welcome();
        Assert.That(H.WaitUntil(c => c.Connections == 2), Is.True);
        Assert.That(H.OnLoop(c => c.Demand), Is.Null);
    }

    [Test]
    public void The_stream_is_announced_with_its_exact_mode_and_its_end_too()
    {
        H.Service.Welcome();
        H.OnLoop(c => c.StreamStarted(Nv12, new FrameRate(1, 15)));
        var started = H.Service.Expect(Kind.StreamStarted).StreamStarted;
        Assert.That((started.PixelFormat, started.Width, started.Height, started.IntervalNumerator, started.IntervalDenominator, started.SizeImage),
            Is.EqualTo((PixelFormats.Nv12, 320u, 240u, 1u, 15u, 320u * 240 * 3 / 2)));
        H.OnLoop(c => c.StreamStopped());
        H.Service.Expect(Kind.StreamStopped);
        H.OnLoop(c => c.StreamStopped());
        H.Service.SetDemand(null); // a barrier: nothing was sent for the second, stream-less StreamStopped
    }

    [TestCase(PixelFormats.Yuyv)]
    [TestCase(PixelFormats.Nv12)]
    [TestCase(PixelFormats.Yu12)]
    public void Frames_are_written_into_the_service_s_ring_whole_and_announced_by_slot_and_sequence(uint fourcc)
    {
        var format = new FrameFormat(fourcc, 320, 240);
        using var ring = StartStreaming(format, slots: 3);
        for (var i = 0u; i < 7; i++)
        {
            var frame = FrameOf(format, i);
            Assert.That(H.Offer(format, frame, sequence: 100 + i), Is.True, $"frame {i} taken");
            var (notice, written) = H.Service.NextFrame(ring);
            Assert.That((notice.Slot, notice.Sequence), Is.EqualTo((i % 3, 100UL + i)), "slots round-robin");
            Assert.That(written, Is.EqualTo(frame), $"frame {i} in the ring, byte for byte");
        }

        Assert.That(H.OnLoop(c => (c.FramesAnnounced, c.FramesUnannounced)), Is.EqualTo((7UL, 0UL)));
    }

    [Test]
    public void A_frame_has_nowhere_to_go_without_demand_without_a_ring_or_in_another_format()
    {
        H.Service.Welcome();
        H.OnLoop(c => c.StreamStarted(Nv12, Rate));
        H.Service.Expect(Kind.StreamStarted);
        Assert.That(H.Offer(Nv12, FrameOf(Nv12, 0), 0), Is.False, "no demand");
        H.Service.SetDemand(Wanted);
        Assert.That(H.Offer(Nv12, FrameOf(Nv12, 0), 0), Is.False, "no ring yet");
        using var ring = new ProducerRingMemory(Nv12);
        H.Service.SendRing(ring);
        Assert.That(H.WaitUntil(c => c.HasRing), Is.True);
        var yuyv = new FrameFormat(PixelFormats.Yuyv, 320, 240);
        Assert.That(H.Offer(yuyv, FrameOf(yuyv, 0), 0), Is.False, "not the stream's format");
        Assert.That(H.Offer(Nv12, FrameOf(Nv12, 0), 0), Is.True);
        Assert.That(H.Service.NextFrame(ring).Frame, Is.EqualTo(FrameOf(Nv12, 0)), "the frame taken was announced");
        H.Service.SetDemand(null);
        Assert.That(H.Offer(Nv12, FrameOf(Nv12, 1), 1), Is.False, "demand ended");
        Assert.That(H.OnLoop(c => c.FramesAnnounced), Is.EqualTo(1UL));
    }

    [Test]
    public void An_aborted_frame_leaves_its_slot_holding_no_frame_and_is_not_announced()
    {
        using var ring = StartStreaming(Nv12, slots: 2);
        Assert.That(H.Offer(Nv12, FrameOf(Nv12, 0), 0), Is.True);
        Assert.That(H.Offer(Nv12, FrameOf(Nv12, 1), 1), Is.True);
        _ = H.Service.NextFrame(ring);
        _ = H.Service.NextFrame(ring);
        Assert.That(ring.Read(0, 0), Is.EqualTo(FrameOf(Nv12, 0)), "slot 0 holds frame 0 before the abort");
        H.OnLoop(c =>
        {
            Assert.That(c.TryBeginFrame(Nv12, out var frame), Is.True);
            frame[..100].Fill(0x77);
            c.AbortFrame();
        });
        Assert.That(ring.Read(0, 0), Is.Null, "the aborted slot holds no frame");
        Assert.That(H.Offer(Nv12, FrameOf(Nv12, 3), 3), Is.True);
        var (notice, frame) = H.Service.NextFrame(ring);
        Assert.That((notice.Slot, notice.Sequence, frame), Is.EqualTo((1u, 3UL, FrameOf(Nv12, 3))), "the next frame announced is the one after the abort");
    }

    [Test]
    public void A_ring_of_another_format_or_frame_size_is_refused()
    {
        using var ring = StartStreaming(Nv12, slots: 2, sendRing: false);
        H.Service.SendRing(ring, announcedFormat: new FrameFormat(PixelFormats.Yuyv, 320, 240));
        H.Service.SendRing(ring, announcedFrameSize: Nv12.SizeImage + 1);
        H.Service.SetDemand(Wanted);
        Assert.That(H.OnLoop(c => (c.HasRing, c.RingsRefused)), Is.EqualTo((false, 2UL)));
        Assert.That(H.Log.Text, Does.Contain($"ignored ring {ring.Id}: it carries YUYV 320x240 frames"));
        Assert.That(H.Offer(Nv12, FrameOf(Nv12, 0), 0), Is.False);
    }

    private static IEnumerable<TestCaseData> BadMemfds()
    {
        yield return new TestCaseData(MemFd.ReadOnlyForOthersSeals, 0L, "it cannot be mapped read-write (mmap failed").SetName("a ring sealed against writing, as a consumer ring is");
        yield return new TestCaseData(0, 0L, "must be sealed against resizing").SetName("a ring that may shrink");
        yield return new TestCaseData(MemFd.FixedSizeSeals, 4096L, "ring memfd has").SetName("a ring of another size than its layout");
    }

    [TestCaseSource(nameof(BadMemfds))]
    public void A_ring_whose_memfd_could_fault_or_cannot_be_written_is_refused_and_the_connection_kept(int seals, long extraBytes, string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        using var streaming = StartStreaming(Nv12, slots: 2, sendRing: false);
        using var bad = ProducerRingMemory.Misfit(Nv12, slots: 2, seals, extraBytes);
        H.Service.SendRing(bad);
        H.Service.SetDemand(Wanted);
        Assert.That(H.OnLoop(c => (c.HasRing, c.RingsRefused, c.IsConnected)), Is.EqualTo((false, 1UL, true)), "refused, connection kept");
        Assert.That(H.Log.Text, Does.Contain($"rejected ring {bad.Id} from the camera service").And.Contain(reason));
    }

    [Test]
    public void A_ring_without_its_memfd_or_a_demand_with_one_is_a_protocol_error()
    {
        using var ring = StartStreaming(Nv12, slots: 2, sendRing: false);
        H.Service.Send(new ServiceToProducer { Ring = new ProducerRing { RingId = 1, SlotCount = 2 } });
        H.Service.ExpectClosed();
        Assert.That(H.Log.WaitFor("ProducerRing without its memfd"), Is.True, H.Log.Text);

        H.Service.Welcome();
        H.Service.Expect(Kind.StreamStarted);
        H.Service.Send(new ServiceToProducer { Demand = new Demand { Generation = 3 } }, ring.Fd);
        H.Service.ExpectClosed();
        Assert.That(H.Log.WaitFor("Demand carried an fd"), Is.True, H.Log.Text);
    }

    [TestCase(2u, ClientHarness.VmName, "the service speaks protocol version 2")]
    [TestCase(1u, "other-vm", "ProducerWelcome names VM 'other-vm'")]
    public void A_welcome_for_another_version_or_vm_is_a_protocol_error(uint version, string vm, string message)
    {
        H.Service.Accept();
        H.Service.Expect(Kind.Hello);
        H.Service.Send(new ServiceToProducer { Welcome = new ProducerWelcome { ProtocolVersion = version, Vm = vm } });
        H.Service.ExpectClosed();
        Assert.That(H.Log.WaitFor(message), Is.True, H.Log.Text);
        Assert.That(H.OnLoop(c => c.IsConnected), Is.False);
    }

    [Test]
    public void A_demand_before_the_welcome_is_a_protocol_error()
    {
        H.Service.Accept();
        H.Service.Expect(Kind.Hello);
        H.Service.Send(new ServiceToProducer { Demand = ScriptedProducerService.DemandOf(1, Wanted) });
        H.Service.ExpectClosed();
        Assert.That(H.Log.WaitFor("Demand before ProducerWelcome"), Is.True, H.Log.Text);
        Assert.That(H.OnLoop(c => c.Demand), Is.Null);
    }

    [Test]
    public void A_refusal_is_logged_and_the_client_keeps_trying()
    {
        H.Service.Accept();
        H.Service.Expect(Kind.Hello);
        H.Service.Send(new ServiceToProducer { Refused = new ProducerRefused { Reason = "vm is not a camera" } });
        Assert.That(H.Log.WaitFor("refused this sidecar (VM test-vm): vm is not a camera"), Is.True, H.Log.Text);
        H.Service.Welcome();
        Assert.That(H.WaitUntil(c => c.IsConnected), Is.True, "reconnected within a second or so");
    }

    [Test]
    public void Losing_the_service_withdraws_the_demand_and_the_ring_and_a_new_connection_asks_for_the_stream_again()
    {
        using var ring = StartStreaming(Nv12, slots: 2);
        H.Service.CloseConnection();
        Assert.That(H.WaitUntil(c => !c.IsConnected), Is.True);
        Assert.That(H.OnLoop(c => (c.Demand, c.HasRing)), Is.EqualTo(((FrameDemand?)null, false)), "nobody wants frames without a service");
        Assert.That(H.OnLoop(_ => H.DemandsSeen.ToList()), Is.EqualTo(new FrameDemand?[] { Wanted, null }));

        H.Service.Welcome();
        var again = H.Service.Expect(Kind.StreamStarted).StreamStarted;
        Assert.That((again.PixelFormat, again.Width, again.Height), Is.EqualTo((PixelFormats.Nv12, 320u, 240u)));
        H.Service.SetDemand(Wanted);
        using var next = new ProducerRingMemory(Nv12, slots: 2);
        H.Service.SendRing(next);
        Assert.That(H.WaitUntil(c => c.HasRing), Is.True);
        Assert.That(H.Offer(Nv12, FrameOf(Nv12, 5), 5), Is.True);
        Assert.That(H.Service.NextFrame(next).Frame, Is.EqualTo(FrameOf(Nv12, 5)), "written to the new ring");
    }

    [Test]
    public void A_service_that_stops_reading_loses_frame_announcements_not_the_connection()
    {
        var tiny = new FrameFormat(PixelFormats.Yuyv, 64, 32);
        using var ring = StartStreaming(tiny, slots: 2);
        var offered = 0;
        while (H.OnLoop(c => c.FramesUnannounced) == 0 && offered < 200_000)
        {
            Assert.That(H.Offer(tiny, FrameOf(tiny, 0), (ulong)offered++), Is.True);
        }

        Assert.That(H.OnLoop(c => (c.FramesUnannounced, c.IsConnected)), Is.EqualTo((1UL, true)), "a full queue drops the notice only");
    }

    /// <summary>Welcomes the client, starts a stream in <paramref name="format"/>, wants frames and passes a ring.</summary>
    private ProducerRingMemory StartStreaming(FrameFormat format, int slots, bool sendRing = true)
    {
        H.Service.Welcome();
        H.OnLoop(c => c.StreamStarted(format, Rate));
        H.Service.Expect(Kind.StreamStarted);
        var ring = new ProducerRingMemory(format, slots);
        if (sendRing)
        {
            H.Service.SendRing(ring);
            H.Service.SetDemand(new FrameDemand(format, Rate));
            Assert.That(H.OnLoop(c => c.HasRing), Is.True, "the ring was taken");
        }

        return ring;
    }

    private static byte[] FrameOf(FrameFormat format, uint number)
    {
        var sink = new MemoryFrameSink((int)format.SizeImage);
        _ = new TestPatternSource().Render(format, number, sink);
        return sink.WrittenMemory.ToArray();
    }
}
