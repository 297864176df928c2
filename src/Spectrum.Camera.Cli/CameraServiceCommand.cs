using System.Globalization;
using System.Runtime.InteropServices;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Service;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Cli;

/// <summary>
/// spectrum-camera camera-service: the host camera service (docs/camera-service.md). Owns the cameras, the per-VM
/// permission policy and camera assignment, and the audit log; sidecars connect to their VM's socket, operators to
/// operator.sock.
/// </summary>
internal static class CameraServiceCommand
{
    private const string Help = """
        Usage: spectrum-camera camera-service --vm NAME[:UID] [--vm NAME[:UID]]... [--camera NAME=PATH|NAME=vm:VM]... [options]

        Runs the host camera service: it owns the host cameras and each VM's camera permission (allow, deny or ask;
        default deny) and camera (default the first), and shares frames with each VM's sidecar
        (spectrum-camera serve --camera-service RUNTIME_DIR/vms/NAME.sock). A VM without permission gets black
        frames; a VM in ask mode gets black frames until an operator answers its request ('spectrum-camera ctl
        prompt', 'spectrum-camera notify'); each camera is open only while an allowed VM streams from it.
        A deny takes effect before 'ctl deny' returns. Permissions and camera assignments are kept in
        STATE_DIR/policy.json; every change, request, answer and camera stream start and stop is appended to
        STATE_DIR/audit.log.
        A camera may be a camera VM (--camera NAME=vm:VM): a VM that drives the real camera and writes its frames into
        an output device of its own sidecar (spectrum-camera serve --role producer), which connects to
        RUNTIME_DIR/producers/VM.sock; the service tells it when frames are wanted and in which mode, and converts its
        frames for the allowed VMs as it does a host camera's. Only a VM named so gets a producer socket.
        Identity: vms/NAME.sock and producers/VM.sock belong to the VM's UID (mode 0600) and every connection's
        peer uid is checked again.

        Options:
          --vm NAME[:UID]       A VM the service serves (repeatable). Its sidecar must run as UID (default: this
                                service's uid) and connect to RUNTIME_DIR/vms/NAME.sock, which is created for it.
          --camera NAME=PATH    A camera (repeatable; the first is every VM's camera until 'ctl assign' gives it
                                another): a V4L2 capture device (/dev/video0, better /dev/v4l/by-id/...; see
                                'spectrum-camera cameras'), test-pattern[:N] for a synthetic camera (N from 0 to
                                255 tells several apart), or vm:VM for the camera VM named VM (also given as
                                --vm VM:UID, UID being the uid its producer sidecar runs as). Without NAME= the
                                camera is named after the device (video0, test-pattern) or the VM. Default
                                /dev/video0.
          --ask-timeout SECONDS How long a request of a VM in ask mode waits for an answer before its stream is
                                denied (default 30).
          --runtime-dir DIR     Sockets (default /run/spectrum-camera).
          --state-dir DIR       policy.json and audit.log (default /var/lib/spectrum-camera).
          --operator-uid UID    A uid allowed to use the operator API besides root and this service's uid (repeatable).
          --operator-group GID  Members with this primary gid may use the operator API; operator.sock gets this group.
          --log-level LEVEL     debug, info (default), warning or error.
          --help                Show this help.

        Operators: spectrum-camera ctl --operator-socket RUNTIME_DIR/operator.sock allow|deny|ask|assign|status|prompt|watch|audit.

        Exit status:
          0  SIGTERM or SIGINT.
          1  a runtime error (the log line says which, e.g. a socket that cannot be created).
          2  bad usage.

        Files:
          /etc/spectrum-camera/camera-service.env   SPECTRUM_CAMERA_SERVICE_ARGS="..." for the systemd unit
                                                    spectrum-camera-service.service (example in
                                                    /usr/share/doc/spectrum-camera/examples/).
          RUNTIME_DIR/operator.sock                 the operator API (mode 0660, group --operator-group if given).
          RUNTIME_DIR/vms/NAME.sock                 each VM's sidecar connects here (owned by the VM's UID).
          RUNTIME_DIR/producers/VM.sock             a camera VM's producer sidecar connects here (owned by its UID).
          STATE_DIR/policy.json, STATE_DIR/audit.log  permissions and the audit log.

        Examples:
          spectrum-camera camera-service --camera test-pattern --vm vm1 --runtime-dir /tmp/cs --state-dir /tmp/cs
          spectrum-camera camera-service --camera usb=/dev/v4l/by-id/usb-046d_C920-video-index0 \
              --camera pattern=test-pattern --vm work:61001 --vm personal:61002 --operator-group 1000 --ask-timeout 20
          spectrum-camera camera-service --camera usb=vm:cam-vm --vm cam-vm:61010 --vm work:61001
        """;

    public static int Run(string[] args)
    {
        var cl = CommandLine.Parse(args,
            ["--vm", "--camera", "--ask-timeout", "--runtime-dir", "--state-dir", "--operator-uid", "--operator-group", "--log-level"], []);
        if (cl.HelpRequested)
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        if (cl.Positional.Count > 0)
        {
            throw new UsageException($"unexpected argument '{cl.Positional[0]}'");
        }

        Log.MinimumLevel = CommandLine.ParseLogLevel(cl.Get("--log-level") ?? "info");
        Log.Scope = "camera-service";
        var ownUid = PosixFiles.EffectiveUid;
        var vms = new List<VmConfig>();
        foreach (var spec in cl.GetAll("--vm"))
        {
            try
            {
                vms.Add(VmConfig.Parse(spec, ownUid));
            }
            catch (FormatException e)
            {
                throw new UsageException($"--vm {spec}: {e.Message}");
            }
        }

        if (vms.Count == 0)
        {
            throw new UsageException("give at least one --vm NAME[:UID]");
        }

        var operatorUids = cl.GetAll("--operator-uid").Select(v => ParseId("--operator-uid", v)).ToArray();
        uint? operatorGid = cl.Get("--operator-group") is { } g ? ParseId("--operator-group", g) : null;
        var cameras = new List<CameraConfig>();
        foreach (var spec in cl.GetAll("--camera") is { Count: > 0 } given ? given : ["/dev/video0"])
        {
            try
            {
                cameras.Add(CameraConfig.Parse(spec));
            }
            catch (FormatException e)
            {
                throw new UsageException(e.Message);
            }
        }

        var options = new CameraServiceOptions(
            cl.Get("--runtime-dir") ?? "/run/spectrum-camera",
            cl.Get("--state-dir") ?? "/var/lib/spectrum-camera",
            cameras,
            vms,
            operatorUids,
            operatorGid)
        {
            AskTimeout = ParseSeconds("--ask-timeout", cl.Get("--ask-timeout") ?? "30"),
        };

        CameraService service;
        try
        {
            service = new CameraService(options, (loop, camera) => CameraFeeds.Create(loop, camera.Spec));
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
        catch (InvalidDataException e)
        {
            Log.Error("service", e.Message);
            return 1;
        }

        using (service)
        {
            try
            {
                service.Start();
            }
            catch (Exception e) when (e is NativeException or IOException or UnauthorizedAccessException)
            {
                Log.Error("service", $"cannot create the sockets in {options.RuntimeDirectory}: {e.Message}. " +
                                     "Check the directory is writable and no other camera service uses it.");
                return 1;
            }

            using var stopOnTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => Stop(c, service, "SIGTERM"));
            using var stopOnInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => Stop(c, service, "SIGINT"));
            service.Run();
        }

        Log.Info("service", "stopped");
        return 0;
    }

    private static uint ParseId(string option, string value) =>
        uint.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? id
            : throw new UsageException($"{option} needs a numeric id, not '{value}'");

    private static TimeSpan ParseSeconds(string option, string value) =>
        double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds) && seconds is >= 1 and <= 86_400
            ? TimeSpan.FromSeconds(seconds)
            : throw new UsageException($"{option} needs a number of seconds from 1 to 86400, not '{value}'");

    private static void Stop(PosixSignalContext context, CameraService service, string signal)
    {
        context.Cancel = true;
        Log.Info("service", $"{signal} received: shutting down");
        service.RequestStop();
    }
}
