using System.Globalization;
using System.Runtime.Versioning;
using Spectrum.Camera.Cli.Ctl;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Service.Policy;
using Kind = Spectrum.Camera.Protocol.Operator.OperatorResponse.KindOneofCase;

namespace Spectrum.Camera.Cli;

/// <summary>
/// spectrum-camera ctl: the operator's view of the camera service (docs/camera-service.md) over its operator socket:
/// allow or deny a VM the camera, show status, follow events, read the audit log.
/// Exit status: 0 success, 1 the request failed (message on stderr), 2 bad usage.
/// </summary>
internal static class CtlCommand
{
    public const string DefaultSocket = "/run/spectrum-camera/operator.sock";
    public const string SocketEnvironmentVariable = "SPECTRUM_CAMERA_OPERATOR_SOCKET";

    private const string Help = """
        Usage: spectrum-camera ctl [--operator-socket PATH] <command> [options]

        Controls the camera service: which VMs may use the host camera, and what they are doing with it.

        Commands:
          allow VM                       Let VM's guest see the host camera.
          deny VM                        Stop VM's guest seeing the camera; returns once no camera frame can reach it.
          status [VM] [--json]           Permission, sidecar, stream and frame counts of every VM (or one).
          watch [--json]                 Print permission changes and stream starts/stops as they happen.
          audit [VM] [--limit N] [--json]  The audit log: permission changes and real-camera streams.

        Options:
          --operator-socket PATH  The camera service's operator socket (default: $SPECTRUM_CAMERA_OPERATOR_SOCKET,
                                  else /run/spectrum-camera/operator.sock).
          --json                  Machine-readable output.
          --help                  Show this help, or a command's ('spectrum-camera ctl allow --help').

        Only operators may connect: root, the service's own user, users given to the service with --operator-uid,
        and users whose primary group is its --operator-group.

        Exit status:
          0  success.
          1  the request failed: no service on the socket, not an operator, an unknown VM (the message says which).
          2  bad usage.

        Environment:
          SPECTRUM_CAMERA_OPERATOR_SOCKET  the operator socket when --operator-socket is not given.

        Files:
          /run/spectrum-camera/operator.sock  the camera service's operator socket under systemd.

        Examples:
          spectrum-camera ctl allow work
          spectrum-camera ctl deny work
          spectrum-camera ctl status
          spectrum-camera ctl audit work --limit 20
          spectrum-camera ctl watch --json
        """;

    private const string AllowHelp = """
        Usage: spectrum-camera ctl allow VM [--json] [--operator-socket PATH]

        Allows VM to use the host camera: its guest gets camera frames when it streams (black frames until then).
        Prints e.g. "vm1: allowed (effective: at once)"; "already allowed (no change)" when it was. The change is
        saved in the service's policy.json and recorded in its audit log.

        Options:
          --json                  One JSON object: {"vm":...,"allowed":true,"changed":...,"effective_by":...}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    private const string DenyHelp = """
        Usage: spectrum-camera ctl deny VM [--json] [--operator-socket PATH]

        Denies VM the host camera. Returns only once the deny is effective: no camera frame is written into the
        guest after that (its stream carries on with black frames). Prints e.g.
        "vm1: denied (effective: sidecar acknowledged)"; other ways it takes effect: "no sidecar connected",
        "sidecar disconnected" (the service cut off a sidecar that did not acknowledge in time).

        Options:
          --json                  One JSON object: {"vm":...,"allowed":false,"changed":...,"effective_by":...}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    private const string StatusHelp = """
        Usage: spectrum-camera ctl status [VM] [--json] [--operator-socket PATH]

        One line per VM (or just VM):
          VM  PERMISSION  SIDECAR  STREAM  REAL  BLACK  CAMERA  LAST CHANGE
        PERMISSION allow/deny; SIDECAR connected or -; STREAM the guest's format while it streams, else -;
        REAL and BLACK the camera and black frames written into the guest; CAMERA the camera's state for this VM
        (denied, opening, streaming, unavailable, idle); LAST CHANGE when and by which uid the permission last changed.

        Options:
          --json                  One JSON object: {"vms":[{"vm":...,"allowed":...,...}]}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    private const string WatchHelp = """
        Usage: spectrum-camera ctl watch [--json] [--operator-socket PATH]

        Prints one line per event, with local time, until interrupted or the service stops (exit status 1):
          12:34:56.789 vm1 denied by uid 1000
          12:34:57.001 vm1 stream started: NV12 1280x720 30/1 fps (black frames)

        Options:
          --json                  One JSON object per line: {"time_unix_ms":...,"vm":...,"event":"permission-changed",...}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    private const string AuditHelp = """
        Usage: spectrum-camera ctl audit [VM] [--limit N] [--json] [--operator-socket PATH]

        Prints the service's audit log, oldest first, one line per entry: local time, VM, action (allow, deny,
        real-stream-start, real-stream-stop), the uid that did it, and details.

        Options:
          --limit N               Only the newest N entries (default: all).
          --json                  One JSON object: {"entries":[{"time_unix_ms":...,"vm":...,"action":...,"uid":...,"detail":...}]}.
          --operator-socket PATH  The operator socket (default /run/spectrum-camera/operator.sock).
          --help                  Show this help.
        """;

    public static int Run(string[] args) => Execute(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable);

    /// <summary>Runs ctl with <paramref name="args"/> (after "ctl"), writing to the given streams; returns the exit status.</summary>
    internal static int Execute(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        ArgumentNullException.ThrowIfNull(environment);
        if (!OperatingSystem.IsLinux())
        {
            stderr.WriteLine("spectrum-camera ctl: the camera service runs on Linux only");
            return 1;
        }

        try
        {
            var cl = CommandLine.Parse(args, ["--operator-socket", "--limit"], ["--json"]);
            var command = cl.Positional.Count > 0 ? cl.Positional[0] : null;
            if (cl.HelpRequested)
            {
                stdout.WriteLine(command switch
                {
                    null => Help,
                    "allow" => AllowHelp,
                    "deny" => DenyHelp,
                    "status" => StatusHelp,
                    "watch" => WatchHelp,
                    "audit" => AuditHelp,
                    _ => throw new UsageException($"unknown ctl command '{command}'"),
                });
                return 0;
            }

            if (command is null)
            {
                throw new UsageException("a command is needed: allow, deny, status, watch or audit");
            }

            if (cl.Has("--limit") && command != "audit")
            {
                throw new UsageException("--limit goes with 'ctl audit'");
            }

            var operands = cl.Positional.Skip(1).ToArray();
            var socket = cl.Get("--operator-socket") ?? NonEmpty(environment(SocketEnvironmentVariable)) ?? DefaultSocket;
            var json = cl.Has("--json");
            Func<OperatorClient, int> action = command switch
            {
                "allow" or "deny" => SetPermission(RequireVm(command, operands), command == "allow", json, stdout),
                "status" => Status(OptionalVm(command, operands), json, stdout),
                "watch" => Watch(NoOperands(command, operands), json, stdout),
                "audit" => Audit(OptionalVm(command, operands), ParseLimit(cl.Get("--limit")), json, stdout),
                _ => throw new UsageException($"unknown ctl command '{command}' (allow, deny, status, watch, audit)"),
            };

            using var client = OperatorClient.Connect(socket);
            return action(client);
        }
        catch (UsageException e)
        {
            stderr.WriteLine($"spectrum-camera ctl: {e.Message}");
            stderr.WriteLine("Run 'spectrum-camera ctl --help' or 'spectrum-camera ctl <command> --help' for usage.");
            return 2;
        }
        catch (CtlFailure e)
        {
            stdout.Flush();
            stderr.WriteLine($"spectrum-camera ctl: {e.Message}");
            return 1;
        }
    }

    private static Func<OperatorClient, int> SetPermission(string vm, bool allowed, bool json, TextWriter stdout) => client =>
    {
        var request = new OperatorRequest { SetPermission = new SetPermission { Vm = vm, Allowed = allowed } };
        var set = client.Call(request, Kind.PermissionSet).PermissionSet;
        stdout.WriteLine(json ? CtlJson.Permission(set) : CtlText.PermissionResult(set));
        return 0;
    };

    private static Func<OperatorClient, int> Status(string vm, bool json, TextWriter stdout) => client =>
    {
        var request = new OperatorRequest { GetStatus = new GetStatus { Vm = vm } };
        var list = client.Call(request, Kind.StatusList).StatusList;
        stdout.Write(json ? CtlJson.Status(list) + "\n" : CtlText.StatusTable(list));
        return 0;
    };

    private static Func<OperatorClient, int> Watch(bool unused, bool json, TextWriter stdout) => client =>
    {
        _ = unused;
        var id = client.Send(new OperatorRequest { Watch = new Watch() });
        while (true)
        {
            // Waits forever: events come when they come. The loop ends when the service closes the connection.
            var e = OperatorClient.Expect(client.Receive(id, timeoutMs: -1), Kind.Event).Event;
            stdout.WriteLine(json ? CtlJson.Event(e) : CtlText.EventLine(e));
            stdout.Flush();
        }
    };

    private static Func<OperatorClient, int> Audit(string vm, uint limit, bool json, TextWriter stdout) => client =>
    {
        var id = client.Send(new OperatorRequest { ReadAudit = new ReadAudit { Vm = vm, Limit = limit } });
        var entries = new List<AuditEntry>();
        while (true)
        {
            var chunk = OperatorClient.Expect(client.Receive(id, OperatorClient.ReplyTimeoutMs), Kind.AuditChunk).AuditChunk;
            entries.AddRange(chunk.Entries);
            if (chunk.Last)
            {
                break;
            }
        }

        if (json)
        {
            stdout.WriteLine(CtlJson.Audit(entries));
        }
        else
        {
            foreach (var entry in entries)
            {
                stdout.WriteLine(CtlText.AuditLine(entry));
            }
        }

        return 0;
    };

    [SupportedOSPlatform("linux")]
    private static string RequireVm(string command, string[] operands) => operands.Length switch
    {
        0 => throw new UsageException($"'ctl {command}' needs a VM name"),
        1 => CheckVm(operands[0]),
        _ => throw new UsageException($"unexpected argument '{operands[1]}' ('ctl {command}' takes one VM)"),
    };

    [SupportedOSPlatform("linux")]
    private static string OptionalVm(string command, string[] operands) => operands.Length switch
    {
        0 => "",
        1 => CheckVm(operands[0]),
        _ => throw new UsageException($"unexpected argument '{operands[1]}' ('ctl {command}' takes at most one VM)"),
    };

    private static bool NoOperands(string command, string[] operands) => operands.Length == 0
        ? true
        : throw new UsageException($"unexpected argument '{operands[0]}' ('ctl {command}' takes no VM)");

    [SupportedOSPlatform("linux")]
    private static string CheckVm(string vm) => VmConfig.IsValidName(vm)
        ? vm
        : throw new UsageException($"'{vm}' is not a VM name (1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)");

    private static uint ParseLimit(string? text)
    {
        if (text is null)
        {
            return 0;
        }

        return uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit)
            ? limit
            : throw new UsageException($"--limit must be a whole number (0 = all), not '{text}'");
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
