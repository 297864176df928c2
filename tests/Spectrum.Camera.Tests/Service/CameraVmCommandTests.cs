using Spectrum.Camera.Tests.Cli;

namespace Spectrum.Camera.Tests.Service;

/// <summary>`spectrum-camera camera-service` with a camera VM: its help, and the mistakes an operator can make.</summary>
[TestFixture]
public sealed class CameraVmCommandTests
{
    [Test]
    public void Help_shows_how_to_name_a_camera_vm_and_where_its_producer_connects()
    {
        var (code, stdout, _) = SidecarProcess.Run("camera-service", "--help");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("--camera NAME=PATH|NAME=vm:VM").And.Contain("RUNTIME_DIR/producers/VM.sock")
            .And.Contain("--camera usb=vm:cam-vm --vm cam-vm:61010"));
    }

    [TestCase("usb=vm:ghost", "camera usb is the camera VM ghost, which is not configured: add --vm ghost:UID")]
    [TestCase("usb=vm:", "must name a camera VM as vm:VM")]
    public void A_camera_vm_that_is_not_a_configured_vm_is_a_usage_error(string camera, string message)
    {
        var directory = Directory.CreateTempSubdirectory("spectrum-camera-vm-cli-").FullName;
        try
        {
            var (code, _, stderr) = SidecarProcess.Run("camera-service", "--camera", camera, "--vm", "vm-a",
                "--runtime-dir", Path.Combine(directory, "run"), "--state-dir", Path.Combine(directory, "state"));
            Assert.That(code, Is.EqualTo(2), stderr);
            Assert.That(stderr, Does.Contain(message));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
