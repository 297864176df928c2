namespace Spectrum.Camera.Tests.Cli.Ctl;

/// <summary>ctl through the real spectrum-camera executable: dispatch, exit codes and streams.</summary>
[TestFixture]
public sealed class CtlProcessTests
{
    [Test]
    public void Top_level_help_lists_ctl()
    {
        var (code, stdout, _) = SidecarProcess.Run("--help");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("ctl "));
    }

    [Test]
    public void Ctl_help_exits_zero()
    {
        var (code, stdout, _) = SidecarProcess.Run("ctl", "--help");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("Usage: spectrum-camera ctl").And.Contain("allow VM").And.Contain("audit [VM]"));
    }

    [Test]
    public void A_missing_socket_exits_1_and_bad_usage_exits_2()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"spectrum-ctl-missing-{Guid.NewGuid():N}.sock");
        var (code, _, stderr) = SidecarProcess.Run("ctl", "--operator-socket", missing, "status");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain($"spectrum-camera ctl: no operator socket at {missing}: is the camera service running?"));

        (code, _, stderr) = SidecarProcess.Run("ctl", "allow");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("'ctl allow' needs a VM name"));
    }

    [Test]
    public void Notify_has_help_and_is_listed()
    {
        var (code, stdout, _) = SidecarProcess.Run("notify", "--help");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("Usage: spectrum-camera notify").And.Contain("Allow once").And.Contain("DBUS_SESSION_BUS_ADDRESS"));
        Assert.That(SidecarProcess.Run("--help").Stdout, Does.Contain("notify "));
    }
}
