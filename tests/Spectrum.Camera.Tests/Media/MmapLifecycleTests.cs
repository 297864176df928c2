using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// How long device-owned buffers and their mappings live, seen from both sides: the window the front-end keeps and the
/// memfds the sidecar holds (counted in its own /proc/self/fd). REQBUFS(0) keeps what is mapped until MUNMAP (virtio
/// 1.4 §5.22); CLOSE, a guest reboot and the end of the connection unmap and free everything; a VM stopped while a map
/// waits gets its answer after cont, never while stopped.
/// </summary>
[TestFixture]
public sealed class MmapLifecycleTests : MediaTestBase
{
    [Test]
    public void Reqbufs_0_keeps_mapped_buffers_until_their_munmap_then_frees_them()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(3);
        var first = client.Map(0);
        client.Map(1);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        var (index, _, frame) = client.NextFrame();
        Assert.That(client.StreamOff(), Is.Zero);
        Assert.That(BufferMemfds(), Is.EqualTo(3));

        Assert.That(U32(h.IoctlOk(client.Session, V4l2IoctlNumber.ReqBufs, RequestBuffers(0, V4l2.MemoryMmap), RequestBuffersSize), 0), Is.Zero);

        Assert.Multiple(() =>
        {
            Assert.That(BufferMemfds(), Is.EqualTo(2), "the unmapped buffer is freed at once, the mapped two live on");
            Assert.That(h.WindowState(), Is.EqualTo((2, 2 * 640UL * 1024, 2, 0UL)));
            Assert.That(h.Vmm.Region!.Read(client.Mapped[index], frame.Length), Is.EqualTo(frame), "the mapping still shows its frame");
            Assert.That(h.Mmap(client.Session, client.Buffers[0].Offset).Status, Is.EqualTo(EINVAL), "but the buffer is no longer the queue's");
        });

        Assert.That(client.Unmap(0), Is.Zero);
        Assert.That(client.Unmap(1), Is.Zero);
        Assert.That(SpinWait.SpinUntil(() => BufferMemfds() == 0, MediaHarness.Timeout), Is.True, "freed at MUNMAP");
        Assert.That(h.WindowState(), Is.EqualTo((0, 0UL, 0, 0UL)));
        Assert.That(h.Vmm.Region!.Mappings, Is.Empty);
        Assert.That(first, Is.Zero);
    }

    [Test]
    public void Close_unmaps_and_frees_everything_the_session_had()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(3);
        client.MapAll();
        client.Map(2); // twice
        var bystander = new MmapCaptureClient(h);

        Assert.That(h.Close(client.Session), Is.Zero);

        Assert.That(SpinWait.SpinUntil(() => h.Vmm.Region!.Mappings.Count == 0, MediaHarness.Timeout), Is.True, "all four unmapped");
        Assert.That(h.Vmm.Channel!.Requests.Count(r => r.Id == BackendChannelServer.ShmemUnmap), Is.EqualTo(4));
        Assert.That(SpinWait.SpinUntil(() => BufferMemfds() == 0, MediaHarness.Timeout), Is.True);
        Assert.That(h.WindowState(), Is.EqualTo((0, 0UL, 0, 0UL)));
        bystander.Allocate(1);
        Assert.That(bystander.Map(0), Is.Zero, "the window is whole again");
    }

    [Test]
    public void A_guest_reboot_unmaps_everything_once_the_rings_run_again_and_frees_every_buffer()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(2);
        client.MapAll();
        var requestsBefore = h.Vmm.Channel!.Requests.Count;
        var sentWhileStopped = -1;

        h.Reboot(whileStopped: () =>
        {
            Thread.Sleep(50);
            sentWhileStopped = h.Vmm.Channel.Requests.Count - requestsBefore;
        });

        Assert.That(sentWhileStopped, Is.Zero, "a suspended device sends the front-end nothing");
        Assert.That(SpinWait.SpinUntil(() => h.Vmm.Region!.Mappings.Count == 0, MediaHarness.Timeout), Is.True, "unmapped after the restart");
        Assert.That(SpinWait.SpinUntil(() => BufferMemfds() == 0, MediaHarness.Timeout), Is.True);
        Assert.That(h.WindowState(), Is.EqualTo((0, 0UL, 0, 0UL)));
        var fresh = new MmapCaptureClient(h);
        fresh.Allocate(1);
        Assert.That(fresh.Map(0), Is.Zero, "the new driver instance starts with the whole window");
    }

    [Test]
    public void The_end_of_the_connection_frees_every_buffer_and_session()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(3);
        client.Map(0);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        client.NextFrame();

        h.Vmm.Client.Socket.Shutdown();

        Assert.That(h.WaitUntil(d => d.SessionCount == 0 && !d.IsStreaming), Is.True, "sessions closed, stream stopped");
        Assert.That(SpinWait.SpinUntil(() => BufferMemfds() == 0, MediaHarness.Timeout), Is.True, "every buffer memfd closed");
        Assert.That(h.WindowState(), Is.EqualTo((0, 0UL, 0, 0UL)));
    }

    [Test]
    public void A_map_acknowledged_while_the_vm_is_stopped_is_answered_after_cont()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(1);
        h.Vmm.Channel!.Hold();
        var (head, response) = h.Post(Mmap(client.Session, client.Buffers[0].Offset), 24);
        Assert.That(h.Vmm.Channel.WaitForRequests(1, MediaHarness.Timeout), Is.True);
        var usedBefore = h.Driver.CommandQueue.UsedIndex;

        h.StopVm();
        h.Vmm.Channel.Release();
        Assert.That(SpinWait.SpinUntil(() => h.Vmm.Region!.Mappings.Count == 1, MediaHarness.Timeout), Is.True, "the VMM mapped it");
        Thread.Sleep(50);
        Assert.That(h.Driver.CommandQueue.UsedIndex, Is.EqualTo(usedBefore), "nothing is written while the VM is stopped");

        h.ContinueVm();
        var (done, length) = h.WaitCompletion();

        Assert.That((done, length), Is.EqualTo((head, 24u)));
        var answer = Read<VirtioMediaMmapResponse>(h.Ram.Span(response, 24));
        Assert.That((answer.Header.Status, answer.DriverAddress, answer.Length), Is.EqualTo((0u, 0UL, 614_400UL)));
        AssertStillServing();
    }

    /// <summary>Device-owned buffer memfds open in this process (the sidecar runs in the test process).</summary>
    private static int BufferMemfds() =>
        Directory.GetFileSystemEntries("/proc/self/fd").Count(e =>
        {
            try
            {
                return new FileInfo(e).LinkTarget?.StartsWith("/memfd:spectrum-camera-buffer-", StringComparison.Ordinal) == true;
            }
            catch (IOException)
            {
                return false;
            }
        });
}
