using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// Frames end to end: timerfd-paced renders into scattered guest pages, EVT_DQBUF with exact bytesused, sequence and
/// monotonic timestamps, pixel-exact test pattern, black frames, format changes between streams, and frames never
/// written outside the buffers. Assertions use counts and order only, never elapsed time.
/// </summary>
public sealed class StreamingTests : MediaTestBase
{
    private const ulong StreamingRam = 256UL << 20;
    private static readonly uint[] FirstTwoSequences = [0, 1];

    [TestCase("YUYV")]
    [TestCase("NV12")]
    [TestCase("YU12")]
    public void Streams_120_pixel_exact_test_pattern_frames_at_1920x1080(string fourcc)
    {
        var h = Start(ramSize: StreamingRam);
        var client = new CaptureClient(h);
        client.SetFormat(Fourcc(fourcc), 1920, 1080);
        client.Allocate(6);
        client.QueueAll();
        var streamOn = MonotonicClock.NowNanoseconds();
        Assert.That(client.StreamOn(), Is.Zero);

        var frames = ReceiveTestPattern(client, 120, streamOn);

        Assert.That(frames[0], Is.Zero, "the first frame after STREAMON is frame 0");
        Assert.That(client.StreamOff(), Is.Zero);
        var counters = h.Counters();
        Assert.That(counters.Failed, Is.Zero);
        Assert.That(counters.Delivered, Is.GreaterThanOrEqualTo(120UL));
        Assert.That(counters.TestPattern, Is.EqualTo(counters.Delivered));
    }

    [Test]
    public void Frames_whose_events_streamoff_withdraws_from_the_backlog_are_not_counted_as_delivered()
    {
        // Two eventq buffers and four frames: two events reach the driver, two wait in the backlog when STREAMOFF
        // withdraws them. Only the two the driver got count as delivered.
        var h = Start(eventBuffers: 2);
        var client = new CaptureClient(h);
        client.Allocate(4);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        Assert.That(h.WaitUntil(d => d.Counters.Delivered == 4), Is.True, "four frames rendered");

        Assert.That(client.StreamOff(), Is.Zero);

        var (delivered, discarded, testPattern) = h.OnLoop(d => (d.Counters.Delivered, d.Counters.Discarded, d.Counters.TestPattern));
        Assert.That((delivered, discarded, testPattern), Is.EqualTo((2UL, 2UL, 2UL)), "delivered, discarded, test pattern");
        var events = h.DrainEvents(TimeSpan.FromMilliseconds(300));
        Assert.That(events, Has.Count.EqualTo(2), "the driver gets exactly the two delivered frames' events");
        Assert.That(events.Select(e => Read<VirtioMediaDqbufEvent>(e).Buffer.Sequence), Is.EqualTo(FirstTwoSequences));
    }

    [Test]
    public void The_black_source_delivers_black_frames_in_every_format()
    {
        var h = Start(new BlackFrameSource());
        var client = new CaptureClient(h);
        foreach (var format in new[] { Yuyv, Nv12, Yu12 })
        {
            client.SetFormat(format, 640, 480);
            client.Allocate(4);
            client.QueueAll();
            Assert.That(client.StreamOn(), Is.Zero);
            uint? previous = null;
            for (var i = 0; i < 5; i++)
            {
                var (_, index, sequence, _, frame) = client.NextFrame();
                Assert.That(TestPatternVerifier.IsBlack(client.Format, frame), Is.True, $"{client.Format} frame {sequence}");
                if (previous is { } p)
                {
                    Assert.That(sequence, Is.GreaterThan(p), "sequence increases");
                }

                previous = sequence;
                client.Queue(index);
            }

            Assert.That(client.StreamOff(), Is.Zero);
            client.Free();
        }

        var counters = h.Counters();
        Assert.That(counters.Black, Is.EqualTo(counters.Delivered));
        Assert.That(counters.TestPattern, Is.Zero);
    }

    [Test]
    public void The_format_changes_between_streams()
    {
        var h = Start(ramSize: StreamingRam);
        var client = new CaptureClient(h);
        client.Allocate(4);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        var before = ReceiveTestPattern(client, 3, MonotonicClock.NowNanoseconds());
        Assert.That(client.StreamOff(), Is.Zero);
        Assert.That(h.Ioctl(client.Session, SFmt, Format(1280, 720, Nv12), FormatSize).Status, Is.EqualTo(EBUSY),
            "buffers are still allocated");
        var oldBuffer = client.Buffers[0];

        client.Free();
        client.SetFormat(Nv12, 1280, 720);
        client.Allocate(4);
        var (tooSmall, _) = h.Ioctl(client.Session, QBuf, Buffer(0, 1, oldBuffer.Length), BufferSize, oldBuffer.SgList());
        Assert.That(tooSmall, Is.EqualTo(EINVAL), "a buffer sized for the old format is too small now");
        client.QueueAll();
        var restart = MonotonicClock.NowNanoseconds();
        Assert.That(client.StreamOn(), Is.Zero);
        var after = ReceiveTestPattern(client, 3, restart);

        Assert.That(before[0], Is.Zero);
        Assert.That(after[0], Is.Zero, "sequence restarts with the stream");
    }

    [Test]
    public void A_period_without_a_queued_buffer_is_dropped_and_shows_as_a_sequence_gap()
    {
        var client = new CaptureClient(H);
        client.Allocate(2);
        client.Queue(0);
        Assert.That(client.StreamOn(), Is.Zero);
        var first = client.NextFrame();
        var droppedAtFirst = H.Counters().Dropped;
        Assert.That(H.WaitUntil(d => d.Counters.Dropped >= droppedAtFirst + 3), Is.True, "periods pass with no buffer");
        var droppedBeforeQbuf = H.Counters().Dropped;

        client.Queue(first.Index);
        var next = client.NextFrame();

        Assert.That(next.Sequence - first.Sequence - 1, Is.GreaterThanOrEqualTo(droppedBeforeQbuf - droppedAtFirst),
            "every dropped period is a missing sequence number");
        Assert.That(TestPatternVerifier.TryDecode(client.Format, next.Frame, out var number, out var exact), Is.True);
        Assert.That((number, exact), Is.EqualTo((next.Sequence, true)), "the frame shows the period's number");
        Assert.That(next.TimestampNs, Is.GreaterThan(first.TimestampNs));
    }

    [Test]
    public void Qbuf_is_answered_before_its_buffer_s_event()
    {
        var client = new CaptureClient(H);
        client.Allocate(1);
        Assert.That(client.StreamOn(), Is.Zero);
        var q = H.Driver.CommandQueue;
        var b = client.Buffers[0];
        var request = H.Place(MediaRequests.Ioctl(client.Session, QBuf, Buffer(0, MediaRequests.UserPtrOf(0), b.Length), b.SgList()));
        var requestLength = (uint)(16 + BufferSize + b.SgList().Length);
        var response = H.Reserve(8 + BufferSize);
        for (var round = 0; round < 5; round++)
        {
            var usedBefore = q.UsedIndex;
            var head = q.AddChain([(request, requestLength)], [(response, 8 + BufferSize)]);
            q.Notify(); // no wait for the answer: the event may be the first thing we see

            var (e, index, _, _, _) = client.NextFrame();

            Assert.That(q.UsedIndex, Is.EqualTo((ushort)(usedBefore + 1)), "the QBUF answer was published before the event");
            Assert.That(q.TryTakeUsed(out var usedHead, out var length), Is.True);
            Assert.That((usedHead, length), Is.EqualTo((head, 8u + BufferSize)));
            Assert.That(U32(H.Ram.Span(response, 8), 0), Is.Zero);
            Assert.That((index, U32(e, 4)), Is.EqualTo((0, client.Session)));
        }
    }

    [Test]
    public void Buffers_given_page_by_page_in_contiguous_runs_get_exact_frames_and_nothing_lands_between_the_runs()
    {
        // Runs of 5 pages, each page its own SG entry (the device merges each run into one range), the first run
        // starting 100 bytes into its page, a free guard page after every run.
        const byte Canary = 0xA5;
        const uint Page = 4096;
        var client = new CaptureClient(H);
        client.SetFormat(Yuyv, 640, 480);
        client.Allocate(2, firstPageOffset: 100, pagesPerRun: 5);
        foreach (var b in client.Buffers)
        {
            Assert.That(b.Ranges, Has.Count.EqualTo(((client.SizeImage + 100) / Page) + 1), "one SG entry per page");
            Assert.That(b.Runs, Has.Count.LessThan(b.Ranges.Count / 4), "the pages form runs of 5");
            foreach (var (gpa, length) in b.Runs)
            {
                H.Ram.Span(gpa & ~(ulong)(Page - 1), (int)((((gpa % Page) + length + Page - 1) / Page * Page) + Page)).Fill(Canary);
            }
        }

        client.QueueAll();
        StreamSixExactFrames(client);
        foreach (var b in client.Buffers)
        {
            foreach (var (gpa, length) in b.Runs)
            {
                var firstPage = gpa & ~(ulong)(Page - 1);
                Assert.That(H.Ram.Span(firstPage, (int)(gpa - firstPage)).ContainsAnyExcept(Canary), Is.False, "before a run");
                var end = gpa + length;
                var guardEnd = ((end + Page - 1) & ~(ulong)(Page - 1)) + Page;
                Assert.That(H.Ram.Span(end, (int)(guardEnd - end)).ContainsAnyExcept(Canary), Is.False, "after a run (guard page)");
            }
        }
    }

    [Test]
    public void Frames_are_never_written_outside_the_buffer_s_pages()
    {
        // Buffers of scattered pages (each followed by an unused guard page), starting 100 bytes into a page, a page
        // longer than the frame, with an SG list whose last entry runs 512 bytes past the declared length.
        const byte Canary = 0xA5;
        const uint Page = 4096;
        var client = new CaptureClient(H);
        client.SetFormat(Nv12, 640, 480);
        client.Allocate(2, length: client.SizeImage + Page, firstPageOffset: 100);
        foreach (var b in client.Buffers)
        {
            foreach (var (gpa, _) in b.Ranges)
            {
                H.Ram.Span(gpa & ~(ulong)(Page - 1), (int)(2 * Page)).Fill(Canary);
            }
        }

        for (var i = 0; i < client.Buffers.Count; i++)
        {
            var ranges = client.Buffers[i].Ranges.ToArray();
            ranges[^1] = (ranges[^1].Gpa, ranges[^1].Length + 512);
            var request = Buffer((uint)i, MediaRequests.UserPtrOf(i), client.Buffers[i].Length);
            Assert.That(H.Ioctl(client.Session, QBuf, request, BufferSize, SgList(ranges)).Status, Is.Zero);
        }

        StreamSixExactFrames(client);
        foreach (var b in client.Buffers)
        {
            var offsetInBuffer = 0u;
            foreach (var (gpa, length) in b.Ranges)
            {
                var pagePair = gpa & ~(ulong)(Page - 1);
                var before = (int)(gpa - pagePair);
                Assert.That(H.Ram.Span(pagePair, before).ContainsAnyExcept(Canary), Is.False, "before a range");
                var afterStart = gpa + length;
                Assert.That(H.Ram.Span(afterStart, (int)(pagePair + (2 * Page) - afterStart)).ContainsAnyExcept(Canary), Is.False,
                    "after a range (guard page)");
                // Inside the buffer, nothing past the frame's bytes either.
                var frameBytesHere = (int)Math.Clamp((long)client.SizeImage - offsetInBuffer, 0, length);
                Assert.That(H.Ram.Span(gpa + (ulong)frameBytesHere, (int)length - frameBytesHere).ContainsAnyExcept(Canary), Is.False,
                    "past the frame");
                offsetInBuffer += length;
            }
        }
    }

    [Test]
    public void Streamoff_discards_frames_whose_events_have_not_reached_the_driver()
    {
        var (h, client) = StreamIntoBacklog();
        Assert.That(client.StreamOff(), Is.Zero);

        h.Driver.PostEventBuffers(4);
        client.Queue(1);
        Assert.That(client.StreamOn(), Is.Zero);
        var (_, index, sequence, _, frame) = client.NextFrame();

        Assert.That((index, sequence), Is.EqualTo((1, 0u)), "the first event is the new stream's first frame");
        Assert.That(TestPatternVerifier.TryDecode(client.Format, frame, out var number, out _), Is.True);
        Assert.That(number, Is.Zero);
    }

    [Test]
    public void Close_discards_the_owner_s_frames_whose_events_have_not_reached_the_driver()
    {
        var (h, owner) = StreamIntoBacklog();
        Assert.That(h.Close(owner.Session), Is.Zero);

        var next = new CaptureClient(h);
        next.Allocate(1);
        next.Queue(0);
        h.Driver.PostEventBuffers(4);
        Assert.That(next.StreamOn(), Is.Zero);
        var (e, _, sequence, _, _) = next.NextFrame();
        Assert.That((U32(e, 4), sequence), Is.EqualTo((next.Session, 0u)), "no event of the closed session arrives");
    }

    /// <summary>
    /// A device with no eventq buffers posted and two frames completed: their EVT_DQBUF events wait in the device's
    /// backlog for buffers the driver has not posted yet.
    /// </summary>
    private (MediaHarness Harness, CaptureClient Client) StreamIntoBacklog()
    {
        var h = Start(eventBuffers: 0);
        var client = new CaptureClient(h);
        client.Allocate(2);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        Assert.That(h.WaitUntil(d => d.Counters.Delivered == 2), Is.True);
        return (h, client);
    }

    /// <summary>
    /// Receives <paramref name="count"/> frames, re-queueing each buffer after checking it: the frame is the exact test
    /// pattern for its own number, that number is the event's sequence, sequences strictly increase, and timestamps
    /// strictly increase within [STREAMON, now] on CLOCK_MONOTONIC. Returns the sequences.
    /// </summary>
    /// <summary>STREAMON, six exact test-pattern frames (the buffers of the first four queued again), STREAMOFF.</summary>
    private static void StreamSixExactFrames(CaptureClient client)
    {
        Assert.That(client.StreamOn(), Is.Zero);
        for (var i = 0; i < 6; i++)
        {
            var (_, index, sequence, _, frame) = client.NextFrame();
            Assert.That(TestPatternVerifier.TryDecode(client.Format, frame, out var number, out var exact), Is.True);
            Assert.That((number, exact), Is.EqualTo((sequence, true)));
            if (i < 4)
            {
                client.Queue(index);
            }
        }

        Assert.That(client.StreamOff(), Is.Zero);
    }

    private static List<uint> ReceiveTestPattern(CaptureClient client, int count, long streamOnNs)
    {
        var sequences = new List<uint>();
        long previousTimestamp = streamOnNs;
        for (var i = 0; i < count; i++)
        {
            var (_, index, sequence, timestamp, frame) = client.NextFrame();
            var now = MonotonicClock.NowNanoseconds();
            if (!TestPatternVerifier.TryDecode(client.Format, frame, out var number, out var exact) || !exact || number != sequence)
            {
                Assert.Fail($"{client.Format} frame {i} (sequence {sequence}): marker or exactness lost, decoded {number}, exact {exact}");
            }

            if (sequences.Count > 0 && sequence <= sequences[^1])
            {
                Assert.Fail($"sequence {sequence} after {sequences[^1]}");
            }

            if (timestamp <= previousTimestamp || timestamp > now)
            {
                Assert.Fail($"timestamp {timestamp} not in ({previousTimestamp}, {now}]");
            }

            sequences.Add(sequence);
            previousTimestamp = timestamp;
            client.Queue(index);
        }

        return sequences;
    }
}
