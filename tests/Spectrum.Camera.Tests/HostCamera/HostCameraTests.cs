using Spectrum.Camera.Host;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Tests.Host;

/// <summary>
/// What HostCamera does without a camera (the build machines have none; streaming, unplug and re-open run against
/// vivid in tests/e2e/host-camera.sh): absent devices, non-V4L2 files, and the frame-release contract.
/// </summary>
[TestFixture]
public sealed class HostCameraTests
{
    private static readonly HostMode Vga = new(PixelFormats.Yuyv, 640, 480, FrameRate.FromFps(30));

    [Test]
    public void Opening_a_missing_device_fails_as_an_unplug()
    {
        var e = Assert.Throws<HostCameraException>(() => Camera.Host.HostCamera.Open("/nonexistent/video0", Vga));

        Assert.That(e!.Errno, Is.EqualTo(Errnos.ENOENT));
        Assert.That(e.IsUnplug, Is.True);
        Assert.That(e.Message, Does.Contain("/nonexistent/video0").And.Contain("no such device node"));
    }

    [Test]
    public void Open_or_wait_starts_unplugged_and_re_open_keeps_failing_while_the_device_is_absent()
    {
        var fds = FdHandle.CountOpenFds();
        using (var camera = Camera.Host.HostCamera.OpenOrWait("/nonexistent/video0", Vga))
        {
            Assert.Multiple(() =>
            {
                Assert.That(camera.State, Is.EqualTo(HostCameraState.Unplugged));
                Assert.That(camera.Fd, Is.EqualTo(-1));
                Assert.That(camera.LastReopenErrno, Is.EqualTo(Errnos.ENOENT));
                Assert.That(camera.UnplugReason, Does.Contain("no such device node"));
                Assert.That(camera.TryReopen(), Is.False);
                Assert.That(camera.TryDequeue(out _), Is.False);
                Assert.That(camera.Wait(0), Is.EqualTo(HostCameraState.Unplugged));
                Assert.That(camera.Format, Is.Null);
            });
        }

        Assert.That(FdHandle.CountOpenFds(), Is.LessThanOrEqualTo(fds));
    }

    [Test]
    public void A_file_that_is_not_a_v4l2_device_is_refused_and_its_fd_closed()
    {
        // The first refusal is also the process's first call into Tmds.LibC when this test runs alone: the runtime then
        // loads that assembly and keeps its file open (two fds on Tmds.LibC.dll, seen in /proc/self/fd). The second
        // refusal must leave no fd behind.
        Assert.Throws<HostCameraException>(() => Camera.Host.HostCamera.Open("/dev/null", Vga));
        var fds = FdHandle.CountOpenFds();

        var e = Assert.Throws<HostCameraException>(() => Camera.Host.HostCamera.Open("/dev/null", Vga));

        Assert.That(e!.Errno, Is.EqualTo(Errnos.ENOTTY));
        Assert.That(e.IsUnplug, Is.False);
        Assert.That(e.Message, Does.Contain("VIDIOC_QUERYCAP"));
        Assert.That(FdHandle.CountOpenFds(), Is.LessThanOrEqualTo(fds));
        Assert.Throws<HostCameraException>(() => Camera.Host.HostCamera.OpenOrWait("/dev/null", Vga), "not a wait-able absence");
    }

    [Test]
    public void A_stopped_camera_cannot_be_re_opened_and_a_frame_it_never_gave_cannot_be_released()
    {
        var camera = Camera.Host.HostCamera.OpenOrWait("/nonexistent/video0", Vga);
        camera.Stop();

        Assert.That(camera.State, Is.EqualTo(HostCameraState.Stopped));
        Assert.Throws<InvalidOperationException>(() => camera.TryReopen());
        Assert.Throws<InvalidOperationException>(() => camera.Release(default));
        camera.Dispose();
    }

    [Test]
    public void Buffer_counts_outside_1_to_32_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Camera.Host.HostCamera.OpenOrWait("/nonexistent/video0", Vga, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Camera.Host.HostCamera.OpenOrWait("/nonexistent/video0", Vga, 33));
    }
}
