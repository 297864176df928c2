using System.Runtime.InteropServices;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Native.Sandbox;
using Spectrum.Camera.ServiceClient;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Cli;

/// <summary>
/// spectrum-camera serve: listens on the vhost-user socket, accepts QEMU's one connection and serves the VM's device on
/// one device loop thread until QEMU disconnects (exit 0), SIGTERM/SIGINT (exit 0) or a protocol error (exit 1). The
/// device is the VM's camera (<c>--role capture</c>) or, for a camera VM, the output device its camera's frames go
/// into (<c>--role producer</c>). The socket file is removed on the way out.
/// </summary>
internal static class ServeCommand
{
    private const string Help = """
        Usage: spectrum-camera serve --socket-path PATH --vm NAME [options]
               spectrum-camera serve --role producer --socket-path PATH --vm NAME --camera-service PATH [options]

        Serves one VM's virtual camera as a virtio-media device (virtio id 48) over vhost-user: the sidecar. It
        listens on PATH, accepts the one connection of the VM's QEMU and serves it for the VM's whole life (guest
        reboots and driver reloads included). Everything the guest sends is validated; frames are written straight
        into the guest's buffers at the negotiated rate, and the guest always sees the same formats, sizes and rates
        (--menu). Frames come from the camera service (--camera-service), which sends camera frames only while the
        VM is allowed the camera; otherwise, and whenever the service is away, the guest gets black frames.
        Once the socket listens the sidecar sandboxes itself (no_new_privs and a seccomp allowlist: no network, no
        exec, no ioctl, no new files), before QEMU connects.

        With --role producer the VM is a camera VM (the camera service names it a camera: camera-service
        --camera NAME=vm:VM) and the device is an output device (V4L2 VIDEO_OUTPUT) that the camera VM writes its
        camera's frames into, raw menu formats only, each frame checked and copied once to the camera service's
        producer socket for the VM (--camera-service RUNTIME_DIR/producers/NAME.sock). Its read-only control
        "Frames Wanted" (0x00981f00, with V4L2_EVENT_CTRL) says when the service wants frames and the format is the
        mode it wants, so an agent in the camera VM (guest-kernel/scripts/camera-vm-agent.sh) runs the camera only
        while an allowed VM watches.

        Start it before QEMU, then give QEMU:
          -object memory-backend-memfd,id=mem,size=<RAM>,share=on -machine q35,memory-backend=mem
          -chardev socket,id=cam,path=PATH
        and, with QEMU 11.2 (its own device, with the shared-memory window MMAP buffers need):
          -device vhost-user-media-pci,chardev=cam
        or, with QEMU 10.0 patched as the project's tools/build-qemu.sh does (no window: USERPTR buffers only):
          -device vhost-user-device-pci,chardev=cam,virtio-id=48,num_vqs=2,vq_size=256,config_size=40
        Neither QEMU reconnects to a restarted sidecar: if the sidecar stops, the VM's camera is gone until the VM
        restarts (README, "Running with QEMU").

        Options:
          --socket-path PATH   Unix socket to listen on (a stale socket file is replaced; removed on exit).
          --vm NAME            The VM's name, shown in every log line; with --camera-service it must be the
                               service's name for the VM.
          --role ROLE          capture (default): the VM's camera. producer: the camera VM's output device
                               (needs --camera-service, takes no --source).
          --source SOURCE      test-pattern (default), black, or camera-service (the default with
                               --camera-service). Capture role only.
          --camera-service PATH
                               Capture role: take frames from the host camera service through its socket for this
                               VM (RUNTIME_DIR/vms/NAME.sock); black whenever the service is away or the VM has no
                               camera permission. Producer role: send the camera VM's frames to the service's
                               producer socket for this VM (RUNTIME_DIR/producers/NAME.sock); frames are wanted only
                               while it is connected. Reconnects every second.
          --card NAME          Device name the guest sees (1-31 bytes, default "Spectrum Camera", or
                               "Spectrum Camera Output" with --role producer).
          --menu SPEC          Formats, sizes and rates the guest sees, fixed for the VM's life, e.g.
                               "formats=YUYV,NV12,YU12;sizes=320x240,640x480,1280x720,1920x1080;fps=30,15" (the default).
          --shm-size SIZE      Size of the shared-memory window QEMU 11.2 maps MMAP buffers into, and the most
                               MMAP buffer memory the sidecar holds: a multiple of 64K, with K, M or G (default 512M,
                               32 buffers of 1080p YUYV four times over). 0 offers no window (USERPTR only).
                               QEMU 10.0 never takes the window whatever this says. Capture role only.
          --log-level LEVEL    debug, info (default), warning or error.
          --no-sandbox         Do not sandbox the sidecar (logged as a warning). By default, once the socket
                               listens, it sets no_new_privs and installs a seccomp allowlist of the system calls
                               it needs on every thread.
          --require-sandbox    Exit 1 instead of warning when the kernel has no seccomp filtering (the systemd
                               unit passes it).
          --help               Show this help.

        Exit status:
          0  QEMU disconnected, or SIGTERM/SIGINT.
          1  a runtime or protocol error (one log line says which), or the sandbox could not be installed.
          2  bad usage.

        Files:
          /run/spectrum-camera-vm/VM/camera.sock  the socket path the systemd units spectrum-camera-sidecar@VM and
                                                  spectrum-camera-producer@VM use.
          /run/spectrum-camera/vms/VM.sock        the camera service's socket for VM (--camera-service).
          /run/spectrum-camera/producers/VM.sock  the camera service's producer socket for camera VM VM.
          /etc/spectrum-camera/sidecar-VM.env     extra options under systemd (SPECTRUM_SIDECAR_ARGS="...").

        Examples:
          spectrum-camera serve --socket-path /run/cam-vm1.sock --vm vm1 --source test-pattern
          spectrum-camera serve --socket-path /run/spectrum-camera-vm/work/camera.sock --vm work \
              --camera-service /run/spectrum-camera/vms/work.sock --card "Work Camera"
          spectrum-camera serve --role producer --socket-path /run/spectrum-camera-vm/cam-vm/camera.sock \
              --vm cam-vm --camera-service /run/spectrum-camera/producers/cam-vm.sock
          systemctl start spectrum-camera-sidecar@work.service
          systemctl start spectrum-camera-producer@cam-vm.service
        """;

    public static int Run(string[] args)
    {
        var cl = CommandLine.Parse(args, ["--socket-path", "--vm", "--role", "--source", "--camera-service", "--card", "--menu", "--log-level", "--shm-size"],
            ["--no-sandbox", "--require-sandbox"]);
        if (cl.HelpRequested)
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        if (cl.Positional.Count > 0)
        {
            throw new UsageException($"unexpected argument '{cl.Positional[0]}'");
        }

        var socketPath = cl.Require("--socket-path");
        var vm = cl.Require("--vm");
        Log.MinimumLevel = CommandLine.ParseLogLevel(cl.Get("--log-level") ?? "info");
        Log.Scope = vm;
        var role = cl.Get("--role") ?? "capture";
        if (role is not ("capture" or "producer"))
        {
            throw new UsageException($"--role must be capture or producer, not '{role}'");
        }

        var serviceSocket = cl.Get("--camera-service");
        var sourceName = role == "producer" ? ProducerSource(cl, serviceSocket) : CaptureSource(cl, serviceSocket);
        if (serviceSocket is not null && CameraServiceSource.ConfigurationProblem(serviceSocket, vm) is { } serviceProblem)
        {
            throw new UsageException(serviceProblem);
        }

        StableMenu menu;
        try
        {
            menu = cl.Get("--menu") is { } spec ? StableMenu.Parse(spec) : StableMenu.Default;
        }
        catch (FormatException e)
        {
            throw new UsageException($"--menu: {e.Message}");
        }

        if (cl.Has("--no-sandbox") && cl.Has("--require-sandbox"))
        {
            throw new UsageException("--no-sandbox and --require-sandbox contradict each other");
        }

        var card = cl.Get("--card") ?? (role == "producer" ? OutputDeviceOptions.DefaultCard : MediaDeviceOptions.DefaultCard);
        if (MediaDevice.CardNameProblem(card) is { } cardProblem)
        {
            throw new UsageException($"--card: {cardProblem}");
        }

        var shmSize = MediaDeviceOptions.DefaultSharedMemorySize;
        if (cl.Get("--shm-size") is { } shmText)
        {
            if (role == "producer")
            {
                throw new UsageException("--shm-size goes with the capture role: the output device (--role producer) has no shared-memory window");
            }

            shmSize = ParseSize(shmText) ?? throw new UsageException($"--shm-size: '{shmText}' is not a size such as 512M, 1G or 0");
            if (MediaDeviceOptions.SharedMemorySizeProblem(shmSize) is { } shmProblem)
            {
                throw new UsageException($"--shm-size {shmText}: {shmProblem}");
            }
        }

        // Everything below is the VM's life: a failure now is a runtime failure (exit 1 with one log line), never
        // "bad usage".
        try
        {
            Func<EventLoop, SidecarDevice> device = role == "producer"
                ? loop => SidecarDevice.Producer(loop, serviceSocket!, vm, card, menu)
                : loop => SidecarDevice.Capture(loop, sourceName, serviceSocket, vm, card, menu, shmSize);
            return Serve(socketPath, device, sandbox: !cl.Has("--no-sandbox"), requireSandbox: cl.Has("--require-sandbox"));
        }
#pragma warning disable CA1031 // The command's last line of defence: one log line and exit 1, never an unhandled exception.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.Error("serve", $"stopped by an internal error: {e.GetType().Name}: {e.Message}. " +
                               "This is a bug; please report it with the log above.");
            Log.Debug("serve", e.ToString());
            return 1;
        }
    }

    /// <summary>The capture role's frame source: test-pattern, black or camera-service, checked against --camera-service.</summary>
    private static string CaptureSource(CommandLine cl, string? serviceSocket)
    {
        var sourceName = cl.Get("--source") ?? (serviceSocket is null ? "test-pattern" : "camera-service");
        if (sourceName is not ("test-pattern" or "black" or "camera-service"))
        {
            throw new UsageException($"--source must be test-pattern, black or camera-service, not '{sourceName}'");
        }

        if (sourceName == "camera-service" && serviceSocket is null)
        {
            throw new UsageException("--source camera-service needs --camera-service PATH (the camera service's socket for this VM)");
        }

        if (sourceName != "camera-service" && serviceSocket is not null)
        {
            throw new UsageException($"--camera-service goes with --source camera-service, not --source {sourceName}");
        }

        return sourceName;
    }

    /// <summary>The producer role takes no source: its frames come from the camera VM and go to the service's producer socket.</summary>
    private static string ProducerSource(CommandLine cl, string? serviceSocket)
    {
        if (cl.Get("--source") is { } source)
        {
            throw new UsageException($"--role producer takes no --source (its frames come from the camera VM), got --source {source}");
        }

        return serviceSocket is null
            ? throw new UsageException("--role producer needs --camera-service PATH (the camera service's producer socket for this VM, " +
                                       "RUNTIME_DIR/producers/NAME.sock)")
            : "camera-vm";
    }

    /// <summary>A byte count such as 512M, 64K, 1G or 0 (binary units), or null when it is none.</summary>
    internal static ulong? ParseSize(string text)
    {
        var unit = text.Length > 0 ? char.ToUpperInvariant(text[^1]) : ' ';
        var shift = unit switch { 'K' => 10, 'M' => 20, 'G' => 30, _ => 0 };
        var digits = shift == 0 ? text : text[..^1];
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit) ||
            !ulong.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) ||
            value > ulong.MaxValue >> shift)
        {
            return null;
        }

        return value << shift;
    }

    private static int Serve(string socketPath, Func<EventLoop, SidecarDevice> makeDevice, bool sandbox, bool requireSandbox)
    {
        // The loop comes first: the camera-service client lives on it from construction on.
        using var loop = new EventLoop();
        using var stopOnTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, loop, "SIGTERM"));
        using var stopOnInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, loop, "SIGINT"));
        using var device = makeDevice(loop);
        VhostUserServer server;
        try
        {
            server = VhostUserServer.Listen(socketPath, device.Device, loop);
        }
        catch (NativeException e)
        {
            Log.Error("serve", $"cannot listen on {socketPath}: {e.Message}. Check the directory exists and is writable, " +
                               "and that no other sidecar serves this path.");
            return 1;
        }

        using (server)
        {
            Log.Info("serve", $"listening on {socketPath} for the VMM ({device.Description})");

            // Sandbox once everything that needs more than the allowlist is done (listening, device built, signal
            // handlers registered) and before the VMM, the one untrusted peer, can connect.
            if (sandbox && !SidecarSandbox.Apply(requireSandbox))
            {
                return 1;
            }

            if (!sandbox)
            {
                Log.Warning("sandbox", "--no-sandbox: running without no_new_privs and the seccomp allowlist");
            }

            var exitCode = 0;
            server.Disconnected += reason =>
            {
                exitCode = reason == VhostUserBackend.DisconnectReason.EndOfStream ? 0 : 1;
                loop.RequestStop();
            };
            server.Start();
            loop.Run();
            Log.Info("serve", $"exiting: {device.Summary()}");
            return exitCode;
        }
    }

    private static void Stop(PosixSignalContext context, EventLoop loop, string signal)
    {
        context.Cancel = true;
        Log.Info("serve", $"{signal} received: shutting down");
        loop.RequestStop();
    }
}
