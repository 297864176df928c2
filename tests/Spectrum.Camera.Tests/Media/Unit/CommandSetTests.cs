using System.Text.RegularExpressions;
using Spectrum.Camera.Tests.Core;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Tests.Media.Unit;

/// <summary>
/// Pins the README's command-set table to what the device serves: every ioctl the dispatch answers with anything but
/// ENOTTY has a row, and every ioctl with a row is served. Adding an ioctl to the device without documenting it (or
/// documenting one it does not serve) fails here.
/// </summary>
public sealed partial class CommandSetTests
{
    private static readonly uint[] UnnamedNumbers = [1, 3, 104, 200, 255, 0xFFFFFFFF];

    private static readonly string[] Commands = ["CMD_OPEN", "CMD_CLOSE", "CMD_IOCTL", "CMD_MMAP", "CMD_MUNMAP"];

    [Test]
    public void The_readme_command_set_table_lists_exactly_the_ioctls_the_device_serves()
    {
        var rig = new DispatcherRig();
        var session = rig.Open();
        var served = Enum.GetValues<V4l2IoctlNumber>()
            .Where(code => rig.Ioctl(session, code, new byte[4096]).Status != Errno.ENOTTY)
            .Select(code => code.Name())
            .ToHashSet();
        var documented = DocumentedNames().Where(n => !n.StartsWith("CMD_", StringComparison.Ordinal)).ToHashSet();

        Assert.That(served, Has.Count.GreaterThanOrEqualTo(18), "the device serves its allowlist");
        Assert.Multiple(() =>
        {
            Assert.That(served.Except(documented), Is.Empty, "served but missing from the README's command-set table");
            Assert.That(documented.Except(served), Is.Empty, "in the README's command-set table but answered ENOTTY");
        });
    }

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
    private static IEnumerable<string> DocumentedNames()
    {
        var readme = File.ReadAllText(Repository.PathOf("README.md"));
        var start = readme.IndexOf("\n## The command set", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), "README.md has a section \"The command set\"");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = readme[start..(end < 0 ? readme.Length : end)];
        var rows = section.Split('\n').Where(l => l.StartsWith('|') && !l.StartsWith("|---", StringComparison.Ordinal)).Skip(1).ToList();
        Assert.That(rows, Is.Not.Empty, "the section has a table");
        return rows.SelectMany(row => Backticked().Matches(row.Split('|')[1]).Select(m => m.Groups[1].Value));
    }

    [GeneratedRegex("`([A-Z_]+)`")]
    private static partial Regex Backticked();
}
