using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Cli;

/// <summary>spectrum-camera: the sidecar and its tools. Exit codes: 0 success, 1 runtime failure, 2 bad usage.</summary>
internal static class Program
{
    /// <summary>Every command the executable has; --help lists exactly these, so none is hidden.</summary>
    internal static readonly IReadOnlyList<(string Name, string Summary, Func<string[], int> Run)> Commands =
    [
        ("serve", "Serve one VM's camera on a vhost-user socket (QEMU connects to it).", ServeCommand.Run),
        ("camera-service", "Run the host camera service: owns the camera and each VM's camera permission.", CameraServiceCommand.Run),
        ("ctl", "Allow or deny VMs the camera, and show their status, events and audit log (camera service).", CtlCommand.Run),
        ("cameras", "List the host's V4L2 cameras with their formats, sizes and rates.", CamerasCommand.Run),
        ("verify-frames", "Check a raw capture from a guest against the test pattern (identity and order of frames).", VerifyFramesCommand.Run),
        ("sandbox-selftest", "Check that this kernel enforces the sidecar's sandbox (no_new_privs + seccomp allowlist).", SandboxSelftestCommand.Run),
    ];

    internal static string Usage
    {
        get
        {
            var text = new System.Text.StringBuilder();
            text.AppendLine("spectrum-camera: a virtio-media virtual camera for one VM, served over vhost-user.");
            text.AppendLine();
            text.AppendLine("Usage: spectrum-camera <command> [options]");
            text.AppendLine();
            text.AppendLine("Commands:");
            foreach (var (name, summary, _) in Commands)
            {
                text.AppendLine(name.Length < 15 ? $"  {name,-15}{summary}" : $"  {name}\n  {"",-15}{summary}");
            }

            text.AppendLine();
            text.AppendLine("Run 'spectrum-camera <command> --help' for a command's options.");
            text.Append("Exit status: 0 success, 1 runtime failure, 2 bad usage.");
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
