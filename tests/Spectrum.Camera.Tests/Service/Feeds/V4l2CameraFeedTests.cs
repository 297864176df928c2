using Spectrum.Camera.Frames;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Tests.Core;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>
/// The V4L2 feed without a camera (the build machines have none; streaming is tested in a QEMU guest with vivid):
/// a missing or unusable device goes Unavailable and is retried once a second on the loop until StopStreaming, with
/// no fd left behind. A test-pattern feed on the same loop is the clock: its frames never come faster than its rate.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class V4l2CameraFeedTests
{
    private static readonly StreamRequest Request = new(new FrameFormat(PixelFormats.Yuyv, 640, 480), FrameRate.FromFps(30));
    private static readonly StreamRequest ClockRequest = new(new FrameFormat(PixelFormats.Yuyv, 64, 32), FrameRate.FromFps(20));

    private static readonly FeedState[] UnavailableThenStopped = [FeedState.Unavailable, FeedState.Stopped];

    private FdLeakCheck? _fds;
    private LogCapture? _log;
    private string _missing = "";

    [SetUp]
    public void CountFds()
    {
        _fds = FdLeakCheck.Start();
        _log = new LogCapture();
        _missing = Path.Combine(Path.GetTempPath(), $"spectrum-feed-{Guid.NewGuid():N}", "video0");
    }

    [TearDown]
    public void NoFdLeaked()
    {
        _log!.Dispose();
        _fds!.AssertNoLeak();
    }

    [Test]
    public void A_missing_camera_is_unavailable_and_retried_every_second_until_stopped()
    {
        var recorder = new FeedRecorder();
        var clock = new FeedRecorder();
        using (var loop = new FeedLoop())
        {
            using var feed = new V4l2CameraFeed(loop.Loop, _missing);
            using var ticker = new TestPatternCameraFeed(loop.Loop);
            loop.Invoke(() =>
            {
                recorder.Attach(feed);
                clock.Attach(ticker);
                feed.StartStreaming([Request]);
                Assert.That(feed.State, Is.EqualTo(FeedState.Unavailable));
                Assert.That(feed.IsRetrying, Is.True);
                Assert.That(feed.FailedOpens, Is.EqualTo(1));
                Assert.That(feed.CurrentMode, Is.Null);
                Assert.That(feed.Description, Does.Contain(_missing).And.Contain("Unavailable").And.Contain("640x480"));
            });

            FeedLoop.WaitUntil(() => loop.Invoke(() => feed.FailedOpens) >= 3, "two retries");
            var failuresAtStop = loop.Invoke(() =>
            {
                feed.StopStreaming();
                Assert.That(feed.State, Is.EqualTo(FeedState.Stopped));
                Assert.That(feed.IsRetrying, Is.False);
                ticker.StartStreaming([ClockRequest]);
                return feed.FailedOpens;
            });

            // 30 frames at 20 fps take at least 1.5 s: a retry would have come by then.
            FeedLoop.WaitUntil(() => clock.FrameCount >= 30, "the clock feed's frames");
            loop.Invoke(() =>
            {
                ticker.StopStreaming();
                Assert.That(feed.FailedOpens, Is.EqualTo(failuresAtStop), "open attempts after StopStreaming");
            });
        }

        Assert.That(recorder.Frames, Is.Empty);
        var states = recorder.States;
        Assert.That(states.Select(s => s.State), Is.EqualTo(UnavailableThenStopped));
        Assert.That(states[0].Detail, Does.Contain(_missing).And.Contain("no such device node").And.Contain("retrying every second"));

        // One log line for the failure however often it is retried, then one for the stop.
        var log = _log!.Text;
        Assert.That(CountOf(log, "unavailable:"), Is.EqualTo(1), log);
        Assert.That(log, Does.Contain($"camera {_missing} closed"));
    }

    [Test]
    public void A_node_that_is_not_a_camera_is_unavailable_too()
    {
        var recorder = new FeedRecorder();
        using (var loop = new FeedLoop())
        {
            using var feed = new V4l2CameraFeed(loop.Loop, "/dev/null");
            loop.Invoke(() =>
            {
                recorder.Attach(feed);
                feed.StartStreaming([Request]);
                Assert.That(feed.State, Is.EqualTo(FeedState.Unavailable));
                Assert.That(feed.IsRetrying, Is.True);
            });
        }

        Assert.That(recorder.States.Single().Detail, Does.Contain("/dev/null").And.Contain("retrying"));
    }

    [Test]
    public void A_new_plan_while_unavailable_waits_for_the_retry_and_dispose_closes_everything()
    {
        using var loop = new FeedLoop();
        var feed = new V4l2CameraFeed(loop.Loop, _missing);
        loop.Invoke(() =>
        {
            feed.StartStreaming([Request]);
            feed.StartStreaming([Request, new StreamRequest(new FrameFormat(PixelFormats.Nv12, 1280, 720), FrameRate.FromFps(15))]);
            Assert.That(feed.FailedOpens, Is.EqualTo(1), "a re-plan does not try at once");
            Assert.That(feed.Description, Does.Contain("NV12 1280x720 1/30 s"));
            feed.Dispose();
            Assert.That(feed.IsRetrying, Is.False);
            feed.Dispose();
        });
    }

    private static int CountOf(string text, string fragment)
    {
        var count = 0;
        for (var i = text.IndexOf(fragment, StringComparison.Ordinal); i >= 0; i = text.IndexOf(fragment, i + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
