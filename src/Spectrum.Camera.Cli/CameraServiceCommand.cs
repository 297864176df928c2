using System.Globalization;
using System.Runtime.InteropServices;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Service;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Cli;

/// <summary>
/// spectrum-camera camera-service: the host camera service (docs/camera-service.md). Owns the camera, the per-VM
/// permission policy and the audit log; sidecars connect to their VM's socket, operators to operator.sock.
/// </summary>
internal static class CameraServiceCommand
{
    private const string Help = """
        Usage: spectrum-camera camera-service --vm NAME[:UID] [--vm NAME[:UID]]... [options]

        Runs the host camera service: it owns the host camera and the per-VM camera permission, and shares frames
        with each VM's sidecar (spectrum-camera serve --camera-service RUNTIME_DIR/vms/NAME.sock). A VM is denied
        until an operator allows it; a denied VM's sidecar gets no camera frame (its guest sees black frames), and a
        deny takes effect before 'ctl deny' returns. The camera is open only while an allowed VM streams.
        Permissions are kept in STATE_DIR/policy.json; every change and every camera stream start and stop is
        appended to STATE_DIR/audit.log.
        Identity: NAME.sock belongs to UID (mode 0600) and every connection's peer uid is checked again.

        Options:
          --vm NAME[:UID]       A VM the service serves (repeatable). Its sidecar must run as UID (default: this
                                service's uid) and connect to RUNTIME_DIR/vms/NAME.sock, which is created for it.
          --camera SPEC         A V4L2 capture device (/dev/video0, /dev/v4l/by-id/...; see 'spectrum-camera
                                cameras'), or test-pattern for a synthetic camera. Default /dev/video0.
          --runtime-dir DIR     Sockets (default /run/spectrum-camera).
          --state-dir DIR       policy.json and audit.log (default /var/lib/spectrum-camera).
          --operator-uid UID    A uid allowed to use the operator API besides root and this service's uid (repeatable).
          --operator-group GID  Members with this primary gid may use the operator API; operator.sock gets this group.
          --log-level LEVEL     debug, info (default), warning or error.
          --help                Show this help.

        Operators: spectrum-camera ctl --operator-socket RUNTIME_DIR/operator.sock allow|deny|status|watch|audit.

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
          STATE_DIR/policy.json, STATE_DIR/audit.log  permissions and the audit log.

        Examples:
          spectrum-camera camera-service --camera test-pattern --vm vm1 --runtime-dir /tmp/cs --state-dir /tmp/cs
          spectrum-camera camera-service --camera /dev/v4l/by-id/usb-046d_C920-video-index0 \
              --vm work:61001 --vm personal:61002 --operator-group 1000
        """;

    public static int Run(string[] args)
    {
        var cl = CommandLine.Parse(args,
            ["--vm", "--camera", "--runtime-dir", "--state-dir", "--operator-uid", "--operator-group", "--log-level"], []);
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
        var options = new CameraServiceOptions(
            cl.Get("--runtime-dir") ?? "/run/spectrum-camera",
            cl.Get("--state-dir") ?? "/var/lib/spectrum-camera",
            cl.Get("--camera") ?? "/dev/video0",
            vms,
            operatorUids,
            operatorGid);

        CameraService service;
        try
        {
            service = new CameraService(options, loop => CameraFeeds.Create(loop, options.Camera));
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

    private static void Stop(PosixSignalContext context, CameraService service, string signal)
    {
        context.Cancel = true;
        Log.Info("service", $"{signal} received: shutting down");
        service.RequestStop();
    }
}
