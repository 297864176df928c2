using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Core;
using Spectrum.Camera.Threading;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// The capture device's frame clock against a camera on a clock of its own, over the real device, its real timerfd
/// and a real guest: a source that announces frame arrivals (as the camera-service client does) from a camera thread
/// with its own timer. The checks count frames: which camera frames the guest got, and how many ticks a stretch of
/// time held.
/// </summary>
[NonParallelizable]
public sealed class FramePhaseTests
{
    [Test]
    public void A_camera_drifting_against_the_device_clock_has_every_frame_reach_the_guest_exactly_once()
    {
        // 30 fps on the device, a camera 1/200 slower: its phase crosses the device's once every 200 frames, where a
        // device on its own clock shows one frame twice (a repeat) and, with jitter, skips the next one.
        var period = StableMenu.Default.DefaultRate.PeriodNanoseconds;
        ArrivingCamera? camera = null;
        using var h = MediaHarness.Start(loop => camera = new ArrivingCamera(loop, period + (period / 200)), StableMenu.Default);
        var client = Stream(h);
        var numbers = new List<uint>();
        for (var i = 0; i < 260; i++)
        {
            var (_, index, _, _, bytes) = client.NextFrame();
            Assert.That(TestPatternVerifier.TryDecode(client.Format, bytes, out var number, out var exact) && exact, Is.True, "a camera frame");
            numbers.Add(number);
            client.Queue(index);
        }

        camera!.Stop();
        // The first frames are on the plain clock until the first arrival; from the 11th on, each must follow the last.
        var steady = numbers.Skip(10).ToList();
        var steps = steady.Zip(steady.Skip(1), (a, b) => (long)b - a).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(steps.Count(x => x == 0), Is.Zero, $"repeated camera frames in {steady.Count} guest frames: {Describe(steady, steps)}");
            Assert.That(steps.Count(x => x > 1), Is.Zero, $"skipped camera frames in {steady.Count} guest frames: {Describe(steady, steps)}");
        });
    }

    [Test]
    public void A_source_announcing_frames_three_times_faster_than_the_rate_does_not_raise_the_guests_rate()
    {
        var period = StableMenu.Default.DefaultRate.PeriodNanoseconds;
        ArrivingCamera? camera = null;
        using var h = MediaHarness.Start(loop => camera = new ArrivingCamera(loop, period / 3), StableMenu.Default);
        var client = Stream(h);
        for (var i = 0; i < 10; i++)
        {
            client.Queue(client.NextFrame().Index);
        }

        var (ticks0, at0) = h.OnLoop(d => (d.Counters.Delivered + d.Counters.Dropped, MonotonicClock.NowNanoseconds()));
        for (var i = 0; i < 90; i++)
        {
            client.Queue(client.NextFrame().Index);
        }

        var (ticks1, at1) = h.OnLoop(d => (d.Counters.Delivered + d.Counters.Dropped, MonotonicClock.NowNanoseconds()));
        camera!.Stop();
        var periods = (at1 - at0) / period;
        Assert.That(ticks1 - ticks0, Is.LessThanOrEqualTo((ulong)periods + 2),
            $"frames the device made in {periods} periods of the negotiated rate (at most one a period, plus the schedule's two)");
    }

    private static CaptureClient Stream(MediaHarness h)
    {
        var client = new CaptureClient(h);
        client.SetFormat(Yuyv, 320, 240);
        client.Allocate(6);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        return client;
    }

    /// <summary>Where the camera frames did not follow one another: "guest frame i: a then b".</summary>
    private static string Describe(List<uint> numbers, List<long> steps) =>
        string.Join(", ", steps.Select((step, i) => (step, i)).Where(x => x.step != 1).Select(x => $"guest frame {x.i + 1}: {numbers[x.i]} then {numbers[x.i + 1]}"));

    /// <summary>
    /// A camera with its own clock (a timer on a thread of its own): each expiry is a new frame, numbered from 1, that
    /// it announces on the device loop. Renders the test pattern of its newest frame number.
    /// </summary>
    private sealed class ArrivingCamera : IFrameSource, IFrameArrivals, IDisposable
    {
        private readonly TestPatternSource _pattern = new();
        private readonly LoopThread _clock = new("camera-clock", TestWait.Bound);
        private readonly EventLoop _device;
        private readonly LoopTimer _timer;
        private uint _taken;
        private uint _newest;
        private Action? _arrived;

        public ArrivingCamera(EventLoop device, long period)
        {
            _device = device;
            _timer = _clock.Invoke(() => LoopTimer.Start(_clock.Loop, period, OnExpired));
        }

        public string Name => "arriving-camera";

        public FrameContent Render(FrameFormat format, uint frameNumber, IFrameSink sink)
        {
            _pattern.Render(format, _newest, sink);
            return FrameContent.Camera;
        }

        public void FollowArrivals(Action? arrived) => _arrived = arrived;

        public void Stop() => _clock.Invoke(() =>
        {
            _timer.Dispose();
            return 0;
        });

        public void Dispose() => _clock.Dispose();

        private void OnExpired()
        {
            if (_timer.ConsumeExpirations() == 0)
            {
                return;
            }

            var number = ++_taken;
            _device.Post(() =>
            {
                _newest = number;
                _arrived?.Invoke();
            });
        }
    }
}
