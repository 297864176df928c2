using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Cli;

/// <summary>The spectrum-camera executable as an operator and QEMU use it: a separate process on a real socket.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ServeCommandTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("spectrum-serve-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Help_lists_every_option_and_exits_zero()
    {
        var (code, stdout, _) = SidecarProcess.Run("serve", "--help");
        Assert.That(code, Is.Zero);
        foreach (var option in new[] { "--socket-path", "--vm", "--role", "--source", "--camera-service", "--card", "--menu", "--log-level", "--shm-size" })
        {
            Assert.That(stdout, Does.Contain(option));
        }

        Assert.That(stdout, Does.Contain("-device vhost-user-media-pci,chardev=cam"), "how to run with QEMU 11.2");
    }

    [Test]
    public void Help_lists_every_command_and_each_command_has_its_own_help()
    {
        var (code, stdout, _) = SidecarProcess.Run("--help");
        Assert.That(code, Is.Zero);
        foreach (var (name, summary, _) in Spectrum.Camera.Cli.Program.Commands)
        {
            Assert.That(stdout, Does.Contain(name).And.Contain(summary), $"--help lists {name}");
            var (commandCode, commandHelp, commandErrors) = SidecarProcess.Run(name, "--help");
            Assert.That(commandCode, Is.Zero, $"{name} --help: {commandErrors}");
            Assert.That(commandHelp, Does.Contain("Usage: spectrum-camera " + name), $"{name} --help shows its usage");
        }
    }

    [Test]
    public void A_vmm_that_breaks_the_protocol_ends_the_serve_with_exit_1_and_one_error_line()
    {
        var socket = Path.Combine(_dir, "broken.sock");
        using var sidecar = SidecarProcess.Start("serve", "--socket-path", socket, "--vm", "broken-vm");
        sidecar.WaitForSocket(socket);
        using (var client = VhostUserClient.Connect(socket))
        {
            // Version 0 in the header flags: a byte stream the backend cannot trust any further.
            client.SendRaw(VhostUserClient.SetOwner, 0x0, []);
            Assert.That(sidecar.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, sidecar.Stderr);
        }

        Assert.That(sidecar.ExitCode, Is.EqualTo(1), sidecar.Stderr);
        var errors = sidecar.Stderr.Split('\n').Where(l => l.Contains(" ERROR ", StringComparison.Ordinal)).ToArray();
        Assert.That(errors, Has.Length.EqualTo(1), sidecar.Stderr);
        Assert.That(errors[0], Does.Contain("protocol error"));
        Assert.That(File.Exists(socket), Is.False, "socket file left behind");
    }

    [TestCase(new[] { "serve", "--vm", "a" }, "--socket-path is required")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--source", "webcam" }, "--source must be")]
    [TestCase(new[] { "serve", "--bogus" }, "unknown option --bogus")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--card", "a name that is much longer than thirty-one bytes" }, "card name must be")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--menu", "formats=RGB3" }, "--menu")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--shm-size", "100K" }, "--shm-size 100K: must be 0 (no window) or a multiple of 64 KiB")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--shm-size", "1T" }, "'1T' is not a size such as 512M")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--shm-size", "65G" }, "up to 64 GiB")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--shm-size", "-64K" }, "is not a size")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--role", "consumer" }, "--role must be capture or producer")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--role", "producer" }, "--role producer needs --camera-service PATH")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--role", "producer", "--camera-service", "/tmp/p.sock", "--source", "black" },
        "--role producer takes no --source")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a b", "--role", "producer", "--camera-service", "/tmp/p.sock" }, "VM name 'a b'")]
    [TestCase(new[] { "serve", "--socket-path", "/tmp/x.sock", "--vm", "a", "--role", "producer", "--camera-service", "/tmp/p.sock", "--shm-size", "64M" },
        "--shm-size goes with the capture role")]
    [TestCase(new[] { "frobnicate" }, "unknown command")]
    public void Bad_arguments_give_a_clear_message_and_exit_2(string[] args, string message)
    {
        var (code, _, stderr) = SidecarProcess.Run(args);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(message));
    }

    [Test]
    public void Serves_a_guest_then_exits_zero_and_removes_its_socket_when_the_vmm_disconnects()
    {
        var socket = Path.Combine(_dir, "cam.sock");
        using var sidecar = SidecarProcess.Start("serve", "--socket-path", socket, "--vm", "test-vm", "--card", "Test Cam");
        sidecar.WaitForSocket(socket);
        using (var vmm = new TestVmm(socket, [256, 256]))
        {
            vmm.Initialize();
            var config = vmm.Client.GetConfigBytes(0, 40);
            Assert.That(System.Text.Encoding.ASCII.GetString(config, 12 + 8, 8), Is.EqualTo("Test Cam"));
            vmm.StartDriver(newRings: true, beforeEnable: v => new MediaGuestDriver(v).PostEventBuffers(kick: false));
            var driver = new MediaGuestDriver(vmm);
            var session = driver.OpenSession();
            var (status, payload) = driver.Ioctl(session, Uapi.V4l2IoctlNumber.GFmt, MediaRequests.Format(0, 0, 0), 208);
            Assert.That(status, Is.Zero);
            Assert.That(MediaGuestDriver.U32(payload, 8), Is.EqualTo(640u));
            vmm.StopDriver();
        }

        Assert.That(sidecar.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, sidecar.Stderr);
        Assert.That(sidecar.ExitCode, Is.Zero, sidecar.Stderr);
        Assert.That(File.Exists(socket), Is.False, "socket file left behind");
        Assert.That(sidecar.Stderr, Does.Contain("[test-vm]").And.Contain("VMM connected").And.Contain("front-end closed the connection"));
    }

    [Test]
    public void A_sandboxed_sidecar_maps_mmap_buffers_for_qemu_11_2_and_reports_its_window()
    {
        var socket = Path.Combine(_dir, "cam.sock");
        using var sidecar = SidecarProcess.Start("serve", "--socket-path", socket, "--vm", "mmap-vm", "--shm-size", "64M");
        sidecar.WaitForSocket(socket);
        using (var vmm = new TestVmm(socket, [128, 128], model: FrontendModel.Qemu112Media))
        {
            vmm.Initialize();
            Assert.That(vmm.Region!.Size, Is.EqualTo(64UL << 20));
            var driver = new MediaGuestDriver(vmm);
            vmm.StartDriver(newRings: true, beforeEnable: _ => driver.PostEventBuffers(kick: false));
            var session = driver.OpenSession();
            Assert.That(driver.Ioctl(session, Uapi.V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(1, Uapi.V4l2.MemoryMmap), 20).Status, Is.Zero);
            var (status, address, length) = driver.Mmap(session, 0);
            Assert.That((status, length), Is.EqualTo((0u, 614_400UL)), "the sandboxed sidecar created, sealed and handed over the buffer's memfd");
            var queued = driver.Ioctl(session, Uapi.V4l2IoctlNumber.QBuf, MediaRequests.Buffer(0, 0, 0, memory: Uapi.V4l2.MemoryMmap), 88);
            Assert.That(queued.Status, Is.Zero);
            Assert.That(driver.Ioctl(session, Uapi.V4l2IoctlNumber.StreamOn, MediaRequests.Word(1), 0).Status, Is.Zero);
            driver.EventQueue.SetUsedEvent(driver.EventQueue.UsedIndex);
            Assert.That(driver.WaitEvent(TimeSpan.FromSeconds(10)), Is.Not.Null, "a frame");
            var frame = vmm.Region.Read(address, 614_400);
            Assert.That(Spectrum.Camera.Sources.TestPatternVerifier.TryDecode(new Spectrum.Camera.Frames.FrameFormat(0x56595559, 640, 480), frame, out _, out var exact) && exact, Is.True,
                "the frame, read where the guest maps it");
            vmm.StopDriver();
        }

        Assert.That(sidecar.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, sidecar.Stderr);
        Assert.That(sidecar.ExitCode, Is.Zero, sidecar.Stderr);
        Assert.That(sidecar.Stderr, Does.Contain("shared-memory window 65536 KiB").And.Contain("seccomp allowlist"));
    }

    [Test]
    public void Qemu_11_2_cannot_realize_against_serve_with_shm_size_0()
    {
        var socket = Path.Combine(_dir, "cam.sock");
        using var sidecar = SidecarProcess.Start("serve", "--socket-path", socket, "--vm", "no-window", "--shm-size", "0");
        sidecar.WaitForSocket(socket);
        using var vmm = new TestVmm(socket, [128, 128], model: FrontendModel.Qemu112Media);

        var e = Assert.Throws<InvalidOperationException>(() => vmm.Initialize());

        Assert.That(e!.Message, Does.Contain("did not provide shared memory region 0"));
        Assert.That(vmm.OfferedProtocolFeatures, Is.EqualTo(0x209UL), "no window offered");
    }

    [Test]
    public void The_producer_role_serves_an_output_device_and_says_hello_to_the_service_s_producer_socket_for_its_vm()
    {
        var socket = Path.Combine(_dir, "producer.sock");
        using var service = new ServiceClient.ScriptedProducerService(Path.Combine(_dir, "service-producer.sock"));
        using var sidecar = SidecarProcess.Start("serve", "--role", "producer", "--socket-path", socket, "--vm", "cam-vm",
            "--camera-service", service.Path);
        sidecar.WaitForSocket(socket);
        var hello = service.Welcome(vm: "cam-vm", camera: "usb");
        Assert.That((hello.Vm, hello.ProtocolVersion), Is.EqualTo(("cam-vm", 1u)));
        using (var vmm = new TestVmm(socket, [256, 256]))
        {
            vmm.Initialize();
            var config = vmm.Client.GetConfigBytes(0, 40);
            Assert.That(BitConverter.ToUInt32(config, 12), Is.EqualTo(Uapi.V4l2.CapVideoOutput | Uapi.V4l2.CapStreaming | Uapi.V4l2.CapExtPixFormat),
                "device_caps: an output device");
            Assert.That(System.Text.Encoding.ASCII.GetString(config, 12 + 8, 22), Is.EqualTo("Spectrum Camera Output"));
        }

        Assert.That(sidecar.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, sidecar.Stderr);
        Assert.That(sidecar.ExitCode, Is.Zero, sidecar.Stderr);
        Assert.That(sidecar.Stderr, Does.Contain("this VM is the producer of camera 'usb'").And.Contain("exiting: 0 frames forwarded"));
    }

    [Test]
    public void Sigterm_stops_the_sidecar_with_exit_zero_and_no_socket_left()
    {
        var socket = Path.Combine(_dir, "term.sock");
        using var sidecar = SidecarProcess.Start("serve", "--socket-path", socket, "--vm", "term-vm");
        sidecar.WaitForSocket(socket);
        sidecar.Signal(15);
        Assert.That(sidecar.WaitForExit(TimeSpan.FromSeconds(30)), Is.True);
        Assert.That(sidecar.ExitCode, Is.Zero, sidecar.Stderr);
        Assert.That(File.Exists(socket), Is.False);
        Assert.That(sidecar.Stderr, Does.Contain("SIGTERM received"));
    }

    [Test]
    public void An_unusable_socket_path_is_a_runtime_error_with_advice()
    {
        var (code, _, stderr) = SidecarProcess.Run("serve", "--socket-path", Path.Combine(_dir, "missing", "x.sock"), "--vm", "v");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("cannot listen on").And.Contain("Check the directory exists"));
    }
}
