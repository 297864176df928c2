using System.Text.Json;
using Spectrum.Camera.Cli.Ctl;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol.Operator;

namespace Spectrum.Camera.Tests.Cli.Ctl;

/// <summary>spectrum-camera ctl against a scripted camera service on a real seqpacket socket, run in-process.</summary>
[TestFixture]
public sealed class CtlCommandTests
{
    private const long T1 = 1_735_000_000_000;
    private static readonly string[] DeniedRow = ["a-much-longer-vm-name", "deny", "-", "-", "0", "56", "test-pattern", "denied", "-"];
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("spectrum-ctl-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string SocketPath => Path.Combine(_dir, "operator.sock");

    private ScriptedOperatorServer Serve(
        Func<OperatorRequest, IReadOnlyList<OperatorResponse>> script, bool closeAfterReply = false, bool fillIds = true) =>
        new(SocketPath, script, closeAfterReply, fillIds);

    private ScriptedOperatorServer Serve(params OperatorResponse[] replies) => Serve(_ => replies);

    private CtlRun Ctl(params string[] args) => CtlRun.Invoke(["--operator-socket", SocketPath, .. args]);

    private static OperatorResponse Permission(string vm, bool allowed, bool changed, string effectiveBy) =>
        new() { PermissionSet = new PermissionSet { Vm = vm, Allowed = allowed, Changed = changed, EffectiveBy = effectiveBy } };

    private static VmStatus Status(string vm, bool allowed, bool connected = false, string format = "") => new()
    {
        Vm = vm,
        Allowed = allowed,
        SidecarConnected = connected,
        Streaming = format.Length > 0,
        GuestFormat = format,
        RealFrames = allowed && format.Length > 0 ? 1234u : 0,
        BlackFrames = 56,
        Camera = "test-pattern",
        CameraState = allowed ? (format.Length > 0 ? "streaming" : "idle") : "denied",
        LastChangeUnixMs = allowed ? T1 : 0,
        LastChangeUid = allowed ? 1000u : 0,
        FramesOffered = 1300,
    };

    private static AuditEntry Entry(long t, string vm, string action, uint uid, string detail = "") =>
        new() { TimeUnixMs = t, Vm = vm, Action = action, Uid = uid, Detail = detail };

    private static OperatorResponse Error(string message, int errno) => new() { Error = new Error { Message = message, Errno = errno } };

    [Test]
    public void Allow_sends_set_permission_and_says_how_it_took_effect()
    {
        using var server = Serve(Permission("vm1", true, true, "allowed"));
        var run = Ctl("allow", "vm1");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(server.Single.SetPermission, Is.EqualTo(new SetPermission { Vm = "vm1", Allowed = true }));
        Assert.That(server.Single.Id, Is.Not.Zero);
        Assert.That(run.Stdout, Is.EqualTo("vm1: allowed (effective: at once)\n"));
    }

    [TestCase("sidecar-ack", "vm1: denied (effective: sidecar acknowledged)")]
    [TestCase("no-sidecar", "vm1: denied (effective: no sidecar connected)")]
    [TestCase("sidecar-disconnected", "vm1: denied (effective: sidecar disconnected)")]
    public void Deny_reports_the_effect(string effectiveBy, string expected)
    {
        using var server = Serve(Permission("vm1", false, true, effectiveBy));
        var run = Ctl("deny", "vm1");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(server.Single.SetPermission, Is.EqualTo(new SetPermission { Vm = "vm1", Allowed = false }));
        Assert.That(run.Stdout.TrimEnd(), Is.EqualTo(expected));
    }

    [Test]
    public void An_unchanged_permission_says_so()
    {
        using var server = Serve(Permission("vm1", false, false, "no-sidecar"));
        Assert.That(Ctl("deny", "vm1").Stdout.TrimEnd(), Is.EqualTo("vm1: already denied (no change)"));
    }

    [Test]
    public void Deny_json_is_one_object()
    {
        using var server = Serve(Permission("vm1", false, true, "sidecar-ack"));
        var run = Ctl("deny", "vm1", "--json");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(run.StdoutLines, Has.Length.EqualTo(1));
        using var doc = JsonDocument.Parse(run.Stdout);
        var root = doc.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("vm").GetString(), Is.EqualTo("vm1"));
            Assert.That(root.GetProperty("allowed").GetBoolean(), Is.False);
            Assert.That(root.GetProperty("changed").GetBoolean(), Is.True);
            Assert.That(root.GetProperty("effective_by").GetString(), Is.EqualTo("sidecar-ack"));
        });
    }

    [Test]
    public void Status_prints_an_aligned_table_of_every_vm()
    {
        var list = new StatusList();
        list.Vms.Add(Status("vm1", allowed: true, connected: true, format: "NV12 1280x720 30/1 fps"));
        list.Vms.Add(Status("a-much-longer-vm-name", allowed: false));
        using var server = Serve(new OperatorResponse { StatusList = list });
        var run = Ctl("status");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(server.Single.GetStatus, Is.EqualTo(new GetStatus { Vm = "" }));

        var lines = run.StdoutLines;
        Assert.That(lines, Has.Length.EqualTo(3));
        var header = lines[0];
        Assert.That(header, Does.StartWith("VM ").And.Contain("PERMISSION").And.Contain("SIDECAR").And.Contain("STREAM")
            .And.Contain("REAL").And.Contain("BLACK").And.Contain("CAMERA").And.Contain("STATE").And.EndWith("LAST CHANGE"));
        var localTime = DateTimeOffset.FromUnixTimeMilliseconds(T1).ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Multiple(() =>
        {
            // Each value starts in its header's column.
            Assert.That(lines[1].IndexOf("allow", StringComparison.Ordinal), Is.EqualTo(header.IndexOf("PERMISSION", StringComparison.Ordinal)));
            Assert.That(lines[2].IndexOf("deny", StringComparison.Ordinal), Is.EqualTo(header.IndexOf("PERMISSION", StringComparison.Ordinal)));
            Assert.That(lines[1].IndexOf("connected", StringComparison.Ordinal), Is.EqualTo(header.IndexOf("SIDECAR", StringComparison.Ordinal)));
            Assert.That(lines[1].IndexOf("NV12 1280x720 30/1 fps", StringComparison.Ordinal), Is.EqualTo(header.IndexOf("STREAM", StringComparison.Ordinal)));
            Assert.That(lines[1].IndexOf("1234", StringComparison.Ordinal), Is.EqualTo(header.IndexOf("REAL", StringComparison.Ordinal)));
            Assert.That(lines[1].IndexOf("test-pattern", StringComparison.Ordinal), Is.EqualTo(header.IndexOf("CAMERA", StringComparison.Ordinal)));
            Assert.That(lines[1].IndexOf("streaming", StringComparison.Ordinal), Is.EqualTo(header.IndexOf("STATE", StringComparison.Ordinal)));
            Assert.That(lines[2].IndexOf("denied", StringComparison.Ordinal), Is.EqualTo(header.IndexOf("STATE", StringComparison.Ordinal)));
            Assert.That(lines[1], Does.EndWith($"{localTime} uid 1000"));
            Assert.That(lines[2].LastIndexOf('-'), Is.EqualTo(header.IndexOf("LAST CHANGE", StringComparison.Ordinal)), "never changed");
            Assert.That(lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries),
                Is.EqualTo(DeniedRow));
        });
    }

    [Test]
    public void Status_of_one_vm_as_json()
    {
        var list = new StatusList();
        list.Vms.Add(Status("vm1", allowed: true, connected: true, format: "YUYV 640x480 30/1 fps"));
        using var server = Serve(new OperatorResponse { StatusList = list });
        var run = Ctl("status", "vm1", "--json");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(server.Single.GetStatus.Vm, Is.EqualTo("vm1"));
        using var doc = JsonDocument.Parse(run.Stdout);
        var vm = doc.RootElement.GetProperty("vms")[0];
        Assert.Multiple(() =>
        {
            Assert.That(doc.RootElement.GetProperty("vms").GetArrayLength(), Is.EqualTo(1));
            Assert.That(vm.GetProperty("vm").GetString(), Is.EqualTo("vm1"));
            Assert.That(vm.GetProperty("allowed").GetBoolean(), Is.True);
            Assert.That(vm.GetProperty("sidecar_connected").GetBoolean(), Is.True);
            Assert.That(vm.GetProperty("streaming").GetBoolean(), Is.True);
            Assert.That(vm.GetProperty("guest_format").GetString(), Is.EqualTo("YUYV 640x480 30/1 fps"));
            Assert.That(vm.GetProperty("real_frames").GetUInt64(), Is.EqualTo(1234ul));
            Assert.That(vm.GetProperty("black_frames").GetUInt64(), Is.EqualTo(56ul));
            Assert.That(vm.GetProperty("frames_offered").GetUInt64(), Is.EqualTo(1300ul));
            Assert.That(vm.GetProperty("last_change_unix_ms").GetInt64(), Is.EqualTo(T1));
            Assert.That(vm.GetProperty("last_change_uid").GetUInt32(), Is.EqualTo(1000u));
            Assert.That(vm.GetProperty("camera").GetString(), Is.EqualTo("test-pattern"));
            Assert.That(vm.GetProperty("camera_state").GetString(), Is.EqualTo("streaming"));
        });
    }

    [Test]
    public void Audit_sends_vm_and_limit_and_prints_every_chunk_oldest_first()
    {
        var first = new AuditChunk { Last = false };
        first.Entries.Add(Entry(T1, "vm1", "allow", 1000));
        first.Entries.Add(Entry(T1 + 1000, "vm1", "real-stream-start", 2001, "NV12 640x480 30/1 fps"));
        var second = new AuditChunk { Last = true };
        second.Entries.Add(Entry(T1 + 2000, "vm1", "deny", 0, "effective: sidecar-ack"));
        using var server = Serve(new OperatorResponse { AuditChunk = first }, new OperatorResponse { AuditChunk = second });
        var run = Ctl("audit", "vm1", "--limit", "5");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(server.Single.ReadAudit, Is.EqualTo(new ReadAudit { Vm = "vm1", Limit = 5 }));
        Assert.That(run.StdoutLines, Is.EqualTo(new[]
        {
            $"{CtlText.LocalTime(T1)} vm1 allow uid 1000",
            $"{CtlText.LocalTime(T1 + 1000)} vm1 real-stream-start uid 2001 NV12 640x480 30/1 fps",
            $"{CtlText.LocalTime(T1 + 2000)} vm1 deny uid 0 effective: sidecar-ack",
        }));
    }

    [Test]
    public void Audit_of_every_vm_as_json()
    {
        var chunk = new AuditChunk { Last = true };
        chunk.Entries.Add(Entry(T1, "vm1", "allow", 1000));
        chunk.Entries.Add(Entry(T1 + 5, "vm2", "deny", 0, "effective: no-sidecar"));
        using var server = Serve(new OperatorResponse { AuditChunk = chunk });
        var run = Ctl("audit", "--json");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(server.Single.ReadAudit, Is.EqualTo(new ReadAudit { Vm = "", Limit = 0 }));
        using var doc = JsonDocument.Parse(run.Stdout);
        var entries = doc.RootElement.GetProperty("entries");
        Assert.Multiple(() =>
        {
            Assert.That(entries.GetArrayLength(), Is.EqualTo(2));
            Assert.That(entries[1].GetProperty("time_unix_ms").GetInt64(), Is.EqualTo(T1 + 5));
            Assert.That(entries[1].GetProperty("vm").GetString(), Is.EqualTo("vm2"));
            Assert.That(entries[1].GetProperty("action").GetString(), Is.EqualTo("deny"));
            Assert.That(entries[1].GetProperty("uid").GetUInt32(), Is.Zero);
            Assert.That(entries[1].GetProperty("detail").GetString(), Is.EqualTo("effective: no-sidecar"));
        });
    }

    private static OperatorResponse[] WatchEvents() =>
    [
        new() { Event = new Event { TimeUnixMs = T1, Vm = "vm1", PermissionChanged = new PermissionChanged { Allowed = false, Uid = 1000 } } },
        new() { Event = new Event { TimeUnixMs = T1 + 10, Vm = "vm2", StreamStarted = new StreamStarted { GuestFormat = "NV12 640x480 30/1 fps", Real = true } } },
        new() { Event = new Event { TimeUnixMs = T1 + 20, Vm = "vm2", StreamStopped = new StreamStopped { Reason = "guest STREAMOFF" } } },
    ];

    [Test]
    public void Watch_prints_a_line_per_event_until_the_service_closes()
    {
        using var server = Serve(_ => WatchEvents(), closeAfterReply: true);
        var run = Ctl("watch");
        Assert.That(server.Single.KindCase, Is.EqualTo(OperatorRequest.KindOneofCase.Watch));
        Assert.That(run.StdoutLines, Is.EqualTo(new[]
        {
            $"{CtlText.LocalTime(T1, "HH:mm:ss.fff")} vm1 denied by uid 1000",
            $"{CtlText.LocalTime(T1 + 10, "HH:mm:ss.fff")} vm2 stream started: NV12 640x480 30/1 fps (camera frames)",
            $"{CtlText.LocalTime(T1 + 20, "HH:mm:ss.fff")} vm2 stream stopped: guest STREAMOFF",
        }));
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("spectrum-camera ctl: the camera service closed the connection"));
    }

    [Test]
    public void Watch_accepts_events_pushed_with_id_0()
    {
        using var server = Serve(_ => WatchEvents(), closeAfterReply: true, fillIds: false);
        var run = Ctl("watch");
        Assert.That(run.StdoutLines, Has.Length.EqualTo(3), run.Stderr);
        Assert.That(run.Stderr, Does.Contain("closed the connection").And.Not.Contain("bad reply"));
    }

    [Test]
    public void A_reply_to_another_request_is_an_error()
    {
        using var server = Serve(new OperatorResponse { Id = 77, StatusList = new StatusList() });
        var run = Ctl("status");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("bad reply from the camera service: id 77"));
    }

    [Test]
    public void Watch_json_prints_one_object_per_line()
    {
        using var server = Serve(_ => WatchEvents(), closeAfterReply: true);
        var run = Ctl("watch", "--json");
        var lines = run.StdoutLines;
        Assert.That(lines, Has.Length.EqualTo(3));
        using var a = JsonDocument.Parse(lines[0]);
        using var b = JsonDocument.Parse(lines[1]);
        using var c = JsonDocument.Parse(lines[2]);
        Assert.Multiple(() =>
        {
            Assert.That(a.RootElement.GetProperty("event").GetString(), Is.EqualTo("permission-changed"));
            Assert.That(a.RootElement.GetProperty("time_unix_ms").GetInt64(), Is.EqualTo(T1));
            Assert.That(a.RootElement.GetProperty("allowed").GetBoolean(), Is.False);
            Assert.That(a.RootElement.GetProperty("uid").GetUInt32(), Is.EqualTo(1000u));
            Assert.That(b.RootElement.GetProperty("event").GetString(), Is.EqualTo("stream-started"));
            Assert.That(b.RootElement.GetProperty("vm").GetString(), Is.EqualTo("vm2"));
            Assert.That(b.RootElement.GetProperty("real").GetBoolean(), Is.True);
            Assert.That(c.RootElement.GetProperty("event").GetString(), Is.EqualTo("stream-stopped"));
            Assert.That(c.RootElement.GetProperty("reason").GetString(), Is.EqualTo("guest STREAMOFF"));
        });
    }

    [Test]
    public void An_error_reply_is_printed_and_exits_1()
    {
        using var server = Serve(Error("unknown VM 'vm9' (configured: vm1, vm2)", Errnos.ENOENT));
        var run = Ctl("allow", "vm9");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stdout, Is.Empty);
        Assert.That(run.Stderr.TrimEnd(), Is.EqualTo("spectrum-camera ctl: unknown VM 'vm9' (configured: vm1, vm2)"));
    }

    [Test]
    public void A_refused_operator_sees_the_services_reason()
    {
        // The service refuses a non-operator with an Error (id 0) and closes.
        using var server = Serve(_ => [Error("permission denied: uid 1000 is not an operator: run as root or add --operator-uid 1000 / --operator-group", Errnos.EACCES)],
            closeAfterReply: true);
        var run = Ctl("status");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.StartWith("spectrum-camera ctl: permission denied: uid 1000 is not an operator"));
    }

    [Test]
    public void A_service_that_closes_without_replying_is_an_error()
    {
        using var server = Serve(_ => [], closeAfterReply: true);
        var run = Ctl("deny", "vm1");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("closed the connection"));
    }

    [Test]
    public void A_reply_of_the_wrong_kind_is_an_error()
    {
        using var server = Serve(new OperatorResponse { VmList = new VmList() });
        var run = Ctl("status");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain("bad reply from the camera service"));
    }

    [Test]
    public void A_missing_socket_asks_whether_the_service_is_running()
    {
        var run = Ctl("status");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.StartWith($"spectrum-camera ctl: no operator socket at {SocketPath}: is the camera service running?"));
    }

    [Test]
    public void A_stale_socket_file_asks_whether_the_service_is_running()
    {
        UnixSocket.Listen(SocketPath, 1, UnixSocketKind.SeqPacket).Dispose();
        var run = Ctl("status");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain($"nothing is listening on {SocketPath}: is the camera service running?"));
    }

    [Test]
    public void A_socket_of_another_kind_is_not_the_operator_socket()
    {
        using var stream = UnixSocket.Listen(SocketPath, 1, UnixSocketKind.Stream);
        var run = Ctl("status");
        Assert.That(run.ExitCode, Is.EqualTo(1));
        Assert.That(run.Stderr, Does.Contain($"{SocketPath} is not the camera service's operator socket"));
    }

    [Test]
    public void Permission_denied_asks_whether_you_are_an_operator()
    {
        // Tests may run as root, for whom connect never fails with EACCES: check the message itself.
        Assert.That(OperatorClient.ConnectFailure("/run/x.sock", Errnos.EACCES),
            Does.StartWith("permission denied connecting to /run/x.sock: are you an operator?").And.Contain("--operator-uid"));
    }

    [Test]
    public void The_socket_comes_from_the_option_then_the_environment_then_the_default()
    {
        var env = new Dictionary<string, string> { ["SPECTRUM_CAMERA_OPERATOR_SOCKET"] = Path.Combine(_dir, "from-env.sock") };
        Assert.That(CtlRun.Invoke(env, "status").Stderr, Does.Contain("from-env.sock"));
        Assert.That(CtlRun.Invoke(env, "--operator-socket", Path.Combine(_dir, "from-option.sock"), "status").Stderr, Does.Contain("from-option.sock"));
        Assert.That(CtlRun.Invoke(env, "status", $"--operator-socket={Path.Combine(_dir, "late.sock")}").Stderr, Does.Contain("late.sock"));
        var fallback = CtlRun.Invoke(new Dictionary<string, string> { ["SPECTRUM_CAMERA_OPERATOR_SOCKET"] = "" }, "status");
        Assert.That(fallback.Stderr, Does.Contain("/run/spectrum-camera/operator.sock").Or.Contain("operator.sock"));
    }

    [TestCase(new string[0], "a command is needed")]
    [TestCase(new[] { "frob" }, "unknown ctl command 'frob'")]
    [TestCase(new[] { "allow" }, "'ctl allow' needs a VM name")]
    [TestCase(new[] { "deny", "vm1", "vm2" }, "unexpected argument 'vm2'")]
    [TestCase(new[] { "allow", "../etc" }, "'../etc' is not a VM name")]
    [TestCase(new[] { "status", "a", "b" }, "unexpected argument 'b'")]
    [TestCase(new[] { "watch", "vm1" }, "unexpected argument 'vm1'")]
    [TestCase(new[] { "status", "--limit", "3" }, "--limit goes with 'ctl audit'")]
    [TestCase(new[] { "audit", "--limit", "-1" }, "--limit must be a whole number")]
    [TestCase(new[] { "audit", "--limit", "many" }, "--limit must be a whole number")]
    [TestCase(new[] { "audit", "--limit" }, "option --limit needs a value")]
    [TestCase(new[] { "status", "--bogus" }, "unknown option --bogus")]
    [TestCase(new[] { "--operator-socket" }, "option --operator-socket needs a value")]
    public void Bad_usage_exits_2_with_a_message(string[] args, string message)
    {
        using var server = Serve(_ => throw new InvalidOperationException("no request expected"));
        var run = CtlRun.Invoke(["--operator-socket", SocketPath, .. args]);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain($"spectrum-camera ctl: {message}").And.Contain("--help"));
        Assert.That(server.Requests, Is.Empty);
    }

    [TestCase(new[] { "--help" }, "Usage: spectrum-camera ctl [--operator-socket PATH] <command>")]
    [TestCase(new[] { "-h" }, "Usage: spectrum-camera ctl [--operator-socket PATH] <command>")]
    [TestCase(new[] { "allow", "--help" }, "Usage: spectrum-camera ctl allow VM")]
    [TestCase(new[] { "deny", "--help" }, "Usage: spectrum-camera ctl deny VM")]
    [TestCase(new[] { "status", "--help" }, "Usage: spectrum-camera ctl status [VM]")]
    [TestCase(new[] { "watch", "--help" }, "Usage: spectrum-camera ctl watch")]
    [TestCase(new[] { "audit", "--help" }, "Usage: spectrum-camera ctl audit [VM] [--limit N]")]
    [TestCase(new[] { "--help", "audit" }, "Usage: spectrum-camera ctl audit [VM] [--limit N]")]
    public void Help_is_printed_for_ctl_and_each_command(string[] args, string usage)
    {
        var run = CtlRun.Invoke(args);
        Assert.That(run.ExitCode, Is.Zero);
        Assert.That(run.Stdout, Does.StartWith(usage).And.Contain("--operator-socket"));
        Assert.That(run.Stderr, Is.Empty);
    }
}
