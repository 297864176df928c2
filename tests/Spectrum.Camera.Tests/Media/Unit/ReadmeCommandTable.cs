using System.Text.RegularExpressions;
using Spectrum.Camera.Tests.Core;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Tests.Media.Unit;

/// <summary>A device's command-set table in the README, as the tests that pin it to the device's dispatch read it.</summary>
internal static partial class ReadmeCommandTable
{
    /// <summary>The backticked names in the first column of the table under the README section "## <paramref name="section"/>".</summary>
    public static IEnumerable<string> Names(string section)
    {
        var readme = File.ReadAllText(Repository.PathOf("README.md"));
        var start = readme.IndexOf("\n## " + section + "\n", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), $"README.md has a section \"{section}\"");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var text = readme[start..(end < 0 ? readme.Length : end)];
        var rows = text.Split('\n').Where(l => l.StartsWith('|') && !l.StartsWith("|---", StringComparison.Ordinal)).Skip(1).ToList();
        Assert.That(rows, Is.Not.Empty, "the section has a table");
        return rows.SelectMany(row => Backticked().Matches(row.Split('|')[1]).Select(m => m.Groups[1].Value));
    }

    /// <summary>
    /// Asks <paramref name="rig"/>'s device every named ioctl and fails unless the ioctls it answers with anything but
    /// ENOTTY (at least <paramref name="atLeast"/> of them) are exactly those the section's table lists.
    /// </summary>
    public static void AssertListsExactlyWhatIsServed(string section, DispatcherRig rig, int atLeast)
    {
        ArgumentNullException.ThrowIfNull(rig);
        var session = rig.Open();
        var served = Enum.GetValues<V4l2IoctlNumber>()
            .Where(code => rig.Ioctl(session, code, new byte[4096]).Status != Errno.ENOTTY)
            .Select(code => code.Name())
            .ToHashSet();
        var documented = Names(section).Where(n => !n.StartsWith("CMD_", StringComparison.Ordinal)).ToHashSet();

        Assert.That(served, Has.Count.GreaterThanOrEqualTo(atLeast), "the device serves its allowlist");
        Assert.Multiple(() =>
        {
            Assert.That(served.Except(documented), Is.Empty, $"served but missing from the README's table \"{section}\"");
            Assert.That(documented.Except(served), Is.Empty, $"in the README's table \"{section}\" but answered ENOTTY");
        });
    }

    [GeneratedRegex("`([A-Z_]+)`")]
    private static partial Regex Backticked();
}
