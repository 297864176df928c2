using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Tests.Media.Unit;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Tests.Output;

/// <summary>
/// Pins the README's output-device command-set table to what the output device serves, as CommandSetTests pins the
/// capture device's: every ioctl it answers with anything but ENOTTY has a row, and every ioctl with a row is served.
/// </summary>
public sealed class OutputCommandSetTests
{
    private const string Section = "The output device's command set";

    private static readonly string[] Commands = ["CMD_OPEN", "CMD_CLOSE", "CMD_IOCTL", "CMD_MMAP", "CMD_MUNMAP"];

    [Test]
    public void The_readme_table_lists_exactly_the_ioctls_the_output_device_serves() =>
        ReadmeCommandTable.AssertListsExactlyWhatIsServed(Section, new DispatcherRig(output: true), atLeast: 27);

    [Test]
    public void The_output_device_has_no_shared_memory_window_so_mmap_buffers_and_cmd_mmap_are_refused()
    {
        var rig = new DispatcherRig(output: true);
        var session = rig.Open();
        Assert.That(rig.Ioctl(session, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(2, V4l2.MemoryMmap, MediaRequests.Output)).Status,
            Is.EqualTo(Errno.EINVAL), "REQBUFS with MMAP");
        var answer = rig.Send(MediaRequests.Mmap(session, 0));
        Assert.That((Errno)MediaRequests.Read<VirtioMediaResponseHeader>(answer).Status, Is.EqualTo(Errno.ENOTTY), "CMD_MMAP");
        Assert.That(rig.Ioctl(session, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(2, V4l2.MemoryUserPtr, MediaRequests.Output)).Status,
            Is.EqualTo(Errno.None), "REQBUFS with USERPTR");
    }

    [Test]
    public void The_readme_table_has_a_row_for_every_virtio_media_command()
    {
        Assert.That(ReadmeCommandTable.Names(Section), Is.SupersetOf(Commands));
    }
}
