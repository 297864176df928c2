using Spectrum.Camera.Frames;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Tests.Core;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Output;

/// <summary>
/// A hostile camera VM against the output device: wrong bytesused or field, SG lists outside RAM or over the command,
/// format changes while buffers exist, QBUF floods, a producer that stops returning or goes away mid-stream, guest pages
/// that leave RAM under a queued buffer, and frames after demand ended. Each gets a clear errno or is dropped and
/// counted; the destination never receives a partial frame, and the device serves on.
/// </summary>
public sealed class HostileProducerTests : OutputTestBase
{
    private static readonly FrameFormat Format = new(PixelFormats.Yuyv, 320, 240);

    [SetUp]
    public void StartWanted() => Start(Wanted(Format));

    [TestCase(-1, TestName = "bytesused one byte short")]
    [TestCase(1, TestName = "bytesused one byte long")]
    [TestCase(int.MinValue, TestName = "bytesused 0")]
    [TestCase(4096, TestName = "bytesused the whole longer buffer")]
    public void A_buffer_whose_bytesused_is_not_the_frame_size_is_einval_and_stays_with_the_producer(int delta)
    {
        var producer = H.Producer();
        Assert.That(producer.SetFormat(Format.PixelFormat, Format.Width, Format.Height).Status, Is.Zero);
        Assert.That(producer.Allocate(1, length: Format.SizeImage + 4096).Granted, Is.EqualTo(1u));
        var bytesUsed = delta == int.MinValue ? 0 : (uint)(Format.SizeImage + delta);

        Assert.That(producer.Queue(0, FrameOf(Format, 0), bytesUsed).Status, Is.EqualTo(EINVAL), "QBUF");
        var prepare = producer.Ioctl(V4l2IoctlNumber.PrepareBuf,
            MediaRequests.OutputBuffer(0, MediaRequests.UserPtrOf(0), producer.Buffers[0].Length, bytesUsed), BufferSize, producer.Buffers[0].SgList());
        Assert.That(prepare.Status, Is.EqualTo(EINVAL), "PREPARE_BUF");
        Assert.That(FlagsOf(producer, 0) & V4l2.BufFlagQueued, Is.Zero, "not queued");
        Assert.That(H.LogText, Does.Contain($"bytesused {bytesUsed} is not the YUYV 320x240 frame size {Format.SizeImage}"));

        Assert.That(producer.Queue(0, FrameOf(Format, 0)).Status, Is.Zero, "the exact size is taken");
    }

    [Test]
    public void An_interlaced_buffer_is_einval()
    {
        var producer = ProducerFor(Format, 1);
        var buffer = producer.Buffers[0];
        var interlaced = MediaRequests.OutputBuffer(0, MediaRequests.UserPtrOf(0), buffer.Length, Format.SizeImage, field: 4);
        Assert.That(producer.Ioctl(V4l2IoctlNumber.QBuf, interlaced, BufferSize, buffer.SgList()).Status, Is.EqualTo(EINVAL));
        var any = MediaRequests.OutputBuffer(0, MediaRequests.UserPtrOf(0), buffer.Length, Format.SizeImage, field: V4l2.FieldAny);
        Assert.That(producer.Ioctl(V4l2IoctlNumber.QBuf, any, BufferSize, buffer.SgList()).Status, Is.Zero, "FIELD_ANY: the device's choice");
    }

    [TestCase("in the VGA hole")]
    [TestCase("past the end of RAM")]
    [TestCase("over the command's own request")]
    public void An_sg_list_outside_guest_ram_or_over_the_command_is_efault(string where)
    {
        var producer = ProducerFor(Format, 1);
        var request = H.Ram.Allocate(16 + BufferSize + 16, 4096);
        var response = H.Reserve(8 + BufferSize, alignment: 4096);
        var start = where switch
        {
            "in the VGA hole" => GuestRam.HoleStart,
            "past the end of RAM" => H.Ram.Size - 4096,
            _ => request,
        };
        var bytes = MediaRequests.Ioctl(producer.Session, V4l2IoctlNumber.QBuf,
            MediaRequests.OutputBuffer(0, MediaRequests.UserPtrOf(0), Format.SizeImage, Format.SizeImage), MediaRequests.SgList((start, Format.SizeImage)));
        bytes.CopyTo(H.Ram.Span(request, bytes.Length));

        var used = H.SendChain([(request, (uint)bytes.Length)], [(response, 8 + BufferSize)]);

        Assert.That((used, U32(H.Ram.Span(response, 8), 0)), Is.EqualTo((8u, EFAULT)));
        Assert.That(FlagsOf(producer, 0) & V4l2.BufFlagQueued, Is.Zero);
        Assert.That(producer.Queue(0, FrameOf(Format, 0)).Status, Is.Zero, "a valid list is still taken");
    }

    [Test]
    public void The_format_cannot_change_while_buffers_exist_and_the_queue_not_while_it_streams()
    {
        var producer = ProducerFor(Format, 2);
        Assert.That(producer.SetFormat(PixelFormats.Nv12, 640, 480).Status, Is.EqualTo(EBUSY), "S_FMT with buffers");
        Assert.That(producer.Queue(0, FrameOf(Format, 0)).Status, Is.Zero);
        Assert.That(producer.StreamOn(), Is.Zero);
        Assert.That(producer.SetFormat(PixelFormats.Yu12, 320, 240).Status, Is.EqualTo(EBUSY), "S_FMT while streaming");
        Assert.That(producer.Allocate(4).Status, Is.EqualTo(EBUSY), "REQBUFS while streaming");
        var other = H.Producer();
        Assert.That(other.Allocate(1, length: 4096).Status, Is.EqualTo(EBUSY), "another session cannot take the queue");
        Assert.That(other.StreamOff(), Is.EqualTo(EBUSY), "nor stop it");

        Assert.That(producer.NextReturn(Wait), Is.Not.Null);
        Assert.That(OnDestination(d => d.Frames.Single().Bytes), Is.EqualTo(FrameOf(Format, 0)), "the stream's one frame, whole");
        Assert.That(producer.StreamOff(), Is.Zero);
        Assert.That(producer.Allocate(0).Status, Is.Zero);
        Assert.That(producer.SetFormat(PixelFormats.Nv12, 640, 480).Status, Is.Zero, "free again");
    }

    [Test]
    public void A_qbuf_flood_is_answered_command_by_command_and_nothing_grows()
    {
        var producer = ProducerFor(Format, 4);
        for (var i = 0; i < 4; i++)
        {
            Assert.That(producer.Queue(i, FrameOf(Format, (uint)i)).Status, Is.Zero);
        }

        // Before STREAMON every buffer is queued: QBUF again, or of a buffer past the allocated four, is refused.
        var buffer = producer.Buffers[0];
        var again = MediaRequests.OutputBuffer(0, MediaRequests.UserPtrOf(0), buffer.Length, Format.SizeImage);
        var beyond = MediaRequests.OutputBuffer(4, MediaRequests.UserPtrOf(4), buffer.Length, Format.SizeImage);
        for (var i = 0; i < 1000; i++)
        {
            Assert.That(producer.Ioctl(V4l2IoctlNumber.QBuf, again, BufferSize, buffer.SgList()).Status, Is.EqualTo(EINVAL));
        }

        Assert.That(producer.StreamOn(), Is.Zero);
        for (var i = 0; i < 1000; i++)
        {
            Assert.That(producer.Ioctl(V4l2IoctlNumber.QBuf, beyond, BufferSize, buffer.SgList()).Status, Is.EqualTo(EINVAL));
        }

        for (var i = 0; i < 4; i++)
        {
            Assert.That(producer.NextReturn(Wait), Is.Not.Null, $"return {i}");
        }

        var (taken, periods) = H.OnLoop(d => (d.Counters.Taken, d.Counters.Periods));
        Assert.That(taken, Is.EqualTo(4UL), "the four buffers, each once");
        Assert.That(taken, Is.LessThanOrEqualTo(periods), "one buffer a period, flood or not");
        var frames = OnDestination(d => d.Frames.Select(f => f.Bytes).ToList());
        Assert.That(frames, Is.EqualTo(Enumerable.Range(0, 4).Select(i => FrameOf(Format, (uint)i))), "the frames, whole and in order");
    }

    [Test]
    public void A_producer_that_stops_queuing_gets_nothing_taken_and_nothing_grows()
    {
        var producer = ProducerFor(Format, 4);
        for (var i = 0; i < 4; i++)
        {
            Assert.That(producer.Queue(i, FrameOf(Format, (uint)i)).Status, Is.Zero);
        }

        Assert.That(producer.StreamOn(), Is.Zero);
        for (var i = 0; i < 4; i++)
        {
            Assert.That(producer.NextReturn(Wait), Is.Not.Null, $"return {i}");
        }

        // Ten more periods with nothing queued.
        var periods = H.OnLoop(d => d.Counters.Periods);
        Assert.That(H.WaitUntil(d => d.Counters.Periods >= periods + 10), Is.True);
        Assert.That(H.Counters(), Is.EqualTo((4UL, 0UL, 0UL, 0UL)), "forwarded, dropped, failed, held");
        Assert.That(producer.NextEvent(TimeSpan.Zero), Is.Null, "no event without a buffer");
    }

    [Test]
    public void A_producer_that_takes_no_events_keeps_its_buffers_queued_until_it_does()
    {
        // Eventq without buffers and its backlog filled with 64 control events: the device cannot return a buffer, so
        // it takes none; the queued buffer waits, counted as held periods.
        Start(null, eventBuffers: 0);
        var producer = ProducerFor(Format, 1);
        Assert.That(producer.Ioctl(V4l2IoctlNumber.SubscribeEvent,
            MediaRequests.EventSubscription(V4l2.EventCtrl, Spectrum.Camera.Media.Device.OutputControls.FramesWantedId), 0).Status, Is.Zero);
        for (var i = 0; i <= 64; i++)
        {
            SetDemand(i % 2 == 0 ? Wanted(Format) : null); // 64 events fill the backlog; the 65th change is owed
        }

        Assert.That(producer.Queue(0, FrameOf(Format, 0)).Status, Is.Zero);
        Assert.That(producer.StreamOn(), Is.Zero);
        Assert.That(H.WaitUntil(d => d.Counters.HeldPeriods >= 5), Is.True, "held while the driver takes no events");
        Assert.That(H.OnLoop(d => d.Counters.Taken), Is.Zero);

        H.Driver.PostEventBuffers(80);
        Assert.That(producer.NextReturn(Wait), Is.Not.Null, "taken once events flow again");
        Assert.That(H.OnLoop(d => d.Counters.Taken), Is.EqualTo(1UL));
    }

    [Test]
    public void Frames_after_demand_ended_are_dropped_and_counted_and_their_buffers_still_come_back()
    {
        var producer = ProducerFor(Format, 2);
        Assert.That(producer.Queue(0, FrameOf(Format, 0)).Status, Is.Zero);
        Assert.That(producer.StreamOn(), Is.Zero);
        Assert.That(producer.NextReturn(Wait), Is.Not.Null);
        SetDemand(null);

        for (var i = 1; i <= 5; i++)
        {
            Assert.That(producer.Queue(i % 2, FrameOf(Format, (uint)i)).Status, Is.Zero);
            var back = producer.NextReturn(Wait) ?? throw new AssertionException($"buffer {i % 2} did not come back");
            Assert.That((back.Sequence, back.Flags & V4l2.BufFlagError), Is.EqualTo(((uint)i, 0u)), "returned in sequence, without error");
        }

        Assert.That(H.Counters(), Is.EqualTo((1UL, 5UL, 0UL, 0UL)), "forwarded, dropped, failed, held");
        Assert.That(OnDestination(d => (d.Frames.Count, d.Refused)), Is.EqualTo((1, 5)));
    }

    [Test]
    public void Guest_pages_that_leave_ram_under_a_queued_buffer_fail_that_frame_and_never_pass_on_part_of_it()
    {
        var producer = ProducerFor(Format, 1);
        Assert.That(producer.Queue(0, FrameOf(Format, 0)).Status, Is.Zero);
        var firstPage = producer.Buffers[0].Ranges.Min(r => r.Gpa) & ~4095UL;

        // The VMM drops the RAM above the buffer's first page (the rings and event buffers lie below it).
        var lowRam = Wire.MemTable((0, GuestRam.HoleStart, H.Ram.UserAddressOf(0), 0),
            (GuestRam.HoleEnd, firstPage - GuestRam.HoleEnd, H.Ram.UserAddressOf(GuestRam.HoleEnd), GuestRam.HoleEnd));
        Assert.That(H.Vmm.Client.Send(TestFrontend.VhostUserClient.SetMemTable, lowRam, [H.Ram.Fd.Fd, H.Ram.Fd.Fd]), Is.Zero);
        Assert.That(producer.StreamOn(), Is.Zero);

        var back = producer.NextReturn(Wait) ?? throw new AssertionException("the buffer did not come back");
        Assert.That(back.Flags & V4l2.BufFlagError, Is.EqualTo(V4l2.BufFlagError), "returned with ERROR");
        Assert.That(OnDestination(d => (d.Frames.Count, d.Aborted)), Is.EqualTo((0, 1)), "begun, then forgotten: nothing published");
        Assert.That(H.Counters().Failed, Is.EqualTo(1UL));

        Assert.That(H.Vmm.Client.SendMemTable(H.Ram), Is.Zero, "RAM back");
        Assert.That(producer.Queue(0, FrameOf(Format, 1)).Status, Is.Zero);
        Assert.That(producer.NextReturn(Wait)?.Flags & V4l2.BufFlagError, Is.Zero);
        Assert.That(OnDestination(d => d.Frames.Single().Bytes), Is.EqualTo(FrameOf(Format, 1)));
    }

    [Test]
    public void The_owner_closing_mid_stream_ends_the_stream_and_frees_the_queue()
    {
        var producer = ProducerFor(Format, 2);
        Assert.That(producer.Queue(0, FrameOf(Format, 0)).Status, Is.Zero);
        Assert.That(producer.Queue(1, FrameOf(Format, 1)).Status, Is.Zero);
        Assert.That(producer.StreamOn(), Is.Zero);
        Assert.That(producer.NextReturn(Wait), Is.Not.Null);

        Assert.That(H.Close(producer.Session), Is.Zero);

        Assert.That(H.OnLoop(d => d.IsStreaming), Is.False);
        Assert.That(OnDestination(d => (d.Streams.Count, d.StreamsStopped)), Is.EqualTo((1, 1)), "the destination learns the stream ended");
        var frames = OnDestination(d => d.Frames.Select(f => f.Bytes).ToList());
        Assert.That(frames, Is.EqualTo(Enumerable.Range(0, frames.Count).Select(i => FrameOf(Format, (uint)i))), "only whole frames");
        var next = H.Producer();
        Assert.That(next.GetFormat().Status, Is.Zero);
        Assert.That(next.Allocate(2).Granted, Is.EqualTo(2u), "another session can take the queue");
    }

    [Test]
    public void A_guest_reboot_mid_stream_ends_the_stream_and_the_new_driver_gets_the_demanded_format()
    {
        var nv12 = new FrameFormat(PixelFormats.Nv12, 640, 480);
        SetDemand(Wanted(nv12));
        var producer = ProducerFor(Format, 1);
        Assert.That(producer.Queue(0, FrameOf(Format, 0)).Status, Is.Zero);
        Assert.That(producer.StreamOn(), Is.Zero);

        H.Reboot();

        Assert.That(OnDestination(d => d.StreamsStopped), Is.EqualTo(1));
        Assert.That(H.SessionCount(), Is.Zero);
        var (status, format) = H.Producer().GetFormat();
        Assert.That((status, new FrameFormat(format.Pix.PixelFormat, format.Pix.Width, format.Pix.Height)), Is.EqualTo((0u, nv12)));
    }

    private static uint FlagsOf(OutputProducer producer, uint index) =>
        U32(producer.Ioctl(V4l2IoctlNumber.QueryBuf, MediaRequests.Buffer(index, 0, 0, MediaRequests.Output), BufferSize).Answer, 12);
}
