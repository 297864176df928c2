using Spectrum.Camera.Frames;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Output;

/// <summary>
/// Valid producers on the output device through the real vhost-user path: frames written into scattered guest pages
/// reach the destination byte for byte and in order, each buffer comes back with an exact EVT_DQBUF, the stream's rate
/// paces a producer that queues faster, and the host's demanded mode becomes the format. Assertions use counts and
/// order, never elapsed time.
/// </summary>
public sealed class OutputFrameTests : OutputTestBase
{
    private const int Frames = 24;

    [TestCase("YUYV")]
    [TestCase("NV12")]
    [TestCase("YU12")]
    public void Frames_reach_the_destination_byte_exact_and_in_order(string fourcc)
    {
        var format = new FrameFormat(Fourcc(fourcc), 640, 480);
        Start(Wanted(format));
        var producer = ProducerFor(format, 4);
        var sent = new List<byte[]>();
        for (var i = 0; i < 4; i++)
        {
            sent.Add(FrameOf(format, (uint)i));
            Assert.That(producer.Queue(i, sent[i]).Status, Is.Zero, $"QBUF {i}");
        }

        Assert.That(producer.StreamOn(), Is.Zero);
        for (var returned = 0; returned < Frames; returned++)
        {
            var e = producer.NextReturnEvent(Wait) ?? throw new TimeoutException($"buffer return {returned} did not come");
            var buffer = AssertReturn(e, format, producer, (uint)returned);
            if (sent.Count < Frames)
            {
                sent.Add(FrameOf(format, (uint)sent.Count));
                Assert.That(producer.Queue((int)buffer.Index, sent[^1]).Status, Is.Zero, "QBUF again");
            }
        }

        Assert.That(producer.StreamOff(), Is.Zero);
        var frames = OnDestination(d => d.Frames.ToList());
        Assert.That(frames, Has.Count.EqualTo(Frames), "every returned buffer's frame was passed on");
        for (var i = 0; i < Frames; i++)
        {
            Assert.That(frames[i].Sequence, Is.EqualTo((ulong)i), "committed as the return's sequence");
            Assert.That(frames[i].Bytes, Is.EqualTo(sent[i]), $"frame {i} byte for byte");
        }

        Assert.That(H.Counters(), Is.EqualTo(((ulong)Frames, 0UL, 0UL, 0UL)), "forwarded, dropped, failed, held");
        Assert.That(OnDestination(d => (d.Streams.Count, d.StreamsStopped, d.Aborted)), Is.EqualTo((1, 1, 0)));
        Assert.That(OnDestination(d => d.Streams[0]), Is.EqualTo((format, FrameRate.FromFps(60))), "the stream's format and rate");
    }

    [Test]
    public void A_producer_queuing_faster_than_the_rate_gets_one_buffer_back_per_frame_period()
    {
        var format = new FrameFormat(PixelFormats.Nv12, 320, 240);
        Start(Wanted(format));
        var producer = ProducerFor(format, 8);
        for (var i = 0; i < 8; i++)
        {
            Assert.That(producer.Queue(i, FrameOf(format, (uint)i)).Status, Is.Zero);
        }

        Assert.That(producer.StreamOn(), Is.Zero);
        for (var i = 0; i < 8; i++)
        {
            Assert.That(producer.NextReturn(Wait), Is.Not.Null, $"return {i}");
            var (taken, periods) = H.OnLoop(d => (d.Counters.Taken, d.Counters.Periods));
            Assert.That(taken, Is.LessThanOrEqualTo(periods), "never more than one buffer taken a period");
        }

        Assert.That(H.OnLoop(d => d.Counters.Periods), Is.GreaterThanOrEqualTo(8UL), "eight buffers took eight periods");
        Assert.That(OnDestination(d => d.Frames.Count), Is.EqualTo(8));
    }

    [Test]
    public void Reqbufs_grants_at_most_32_buffers_whatever_a_producer_asks_for()
    {
        var producer = H.Producer();
        Assert.That(producer.GetFormat().Status, Is.Zero);
        Assert.That(producer.Allocate(1_000_000, length: 4096).Granted, Is.EqualTo(32u));
    }

    [Test]
    public void The_demanded_mode_is_the_format_at_once_when_no_buffers_exist_and_after_reqbufs_0_otherwise()
    {
        var producer = H.Producer();
        var nv12 = new FrameFormat(PixelFormats.Nv12, 640, 480);
        SetDemand(new FrameDemand(nv12, FrameRate.FromFps(30)));
        AssertFormat(producer.GetFormat(), nv12);
        Assert.That(ParmOf(producer), Is.EqualTo((1u, 30u)), "G_PARM: the demanded rate");

        Assert.That(producer.Allocate(2).Status, Is.Zero);
        var yu12 = new FrameFormat(PixelFormats.Yu12, 320, 240);
        SetDemand(new FrameDemand(yu12, FrameRate.FromFps(60)));
        AssertFormat(producer.GetFormat(), nv12);

        Assert.That(producer.Allocate(0).Status, Is.Zero, "REQBUFS(0)");
        AssertFormat(producer.GetFormat(), yu12);
        Assert.That(ParmOf(producer), Is.EqualTo((1u, 60u)));

        // Applied once: the producer may choose another format afterwards, and frames wanted off keeps it.
        Assert.That(producer.SetFormat(PixelFormats.Yuyv, 640, 480).Status, Is.Zero);
        SetDemand(null);
        AssertFormat(producer.GetFormat(), new FrameFormat(PixelFormats.Yuyv, 640, 480));
    }

    [Test]
    public void A_demanded_mode_off_the_menu_is_snapped_to_the_menu()
    {
        var producer = H.Producer();
        SetDemand(new FrameDemand(new FrameFormat(PixelFormats.Yu12, 1920, 1080), new FrameRate(1, 25)));
        AssertFormat(producer.GetFormat(), new FrameFormat(PixelFormats.Yu12, 640, 480));
        Assert.That(ParmOf(producer), Is.EqualTo((1u, 30u)));
    }

    [Test]
    public void Format_and_parameter_ioctls_serve_the_output_type_and_refuse_the_capture_type()
    {
        var producer = H.Producer();
        Assert.Multiple(() =>
        {
            var (enumStatus, desc) = producer.Ioctl(V4l2IoctlNumber.EnumFmt, MediaRequests.FmtDesc(1, MediaRequests.Output), FmtDescSize);
            Assert.That((enumStatus, U32(desc, 4), U32(desc, 44)), Is.EqualTo((0u, MediaRequests.Output, Nv12)), "ENUM_FMT 1 on OUTPUT");
            Assert.That(producer.Ioctl(V4l2IoctlNumber.EnumFmt, MediaRequests.FmtDesc(0), FmtDescSize).Status, Is.EqualTo(EINVAL), "ENUM_FMT on CAPTURE");
            Assert.That(producer.Ioctl(V4l2IoctlNumber.GFmt, MediaRequests.Format(0, 0, 0), FormatSize).Status, Is.EqualTo(EINVAL), "G_FMT on CAPTURE");
            Assert.That(producer.Ioctl(V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(2), RequestBuffersSize).Status, Is.EqualTo(EINVAL),
                "REQBUFS on CAPTURE");
            Assert.That(producer.Ioctl(V4l2IoctlNumber.StreamOn, MediaRequests.Word(MediaRequests.Capture), 0).Status, Is.EqualTo(EINVAL));

            var (parmStatus, parm) = producer.Ioctl(V4l2IoctlNumber.SParm, MediaRequests.StreamParm(1, 29, MediaRequests.Output), StreamParmSize);
            Assert.That((parmStatus, U32(parm, 0), U32(parm, 4), U32(parm, 12), U32(parm, 16)),
                Is.EqualTo((0u, MediaRequests.Output, V4l2.CapTimePerFrame, 1u, 30u)), "S_PARM snaps 1/29 to 1/30 in parm.output");
            AssertZeroOutside(parm, "v4l2_streamparm", (0, 4), (4, 4), (12, 8));
        });
    }

    [Test]
    public void There_is_one_output_and_no_input()
    {
        var producer = H.Producer();
        var (status, output) = producer.Ioctl(V4l2IoctlNumber.EnumOutput, MediaRequests.OutputOf(0), 72);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.Zero);
            Assert.That(CString(output.AsSpan(4), 32), Is.EqualTo("Camera VM"));
            Assert.That(U32(output, 36), Is.EqualTo(V4l2.OutputTypeAnalog), "type");
            AssertZeroOutside(output, "v4l2_output", (4, 9), (36, 4));
            Assert.That(producer.Ioctl(V4l2IoctlNumber.EnumOutput, MediaRequests.OutputOf(1), 72).Status, Is.EqualTo(EINVAL));
            var (getStatus, current) = producer.Ioctl(V4l2IoctlNumber.GOutput, MediaRequests.Word(7), 4);
            Assert.That((getStatus, U32(current, 0)), Is.EqualTo((0u, 0u)), "G_OUTPUT: output 0");
            Assert.That(producer.Ioctl(V4l2IoctlNumber.SOutput, MediaRequests.Word(0), 4).Status, Is.Zero);
            Assert.That(producer.Ioctl(V4l2IoctlNumber.SOutput, MediaRequests.Word(1), 4).Status, Is.EqualTo(EINVAL));
            Assert.That(producer.Ioctl(V4l2IoctlNumber.EnumInput, MediaRequests.Input(0), InputSize).Status, Is.EqualTo(ENOTTY));
            Assert.That(producer.Ioctl(V4l2IoctlNumber.GInput, [], 4).Status, Is.EqualTo(ENOTTY));
        });
    }

    [Test]
    public void The_config_space_announces_an_output_device()
    {
        var config = H.Vmm.Client.GetConfigBytes(0, 40).AsSpan(12).ToArray(); // after the offset, size and flags words
        Assert.That(U32(config, 0), Is.EqualTo(V4l2.CapVideoOutput | V4l2.CapStreaming | V4l2.CapExtPixFormat), "device_caps");
        Assert.That(U32(config, 4), Is.Zero, "device_type");
        Assert.That(CString(config.AsSpan(8), 32), Is.EqualTo("Spectrum Camera Output"));
    }

    [Test]
    public void A_returned_output_buffer_is_dequeued_and_querybuf_reports_its_frame_size()
    {
        var format = new FrameFormat(PixelFormats.Yuyv, 320, 240);
        var producer = ProducerFor(format, 1);
        Assert.That(producer.Queue(0, FrameOf(format, 0)).Status, Is.Zero);
        var (_, queued) = producer.Ioctl(V4l2IoctlNumber.QueryBuf, MediaRequests.Buffer(0, 0, 0, MediaRequests.Output), BufferSize);
        Assert.That((U32(queued, 4), U32(queued, 8), U32(queued, 12) & V4l2.BufFlagQueued), Is.EqualTo((MediaRequests.Output, format.SizeImage,
            V4l2.BufFlagQueued)), "QUERYBUF of the queued buffer: type, bytesused, QUEUED");
        Assert.That(producer.StreamOn(), Is.Zero);
        Assert.That(producer.NextReturn(Wait), Is.Not.Null);
        var (_, returned) = producer.Ioctl(V4l2IoctlNumber.QueryBuf, MediaRequests.Buffer(0, 0, 0, MediaRequests.Output), BufferSize);
        Assert.That(U32(returned, 12) & V4l2.BufFlagQueued, Is.Zero, "no longer queued");
    }

    /// <summary>
    /// An output EVT_DQBUF checked field by field: header, then v4l2_buffer at +8 (type OUTPUT, bytesused the frame size,
    /// flags monotonic with no error, field NONE, sequence, memory USERPTR, the guest's m.userptr and length), then 8
    /// zero planes. Returns the buffer.
    /// </summary>
    private static V4l2Buffer AssertReturn(byte[] e, FrameFormat format, OutputProducer producer, uint sequence)
    {
        Assert.That(e, Has.Length.EqualTo(EventDqbufSize));
        var buffer = MediaRequests.Read<VirtioMediaDqbufEvent>(e).Buffer;
        AssertWords(e, (0, VirtioMediaWire.EventDqbuf, "event type DQBUF"), (4, producer.Session, "session"),
            (8 + 4, MediaRequests.Output, "type"), (8 + 8, format.SizeImage, "bytesused"),
            (8 + 12, V4l2.BufFlagTimestampMonotonic, "flags"), (8 + 16, V4l2.FieldNone, "field"), (8 + 56, sequence, "sequence"),
            (8 + 60, V4l2.MemoryUserPtr, "memory"));
        Assert.That(U64(e, 8 + 64), Is.EqualTo(MediaRequests.UserPtrOf((int)buffer.Index)), "m.userptr echoed");
        Assert.That(U32(e, 8 + 72), Is.EqualTo(producer.Buffers[(int)buffer.Index].Length), "length");
        AssertZeroOutside(e, "EVT_DQBUF", (0, 8), (8, 20), (8 + 24, 16), (8 + 56, 20));
        return buffer;
    }

    private static void AssertFormat((uint Status, V4l2Format Format) answer, FrameFormat expected)
    {
        Assert.That(answer.Status, Is.Zero, "G_FMT");
        var pix = answer.Format.Pix;
        Assert.That((answer.Format.Type, new FrameFormat(pix.PixelFormat, pix.Width, pix.Height), pix.SizeImage),
            Is.EqualTo((MediaRequests.Output, expected, expected.SizeImage)));
    }

    private static (uint Numerator, uint Denominator) ParmOf(OutputProducer producer)
    {
        var (status, parm) = producer.Ioctl(V4l2IoctlNumber.GParm, MediaRequests.StreamParm(0, 0, MediaRequests.Output), StreamParmSize);
        Assert.That(status, Is.Zero, "G_PARM");
        var output = MediaRequests.Read<V4l2StreamParm>(parm).Output;
        return (output.TimePerFrame.Numerator, output.TimePerFrame.Denominator);
    }
}
