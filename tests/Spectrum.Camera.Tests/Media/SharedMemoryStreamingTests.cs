using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// Streaming through both front-ends over real sockets and memfds. QEMU 11.2's vhost-user-media (replayed from its
/// sources): MMAP buffers mapped into region 0 through the backend channel, in each format, checked pixel for pixel
/// where the application reads them, and USERPTR beside them. QEMU 10.0's generic device: the device it always saw
/// (USERPTR only, MMAP refused as before, the backend channel it hands over never used).
/// </summary>
[TestFixture]
public sealed class SharedMemoryStreamingTests : MediaTestBase
{
    [TestCase("YUYV")]
    [TestCase("NV12")]
    [TestCase("YU12")]
    public void Qemu_11_2_streams_mmap_buffers_pixel_exact_read_from_region_0(string fourcc)
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.SetFormat(Fourcc(fourcc), 1280, 720);
        client.Allocate(4);
        client.MapAll();
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);

        var expected = 0u;
        for (var n = 0; n < 30; n++)
        {
            var (index, sequence, frame) = client.NextFrame();
            Assert.That(TestPatternVerifier.TryDecode(client.Format, frame, out var number, out var exact), Is.True, $"frame {sequence} decodes");
            Assert.Multiple(() =>
            {
                Assert.That(exact, Is.True, $"frame {sequence} is pixel-exact");
                Assert.That(number, Is.EqualTo(sequence), "the frame carries its own sequence number");
                Assert.That(sequence, Is.GreaterThanOrEqualTo(expected), "sequences only grow");
            });
            expected = sequence + 1;
            Assert.That(client.Send(index).Status, Is.Zero, "QBUF again");
        }

        Assert.That(client.StreamOff(), Is.Zero);
        Assert.That(h.Counters().Failed, Is.Zero);
        var mapped = h.Vmm.Region!.Mappings;
        Assert.That(mapped, Has.Count.EqualTo(4), "four buffers mapped in region 0");
        Assert.That(mapped.All(m => m.Writable), Is.True, "mapped as the driver asked (RW)");
        Assert.That(h.Vmm.Channel!.Requests.Select(r => r.Id), Is.All.EqualTo(BackendChannelServer.ShmemMap));
    }

    [Test]
    public void Qemu_11_2_streams_userptr_buffers_beside_the_window()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new CaptureClient(h);
        client.SetFormat(Nv12, 640, 480);
        client.Allocate(4);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);

        for (var n = 0; n < 10; n++)
        {
            var (_, index, sequence, _, frame) = client.NextFrame();
            Assert.That(TestPatternVerifier.TryDecode(client.Format, frame, out var number, out var exact) && exact && number == sequence, Is.True,
                $"USERPTR frame {sequence} pixel-exact");
            client.Queue(index);
        }

        Assert.That(client.StreamOff(), Is.Zero);
        Assert.That(h.Vmm.Channel!.Requests, Is.Empty, "USERPTR maps nothing");
    }

    [Test]
    public void Reqbufs_reports_mmap_and_orphaned_buffers_only_with_a_usable_window()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var session = h.OpenSession();
        var (status, answer) = h.Ioctl(session, V4l2IoctlNumber.ReqBufs, RequestBuffers(2), RequestBuffersSize);

        Assert.That(status, Is.Zero);
        Assert.That(U32(answer, 12), Is.EqualTo(V4l2.BufCapSupportsMmap | V4l2.BufCapSupportsUserPtr | V4l2.BufCapSupportsOrphanedBufs));
    }

    [Test]
    public void Qemu_10_sees_the_device_it_always_saw_userptr_only_and_mmap_refused_as_before()
    {
        var h = Start();
        var session = h.OpenSession();
        var client = new CaptureClient(h, session);
        client.Allocate(2);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        var (_, index, _, _, _) = client.NextFrame();
        Assert.That(client.StreamOff(), Is.Zero);

        var (reqbufs, caps) = h.Ioctl(session, V4l2IoctlNumber.ReqBufs, RequestBuffers(2), RequestBuffersSize);
        var mmap = new MmapCaptureClient(h, h.OpenSession());
        var muted = h.Send(Munmap(0), 8);

        Assert.Multiple(() =>
        {
            Assert.That(index, Is.InRange(0, 1), "USERPTR streams");
            Assert.That(reqbufs, Is.Zero);
            Assert.That(U32(caps, 12), Is.EqualTo(V4l2.BufCapSupportsUserPtr), "capabilities: USERPTR alone, as before");
            Assert.That(mmap.RequestBuffers(2).Status, Is.EqualTo(EINVAL), "REQBUFS(MMAP) without a window");
            Assert.That(h.Mmap(session, 0).Status, Is.EqualTo(ENOTTY), "CMD_MMAP without a window");
            Assert.That(U32(muted, 0), Is.EqualTo(EINVAL), "CMD_MUNMAP without a window");
            Assert.That(h.Vmm.AckedProtocolFeatures & TestVmm.ProtocolShmem, Is.Zero, "QEMU 10.0 never negotiates SHMEM");
            Assert.That(h.Vmm.Channel!.Requests, Is.Empty, "nothing on its backend channel");
            Assert.That(h.WindowState(), Is.EqualTo((0, 0UL, 0, 0UL)), "no device-owned buffer exists");
        });
    }

    [Test]
    public void Qemu_11_2_cannot_realize_against_a_sidecar_without_a_window()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Start(model: FrontendModel.Qemu112Media, sharedMemorySize: 0));
        Assert.That(e!.Message, Does.Contain("backend did not provide shared memory region 0"));
    }
}
