using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Cli;

/// <summary>spectrum-camera: the sidecar and its tools. Exit codes: 0 success, 1 runtime failure, 2 bad usage.</summary>
internal static class Program
{
    /// <summary>Every command the executable has; --help lists exactly these, so none is hidden.</summary>
    internal static readonly IReadOnlyList<(string Name, string Summary, Func<string[], int> Run)> Commands =
    [
        ("serve", "Serve one VM's camera on a vhost-user socket (QEMU connects to it).", ServeCommand.Run),
        ("camera-service", "Run the host camera service: owns the cameras and each VM's camera permission.", CameraServiceCommand.Run),
        ("ctl", "Allow, deny or ask for VMs' camera use, answer requests, assign cameras, show status and audit.", CtlCommand.Run),
        ("notify", "Desktop notifications for camera requests (Allow once / Always / Deny) and camera use.", NotifyCommand.Run),
        ("cameras", "List the host's V4L2 cameras with their formats, sizes and rates.", CamerasCommand.Run),
        ("verify-frames", "Check a raw capture from a guest against the test pattern (identity and order of frames).", VerifyFramesCommand.Run),
        ("sandbox-selftest", "Check that this kernel enforces the sidecar's sandbox (no_new_privs + seccomp allowlist).", SandboxSelftestCommand.Run),
    ];

    internal static string Usage
    {
        get
        {
            var text = new System.Text.StringBuilder();
            text.AppendLine("""
                spectrum-camera: a safe virtual camera for virtual machines (virtio-media over vhost-user).

                Usage: spectrum-camera <command> [options]
                       spectrum-camera <command> --help

                Each VM gets its camera from its own sidecar ('serve'): QEMU connects to the sidecar as a vhost-user
                back-end, and the guest sees an ordinary V4L2 camera (/dev/videoN, through the Spectrum Camera guest
                driver) that is present from boot and always offers the same formats. The host's cameras belong to
                one camera service ('camera-service'), which decides per VM whether its sidecar gets camera frames;
                a VM without permission gets black frames at the same format and rate. Operators allow, deny or ask
                with 'ctl'.

                Commands:
                """);
            foreach (var (name, summary, _) in Commands)
            {
                text.AppendLine(name.Length < 15 ? $"  {name,-15}{summary}" : $"  {name}\n  {"",-15}{summary}");
            }

            text.Append("""

                Run 'spectrum-camera <command> --help' for a command's options.

                Exit status:
                  0  success.
                  1  the command failed at run time; one log line on standard error says why.
                  2  bad usage (also when no command is given).

                Files:
                  /usr/lib/spectrum-camera/spectrum-camera  the program (/usr/bin/spectrum-camera links to it).
                  /etc/spectrum-camera/camera-service.env   the camera service's options under systemd.
                  /run/spectrum-camera/operator.sock        the camera service's operator socket (ctl).
                  /run/spectrum-camera/vms/VM.sock          the camera service's socket for VM's sidecar.
                  /run/spectrum-camera/producers/VM.sock    the camera service's socket for camera VM VM's sidecar.
                  /run/spectrum-camera-vm/VM/camera.sock    VM's sidecar's vhost-user socket, for QEMU.
                  /var/lib/spectrum-camera/                 policy.json (permissions) and audit.log.

                Examples:
                  spectrum-camera cameras
                  systemctl start spectrum-camera-service.service spectrum-camera-sidecar@work.service
                  spectrum-camera ctl allow work
                  spectrum-camera ctl status

                See also: the systemd units spectrum-camera-service.service, spectrum-camera-sidecar@.service and
                spectrum-camera-producer@.service (a camera VM's sidecar), and /usr/share/doc/spectrum-camera/.
                """);
            return text.ToString();
        }
    }

    private static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "--help" or "-h" or "help")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        var rest = args[1..];
        try
        {
            foreach (var (name, _, run) in Commands)
            {
                if (name == args[0])
                {
                    return run(rest);
                }
            }

            throw new UsageException($"unknown command '{args[0]}'");
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"spectrum-camera: {e.Message}");
            Console.Error.WriteLine("Run 'spectrum-camera --help' or 'spectrum-camera <command> --help' for usage.");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.Error("main", e.Message);
            return 1;
        }
#pragma warning disable CA1031 // The last line of defence: one log line and exit 1, never an unhandled exception.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Log.Error("main", $"{args[0]} stopped by an internal error: {e.GetType().Name}: {e.Message}. This is a bug; please report it.");
            return 1;
        }
    }
}
