using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// The V4L2 promises the device keeps itself because the upstream virtio-media driver passes ioctls through (no vb2
/// in the guest keeps them): what v4l2-compliance found through that driver, each replayed as the driver sends it.
/// QBUF of a PREPARED buffer with m.userptr NULL and length 0 queues the prepared memory; a refused G/S/TRY_EXT_CTRLS
/// carries its payload back, so the driver reports ENOTTY rather than EINVAL; and MMAP works end to end once QEMU 11.2
/// gives the device its window.
/// </summary>
[TestFixture]
public sealed class PassThroughDriverTests : MediaTestBase
{
    private const int ExtControlsSize = 32, ExtControlSize = 20;

    [Test]
    public void Qbuf_of_a_prepared_userptr_buffer_with_userptr_0_and_length_0_queues_the_prepared_memory()
    {
        var client = new CaptureClient(H);
        client.Allocate(2);
        Assert.That(client.Send(0, PrepareBuf).Status, Is.Zero, "PREPARE_BUF with its SG list");

        // The driver's QBUF of that buffer as v4l2-compliance's USERPTR no-poll and select tests make it: no pointer, no
        // length, so no SG list.
        var (status, answer) = H.Ioctl(client.Session, QBuf, Buffer(0, 0, 0), BufferSize);

        Assert.That(status, Is.Zero);
        var queued = Read<V4l2Buffer>(answer);
        Assert.That((queued.Flags & V4l2.BufFlagQueued, queued.UserPtr, queued.Length), Is.EqualTo((V4l2.BufFlagQueued, UserPtrOf(0), client.SizeImage)),
            "queued with the prepared pointer and length");
        Assert.That(H.Ioctl(client.Session, QBuf, Buffer(1, 0, 0), BufferSize).Status, Is.EqualTo(EINVAL),
            "a buffer that was not prepared still needs its memory");
        Assert.That(client.StreamOn(), Is.Zero);

        var (e, index, sequence, _, frame) = client.NextFrame();

        Assert.That(index, Is.Zero);
        Assert.That(U64(e, 8 + 64), Is.EqualTo(UserPtrOf(0)));
        Assert.That(TestPatternVerifier.TryDecode(client.Format, frame, out var number, out var exact) && exact && number == sequence, Is.True,
            "the frame is in the pages PREPARE_BUF gave");
        Assert.That(client.StreamOff(), Is.Zero);
    }

    [TestCase(GExtCtrls, 1)]
    [TestCase(SExtCtrls, 2)]
    [TestCase(TryExtCtrls, 3)]
    public void A_refused_ext_ctrls_ioctl_carries_its_payload_back_so_the_driver_reports_ENOTTY(V4l2IoctlNumber code, int controls)
    {
        var session = H.OpenSession();
        // struct v4l2_ext_controls (which = V4L2_CTRL_WHICH_CUR_VAL, count), then the controls (id, size, value),
        // in both the readable and the writable part as the driver lays out WR ioctls.
        var payload = new byte[ExtControlsSize + (controls * ExtControlSize)];
        BitConverter.TryWriteBytes(payload.AsSpan(4), (uint)controls);
        for (var i = 0; i < controls; i++)
        {
            BitConverter.TryWriteBytes(payload.AsSpan(ExtControlsSize + (i * ExtControlSize)), 0x00980900u + (uint)i);
            BitConverter.TryWriteBytes(payload.AsSpan(ExtControlsSize + (i * ExtControlSize) + 12), 40 + i);
        }

        var answer = H.Send(Ioctl(session, code, payload), 8 + payload.Length);

        Assert.That(U32(answer, 0), Is.EqualTo(ENOTTY));
        Assert.That(answer, Has.Length.EqualTo(8 + payload.Length), "used length covers v4l2_ext_controls and its controls (the driver needs 8 + 32)");
        Assert.That(answer[8..], Is.EqualTo(payload), "written back unchanged");
    }

    [Test]
    public void Mmap_buffers_work_end_to_end_as_v4l2_compliance_drives_them_through_the_driver()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(2);

        var created = Read<V4l2CreateBuffers>(h.IoctlOk(client.Session, CreateBufs,
            CreateBuffers(1, FormatOf(640, 480, Yuyv, sizeImage: 614_400), V4l2.MemoryMmap), CreateBuffersSize));
        Assert.That((created.Index, created.Count, created.Memory), Is.EqualTo((2u, 1u, V4l2.MemoryMmap)), "CREATE_BUFS(MMAP)");
        var buffers = Enumerable.Range(0, 3).Select(client.QueryBuffer).ToArray();
        Assert.That(buffers.Select(b => b.Offset).Distinct().Count(), Is.EqualTo(3), "each buffer has its own mmap offset");
        Assert.That(buffers.Select(b => b.Offset % 65536), Is.All.Zero, "offsets are page multiples for any guest page size");
        Assert.That(buffers.Select(b => b.Flags & V4l2.BufFlagMapped), Is.All.Zero, "not mapped yet");
        var third = h.Mmap(client.Session, buffers[2].Offset);
        Assert.That((third.Status, third.Length), Is.EqualTo((0u, 614_400UL)), "the CREATE_BUFS buffer maps too");

        client.MapAll();
        Assert.That(client.QueryBuffer(0).Flags & V4l2.BufFlagMapped, Is.EqualTo(V4l2.BufFlagMapped), "QUERYBUF: MAPPED");
        Assert.That(client.Send(1, PrepareBuf).Status, Is.Zero, "PREPARE_BUF of an MMAP buffer");
        Assert.That(client.QueryBuffer(1).Flags & V4l2.BufFlagPrepared, Is.EqualTo(V4l2.BufFlagPrepared));
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        for (var n = 0; n < 3; n++)
        {
            var (index, sequence, frame) = client.NextFrame();
            Assert.That(TestPatternVerifier.TryDecode(client.Format, frame, out var number, out var exact) && exact && number == sequence, Is.True);
            Assert.That(client.Send(index).Status, Is.Zero);
        }

        Assert.That(client.StreamOff(), Is.Zero);

        // v4l2-compliance frees the queue while the buffers are mapped when ORPHANED_BUFS is reported.
        Assert.That(h.Ioctl(client.Session, ReqBufs, RequestBuffers(0, V4l2.MemoryMmap), RequestBuffersSize).Status, Is.Zero);
        foreach (var i in client.Mapped.Keys.ToArray())
        {
            Assert.That(client.Unmap(i), Is.Zero);
        }

        Assert.That(h.Munmap(third.DriverAddress), Is.Zero);

        Assert.That(SpinWait.SpinUntil(() => h.WindowState() == (0, 0UL, 0, 0UL), MediaHarness.Timeout), Is.True, "everything freed at the last MUNMAP");
    }
}
