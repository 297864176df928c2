using Spectrum.Camera.Frames;
using Spectrum.Camera.ServiceClient;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Tests.Core;
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
        f.Service.SetPermission("vm-a", true);
        using var output = OutputHarness.Start(loop => new ProducerClient(loop, f.ProducerSocket, CameraVmFixture.CameraVm), StableMenu.Default);
        Assert.That(SpinWait.SpinUntil(() => f.OnFeed(feed => feed.IsConnected), TestWait.Bound), Is.True, "the producer client connected");
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

        var frames = CameraVmFeedTests.Collect(consumer, Classify, fs => fs.Count(x => x.Kind > 0) >= 15);
        Assert.Multiple(() =>
        {
            Assert.That(frames.Where(x => x.Kind < 0), Is.Empty, "every frame the consumer gets is one the camera VM wrote, or black");
            Assert.That(frames.Count(x => x.Kind > 0), Is.GreaterThanOrEqualTo(15), "real frames");
            Assert.That(frames.Where(x => x.Kind > 0).Select(x => x.Kind).Distinct().Count(), Is.GreaterThanOrEqualTo(3),
                "the camera VM's frames follow one another");
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

        int Classify(byte[] bytes) =>
            Array.FindIndex(written, w => w.AsSpan().SequenceEqual(bytes)) is var i and >= 0 ? i + 1
            : Sources.TestPatternVerifier.IsBlack(consumer.Format, bytes) ? 0
            : -1;
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
