using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// CMD_MMAP and CMD_MUNMAP against QEMU 11.2's replayed front-end, and everything that can go wrong with them: a full
/// window, offsets that name no buffer, another session's buffer, unmaps of what is not mapped, malformed commands,
/// and a front-end that refuses, stalls or floods. Each gets a clear errno, and the device keeps serving.
/// </summary>
[TestFixture]
public sealed class MmapCommandTests : MediaTestBase
{
    private const uint Eacces = 13, Eio = 5, Enomem = 12, Eagain = 11;

    // 640x480 YUYV: 614,400 bytes, 640 KiB in the window.
    private const ulong MappedVga = 640 * 1024;

    private static readonly ulong[] FirstThreeSlots = [0, MappedVga, 2 * MappedVga];

    [Test]
    public void A_full_window_is_ENOMEM_and_a_range_freed_by_munmap_is_reused_first_fit()
    {
        var h = Start(model: FrontendModel.Qemu112Media, sharedMemorySize: 2UL << 20);
        var client = new MmapCaptureClient(h);
        var (status, granted, _) = client.RequestBuffers(4);
        Assert.That((status, granted), Is.EqualTo((0u, 3u)), "three 640 KiB buffers fit a 2 MiB window, as vb2 grants fewer");
        client.Allocate(3);
        var addresses = Enumerable.Range(0, 3).Select(client.Map).ToArray();
        Assert.That(addresses, Is.EqualTo(FirstThreeSlots), "first fit from offset 0");

        Assert.That(client.TryMap(0).Status, Is.EqualTo(Enomem), "128 KiB left: no room for a second mapping of buffer 0");
        Assert.That(h.LogText, Does.Contain("window bytes free, none in one piece"));
        Assert.That(client.Unmap(1), Is.Zero);
        Assert.That(SpinWait.SpinUntil(() => h.WindowState().Mappings == 2, MediaHarness.Timeout), Is.True, "the unmap was acknowledged");
        Assert.That(client.TryMap(0), Is.EqualTo((0u, MappedVga, 614_400UL)), "buffer 0 again, where buffer 1 was");
        AssertStillServing();
    }

    [Test]
    public void Buffers_that_do_not_fit_the_window_at_all_are_ENOMEM()
    {
        var h = Start(model: FrontendModel.Qemu112Media, sharedMemorySize: 2UL << 20);
        var client = new MmapCaptureClient(h);
        client.SetFormat(Yuyv, 1920, 1080);

        Assert.That(client.RequestBuffers(2).Status, Is.EqualTo(Enomem), "a 4 MiB buffer in a 2 MiB window");
        Assert.That(h.WindowState(), Is.EqualTo((0, 0UL, 0, 0UL)));
        AssertStillServing();
    }

    [TestCase(1u, "not a multiple of the slot size")]
    [TestCase(5u << 26, "a slot past the allocated buffers")]
    [TestCase(0xFFFFFFFFu, "the largest offset")]
    [TestCase(1u << 25, "half a slot")]
    public void An_offset_that_names_no_mmap_buffer_is_EINVAL(uint offset, string what)
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(2);

        Assert.That(h.Mmap(client.Session, offset).Status, Is.EqualTo(EINVAL), what);
        Assert.That(h.Vmm.Region!.Mappings, Is.Empty);
        AssertStillServing();
    }

    [Test]
    public void Mmap_of_a_userptr_queue_is_EINVAL()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new CaptureClient(h);
        client.Allocate(2);

        Assert.That(h.Mmap(client.Session, 0).Status, Is.EqualTo(EINVAL), "slot 0 has no device memory");
        AssertStillServing();
    }

    [Test]
    public void Mmap_of_another_sessions_buffer_is_EACCES_and_maps_nothing()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var owner = new MmapCaptureClient(h);
        owner.Allocate(2);
        var intruder = h.OpenSession();

        Assert.That(h.Mmap(intruder, owner.Buffers[0].Offset).Status, Is.EqualTo(Eacces));
        Assert.That(h.Vmm.Region!.Mappings, Is.Empty, "nothing reached the window");
        Assert.That(h.LogText, Does.Contain($"session {intruder}: MMAP of buffer 0, which session {owner.Session} allocated, refused"));
        owner.Map(0);
        AssertStillServing();
    }

    [Test]
    public void Unmap_of_what_is_not_mapped_is_EINVAL()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(1);

        Assert.That(h.Munmap(0), Is.EqualTo(EINVAL), "nothing mapped yet");
        var address = client.Map(0);
        Assert.That(h.Munmap(address + 4096), Is.EqualTo(EINVAL), "inside a mapping, not its start");
        Assert.That(h.Munmap(ulong.MaxValue), Is.EqualTo(EINVAL));
        Assert.That(h.Munmap(address), Is.Zero);
        Assert.That(h.Munmap(address), Is.EqualTo(EINVAL), "twice (a split VMA's second close)");
        Assert.That(SpinWait.SpinUntil(() => h.Vmm.Region!.Mappings.Count == 0, MediaHarness.Timeout), Is.True);
        AssertStillServing();
    }

    [Test]
    public void Malformed_mmap_commands_are_EINVAL()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(1);
        var good = Mmap(client.Session, client.Buffers[0].Offset);
        var badFlags = Mmap(client.Session, client.Buffers[0].Offset);
        badFlags[12] = 0x3;

        Assert.Multiple(() =>
        {
            Assert.That(Status(h.Send(good.AsSpan(0, 19), 24)), Is.EqualTo(EINVAL), "19 bytes: shorter than the command");
            Assert.That(Status(h.Send(good, 16)), Is.EqualTo(EINVAL), "no room for the 24-byte answer");
            Assert.That(Status(h.Send(badFlags, 24)), Is.EqualTo(EINVAL), "unknown flag bits");
            Assert.That(h.Mmap(client.Session + 7, client.Buffers[0].Offset).Status, Is.EqualTo(EINVAL), "unknown session");
            Assert.That(Status(h.Send(Munmap(0).AsSpan(0, 12), 8)), Is.EqualTo(EINVAL), "a MUNMAP shorter than 16 bytes");
        });
        Assert.That(h.Vmm.Region!.Mappings, Is.Empty);
        AssertStillServing();
    }

    [Test]
    public void A_mapping_without_the_rw_flag_is_read_only_in_region_0()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(1);

        Assert.That(client.TryMap(0, writable: false).Status, Is.Zero);

        Assert.That(h.Vmm.Channel!.Requests.Single().MapFlags, Is.Zero, "VHOST_USER_FLAG_MAP_RW clear");
        Assert.That(h.Vmm.Region!.Mappings.Single().Writable, Is.False);
        Assert.Throws<InvalidOperationException>(() => h.Vmm.Region.Write(client.Mapped[0], [1]), "the guest cannot write");
    }

    [Test]
    public void A_refusing_front_end_makes_mmap_EIO_and_frees_the_range()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(1);
        h.Vmm.Channel!.Fault = ChannelFault.Refuse;

        Assert.That(client.TryMap(0).Status, Is.EqualTo(Eio));
        Assert.That(h.WindowState().Mappings, Is.Zero);
        Assert.That(h.LogText, Does.Contain("the VMM refused to map a buffer at 0x0"));

        h.Vmm.Channel.Fault = ChannelFault.None;
        Assert.That(client.Map(0), Is.Zero, "the same range, free again");
    }

    [Test]
    public void A_front_end_that_never_acks_gets_EIO_after_the_timeout_while_the_device_keeps_serving()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(1);
        var other = h.OpenSession();
        h.Vmm.Channel!.Fault = ChannelFault.Silent;

        var (head, response) = h.Post(Mmap(client.Session, client.Buffers[0].Offset), 24);
        Assert.That(h.Vmm.Channel.WaitForRequests(1, MediaHarness.Timeout), Is.True);
        // While the map waits for its ack, the loop serves other commands.
        var (status, format) = h.Ioctl(other, V4l2IoctlNumber.GFmt, Format(0, 0, 0), FormatSize);
        Assert.That(status, Is.Zero, "G_FMT answered while CMD_MMAP waits");
        Assert.That(U32(format, 0), Is.EqualTo(V4l2.BufTypeVideoCapture));

        var (done, length) = h.WaitCompletion();

        Assert.That((done, length), Is.EqualTo((head, 8u)), "CMD_MMAP completes with the header alone");
        Assert.That(U32(h.Ram.Span(response, 8), 0), Is.EqualTo(Eio));
        Assert.That(h.LogText, Does.Contain("did not answer ShmemMap within 2 s"));
        Assert.That(h.Mmap(client.Session, client.Buffers[0].Offset).Status, Is.EqualTo(ENOTTY), "the window is gone with its channel");
        Assert.That(client.RequestBuffers(1).Status, Is.EqualTo(EINVAL), "no new MMAP buffers");
        AssertStillServing();
    }

    [Test]
    public void More_than_16_maps_waiting_for_the_vmm_are_EAGAIN_and_the_16_complete_once_it_answers()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var client = new MmapCaptureClient(h);
        client.Allocate(1);
        h.Vmm.Channel!.Hold();
        var posted = Enumerable.Range(0, 17).Select(_ => h.Post(Mmap(client.Session, client.Buffers[0].Offset), 24)).ToList();

        var (head, length) = h.WaitCompletion();
        Assert.That(head, Is.EqualTo(posted[16].Head), "the 17th is answered first, at once");
        Assert.That((length, U32(h.Ram.Span(posted[16].ResponseGpa, 8), 0)), Is.EqualTo((8u, Eagain)));

        h.Vmm.Channel.Release();
        var answered = Enumerable.Range(0, 16).Select(_ => h.WaitCompletion()).ToList();

        Assert.That(answered.Select(a => a.Head), Is.EquivalentTo(posted.Take(16).Select(p => p.Head)));
        Assert.That(answered.Select(a => a.Length), Is.All.EqualTo(24u));
        Assert.That(h.Vmm.Region!.Mappings, Has.Count.EqualTo(16), "the same buffer, mapped 16 times at 16 places");
        AssertStillServing();
    }

    private static uint Status(byte[] answer) => U32(answer, 0);
}
