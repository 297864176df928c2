using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Core;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>
/// The synthetic camera on a real device loop: states, sequence, timestamps, rendering in every guest format, stop,
/// re-plan, and fds. Counts and ordering only: the one timing check is a lower bound the kernel guarantees (a
/// timerfd never fires early), so a loaded machine cannot fail it.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TestPatternCameraFeedTests
{
    private static readonly FrameRate Fps30 = FrameRate.FromFps(30);
    private static readonly FrameRate Fps60 = FrameRate.FromFps(60);

    private static readonly FrameFormat[] Formats =
    [
        .. new[] { PixelFormats.Yuyv, PixelFormats.Nv12, PixelFormats.Yu12 }
            .SelectMany(f => new[] { new FrameFormat(f, 640, 480), new FrameFormat(f, 320, 180) }),
    ];

    private static readonly string[] StartOfStream = ["state:Opening", "state:Streaming", "frame:0"];
    private static readonly FeedState[] OpenStreamStop = [FeedState.Opening, FeedState.Streaming, FeedState.Stopped];

    private FdLeakCheck? _fds;
    private LogCapture? _log;

    [SetUp]
    public void CountFds()
    {
        _fds = FdLeakCheck.Start();
        _log = new LogCapture();
    }

    [TearDown]
    public void NoFdLeaked()
    {
        _log!.Dispose();
        _fds!.AssertNoLeak();
    }

    [Test]
    public void Frames_count_up_from_zero_after_opening_and_streaming()
    {
        var recorder = new FeedRecorder();
        using (var loop = new FeedLoop())
        {
            using var feed = new TestPatternCameraFeed(loop.Loop);
            var armed = MonotonicClock.NowNanoseconds();
            loop.Invoke(() =>
            {
                recorder.Attach(feed);
                feed.StartStreaming([new StreamRequest(Formats[0], Fps60), new StreamRequest(Formats[1], Fps30)]);
                Assert.That(feed.State, Is.EqualTo(FeedState.Opening));
            });
            FeedLoop.WaitUntil(() => recorder.FrameCount >= 12, "12 frames");
            loop.Invoke(() =>
            {
                Assert.That(feed.State, Is.EqualTo(FeedState.Streaming));
                Assert.That(feed.Rate, Is.EqualTo(Fps60), "the fastest requested rate");
                feed.StopStreaming();
            });

            var frames = recorder.Frames;
            Assert.That(recorder.Events.Take(3), Is.EqualTo(StartOfStream));
            Assert.That(frames.Select(f => f.Sequence), Is.EqualTo(Enumerable.Range(0, frames.Count).Select(i => (ulong)i)));
            Assert.That(frames.Select(f => f.TimestampNanoseconds), Is.Ordered.Ascending);
            Assert.That(frames[0].TimestampNanoseconds, Is.GreaterThanOrEqualTo(armed));

            // The n-th frame comes at the n-th expiry or later: never faster than the rate.
            Assert.That(frames[^1].TimestampNanoseconds - armed, Is.GreaterThanOrEqualTo(frames.Count * Fps60.PeriodNanoseconds));
            Assert.That(feed.FramesDelivered, Is.EqualTo(frames.Count));
            Assert.That(feed.Description, Does.StartWith("test-pattern: Stopped"));
        }
    }

    [Test]
    public void Every_frame_renders_the_pattern_numbered_with_its_sequence_in_every_format()
    {
        var recorder = new FeedRecorder(Formats, renderFrames: 4);
        using (var loop = new FeedLoop())
        {
            using var feed = new TestPatternCameraFeed(loop.Loop);
            loop.Invoke(() =>
            {
                recorder.Attach(feed);
                feed.StartStreaming([.. Formats.Select(f => new StreamRequest(f, Fps60))]);
            });
            FeedLoop.WaitUntil(() => recorder.FrameCount >= 4, "4 frames");
            loop.Invoke(feed.StopStreaming);
        }

        foreach (var frame in recorder.Frames.Take(4))
        {
            Assert.That(frame.Rendered.Select(r => r.Format), Is.EqualTo(Formats));
            foreach (var rendered in frame.Rendered)
            {
                Assert.That(rendered.Result, Is.EqualTo(ConversionResult.Converted));
                var decoded = TestPatternVerifier.TryDecode(rendered.Format, rendered.Bytes, out var number, out var exact);
                Assert.That(decoded, Is.True, $"{rendered.Format} frame {frame.Sequence}: no marker");
                Assert.That(number, Is.EqualTo((uint)frame.Sequence), $"{rendered.Format}");
                Assert.That(exact, Is.True, $"{rendered.Format} frame {frame.Sequence}");
            }
        }
    }

    [Test]
    public void Rendering_allocates_nothing_once_every_format_was_rendered()
    {
        const int Frames = 12;
        var destinations = Formats.Select(f => new byte[f.SizeImage]).ToArray();
        var allocated = new long[Frames];
        var results = new List<ConversionResult>();
        var count = 0;
        using (var loop = new FeedLoop())
        {
            using var feed = new TestPatternCameraFeed(loop.Loop);
            loop.Invoke(() =>
            {
                feed.FrameArrived += frame =>
                {
                    if (count >= Frames)
                    {
                        return;
                    }

                    for (var i = 0; i < Formats.Length; i++)
                    {
                        var result = frame.RenderInto(Formats[i], destinations[i]);
                        if (result != ConversionResult.Converted)
                        {
                            results.Add(result);
                        }
                    }

                    allocated[count] = GC.GetAllocatedBytesForCurrentThread();
                    Volatile.Write(ref count, count + 1);
                };
                feed.StartStreaming([new StreamRequest(Formats[0], Fps60)]);
            });
            FeedLoop.WaitUntil(() => Volatile.Read(ref count) >= Frames, $"{Frames} frames");
            loop.Invoke(feed.StopStreaming);
        }

        Assert.That(results, Is.Empty);

        // From the end of the 2nd frame to the end of the last: the loop's dispatch, the timer, the feed and rendering.
        Assert.That(allocated[^1] - allocated[1], Is.Zero, "bytes allocated on the loop thread over " + (Frames - 2) + " frames");
    }

    [Test]
    public void Stop_ends_the_frames_and_a_new_start_counts_from_zero_again()
    {
        var stopped = new FeedRecorder();
        var clock = new FeedRecorder();
        using (var loop = new FeedLoop())
        {
            using var feed = new TestPatternCameraFeed(loop.Loop);
            using var other = new TestPatternCameraFeed(loop.Loop);
            var request = new StreamRequest(Formats[0], Fps60);
            loop.Invoke(() =>
            {
                stopped.Attach(feed);
                feed.StartStreaming([request]);
            });
            FeedLoop.WaitUntil(() => stopped.FrameCount >= 3, "3 frames");
            var countAtStop = loop.Invoke(() =>
            {
                feed.StopStreaming();
                Assert.That(feed.State, Is.EqualTo(FeedState.Stopped));
                feed.StopStreaming(); // Twice is fine.
                clock.Attach(other);
                other.StartStreaming([request]);
                return stopped.FrameCount;
            });

            // Another feed at the same rate is the clock: 6 of its frames take at least 6 periods.
            FeedLoop.WaitUntil(() => clock.FrameCount >= 6, "the other feed's frames");
            Assert.That(stopped.FrameCount, Is.EqualTo(countAtStop), "frames after StopStreaming");
            Assert.That(stopped.Events[^1], Is.EqualTo("state:Stopped"));

            loop.Invoke(() => feed.StartStreaming([request]));
            FeedLoop.WaitUntil(() => stopped.FrameCount >= countAtStop + 2, "frames after the restart");
            loop.Invoke(() =>
            {
                feed.StopStreaming();
                other.StopStreaming();
            });
        }

        var events = stopped.Events;
        var restart = events.ToList().LastIndexOf("state:Opening");
        Assert.That(events.Skip(restart).Take(3), Is.EqualTo(StartOfStream));
    }

    [Test]
    public void A_replan_changes_the_rate_without_restarting_the_sequence()
    {
        var recorder = new FeedRecorder();
        using (var loop = new FeedLoop())
        {
            using var feed = new TestPatternCameraFeed(loop.Loop);
            loop.Invoke(() =>
            {
                recorder.Attach(feed);
                feed.StartStreaming([new StreamRequest(Formats[0], Fps30)]);
            });
            FeedLoop.WaitUntil(() => recorder.FrameCount >= 2, "2 frames");
            loop.Invoke(() =>
            {
                feed.StartStreaming([new StreamRequest(Formats[0], Fps30), new StreamRequest(Formats[3], Fps60)]);
                Assert.That(feed.Rate, Is.EqualTo(Fps60));
                Assert.That(feed.State, Is.EqualTo(FeedState.Streaming));
            });
            FeedLoop.WaitUntil(() => recorder.FrameCount >= 6, "6 frames");
            loop.Invoke(feed.StopStreaming);
        }

        var frames = recorder.Frames;
        Assert.That(frames.Select(f => f.Sequence), Is.EqualTo(Enumerable.Range(0, frames.Count).Select(i => (ulong)i)));
        Assert.That(recorder.States.Select(s => s.State), Is.EqualTo(OpenStreamStop));
    }

    [Test]
    public void Misuse_is_an_exception()
    {
        ICameraFrame? kept = null;
        var requested = 0;
        using (var loop = new FeedLoop())
        {
            using var feed = new TestPatternCameraFeed(loop.Loop);
            loop.Invoke(() =>
            {
                Assert.Throws<ArgumentException>(() => feed.StartStreaming([]));
                Assert.Throws<ArgumentException>(() => feed.StartStreaming([new StreamRequest(new FrameFormat(PixelFormats.Yuyv, 641, 480), Fps30)]));
                Assert.That(feed.State, Is.EqualTo(FeedState.Stopped));
                feed.FrameArrived += frame =>
                {
                    kept = frame;
                    Interlocked.Increment(ref requested);
                };
                feed.StartStreaming([new StreamRequest(Formats[0], Fps60)]);
            });
            FeedLoop.WaitUntil(() => Volatile.Read(ref requested) > 0, "a frame");
            loop.Invoke(() =>
            {
                feed.StopStreaming();
                Assert.Throws<InvalidOperationException>(() => kept!.RenderInto(Formats[0], new byte[Formats[0].SizeImage]),
                    "a frame kept past its callback");
                feed.Dispose();
                Assert.Throws<ObjectDisposedException>(() => feed.StartStreaming([new StreamRequest(Formats[0], Fps30)]));
            });
        }
    }

    [Test]
    public void A_destination_smaller_than_the_frame_is_an_argument_error()
    {
        Exception? error = null;
        var seen = 0;
        using (var loop = new FeedLoop())
        {
            using var feed = new TestPatternCameraFeed(loop.Loop);
            loop.Invoke(() =>
            {
                feed.FrameArrived += frame =>
                {
                    if (Interlocked.Increment(ref seen) == 1)
                    {
                        error = Assert.Catch(() => frame.RenderInto(Formats[0], new byte[Formats[0].SizeImage - 1]));
                    }
                };
                feed.StartStreaming([new StreamRequest(Formats[0], Fps60)]);
            });
            FeedLoop.WaitUntil(() => Volatile.Read(ref seen) > 0, "a frame");
            loop.Invoke(feed.StopStreaming);
        }

        Assert.That(error, Is.InstanceOf<ArgumentException>());
    }

    [Test]
    public void Dispose_while_streaming_closes_the_timer()
    {
        var recorder = new FeedRecorder();
        using var loop = new FeedLoop();
        var feed = new TestPatternCameraFeed(loop.Loop);
        loop.Invoke(() =>
        {
            recorder.Attach(feed);
            feed.StartStreaming([new StreamRequest(Formats[0], Fps60)]);
        });
        FeedLoop.WaitUntil(() => recorder.FrameCount >= 1, "a frame");
        loop.Invoke(feed.Dispose);
        loop.Invoke(feed.Dispose); // Twice is fine.
    }
}
