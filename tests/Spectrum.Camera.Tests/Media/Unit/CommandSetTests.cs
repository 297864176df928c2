using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Tests.Media.Unit;

/// <summary>
/// Pins the README's command-set table to what the device serves: every ioctl the dispatch answers with anything but
/// ENOTTY has a row, and every ioctl with a row is served. Adding an ioctl to the device without documenting it (or
/// documenting one it does not serve) fails here.
/// </summary>
public sealed class CommandSetTests
{
    private static readonly uint[] UnnamedNumbers = [1, 3, 104, 200, 255, 0xFFFFFFFF];

    private static readonly string[] Commands = ["CMD_OPEN", "CMD_CLOSE", "CMD_IOCTL", "CMD_MMAP", "CMD_MUNMAP"];

    [Test]
    public void The_readme_command_set_table_lists_exactly_the_ioctls_the_device_serves() =>
        ReadmeCommandTable.AssertListsExactlyWhatIsServed("The command set", new DispatcherRig(), atLeast: 18);

    [Test]
    public void Numbers_the_ioctl_enum_does_not_name_are_ENOTTY()
    {
        var rig = new DispatcherRig();
        var session = rig.Open();
        foreach (var code in UnnamedNumbers)
        {
            Assert.That(rig.Ioctl(session, (V4l2IoctlNumber)code, new byte[4096]).Status, Is.EqualTo(Errno.ENOTTY), $"ioctl {code}");
        }
    }

    [Test]
    public void The_readme_command_set_table_has_a_row_for_every_virtio_media_command()
    {
        var documented = DocumentedNames().ToHashSet();
        Assert.That(documented, Is.SupersetOf(Commands));
    }

    /// <summary>The backticked names in the first column of the table under "## The command set".</summary>
    private static IEnumerable<string> DocumentedNames() => ReadmeCommandTable.Names("The command set");
}
