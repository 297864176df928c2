using System.Diagnostics;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Service;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Service.Policy;
using Spectrum.Camera.Threading;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// A hostile camera VM: its producer sidecar streams outside the menu, breaks the protocol, announces torn, stale or
/// replayed slots, floods the service, or connects as someone it is not. Each is refused or dropped and counted; its
/// consumers see black (never a partial frame), and the service, its other cameras and VMs carry on.
/// </summary>
[NonParallelizable]
public sealed class HostileProducerTests
{
    private static readonly FrameFormat Small = new(PixelFormats.Yuyv, 320, 240);
    private static readonly string[] OnlyCameraVmSocket = ["cam-vm.sock"];

    /// <summary>vm-a, allowed, streams from the camera VM through a bare sidecar connection: frames are wanted.</summary>
    private static RawSidecar WantFrames(CameraVmFixture f)
    {
        f.Service.SetPermission("vm-a", true);
        var a = RawSidecar.Welcomed(f.Service.VmSocket("vm-a"), "vm-a");
        a.StartStream(Yuyv, 320, 240, 30);
        return a;
    }

    /// <summary>A producer that behaves: it streams, vm-a is told the camera streams and is announced frames again.</summary>
    private static void AssertRecovers(CameraVmFixture f, RawSidecar a)
    {
        var before = a.Received.Count;
        using var good = f.ConnectProducer();
        good.RunAgent(format => ScriptedProducer.PatternFrames(format, 2, 4));
        a.WaitFor(m => m.KindCase == ServiceMessage.KindOneofCase.CameraState && m.CameraState.State == CameraState.Types.State.Streaming,
            before, "CameraState STREAMING after a good producer connected");
        a.WaitFor(ServiceMessage.KindOneofCase.FrameReady, before);
        Assert.That(f.Camera().State, Is.EqualTo("streaming"));
    }

    private static void AssertConsumersToldUnavailable(CameraVmFixture f, RawSidecar a, int skip)
    {
        a.WaitFor(m => m.KindCase == ServiceMessage.KindOneofCase.CameraState && m.CameraState.State == CameraState.Types.State.Unavailable,
            skip, "CameraState UNAVAILABLE (the consumer's sidecar renders black at once)");
        Assert.That(f.Camera().State, Is.EqualTo("unavailable"));
    }

    [TestCase("size_image", "size_image 153598 is not 153600")]
    [TestCase("size", "size 800x600 is not on the camera VM's menu")]
    [TestCase("format", "pixel format MJPG is not on the camera VM's menu")]
    [TestCase("rate", "frame interval 1/60 s is not on the camera VM's menu")]
    [TestCase("no rate", "frame interval 0/0 s is not on the camera VM's menu")]
    public void A_stream_outside_the_menu_is_refused_and_its_consumers_see_black_until_a_good_producer_streams(string what, string reason)
    {
        using var f = new CameraVmFixture("vm-a");
        using var a = WantFrames(f);
        using var producer = f.ConnectProducer();
        producer.WaitForDemand(d => d.Wanted);
        var skip = a.Received.Count;
        var ring = what switch
        {
            "size_image" => producer.StartStream(Small, FrameRate.FromFps(30), Small.SizeImage - 2),
            "size" => producer.StartStream(new FrameFormat(PixelFormats.Yuyv, 800, 600), FrameRate.FromFps(30)),
            "format" => producer.StartStream(new FrameFormat(PixelFormats.FromChars('M', 'J', 'P', 'G'), 640, 480), FrameRate.FromFps(30), 100_000),
            "rate" => producer.StartStream(Small, FrameRate.FromFps(60)),
            _ => producer.StartStream(Small, default),
        };

        Assert.That(ring, Is.Null, "no ring for a stream outside the menu");
        var refused = producer.WaitRefused();
        Assert.That(refused?.Reason, Does.Contain(reason));
        Assert.That(producer.WaitClosed(), Is.True, "the connection is closed");
        AssertConsumersToldUnavailable(f, a, skip);
        Assert.That(f.OnFeed(feed => feed.Refusals), Is.EqualTo(1));
        Assert.That(f.Camera().Description, Does.Contain("producer refused"));
        AssertRecovers(f, a);
    }

    [TestCase("unparsable packet")]
    [TestCase("oversized packet")]
    [TestCase("packet with an fd")]
    [TestCase("slot past the ring")]
    [TestCase("second hello")]
    [TestCase("stream started twice")]
    [TestCase("ack of a demand never sent")]
    public void A_producer_that_breaks_the_protocol_is_cut_off_and_its_consumers_see_black_until_a_good_one_streams(string what)
    {
        using var f = new CameraVmFixture(["pattern=test-pattern:4"], null, "vm-a", "vm-b");
        using var a = WantFrames(f);
        f.Service.SetPermission("vm-b", true);
        f.Service.Assign("vm-b", "pattern");
        using var b = RawSidecar.Welcomed(f.Service.VmSocket("vm-b"), "vm-b");
        b.StartStream(Yuyv, 320, 240, 30);
        using var producer = f.ConnectProducer();
        producer.WaitForDemand(d => d.Wanted);
        Assert.That(producer.StartStream(Small, FrameRate.FromFps(30)), Is.Not.Null);
        var frame = ScriptedProducer.PatternFrames(Small, 1, 1)[0];
        producer.Publish(frame);
        a.WaitFor(ServiceMessage.KindOneofCase.FrameReady);
        var skip = a.Received.Count;

        switch (what)
        {
            case "unparsable packet":
                producer.SendRaw([0xff, 0xff, 0xff, 0xff]);
                break;
            case "oversized packet":
                producer.SendRaw(new byte[5000]);
                break;
            case "packet with an fd":
                using (var memfd = MemFd.Create("hostile", 4096))
                {
                    producer.SendRaw(Google.Protobuf.MessageExtensions.ToByteArray(new ProducerMessage { StreamStopped = new ProducerStreamStopped() }), memfd);
                }

                break;
            case "slot past the ring":
                producer.Announce(99, 1000);
                break;
            case "second hello":
                producer.Send(new ProducerMessage { Hello = new ProducerHello { ProtocolVersion = 1, Vm = CameraVmFixture.CameraVm } });
                break;
            case "stream started twice":
                producer.Send(new ProducerMessage
                {
                    StreamStarted = new ProducerStreamStarted
                    {
                        PixelFormat = Small.PixelFormat, Width = 640, Height = 480, IntervalNumerator = 1, IntervalDenominator = 30,
                        SizeImage = 640 * 480 * 2,
                    },
                });
                break;
            default:
                producer.Send(new ProducerMessage { DemandAck = new DemandAck { Generation = 1_000_000 } });
                break;
        }

        Assert.That(producer.WaitClosed(), Is.True, $"{what}: the connection is closed");
        AssertConsumersToldUnavailable(f, a, skip);
        var others = b.Count(ServiceMessage.KindOneofCase.FrameReady);
        Assert.That(SpinWait.SpinUntil(() => b.Count(ServiceMessage.KindOneofCase.FrameReady) >= others + 10, TimeSpan.FromSeconds(10)), Is.True,
            "the other camera's VM keeps getting frames");
        Assert.That(f.Camera("pattern").State, Is.EqualTo("streaming"));
        AssertRecovers(f, a);
    }

    [Test]
    public unsafe void Stale_replayed_torn_and_other_ring_slots_are_dropped_and_counted_and_no_consumer_sees_a_mixed_frame()
    {
        using var f = new CameraVmFixture("vm-a");
        f.Service.SetPermission("vm-a", true);
        using var producer = f.ConnectProducer();
        using var h = ServiceGuest.StartSidecar(f.Service, "vm-a");
        var client = ServiceGuest.StartStreaming(h);
        producer.WaitForDemand(d => d.Wanted);
        Assert.That(producer.StartStream(Small, FrameRate.FromFps(30)), Is.Not.Null);
        var written = ScriptedProducer.PatternFrames(Small, 6, 4);

        // A frame every 50 ms: slower than the stream's 30 fps, so only the slot itself can get a frame dropped.
        void Pace() => Thread.Sleep(50);
        ulong Count(Func<ProducerCameraFeed, ulong> counter) => f.OnFeed(counter);

        var (slot, sequence) = producer.Write(written[0]);
        producer.Announce(slot, sequence + 1); // the slot holds another frame
        Pace();
        producer.VersionOf(slot)++; // the writer is (said to be) in the middle of the slot
        producer.Announce(slot, sequence);
        Pace();
        producer.VersionOf(slot)++;
        producer.Announce(slot, sequence); // now good
        Pace();
        producer.Announce(slot, sequence); // a replay of the frame just copied
        Pace();
        producer.Announce(slot, sequence + 1, producer.Ring!.Id + 1000); // a ring that does not exist
        Pace();
        Assert.That(SpinWait.SpinUntil(() => Count(x => x.StaleFrames) == 3 && Count(x => x.OtherRingFrames) == 1, TimeSpan.FromSeconds(10)),
            Is.True, f.Camera().Description);
        Assert.That(f.OnFeed(x => x.FramesDelivered), Is.EqualTo(1), "only the good announcement was delivered");

        // A writer that keeps scribbling over every slot and putting the frame back, keeping the seqlock (odd while
        // it scribbles): a copy the service makes while it passes mixes the two and must be dropped as torn.
        var frame = written[1];
        var scribbling = false;
        var stop = false;
        var hammer = new Thread(() =>
        {
            var scribble = new byte[frame.Length / 2];
            Array.Fill(scribble, (byte)0xAA);
            while (!Volatile.Read(ref stop))
            {
                if (!Volatile.Read(ref scribbling))
                {
                    Thread.Sleep(1);
                    continue;
                }

                for (var s = 0; s < producer.Ring!.Layout.SlotCount; s++)
                {
                    Interlocked.Increment(ref producer.VersionOf(s));
                    scribble.CopyTo(producer.FrameBytesOf(s));
                    frame.CopyTo(producer.FrameBytesOf(s));
                    Interlocked.Increment(ref producer.VersionOf(s));
                }
            }
        }) { IsBackground = true };
        hammer.Start();
        for (var round = 0; round < 50 && Count(x => x.TornFrames) == 0; round++)
        {
            Volatile.Write(ref scribbling, false);
            Thread.Sleep(5);
            var slots = Enumerable.Range(0, producer.Ring!.Layout.SlotCount).Select(_ => producer.Write(frame)).ToArray();
            Volatile.Write(ref scribbling, true);
            foreach (var (s, q) in slots)
            {
                producer.Announce(s, q);
                Pace();
            }
        }

        Volatile.Write(ref stop, true);
        hammer.Join();
        Assert.That(Count(x => x.TornFrames), Is.GreaterThan(0), "copies overlapping a rewrite are seen as torn");

        // Then it behaves again: real frames, and every frame the guest ever got is one the camera VM wrote, or black.
        for (var i = 0; i < 10; i++)
        {
            producer.Publish(written[i % written.Length]);
            Pace();
        }

        var frames = CameraVmFeedTests.Collect(client, CameraVmFeedTests.ByPattern(client.Format), fs => fs.Count(x => x.Kind == 6) >= 5);
        Assert.That(frames.Select(x => x.Kind), Is.All.EqualTo(6).Or.EqualTo(0), "never a mixed or partial frame");
        Assert.That(f.OnFeed(x => x.DroppedFrames), Is.EqualTo((long)(Count(x => x.StaleFrames) + Count(x => x.OtherRingFrames) + Count(x => x.TornFrames))));
        Assert.That(f.Camera().Description, Does.Contain("stale").And.Contain("torn"));
    }

    [Test]
    public void A_flood_of_frames_is_paced_to_the_streams_rate_while_the_other_cameras_vms_carry_on()
    {
        using var f = new CameraVmFixture(["pattern=test-pattern:8"], null, "vm-a", "vm-b");
        using var a = WantFrames(f);
        f.Service.SetPermission("vm-b", true);
        f.Service.Assign("vm-b", "pattern");
        using var b = ServiceGuest.StartSidecar(f.Service, "vm-b");
        var cb = ServiceGuest.StartStreaming(b);
        CameraVmFeedTests.Collect(cb, CameraVmFeedTests.ByPattern(cb.Format), fs => fs.Count(x => x.Kind == 8) >= 5);
        using var producer = f.ConnectProducer();
        producer.WaitForDemand(d => d.Wanted);
        Assert.That(producer.StartStream(Small, FrameRate.FromFps(30)), Is.Not.Null);
        var frame = ScriptedProducer.PatternFrames(Small, 1, 1)[0];

        const int Flood = 3000;
        var clock = Stopwatch.StartNew();
        var flooding = new Thread(() =>
        {
            for (var i = 0; i < Flood; i++)
            {
                producer.Publish(frame);
            }
        }) { IsBackground = true };
        flooding.Start();
        var meanwhile = CameraVmFeedTests.Collect(cb, CameraVmFeedTests.ByPattern(cb.Format), fs => fs.Count >= 30);
        Assert.That(flooding.Join(TestWaitBound), Is.True);
        (long Delivered, ulong Dropped) Seen() => f.OnFeed(x => (x.FramesDelivered, x.TooFastFrames + x.StaleFrames + x.TornFrames));
        Assert.That(SpinWait.SpinUntil(() => Seen() is var s && s.Delivered + (long)s.Dropped == Flood, TestWaitBound), Is.True,
            $"every announcement was taken: {f.Camera().Description}");
        var elapsed = clock.Elapsed;

        // Every frame the feed took was within the stream's rate plus the ring's burst, over the whole flood.
        var (delivered, _) = Seen();
        var allowed = (long)(elapsed.TotalSeconds * 30) + 4 + 1;
        Assert.Multiple(() =>
        {
            Assert.That(delivered, Is.LessThanOrEqualTo(allowed), $"{delivered} frames in {elapsed.TotalSeconds:0.00} s at 30 fps + a burst of 4");
            Assert.That(f.OnFeed(x => x.TooFastFrames), Is.GreaterThanOrEqualTo((ulong)(Flood - allowed)), "the rest dropped as too fast");
            Assert.That(meanwhile.Select(x => x.Kind), Is.All.EqualTo(8), "the other camera's VM got its frames throughout");
            Assert.That(a.Count(ServiceMessage.KindOneofCase.FrameReady), Is.LessThanOrEqualTo(delivered), "consumers are announced only delivered frames");
            Assert.That(producer.IsClosed, Is.False, "a fast producer is paced, not cut off");
            Assert.That(f.Service.Status("vm-b").CameraState, Is.EqualTo("streaming"));
        });
    }

    [Test]
    public void Only_a_named_camera_vm_has_a_producer_socket_and_only_its_uid_one_producer_at_a_time_may_use_it()
    {
        using var f = new CameraVmFixture([], 61010, "vm-a");
        var sockets = Directory.GetFiles(f.Service.Options.ProducerSocketDirectory).Select(Path.GetFileName);
        Assert.That(sockets, Is.EqualTo(OnlyCameraVmSocket), "a VM that is not a named camera has no producer socket");
        Assert.That(File.GetUnixFileMode(f.ProducerSocket), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(OwnerUid(f.ProducerSocket), Is.EqualTo("61010"), "owned by the camera VM's uid");

        // Loosen the socket mode as a misconfiguration would: the SO_PEERCRED check must still hold.
        File.SetUnixFileMode(f.ProducerSocket, (UnixFileMode)0x1B6); // 0666
        File.SetUnixFileMode(f.Service.Options.RuntimeDirectory, (UnixFileMode)0x1ED);
        Assert.That(ForeignPeer.AsNobody(f.ProducerSocket, CameraVmFixture.CameraVm), Does.Contain("may not connect as camera VM cam-vm"));

        using (var impostor = ScriptedProducer.Connect(f.ProducerSocket))
        {
            var answer = impostor.Hello("vm-a");
            Assert.That(answer.KindCase, Is.EqualTo(ServiceToProducer.KindOneofCase.Refused));
            Assert.That(answer.Refused.Reason, Does.Contain("belongs to camera VM cam-vm"));
        }

        using (var old = ScriptedProducer.Connect(f.ProducerSocket))
        {
            Assert.That(old.Hello(CameraVmFixture.CameraVm, version: 2).Refused.Reason, Does.Contain("protocol version 2 is not supported"));
        }

        using var first = f.ConnectProducer();
        Assert.That(ForeignPeer.AsRoot(f.ProducerSocket, CameraVmFixture.CameraVm), Does.Contain("already connected"),
            "another process is refused while a producer is connected");
        using var again = f.ConnectProducer();
        Assert.That(first.WaitClosed(), Is.True, "the same process reconnecting replaces its stale connection");
        Assert.That(f.OnFeed(x => x.IsConnected), Is.True);
    }

    [Test]
    public void A_camera_vm_must_be_a_configured_vm_and_one_camera()
    {
        var directory = Directory.CreateTempSubdirectory("spectrum-camera-vm-").FullName;
        try
        {
            CameraService Make(params string[] cameras) => new(
                new CameraServiceOptions(Path.Combine(directory, "run"), Path.Combine(directory, "state"),
                    cameras.Select(CameraConfig.Parse).ToArray(), [new VmConfig("vm-a", 0), new VmConfig("cam-vm", 0)], [], null),
                (loop, camera) => CameraFeeds.Create(loop, camera.Spec));

            var unknown = Assert.Throws<ArgumentException>(() => Make("usb=vm:ghost"));
            Assert.That(unknown!.Message, Does.Contain("camera VM ghost, which is not configured").And.Contain("--vm ghost:UID"));
            var twice = Assert.Throws<ArgumentException>(() => Make("usb=vm:cam-vm", "other=vm:cam-vm"));
            Assert.That(twice!.Message, Does.Contain("VM cam-vm is named as two cameras (usb and other)"));
            using var fine = Make("vm:cam-vm", "test-pattern");
            Assert.That(fine, Is.Not.Null);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }

        Assert.That(CameraConfig.Parse("vm:cam-vm"), Is.EqualTo(new CameraConfig("cam-vm", "vm:cam-vm")), "named after the VM");
        Assert.That(CameraConfig.Parse("usb=vm:cam-vm").ProducerVm, Is.EqualTo("cam-vm"));
        Assert.That(CameraConfig.Parse("usb=/dev/video0").ProducerVm, Is.Null);
        Assert.Throws<FormatException>(() => CameraConfig.Parse("usb=vm:"));
        Assert.Throws<FormatException>(() => CameraConfig.Parse("usb=vm:../etc"));
        using var loop = new EventLoop();
        using var feed = CameraFeeds.Create(loop, "vm:cam-vm");
        Assert.That((feed.GetType(), feed.Name, feed.State), Is.EqualTo((typeof(ProducerCameraFeed), "vm:cam-vm", FeedState.Stopped)));
    }

    private static readonly TimeSpan TestWaitBound = Core.TestWait.Bound;

    private static string OwnerUid(string path)
    {
        var info = new ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true };
        using var p = Process.Start(info)!;
        var uid = p.StandardOutput.ReadToEnd().Trim();
        Assert.That(p.WaitForExit(10_000), Is.True);
        return uid;
    }
}
