using Spectrum.Camera.Frames;
using Spectrum.Camera.Host;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Media;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using OperatorPolicy = Spectrum.Camera.Protocol.Operator.Policy;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// A camera VM as a camera of the real service: the test plays its producer sidecar over the real producer socket
/// and the real memfd ring the service makes, and the consumers are real sidecar devices with their guests streaming
/// (or bare sidecar connections where only the service's decisions matter). Frames are the numbered test pattern, so
/// each frame a guest receives is provably one the camera VM wrote, converted, or black.
/// </summary>
[NonParallelizable]
public sealed class CameraVmFeedTests
{
    private const int PatternBits = 24;
    private static readonly string[] AllConsumers = ["vm-a", "vm-b", "vm-c"];

    /// <summary>Dequeues (and requeues) frames until <paramref name="until"/> says stop.</summary>
    internal static List<GuestFrame> Collect(CaptureClient client, Func<byte[], int> classify, Func<List<GuestFrame>, bool> until, int max = 3000)
    {
        var frames = new List<GuestFrame>();
        while (frames.Count < max && !until(frames))
        {
            var (_, index, sequence, _, bytes) = client.NextFrame();
            frames.Add(new GuestFrame(sequence, classify(bytes)));
            client.Queue(index);
        }

        return frames;
    }

    /// <summary>Classifies a guest frame as test-pattern frame number's pattern (its top byte), 0 for black, -1 for anything else.</summary>
    internal static Func<byte[], int> ByPattern(FrameFormat format) => bytes =>
        TestPatternVerifier.TryDecode(format, bytes, out var number, out var exact) && exact ? (int)(number >> PatternBits)
        : TestPatternVerifier.IsBlack(format, bytes) ? 0
        : -1;

    internal static void AssertContinuous(List<GuestFrame> frames)
    {
        for (var i = 1; i < frames.Count; i++)
        {
            Assert.That(frames[i].Sequence, Is.GreaterThan(frames[i - 1].Sequence), "the guest's stream goes on: its sequence never restarts");
        }
    }

    [TestCase(PixelFormats.Yuyv)]
    [TestCase(PixelFormats.Nv12)]
    [TestCase(PixelFormats.Yu12)]
    public void A_camera_vms_frames_reach_every_consumer_format_converted_exactly_as_a_host_cameras(uint producerFourcc)
    {
        using var f = new CameraVmFixture("vm-a", "vm-b", "vm-c");
        foreach (var vm in AllConsumers)
        {
            f.Service.SetPermission(vm, true);
        }

        // The camera VM streams 640x480 in its own fourcc whatever the service asks for: the service converts.
        var source = new FrameFormat(producerFourcc, 640, 480);
        var written = ScriptedProducer.PatternFrames(source, 7, 8);
        using var producer = f.ConnectProducer();
        producer.RunAgent(_ => written, source);

        using var a = ServiceGuest.StartSidecar(f.Service, "vm-a");
        using var b = ServiceGuest.StartSidecar(f.Service, "vm-b");
        using var c = ServiceGuest.StartSidecar(f.Service, "vm-c");
        var clients = new[]
        {
            ServiceGuest.StartStreaming(a, Yuyv, 640, 480),
            ServiceGuest.StartStreaming(b, Nv12, 320, 240), // scaled down
            ServiceGuest.StartStreaming(c, Yu12, 640, 480),
        };

        foreach (var client in clients)
        {
            var expected = written.Select(frame => CameraVmFixture.Converted(source, frame, client.Format)).ToArray();
            int Classify(byte[] bytes) =>
                Array.FindIndex(expected, e => e.AsSpan().SequenceEqual(bytes)) is var i and >= 0 ? i + 1
                : TestPatternVerifier.IsBlack(client.Format, bytes) ? 0
                : -1;

            var frames = Collect(client, Classify, fs => fs.Count(x => x.Kind > 0) >= 15);
            Assert.Multiple(() =>
            {
                Assert.That(frames.Where(x => x.Kind < 0), Is.Empty, $"{client.Format}: every frame is a converted camera VM frame or black");
                Assert.That(frames.Count(x => x.Kind > 0), Is.GreaterThanOrEqualTo(15), $"{client.Format}: real frames");
                Assert.That(frames.Where(x => x.Kind > 0).Select(x => x.Kind).Distinct().Count(), Is.GreaterThanOrEqualTo(3),
                    $"{client.Format}: the camera VM's frames follow one another, not one frame repeated");
            });
        }

        var demand = producer.Demands.First(d => d.Wanted);
        Assert.Multiple(() =>
        {
            Assert.That((PixelFormats.ToFourccString(demand.PixelFormat), demand.Width, demand.Height, demand.IntervalNumerator, demand.IntervalDenominator),
                Is.EqualTo(("YUYV", 640u, 480u, 1u, 30u)),
                "asked for the first consumer's size and fourcc, at the menu's fastest rate (30 fps for guests at 60)");
            Assert.That(f.Camera().State, Is.EqualTo("streaming"));
            Assert.That(f.Camera().Device, Is.EqualTo("vm:cam-vm"));
            Assert.That(f.Camera().ReceivingVms, Is.EqualTo(AllConsumers));
            Assert.That(f.Service.Status("vm-b").CameraState, Is.EqualTo("streaming"));
            Assert.That(f.OnFeed(feed => feed.StreamMode), Is.EqualTo(new HostMode(producerFourcc, 640, 480, FrameRate.FromFps(30))));
            Assert.That(producer.AgentFailure, Is.Null);
        });
    }

    [Test]
    public void Demand_follows_the_allowed_streaming_consumers_and_frames_are_unwanted_when_none_watches()
    {
        using var f = new CameraVmFixture("vm-a", "vm-b");
        using var producer = f.ConnectProducer();
        var demands = 0;
        Demand Next(string what)
        {
            var demand = producer.WaitForDemand(_ => true, demands, what);
            demands = producer.Demands.Count;
            return demand;
        }

        void AssertNoNewDemand(string why)
        {
            // Every decision is taken on the service's loop before it answers the operator; give the producer's
            // reader a moment to see a Demand the service should not have sent.
            Thread.Sleep(200);
            Assert.That(producer.Demands.Skip(demands), Is.Empty, why);
        }

        Assert.That(Next("the demand sent at welcome").Wanted, Is.False, "nobody watches: frames are not wanted");
        Assert.That(f.Camera().State, Is.EqualTo("stopped"));

        using var a = RawSidecar.Welcomed(f.Service.VmSocket("vm-a"), "vm-a");
        a.StartStream(Yuyv, 320, 240, 60);
        Assert.That(SpinWait.SpinUntil(() => f.Service.Status("vm-a").Streaming, TimeSpan.FromSeconds(10)), Is.True);
        AssertNoNewDemand("a denied VM's stream wants no frames");
        Assert.That(f.Camera().State, Is.EqualTo("stopped"));

        f.Service.SetPermission("vm-a", true);
        var first = Next("the demand for vm-a");
        Assert.That((first.Wanted, first.PixelFormat, first.Width, first.Height, first.IntervalNumerator, first.IntervalDenominator),
            Is.EqualTo((true, Yuyv, 320u, 240u, 1u, 30u)), "vm-a's format and size at the menu's fastest rate");
        Assert.That(f.Camera().State, Is.EqualTo("opening"), "wanted, connected, no frame yet");

        f.Service.SetPolicy("vm-b", OperatorPolicy.Ask);
        using var b = RawSidecar.Welcomed(f.Service.VmSocket("vm-b"), "vm-b");
        b.StartStream(Nv12, 640, 480, 30);
        var request = f.Service.WaitForRequest(0);
        AssertNoNewDemand("a VM waiting for an answer wants no frames");

        f.Service.Answer("vm-b", request.Id, Answer.AllowOnce);
        var larger = Next("the demand for vm-b's larger size");
        Assert.That((larger.Wanted, larger.PixelFormat, larger.Width, larger.Height), Is.EqualTo((true, Nv12, 640u, 480u)));

        b.StopStream();
        Assert.That(SpinWait.SpinUntil(() => !f.Service.Status("vm-b").Streaming, TimeSpan.FromSeconds(10)), Is.True);
        AssertNoNewDemand("the larger mode still covers vm-a: it is kept, as a host camera's mode is");

        f.Service.SetPermission("vm-a", false);
        Assert.That(Next("the end of demand").Wanted, Is.False, "nobody allowed watches any more");
        Assert.That(f.Camera().State, Is.EqualTo("stopped"));

        f.Service.SetPermission("vm-a", true);
        var again = Next("the demand for vm-a again");
        Assert.That((again.Wanted, again.PixelFormat, again.Width, again.Height), Is.EqualTo((true, Yuyv, 320u, 240u)), "planned afresh");

        // The camera VM streams, then vm-a's sidecar goes away: frames are no longer wanted, and any it still
        // sends are dropped and counted, never announced.
        producer.StartStream(new FrameFormat(Yuyv, 320, 240), FrameRate.FromFps(30));
        var frame = ScriptedProducer.PatternFrames(new FrameFormat(Yuyv, 320, 240), 1, 1)[0];
        producer.Publish(frame);
        a.WaitFor(m => m.KindCase == ServiceMessage.KindOneofCase.FrameReady, what: "a frame for vm-a");
        a.Dispose();
        Assert.That(Next("the end of demand after vm-a left").Wanted, Is.False);
        for (var i = 0; i < 5; i++)
        {
            Thread.Sleep(50); // within the stream's rate, so only "unwanted" can drop them
            producer.Publish(frame);
        }

        Assert.That(SpinWait.SpinUntil(() => f.OnFeed(feed => feed.UnwantedFrames) == 5, TimeSpan.FromSeconds(10)), Is.True,
            $"five frames after demand ended are dropped as unwanted: {f.Camera().Description}");
        var generations = producer.Demands.Select(d => d.Generation).ToList();
        Assert.That(generations, Is.Ordered.Ascending.And.Unique);
        Assert.That(SpinWait.SpinUntil(() => f.OnFeed(feed => feed.AcknowledgedGeneration) == generations[^1], TimeSpan.FromSeconds(10)),
            Is.True, "the producer's DemandAcks reached the feed");
        Assert.That(f.OnFeed(feed => feed.Refusals), Is.Zero);
    }

    [Test]
    public void Consumers_of_a_camera_vm_that_goes_away_get_black_at_once_and_its_frames_again_when_it_returns_with_their_streams_going_on()
    {
        using var f = new CameraVmFixture(["pattern=test-pattern:3"], null, "vm-a", "vm-b");
        f.Service.SetPermission("vm-a", true);
        f.Service.SetPermission("vm-b", true);
        f.Service.Assign("vm-b", "pattern");
        var producer = f.ConnectProducer();
        producer.RunAgent(format => ScriptedProducer.PatternFrames(format, 5, 8));
        try
        {
            using var a = ServiceGuest.StartSidecar(f.Service, "vm-a");
            using var b = ServiceGuest.StartSidecar(f.Service, "vm-b");
            var ca = ServiceGuest.StartStreaming(a);
            var cb = ServiceGuest.StartStreaming(b);
            var classify = ByPattern(ca.Format);
            var frames = Collect(ca, classify, fs => fs.Count(x => x.Kind == 5) >= 10);
            Collect(cb, ByPattern(cb.Format), fs => fs.Count(x => x.Kind == 3) >= 5);

            using var log = new Core.LogCapture();
            producer.Dispose(); // the camera VM's sidecar is killed: its connection closes
            frames.AddRange(Collect(ca, classify, fs => fs.Count >= 10 && fs.TakeLast(10).All(x => x.Kind == 0)));
            var meanwhile = Collect(cb, ByPattern(cb.Format), fs => fs.Count >= 30);
            Assert.Multiple(() =>
            {
                Assert.That(f.Camera().State, Is.EqualTo("unavailable"));
                Assert.That(f.Service.Status("vm-a").CameraState, Is.EqualTo("unavailable"));
                Assert.That(log.Text, Does.Contain("camera VM cam-vm: producer disconnected"), "the operator reads why");
                Assert.That(log.Text, Does.Contain("camera unavailable"),
                    "the consumer's sidecar was told at once (not left to notice a stale frame 2 s later)");
                Assert.That(meanwhile.Select(x => x.Kind), Is.All.EqualTo(3), "the other camera's VM never noticed");
            });

            producer = f.ConnectProducer();
            producer.RunAgent(format => ScriptedProducer.PatternFrames(format, 5, 8));
            var blackUntil = frames.Count;
            frames.AddRange(Collect(ca, classify, fs => fs.Skip(blackUntil).Count(x => x.Kind == 5) >= 10));
            Assert.Multiple(() =>
            {
                Assert.That(frames.Select(x => x.Kind), Is.All.EqualTo(5).Or.EqualTo(0), "the camera VM's frames or black, nothing else");
                Assert.That(frames.Skip(blackUntil).Count(x => x.Kind == 5), Is.GreaterThanOrEqualTo(10), "real again once it is back");
                Assert.That(f.Camera().State, Is.EqualTo("streaming"));
            });
            AssertContinuous(frames);
        }
        finally
        {
            producer.Dispose();
        }
    }

    [Test]
    public void A_camera_vm_that_stalls_is_unavailable_after_the_stall_limit_and_streams_again_with_its_next_frame()
    {
        using var f = new CameraVmFixture("vm-a");
        f.Service.SetPermission("vm-a", true);
        using var producer = f.ConnectProducer();
        producer.RunAgent(format => ScriptedProducer.PatternFrames(format, 9, 8));
        using var a = ServiceGuest.StartSidecar(f.Service, "vm-a");
        var ca = ServiceGuest.StartStreaming(a);
        var classify = ByPattern(ca.Format);
        var frames = Collect(ca, classify, fs => fs.Count(x => x.Kind == 9) >= 10);

        producer.PauseAgent();
        frames.AddRange(Collect(ca, classify, fs => f.Camera().State == "unavailable" && fs.Count >= 5 && fs.TakeLast(5).All(x => x.Kind == 0)));
        Assert.That(System.Diagnostics.Stopwatch.GetElapsedTime(producer.AgentLastFrameTimestamp), Is.GreaterThanOrEqualTo(ProducerCameraFeed.StallLimit),
            "not declared stalled before the stall limit passed since its last frame");
        Assert.That(f.Camera().Description, Does.Contain("stalled"));

        producer.ResumeAgent();
        var stalledUntil = frames.Count;
        frames.AddRange(Collect(ca, classify, fs => fs.Skip(stalledUntil).Count(x => x.Kind == 9) >= 10));
        Assert.That(frames.Select(x => x.Kind), Is.All.EqualTo(9).Or.EqualTo(0));
        Assert.That(f.Camera().State, Is.EqualTo("streaming"));
        AssertContinuous(frames);
        Assert.That(producer.AgentFailure, Is.Null);
    }

    internal sealed record GuestFrame(uint Sequence, int Kind);
}
