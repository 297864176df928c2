using Spectrum.Camera.Frames;
using Spectrum.Camera.ServiceClient;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Tests.Core;
using Spectrum.Camera.Tests.Media;
using Spectrum.Camera.Tests.Output;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// The whole camera-VM path in one process, over the real sockets and memfds: the camera VM's application (the test
/// frontend's <see cref="OutputProducer"/>) writes known frames into the real output device, whose real producer client
/// passes them through the real service's producer socket and ring, and an allowed consumer VM's real sidecar device
/// streams them. What `serve --role producer` assembles, short of the process.
/// </summary>
[NonParallelizable]
public sealed class CameraVmChainTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Test]
    public void Frames_written_into_the_output_device_reach_an_allowed_consumer_exactly_and_frames_wanted_follows_the_consumer()
    {
        using var f = new CameraVmFixture("vm-a");
        using var output = StartCameraVm(f);
        Assert.That(output.OnLoop(d => d.FramesWanted), Is.False, "nobody streams: frames are not wanted");

        using var sidecar = ServiceGuest.StartSidecar(f.Service, "vm-a");
        var consumer = ServiceGuest.StartStreaming(sidecar, Yuyv, 640, 480);
        Assert.That(SpinWait.SpinUntil(() => output.OnLoop(d => d.FramesWanted), TestWait.Bound), Is.True,
            "an allowed consumer streams: Frames Wanted is 1");

        var producer = output.Producer();
        var (status, asked) = producer.GetFormat();
        Assert.That((status, PixelFormats.ToFourccString(asked.Pix.PixelFormat), asked.Pix.Width, asked.Pix.Height), Is.EqualTo((0u, "YUYV", 640u, 480u)),
            "G_FMT is the mode the service asked for");
        var format = new FrameFormat(asked.Pix.PixelFormat, asked.Pix.Width, asked.Pix.Height);
        var written = ScriptedProducer.PatternFrames(format, 9, 6);
        using var agent = new CameraVmApplication(producer, format, written);

        var frames = CameraVmFeedTests.Collect(consumer, ByWrittenFrame(written, consumer), fs => fs.Count(x => x.Kind > 0) >= 15);
        Assert.Multiple(() =>
        {
            Assert.That(frames.Where(x => x.Kind < 0), Is.Empty, "every frame the consumer gets is one the camera VM wrote, or black");
            Assert.That(frames.Count(x => x.Kind > 0), Is.GreaterThanOrEqualTo(15), "real frames");
            Assert.That(frames.Where(x => x.Kind > 0).Select(x => x.Kind).Distinct().Count(), Is.GreaterThanOrEqualTo(3),
                "the camera VM's frames follow one another");
            Assert.That(frames.SkipWhile(x => x.Kind <= 0).Where(x => x.Kind == 0), Is.Empty,
                () => "no black frame once real frames flow; " + BlackDiagnosis(f, sidecar, frames));
            Assert.That(output.OnLoop(d => d.Counters.Failed), Is.Zero);
        });
        CameraVmFeedTests.AssertContinuous(frames);

        Assert.That(consumer.StreamOff(), Is.Zero);
        Assert.That(SpinWait.SpinUntil(() => !output.OnLoop(d => d.FramesWanted), TestWait.Bound), Is.True,
            "the consumer stopped: Frames Wanted is 0 again");
        var dropped = output.OnLoop(d => d.Counters.Dropped);
        Assert.That(SpinWait.SpinUntil(() => output.OnLoop(d => d.Counters.Dropped) > dropped, TestWait.Bound), Is.True,
            "frames the camera VM still writes are dropped by the device");
        agent.Stop();
        Assert.That(agent.Failure, Is.Null);
    }

    /// <summary>
    /// A consumer's loop not scheduled for longer than the freshness limit while the camera VM goes on (what a loaded
    /// host can do to one thread): when it runs again, the frames it announced meanwhile wait on the sidecar's socket,
    /// and the guest gets the newest of them, never black. The stall is counted in camera frames, not in time.
    /// </summary>
    [Test]
    public void A_consumer_whose_loop_stalls_past_the_freshness_limit_goes_on_with_the_camera_vms_newest_frame_not_black()
    {
        using var f = new CameraVmFixture("vm-a");
        using var output = StartCameraVm(f);
        StallingSource? stalling = null;
        using var sidecar = MediaHarness.Start(
            loop => stalling = new StallingSource(new CameraServiceSource(loop, f.Service.VmSocket("vm-a"), "vm-a")), ServiceGuest.FastMenu);
        var consumer = ServiceGuest.StartStreaming(sidecar, Yuyv, 640, 480);
        Assert.That(SpinWait.SpinUntil(() => output.OnLoop(d => d.FramesWanted), TestWait.Bound), Is.True, "frames wanted");
        var producer = output.Producer();
        var (_, asked) = producer.GetFormat();
        var format = new FrameFormat(asked.Pix.PixelFormat, asked.Pix.Width, asked.Pix.Height);
        var written = ScriptedProducer.PatternFrames(format, 9, 6);
        using var agent = new CameraVmApplication(producer, format, written);
        var frames = CameraVmFeedTests.Collect(consumer, ByWrittenFrame(written, consumer), fs => fs.Count(x => x.Kind > 0) >= 10);

        // 10 frames past the freshness limit's worth at the camera VM's rate.
        var rate = f.OnFeed(x => x.StreamMode!.Value.Interval);
        var stallFrames = (CameraServiceSource.FreshnessNanoseconds / rate.PeriodNanoseconds) + 10;
        // The stall begins in a frame tick, before the device asks the source for the frame: the loop then reads
        // nothing from its socket before that frame is rendered, whichever of its fds the kernel reports first.
        var stalled = false;
        stalling!.StallOnce(() =>
        {
            var before = f.OnFeed(x => x.FramesDelivered);
            stalled = SpinWait.SpinUntil(() => f.OnFeed(x => x.FramesDelivered) >= before + stallFrames, TestWait.Bound);
        });
        Assert.That(SpinWait.SpinUntil(() => sidecar.OnLoop(_ => stalling.HasStalled), TestWait.Bound), Is.True, "the consumer's loop stalled");
        Assert.That(stalled, Is.True, $"the camera VM delivered {stallFrames} frames while the consumer's loop stood still");
        frames.AddRange(CameraVmFeedTests.Collect(consumer, ByWrittenFrame(written, consumer), fs => fs.Count(x => x.Kind > 0) >= 20));

        Assert.Multiple(() =>
        {
            Assert.That(frames.Where(x => x.Kind < 0), Is.Empty, "every frame is one the camera VM wrote, or black");
            Assert.That(frames.SkipWhile(x => x.Kind <= 0).Where(x => x.Kind == 0), Is.Empty,
                () => "no black frame once real frames flow; " + BlackDiagnosis(f, sidecar, frames));
        });
        agent.Stop();
        Assert.That(agent.Failure, Is.Null);
    }

    /// <summary>cam-vm's output device with its real producer client, connected to the service; vm-a allowed.</summary>
    private static OutputHarness StartCameraVm(CameraVmFixture f)
    {
        f.Service.SetPermission("vm-a", true);
        var output = OutputHarness.Start(loop => new ProducerClient(loop, f.ProducerSocket, CameraVmFixture.CameraVm), StableMenu.Default);
        Assert.That(SpinWait.SpinUntil(() => f.OnFeed(feed => feed.IsConnected), TestWait.Bound), Is.True, "the producer client connected");
        return output;
    }

    /// <summary>A guest frame as the number (from 1) of the written frame it equals, 0 for black, -1 for anything else.</summary>
    private static Func<byte[], int> ByWrittenFrame(byte[][] written, CaptureClient consumer) => bytes =>
        Array.FindIndex(written, w => w.AsSpan().SequenceEqual(bytes)) is var i and >= 0 ? i + 1
        : Sources.TestPatternVerifier.IsBlack(consumer.Format, bytes) ? 0
        : -1;

    /// <summary>
    /// What tells apart the paths that render black once real frames flow: the consumer source's counters (black
    /// because the newest frame was stale, or its slot overwritten with no newer notice readable; black counted as
    /// neither: no frame to show, as after a camera state other than streaming), the notices the service sent against
    /// the frames its feed delivered (the difference: notices dropped because the sidecar's queue was full), the feed's
    /// drops and state, the guest sequence numbers around the first such black frame (a jump: the sidecar's loop was
    /// late) and the log since the sidecar started.
    /// </summary>
    private static string BlackDiagnosis(CameraVmFixture f, MediaHarness sidecar, List<CameraVmFeedTests.GuestFrame> frames)
    {
        var firstReal = frames.FindIndex(x => x.Kind > 0);
        var black = firstReal < 0 ? -1 : frames.FindIndex(firstReal, x => x.Kind == 0);
        if (black < 0)
        {
            return "none";
        }

        var around = string.Join(' ', frames.Skip(Math.Max(0, black - 4)).Take(10).Select(x => $"{x.Sequence}:{x.Kind}"));
        var source = sidecar.OnLoop(d => (d.Options.Source is StallingSource stalling ? stalling.Inner : d.Options.Source) is CameraServiceSource s
            ? $"camera {s.CameraFrames}, black {s.BlackFrames} (stale {s.StaleFrames}, overwritten {s.OverwrittenFrames}), torn {s.TornFrames}, " +
              $"connections {s.Connections}"
            : "not a camera-service source");
        var feed = f.OnFeed(x => $"state {x.State}, delivered {x.FramesDelivered}, dropped {x.TooFastFrames} too fast, {x.StaleFrames} stale, " +
                                 $"{x.TornFrames} torn, {x.OtherRingFrames} other ring, {x.UnwantedFrames} unwanted, {x.Refusals} refused");
        var offered = f.Service.Status("vm-a").FramesOffered;
        var log = string.Join('\n', sidecar.LogText.Split('\n').TakeLast(40));
        return $"first at guest frame {black} of {frames.Count} (sequence:kind around it: {around}); consumer source: {source}; " +
               $"service: {offered} notices sent to vm-a; feed: {feed}; log:\n{log}";
    }

    /// <summary>
    /// The consumer's camera-service source, whose loop a test can stall once, at the start of a frame tick (what a
    /// thread the host does not schedule for a while looks like to the device).
    /// </summary>
    private sealed class StallingSource(CameraServiceSource inner) : IFrameSource, IDisposable
    {
        private volatile Action? _stall;

        public CameraServiceSource Inner { get; } = inner;

        public string Name => Inner.Name;

        /// <summary>The stall ran (loop thread).</summary>
        public bool HasStalled { get; private set; }

        /// <summary>The next frame tick runs <paramref name="stall"/> on the loop before the frame is rendered.</summary>
        public void StallOnce(Action stall) => _stall = stall;

        public FrameContent Render(FrameFormat format, uint frameNumber, IFrameSink sink)
        {
            if (Interlocked.Exchange(ref _stall, null) is { } stall)
            {
                stall();
                HasStalled = true;
            }

            return Inner.Render(format, frameNumber, sink);
        }

        public void StreamStarted(FrameFormat format, FrameRate rate) => Inner.StreamStarted(format, rate);

        public void StreamStopped() => Inner.StreamStopped();

        public void Dispose() => Inner.Dispose();
    }

    /// <summary>
    /// The camera VM's application on its own thread: four buffers, the frames written round-robin, each buffer queued
    /// again with the next frame as soon as the device returns it, until stopped.
    /// </summary>
    private sealed class CameraVmApplication : IDisposable
    {
        private readonly Thread _thread;
        private volatile bool _stop;

        public CameraVmApplication(OutputProducer producer, FrameFormat format, byte[][] frames)
        {
            _thread = new Thread(() => Run(producer, format, frames)) { IsBackground = true, Name = "camera-vm-application" };
            _thread.Start();
        }

        public Exception? Failure { get; private set; }

        public void Stop()
        {
            _stop = true;
            Assert.That(_thread.Join(TestWait.Bound), Is.True, "the camera VM application stopped");
        }

        public void Dispose()
        {
            _stop = true;
            _thread.Join(TestWait.Bound);
        }

        private void Run(OutputProducer producer, FrameFormat format, byte[][] frames)
        {
            try
            {
                Expect(producer.SetFormat(format.PixelFormat, format.Width, format.Height).Status, "S_FMT");
                Expect(producer.Allocate(4).Status, "REQBUFS");
                var next = 0;
                for (var i = 0; i < 4; i++)
                {
                    Expect(producer.Queue(i, frames[next++ % frames.Length]).Status, "QBUF");
                }

                Expect(producer.StreamOn(), "STREAMON");
                while (!_stop)
                {
                    if (producer.NextReturn(Wait) is not { } returned)
                    {
                        throw new TimeoutException("the output device returned no buffer");
                    }

                    if ((returned.Flags & V4l2.BufFlagError) != 0)
                    {
                        throw new InvalidOperationException($"buffer {returned.Index} came back with V4L2_BUF_FLAG_ERROR");
                    }

                    Expect(producer.Queue((int)returned.Index, frames[next++ % frames.Length]).Status, "QBUF again");
                }

                Expect(producer.StreamOff(), "STREAMOFF");
            }
#pragma warning disable CA1031 // Reported to the test through Failure.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Failure = e;
            }
        }

        private static void Expect(uint status, string what)
        {
            if (status != 0)
            {
                throw new InvalidOperationException($"{what} failed with errno {status}");
            }
        }
    }
}
