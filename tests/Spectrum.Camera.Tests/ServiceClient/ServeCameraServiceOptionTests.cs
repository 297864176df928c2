using Spectrum.Camera.Tests.Cli;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary><c>spectrum-camera serve --camera-service PATH</c>, run as the real executable.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ServeCameraServiceOptionTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("spectrum-serve-cs-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Help_mentions_the_camera_service_option()
    {
        var (code, stdout, _) = SidecarProcess.Run("serve", "--help");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("--camera-service PATH").And.Contain("camera-service (the default with"));
    }

    [TestCase(new[] { "--vm", "a", "--source", "camera-service" }, "--source camera-service needs --camera-service PATH")]
    [TestCase(new[] { "--vm", "a", "--camera-service", "/tmp/cs.sock", "--source", "black" }, "--camera-service goes with --source camera-service")]
    [TestCase(new[] { "--camera-service", "/tmp/cs.sock", "--vm", "not a name" }, "cannot be used with the camera service")]
    public void Inconsistent_camera_service_options_exit_2(string[] extra, string message)
    {
        var args = new List<string> { "serve", "--socket-path", Path.Combine(_dir, "x.sock"), };
        args.AddRange(extra);
        var (code, _, stderr) = SidecarProcess.Run([.. args]);
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain(message));
    }

    [Test]
    public void Serve_with_a_camera_service_says_hello_for_its_vm_and_still_stops_cleanly_on_sigterm()
    {
        var socket = Path.Combine(_dir, "cam.sock");
        using var service = new ScriptedService(Path.Combine(_dir, "svc.sock"));
        using var sidecar = SidecarProcess.Start("serve", "--socket-path", socket, "--vm", "cli-vm", "--camera-service", service.Path);
        sidecar.WaitForSocket(socket);
        var hello = service.Welcome(allowed: false, vm: "cli-vm");
        Assert.That((hello.ProtocolVersion, hello.Vm), Is.EqualTo((1u, "cli-vm")));

        Assert.That(SpinWait.SpinUntil(() => sidecar.Stderr.Contains("connected to the camera service", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30)), Is.True, sidecar.Stderr);
        sidecar.Signal(15);
        Assert.That(sidecar.WaitForExit(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(sidecar.ExitCode, Is.Zero, sidecar.Stderr);
        service.ExpectClosed();
        Assert.That(sidecar.Stderr, Does.Contain("frames from the camera service at " + service.Path)
            .And.Contain("source camera-service"));
    }
}
