using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Cli;

/// <summary>spectrum-camera: the sidecar and its tools. Exit codes: 0 success, 1 runtime failure, 2 bad usage.</summary>
internal static class Program
{
    private const string Usage = """
        spectrum-camera: a virtio-media virtual camera for one VM, served over vhost-user.

        Usage: spectrum-camera <command> [options]

        Commands:
          serve          Serve one VM's camera on a vhost-user socket (QEMU connects to it).
          verify-frames  Check a raw capture file against the test pattern (used by the end-to-end tests).
          cameras        List the host's V4L2 cameras with their formats, sizes and rates.
          camera-service Run the host camera service: owns the cameras and each VM's camera permission.
          ctl            Allow, deny or ask for VMs' camera use, answer requests, assign cameras, show status and audit.
          notify         Desktop notifications for camera requests (Allow once / Always / Deny) and camera use.

        Run 'spectrum-camera <command> --help' for a command's options.
        """;

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
            return args[0] switch
            {
                "serve" => ServeCommand.Run(rest),
                "verify-frames" => VerifyFramesCommand.Run(rest),
                "cameras" => CamerasCommand.Run(rest),
                "camera-service" => CameraServiceCommand.Run(rest),
                "ctl" => CtlCommand.Run(rest),
                "notify" => NotifyCommand.Run(rest),
                "camera-probe" => CameraProbeCommand.Run(rest), // Hidden: the host-camera end-to-end tests' diagnostic.
                "sandbox-selftest" => SandboxSelftestCommand.Run(rest), // Hidden: checks the sidecar's seccomp filter (tests).
                _ => throw new UsageException($"unknown command '{args[0]}'"),
            };
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
