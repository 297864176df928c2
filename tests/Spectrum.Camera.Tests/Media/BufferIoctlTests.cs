using Spectrum.Camera.Media.Device;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// REQBUFS, CREATE_BUFS, QUERYBUF, PREPARE_BUF, QBUF, STREAMON and STREAMOFF: USERPTR only, at most 32 buffers, one
/// owner session per queue, and QBUF's validation of the buffer and its SG list.
/// </summary>
public sealed class BufferIoctlTests : MediaTestBase
{
    private const uint SizeImage = 640 * 480 * 2;

    [Test]
    public void Reqbufs_grants_userptr_buffers_and_reports_userptr_support_only()
    {
        var session = H.OpenSession();
        var answer = H.IoctlOk(session, ReqBufs, RequestBuffers(4), RequestBuffersSize);
        Assert.That(answer, Has.Length.EqualTo(RequestBuffersSize));
        AssertWords(answer, (0, 4u, "count"), (4, V4l2.BufTypeVideoCapture, "type"), (8, V4l2.MemoryUserPtr, "memory"),
            (12, V4l2.BufCapSupportsUserPtr, "capabilities"));
        AssertZeroOutside(answer, "v4l2_requestbuffers", (0, 16));

        Assert.That(U32(H.IoctlOk(session, ReqBufs, RequestBuffers(0), RequestBuffersSize), 0), Is.Zero, "REQBUFS(0) frees");
        Assert.That(H.Ioctl(session, QueryBuf, Buffer(0, 0, 0), BufferSize).Status, Is.EqualTo(EINVAL), "no buffer left");
    }

    [TestCase(33u)]
    [TestCase(256u)]
    [TestCase(0xFFFFFFFFu)]
    public void Reqbufs_clamps_huge_counts_to_32(uint count)
    {
        var session = H.OpenSession();
        Assert.That(U32(H.IoctlOk(session, ReqBufs, RequestBuffers(count), RequestBuffersSize), 0), Is.EqualTo(32u));
        Assert.That(H.Ioctl(session, QueryBuf, Buffer(31, 0, 0), BufferSize).Status, Is.Zero);
        Assert.That(H.Ioctl(session, QueryBuf, Buffer(32, 0, 0), BufferSize).Status, Is.EqualTo(EINVAL));
    }

    // MMAP needs a shared-memory window QEMU 10.0 lacks; DMABUF is implemented by no driver; 3 is OVERLAY.
    [TestCase(0u)]
    [TestCase(V4l2.MemoryMmap)]
    [TestCase(3u)]
    [TestCase(V4l2.MemoryDmabuf)]
    [TestCase(0xFFFFFFFFu)]
    public void Reqbufs_and_create_bufs_refuse_every_memory_type_but_userptr(uint memory)
    {
        var session = H.OpenSession();
        Assert.That(H.Ioctl(session, ReqBufs, RequestBuffers(4, memory), RequestBuffersSize).Status, Is.EqualTo(EINVAL));
        Assert.That(H.Ioctl(session, ReqBufs, RequestBuffers(0, memory), RequestBuffersSize).Status, Is.EqualTo(EINVAL));
        Assert.That(H.Ioctl(session, CreateBufs, CreateBuffers(1, FormatOf(640, 480, Yuyv), memory), CreateBuffersSize).Status,
            Is.EqualTo(EINVAL));
        Assert.That(H.Ioctl(session, QueryBuf, Buffer(0, 0, 0), BufferSize).Status, Is.EqualTo(EINVAL), "nothing was allocated");
    }

    [TestCase(0u)]
    [TestCase(V4l2.BufTypeVideoOutput)]
    [TestCase(V4l2.BufTypeVideoCaptureMplane)]
    [TestCase(0xFFFFFFFFu)]
    public void Buffer_ioctls_refuse_other_types(uint type)
    {
        var client = new CaptureClient(H);
        client.Allocate(2);
        var s = client.Session;
        var sg = client.Buffers[0].SgList();
        Assert.Multiple(() =>
        {
            Assert.That(H.Ioctl(s, ReqBufs, RequestBuffers(0, V4l2.MemoryUserPtr, type), RequestBuffersSize).Status, Is.EqualTo(EINVAL), "REQBUFS(0)");
            Assert.That(H.Ioctl(s, ReqBufs, RequestBuffers(2, V4l2.MemoryUserPtr, type), RequestBuffersSize).Status, Is.EqualTo(EINVAL), "REQBUFS");
            Assert.That(H.Ioctl(s, CreateBufs, CreateBuffers(1, FormatOf(640, 480, Yuyv, type)), CreateBuffersSize).Status,
                Is.EqualTo(EINVAL), "CREATE_BUFS");
            Assert.That(H.Ioctl(s, QueryBuf, Buffer(0, 0, 0, type), BufferSize).Status, Is.EqualTo(EINVAL), "QUERYBUF");
            Assert.That(H.Ioctl(s, QBuf, Buffer(0, 1, SizeImage, type), BufferSize, sg).Status, Is.EqualTo(EINVAL), "QBUF");
            Assert.That(H.Ioctl(s, PrepareBuf, Buffer(0, 1, SizeImage, type), BufferSize, sg).Status, Is.EqualTo(EINVAL), "PREPARE_BUF");
            Assert.That(H.Ioctl(s, StreamOn, Word(type), 0).Status, Is.EqualTo(EINVAL), "STREAMON");
            Assert.That(H.Ioctl(s, StreamOff, Word(type), 0).Status, Is.EqualTo(EINVAL), "STREAMOFF");
        });
        Assert.That(client.FlagsOf(0) & V4l2.BufFlagQueued, Is.Zero);
        Assert.That(client.StreamOn(), Is.Zero, "the queue is intact");
    }

    [Test]
    public void Querybuf_describes_each_buffer_and_refuses_an_index_past_the_end()
    {
        var client = new CaptureClient(H);
        client.Allocate(3);
        var answer = H.IoctlOk(client.Session, QueryBuf, Buffer(2, 0, 0), BufferSize);
        Assert.That(answer, Has.Length.EqualTo(BufferSize));
        AssertBufferAnswer(answer, 2, V4l2.BufFlagTimestampMonotonic, userPtr: 0, SizeImage);

        client.Queue(1);
        AssertBufferAnswer(H.IoctlOk(client.Session, QueryBuf, Buffer(1, 0, 0), BufferSize), 1,
            V4l2.BufFlagQueued | V4l2.BufFlagTimestampMonotonic, MediaRequests.UserPtrOf(1), SizeImage);

        Assert.That(H.Ioctl(client.Session, QueryBuf, Buffer(3, 0, 0), BufferSize).Status, Is.EqualTo(EINVAL));
        Assert.That(H.Ioctl(client.Session, QueryBuf, Buffer(0xFFFFFFFF, 0, 0), BufferSize).Status, Is.EqualTo(EINVAL));
    }

    [Test]
    public void Qbuf_answers_the_queued_buffer_with_the_guest_s_userptr_echoed()
    {
        var client = new CaptureClient(H);
        client.Allocate(2, length: SizeImage + 4096);
        var (status, answer) = client.Send(1);
        Assert.That(status, Is.Zero);
        AssertBufferAnswer(answer, 1, V4l2.BufFlagQueued | V4l2.BufFlagTimestampMonotonic, MediaRequests.UserPtrOf(1), SizeImage + 4096);
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagTimestampMonotonic), "the other buffer is untouched");
    }

    [Test]
    public void Prepare_buf_prepares_once_and_qbuf_then_queues_the_prepared_buffer()
    {
        var client = new CaptureClient(H);
        client.Allocate(2);
        var (status, answer) = client.Send(0, PrepareBuf);
        Assert.That(status, Is.Zero);
        AssertBufferAnswer(answer, 0, V4l2.BufFlagPrepared | V4l2.BufFlagTimestampMonotonic, MediaRequests.UserPtrOf(0), SizeImage);
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagPrepared | V4l2.BufFlagTimestampMonotonic));
        Assert.That(client.Send(0, PrepareBuf).Status, Is.EqualTo(EINVAL), "a prepared buffer is not prepared again (vb2)");

        client.Queue(0);
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagQueued | V4l2.BufFlagTimestampMonotonic));
        Assert.That(client.Send(0, PrepareBuf).Status, Is.EqualTo(EINVAL), "a queued buffer cannot be prepared");
        Assert.That(client.Send(0).Status, Is.EqualTo(EINVAL), "a queued buffer cannot be queued again");

        Assert.That(client.StreamOff(), Is.Zero);
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagTimestampMonotonic), "STREAMOFF returns it");
        Assert.That(client.Send(0, PrepareBuf).Status, Is.Zero, "and it can be prepared again");
    }

    [Test]
    public void Create_bufs_adds_slots_up_to_32_then_ENOBUFS()
    {
        var session = H.OpenSession();
        var format = FormatOf(640, 480, Yuyv, sizeImage: SizeImage);

        var query = H.IoctlOk(session, CreateBufs, CreateBuffers(0, format), CreateBuffersSize);
        AssertCreateBufsAnswer(query, index: 0, count: 0);

        AssertCreateBufsAnswer(H.IoctlOk(session, CreateBufs, CreateBuffers(5, format), CreateBuffersSize), index: 0, count: 5);
        AssertCreateBufsAnswer(H.IoctlOk(session, CreateBufs, CreateBuffers(20, format), CreateBuffersSize), index: 5, count: 20);
        AssertCreateBufsAnswer(H.IoctlOk(session, CreateBufs, CreateBuffers(0xFFFFFFFF, format), CreateBuffersSize), index: 25, count: 7);
        Assert.That(H.Ioctl(session, CreateBufs, CreateBuffers(1, format), CreateBuffersSize).Status, Is.EqualTo(ENOBUFS));
        Assert.That(H.Ioctl(session, CreateBufs, CreateBuffers(0xFFFFFFFF, format), CreateBuffersSize).Status, Is.EqualTo(ENOBUFS));
        AssertCreateBufsAnswer(H.IoctlOk(session, CreateBufs, CreateBuffers(0, format), CreateBuffersSize), index: 32, count: 0);
        Assert.That(H.Ioctl(session, QueryBuf, Buffer(31, 0, 0), BufferSize).Status, Is.Zero);
        Assert.That(H.Ioctl(session, QueryBuf, Buffer(32, 0, 0), BufferSize).Status, Is.EqualTo(EINVAL));
    }

    [Test]
    public void Create_bufs_refuses_a_sizeimage_smaller_than_the_format_needs_as_vb2_does()
    {
        var session = H.OpenSession();
        Assert.Multiple(() =>
        {
            foreach (var size in new[] { 0u, 1u, SizeImage / 2, SizeImage - 1, GuestSgList.MaxBufferLength + 1 })
            {
                var request = CreateBuffers(2, FormatOf(640, 480, Yuyv, sizeImage: size));
                Assert.That(H.Ioctl(session, CreateBufs, request, CreateBuffersSize).Status, Is.EqualTo(EINVAL), $"sizeimage {size}");
            }
        });
        Assert.That(H.Ioctl(session, QueryBuf, Buffer(0, 0, 0), BufferSize).Status, Is.EqualTo(EINVAL), "nothing was allocated");

        // A count of 0 only reports (vb2 looks at no size then); the exact size creates buffers.
        AssertCreateBufsAnswer(H.IoctlOk(session, CreateBufs, CreateBuffers(0, FormatOf(640, 480, Yuyv)), CreateBuffersSize), index: 0, count: 0);
        AssertCreateBufsAnswer(H.IoctlOk(session, CreateBufs, CreateBuffers(2, FormatOf(640, 480, Yuyv, sizeImage: SizeImage)), CreateBuffersSize),
            index: 0, count: 2);
    }

    [Test]
    public void Create_bufs_with_a_larger_sizeimage_makes_buffers_that_qbuf_must_fill_to_that_size()
    {
        const uint larger = SizeImage + 8192;
        var session = H.OpenSession();
        var answer = H.IoctlOk(session, CreateBufs, CreateBuffers(1, FormatOf(640, 480, Yuyv, sizeImage: larger)), CreateBuffersSize);
        var created = Read<V4l2CreateBuffers>(answer);
        Assert.That((created.Index, created.Count, created.Format.Pix.SizeImage), Is.EqualTo((0u, 1u, larger)), "index, count, sizeimage");
        Assert.That(Read<V4l2Buffer>(H.IoctlOk(session, QueryBuf, Buffer(0, 0, 0), BufferSize)).Length, Is.EqualTo(larger), "QUERYBUF length");

        var small = new GuestFrameBuffer(H.Ram, SizeImage);
        var large = new GuestFrameBuffer(H.Ram, larger);
        Assert.That(H.Ioctl(session, QBuf, Buffer(0, UserPtrOf(0), SizeImage), BufferSize, small.SgList()).Status, Is.EqualTo(EINVAL),
            "a buffer of the format's size is too small for this slot");
        Assert.That(H.Ioctl(session, QBuf, Buffer(0, UserPtrOf(0), larger), BufferSize, large.SgList()).Status, Is.Zero);
    }

    [Test]
    public void Streamon_needs_buffers_and_is_idempotent_and_streamoff_returns_every_buffer()
    {
        var client = new CaptureClient(H);
        Assert.That(client.StreamOn(), Is.EqualTo(EINVAL), "no buffers allocated");
        Assert.That(client.StreamOff(), Is.Zero, "STREAMOFF of an idle queue");

        client.Allocate(3);
        client.Queue(0);
        client.Queue(2);
        Assert.That(client.StreamOn(), Is.Zero);
        Assert.That(client.StreamOn(), Is.Zero, "STREAMON while streaming");
        Assert.That(H.OnLoop(d => d.IsStreaming), Is.True);
        Assert.That(H.Ioctl(client.Session, ReqBufs, RequestBuffers(2), RequestBuffersSize).Status, Is.EqualTo(EBUSY),
            "REQBUFS while streaming");

        Assert.That(client.StreamOff(), Is.Zero);
        Assert.That(client.StreamOff(), Is.Zero, "STREAMOFF twice");
        Assert.That(H.OnLoop(d => d.IsStreaming), Is.False);
        for (var i = 0; i < 3; i++)
        {
            Assert.That(client.FlagsOf(i) & V4l2.BufFlagQueued, Is.Zero, $"buffer {i} is back with the application");
        }

        Assert.That(H.Ioctl(client.Session, StreamOn, [], 0).Status, Is.EqualTo(EINVAL), "STREAMON without its u32");
    }

    [Test]
    public void A_second_session_gets_EBUSY_for_every_queue_change_while_the_first_owns_the_queue()
    {
        var owner = new CaptureClient(H);
        owner.Allocate(2);
        var other = H.OpenSession();
        var sg = owner.Buffers[1].SgList();
        Assert.Multiple(() =>
        {
            Assert.That(H.Ioctl(other, ReqBufs, RequestBuffers(2), RequestBuffersSize).Status, Is.EqualTo(EBUSY), "REQBUFS");
            Assert.That(H.Ioctl(other, ReqBufs, RequestBuffers(0), RequestBuffersSize).Status, Is.EqualTo(EBUSY), "REQBUFS(0)");
            Assert.That(H.Ioctl(other, CreateBufs, CreateBuffers(1, FormatOf(640, 480, Yuyv)), CreateBuffersSize).Status,
                Is.EqualTo(EBUSY), "CREATE_BUFS");
            Assert.That(H.Ioctl(other, QBuf, Buffer(1, 1, SizeImage), BufferSize, sg).Status, Is.EqualTo(EBUSY), "QBUF");
            Assert.That(H.Ioctl(other, PrepareBuf, Buffer(1, 1, SizeImage), BufferSize, sg).Status, Is.EqualTo(EBUSY), "PREPARE_BUF");
            Assert.That(H.Ioctl(other, StreamOn, Word(V4l2.BufTypeVideoCapture), 0).Status, Is.EqualTo(EBUSY), "STREAMON");
            Assert.That(H.Ioctl(other, StreamOff, Word(V4l2.BufTypeVideoCapture), 0).Status, Is.EqualTo(EBUSY), "STREAMOFF");
        });
        Assert.That(H.Ioctl(other, QueryBuf, Buffer(1, 0, 0), BufferSize).Status, Is.Zero, "anyone may QUERYBUF (vb2)");
        Assert.That(owner.FlagsOf(1) & V4l2.BufFlagQueued, Is.Zero, "the other session queued nothing");

        owner.QueueAll();
        Assert.That(owner.StreamOn(), Is.Zero, "the owner still can");
        Assert.That(H.Ioctl(other, StreamOff, Word(V4l2.BufTypeVideoCapture), 0).Status, Is.EqualTo(EBUSY), "nor stop the owner's stream");
        Assert.That(H.OnLoop(d => d.IsStreaming), Is.True);
        Assert.That(owner.StreamOff(), Is.Zero);
        owner.Free();

        var taker = new CaptureClient(H, other);
        taker.Allocate(3);
        Assert.That(H.Ioctl(owner.Session, ReqBufs, RequestBuffers(1), RequestBuffersSize).Status, Is.EqualTo(EBUSY),
            "the queue changed hands");
    }

    [Test]
    public void Qbuf_checks_the_buffer_before_anything_changes()
    {
        var client = new CaptureClient(H);
        client.Allocate(2);
        var s = client.Session;
        var sg = client.Buffers[0].SgList();
        (string What, byte[] Request, uint Errno)[] cases =
        [
            ("MPLANE type", Buffer(0, 1, SizeImage, V4l2.BufTypeVideoCaptureMplane), EINVAL),
            ("MPLANE type with 9 planes", Buffer(0, 1, 9, V4l2.BufTypeVideoCaptureMplane), EINVAL),
            ("OUTPUT type", Buffer(0, 1, SizeImage, V4l2.BufTypeVideoOutput), EINVAL),
            ("MMAP memory", Buffer(0, 1, SizeImage, memory: V4l2.MemoryMmap), EINVAL),
            ("DMABUF memory", Buffer(0, 1, SizeImage, memory: V4l2.MemoryDmabuf), EINVAL),
            ("index past the end", Buffer(2, 1, SizeImage), EINVAL),
            ("huge index", Buffer(0xFFFFFFFF, 1, SizeImage), EINVAL),
            ("userptr 0", Buffer(0, 0, SizeImage), EINVAL),
            ("length below sizeimage", Buffer(0, 1, SizeImage - 1), EINVAL),
            ("length 0", Buffer(0, 1, 0), EINVAL),
            ("request fd flag", Buffer(0, 1, SizeImage, flags: V4l2.BufFlagRequestFd), EINVAL),
        ];
        foreach (var (what, request, errno) in cases)
        {
            Assert.That(H.Ioctl(s, QBuf, request, BufferSize, sg).Status, Is.EqualTo(errno), what);
            Assert.That(H.Ioctl(s, PrepareBuf, request, BufferSize, sg).Status, Is.EqualTo(errno), $"PREPARE_BUF: {what}");
        }

        Assert.That(H.Ioctl(s, QBuf, Buffer(0, 1, SizeImage), BufferSize).Status, Is.EqualTo(EINVAL), "no SG list at all");
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagTimestampMonotonic), "nothing was queued or prepared");
        Assert.That(client.FlagsOf(1), Is.EqualTo(V4l2.BufFlagTimestampMonotonic));
        client.Queue(0);
    }

    [Test]
    public void Qbuf_takes_an_sg_list_split_across_descriptors_and_entries_longer_than_needed()
    {
        var client = new CaptureClient(H);
        client.Allocate(1);
        var b = client.Buffers[0];
        var ranges = b.Ranges.ToArray();
        var last = ranges[^1];
        ranges[^1] = (last.Gpa, last.Length + 100); // runs past the buffer: only what covers `length` is used
        var (status, _) = H.Ioctl(client.Session, QBuf, Buffer(0, 1, b.Length), BufferSize, SgList(ranges), readableSplit: 50);
        Assert.That(status, Is.Zero);
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagQueued | V4l2.BufFlagTimestampMonotonic));
    }

    /// <summary>v4l2_buffer as QUERYBUF/QBUF/PREPARE_BUF answer it before any frame: no bytesused, timestamp or sequence.</summary>
    private static void AssertBufferAnswer(byte[] answer, uint index, uint flags, ulong userPtr, uint length)
    {
        Assert.That(answer, Has.Length.EqualTo(BufferSize));
        AssertWords(answer, (0, index, "index"), (4, V4l2.BufTypeVideoCapture, "type"), (12, flags, "flags"), (16, V4l2.FieldNone, "field"),
            (60, V4l2.MemoryUserPtr, "memory"), (72, length, "length"));
        Assert.That(U64(answer, 64), Is.EqualTo(userPtr), "m.userptr");
        AssertZeroOutside(answer, "v4l2_buffer", (0, 8), (12, 8), (60, 16));
    }

    /// <summary>v4l2_create_buffers: index +0, count +4, memory +8, format +16, capabilities +224, flags +228, max_num_buffers +232.</summary>
    private static void AssertCreateBufsAnswer(byte[] answer, uint index, uint count)
    {
        Assert.That(answer, Has.Length.EqualTo(CreateBuffersSize));
        AssertWords(answer, (0, index, "index"), (4, count, "count"), (8, V4l2.MemoryUserPtr, "memory"),
            (224, V4l2.BufCapSupportsUserPtr, "capabilities"), (232, 32u, "max_num_buffers"));
        AssertFormat(answer.AsSpan(16, FormatSize).ToArray(), Yuyv, 640, 480);
        AssertZeroOutside(answer, "v4l2_create_buffers", (0, 12), (16, FormatSize), (224, 4), (232, 4));
    }
}
