using System.Globalization;
using System.Runtime.Versioning;
using Spectrum.Camera.Cli.Ctl;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Service.Policy;
using Kind = Spectrum.Camera.Protocol.Operator.OperatorResponse.KindOneofCase;

namespace Spectrum.Camera.Cli;

/// <summary>
/// spectrum-camera ctl: the operator's view of the camera service (docs/camera-service.md) over its operator socket:
/// allow, deny or ask for a VM's camera, answer requests (one at a time or with the interactive prompt), assign
/// cameras, show status and cameras, follow events, read the audit log.
/// Exit status: 0 success, 1 the request failed (message on stderr), 2 bad usage.
/// </summary>
internal static class CtlCommand
{
    public const string DefaultSocket = "/run/spectrum-camera/operator.sock";
    public const string SocketEnvironmentVariable = "SPECTRUM_CAMERA_OPERATOR_SOCKET";

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
            var cl = CommandLine.Parse(args, ["--operator-socket", "--limit"], ["--json", "--once"]);
            var command = cl.Positional.Count > 0 ? cl.Positional[0] : null;
            if (cl.HelpRequested)
            {
                stdout.WriteLine(command switch
                {
                    null => CtlHelp.Overview,
                    "allow" => CtlHelp.Allow,
                    "deny" => CtlHelp.Deny,
                    "ask" => CtlHelp.Ask,
                    "requests" => CtlHelp.Requests,
                    "prompt" => CtlHelp.Prompt,
                    "assign" => CtlHelp.Assign,
                    "cameras" => CtlHelp.Cameras,
                    "status" => CtlHelp.Status,
                    "watch" => CtlHelp.Watch,
                    "audit" => CtlHelp.Audit,
                    _ => throw new UsageException($"unknown ctl command '{command}'"),
                });
                return 0;
            }

            if (command is null)
            {
                throw new UsageException($"a command is needed: {Commands}");
            }

            if (cl.Has("--limit") && command != "audit")
            {
                throw new UsageException("--limit goes with 'ctl audit'");
            }

            var once = cl.Has("--once");
            if (once && command is not ("allow" or "deny"))
            {
                throw new UsageException("--once goes with 'ctl allow' and 'ctl deny'");
            }

            var operands = cl.Positional.Skip(1).ToArray();
            var socket = cl.Get("--operator-socket") ?? NonEmpty(environment(SocketEnvironmentVariable)) ?? DefaultSocket;
            var json = cl.Has("--json");
            if (json && command == "prompt")
            {
                throw new UsageException("'ctl prompt' is interactive: it has no --json (use 'ctl watch --json' and 'ctl requests --json')");
            }

            Func<OperatorClient, int> action = command switch
            {
                "allow" or "deny" when once => AnswerOnce(RequireVm(command, operands), command == "allow", json, stdout),
                "allow" => SetPolicy(RequireVm(command, operands), Policy.Allow, json, stdout),
                "deny" => SetPolicy(RequireVm(command, operands), Policy.Deny, json, stdout),
                "ask" => SetPolicy(RequireVm(command, operands), Policy.Ask, json, stdout),
                "requests" => Requests(NoOperands(command, operands), json, stdout),
                "assign" => Assign(RequireVmAndCamera(command, operands), json, stdout),
                "cameras" => Cameras(NoOperands(command, operands), json, stdout),
                "status" => Status(OptionalVm(command, operands), json, stdout),
                "watch" => Watch(NoOperands(command, operands), json, stdout),
                "audit" => Audit(OptionalVm(command, operands), ParseLimit(cl.Get("--limit")), json, stdout),
                "prompt" => Prompt(NoOperands(command, operands), socket, stdout),
                _ => throw new UsageException($"unknown ctl command '{command}' ({Commands})"),
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

    private const string Commands = "allow, deny, ask, requests, prompt, assign, cameras, status, watch, audit";

    private static Func<OperatorClient, int> SetPolicy(string vm, Policy policy, bool json, TextWriter stdout) => client =>
    {
        // allow and deny also send the boolean, which is all a service from before ask mode reads.
        var set = new SetPermission { Vm = vm, Allowed = policy == Policy.Allow };
        if (policy == Policy.Ask)
        {
            set.Policy = Policy.Ask;
        }

        var result = client.Call(new OperatorRequest { SetPermission = set }, Kind.PermissionSet).PermissionSet;
        stdout.WriteLine(json ? CtlJson.Permission(result) : CtlText.PermissionResult(result));
        return 0;
    };

    private static Func<OperatorClient, int> AnswerOnce(string vm, bool allow, bool json, TextWriter stdout) => client =>
    {
        var answered = Answer(client, vm, 0, allow ? Protocol.Operator.Answer.AllowOnce : Protocol.Operator.Answer.DenyOnce);
        stdout.WriteLine(json ? CtlJson.Answer(answered) : CtlText.AnswerResult(answered));
        return 0;
    };

    /// <summary>Answers request <paramref name="requestId"/> of <paramref name="vm"/> (0: its current stream); returns once effective.</summary>
    internal static RequestAnswered Answer(OperatorClient client, string vm, ulong requestId, Answer answer) =>
        client.Call(new OperatorRequest { AnswerRequest = new AnswerRequest { Vm = vm, RequestId = requestId, Answer = answer } },
            Kind.RequestAnswered).RequestAnswered;

    private static Func<OperatorClient, int> Requests(bool unused, bool json, TextWriter stdout) => client =>
    {
        _ = unused;
        var list = client.Call(new OperatorRequest { ListRequests = new ListRequests() }, Kind.RequestList).RequestList;
        stdout.Write(json ? CtlJson.Requests(list) + "\n" : CtlText.RequestTable(list, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        return 0;
    };

    private static Func<OperatorClient, int> Assign((string Vm, string Camera) target, bool json, TextWriter stdout) => client =>
    {
        var request = new OperatorRequest { AssignCamera = new AssignCamera { Vm = target.Vm, Camera = target.Camera } };
        var assigned = client.Call(request, Kind.CameraAssigned).CameraAssigned;
        stdout.WriteLine(json ? CtlJson.Assigned(assigned) : CtlText.AssignResult(assigned));
        return 0;
    };

    private static Func<OperatorClient, int> Cameras(bool unused, bool json, TextWriter stdout) => client =>
    {
        _ = unused;
        var list = client.Call(new OperatorRequest { ListCameras = new ListCameras() }, Kind.CameraList).CameraList;
        stdout.Write(json ? CtlJson.Cameras(list) + "\n" : CtlText.CameraTable(list));
        return 0;
    };

    private static Func<OperatorClient, int> Prompt(bool unused, string socket, TextWriter stdout) => events =>
    {
        _ = unused;
        using var answers = OperatorClient.Connect(socket);
        using var keys = KeyReader.Start();
        return new OperatorPrompt(events, answers, keys, stdout, () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).Run();
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

    [SupportedOSPlatform("linux")]
    private static (string Vm, string Camera) RequireVmAndCamera(string command, string[] operands) => operands.Length switch
    {
        0 or 1 => throw new UsageException($"'ctl {command}' needs a VM and a camera name ('ctl cameras' lists them)"),
        2 => (CheckVm(operands[0]), CameraConfig.IsValidName(operands[1])
            ? operands[1]
            : throw new UsageException($"'{operands[1]}' is not a camera name (1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)")),
        _ => throw new UsageException($"unexpected argument '{operands[2]}' ('ctl {command}' takes a VM and a camera)"),
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
