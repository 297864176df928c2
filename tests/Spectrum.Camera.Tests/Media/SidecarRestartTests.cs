using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// The sidecar restarts under a QEMU 11.2 that reconnects (the test front-end's reconnect, replayed from
/// vu_media_connect: the device restarted on the new connection, nothing negotiated again, no backend channel, region 0
/// kept). What the restarted sidecar gives: every request answered (nothing hangs), the guest's old sessions gone,
/// USERPTR streaming on a new session, no MMAP, and the old mappings still in region 0 as QEMU keeps them.
/// </summary>
[TestFixture]
public sealed class SidecarRestartTests : MediaTestBase
{
    [Test]
    public void A_restarted_sidecar_serves_the_resumed_connection_with_userptr_and_without_mmap()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        var before = new MmapCaptureClient(h);
        before.Allocate(2);
        before.MapAll();
        before.QueueAll();
        Assert.That(before.StreamOn(), Is.Zero);
        var (index, _, lastFrame) = before.NextFrame();

        h.RestartSidecar();
        h.Vmm.Reconnect(h.SocketPath);
        var leftovers = h.DrainEvents(TimeSpan.FromMilliseconds(200));

        Assert.Multiple(() =>
        {
            Assert.That(leftovers.Select(e => U32(e, 4)), Is.All.EqualTo(before.Session), "events left in the ring are the old stream's");
            Assert.That(h.Backend!.IsResumed, Is.True);
            Assert.That(h.LogText.Split('\n').Count(l => l.Contains("resumed a connection negotiated with a previous sidecar", StringComparison.Ordinal)),
                Is.EqualTo(1), "one clear line");
            Assert.That(h.Ioctl(before.Session, V4l2IoctlNumber.GFmt, Format(0, 0, 0), FormatSize).Status, Is.EqualTo(EINVAL),
                "the old session is gone");
            Assert.That(h.Vmm.Region!.Mappings, Has.Count.EqualTo(2), "QEMU keeps the old mappings");
            Assert.That(h.Vmm.Region.Read(before.Mapped[index], lastFrame.Length), Is.EqualTo(lastFrame),
                "they still show the dead sidecar's last frame (QEMU holds that memory now)");
        });

        var after = new MmapCaptureClient(h);
        Assert.That(after.RequestBuffers(2).Status, Is.EqualTo(EINVAL), "no MMAP: no backend channel came with the new connection");
        Assert.That(h.Mmap(after.Session, 0).Status, Is.EqualTo(ENOTTY));

        var client = new CaptureClient(h, after.Session);
        client.Allocate(3);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        for (var n = 0; n < 5; n++)
        {
            var (_, i, sequence, _, frame) = client.NextFrame();
            Assert.That(TestPatternVerifier.TryDecode(client.Format, frame, out var number, out var exact) && exact && number == sequence, Is.True,
                $"USERPTR frame {sequence} after the restart");
            client.Queue(i);
        }

        Assert.That(client.StreamOff(), Is.Zero);
    }

    [Test]
    public void A_restarted_sidecar_answers_a_resumed_vm_stop_and_cont()
    {
        var h = Start(model: FrontendModel.Qemu112Media);
        h.RestartSidecar();
        h.Vmm.Reconnect(h.SocketPath);

        // GET_VRING_BASE has its own reply; SET_VRING_ENABLE waits for an ack: both answered.
        var bases = h.Vmm.StopDriver();
        h.ContinueVm();

        Assert.That(bases, Has.Count.EqualTo(2));
        AssertStillServing();
    }
}
