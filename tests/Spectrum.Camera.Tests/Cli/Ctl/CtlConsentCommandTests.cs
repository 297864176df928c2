using System.Text.Json;
using Spectrum.Camera.Cli.Ctl;
using Spectrum.Camera.Protocol.Operator;

namespace Spectrum.Camera.Tests.Cli.Ctl;

/// <summary>
/// ctl's ask-mode and camera commands (ask, allow/deny --once, requests, assign, cameras, watch of requests) against a
/// scripted camera service on a real seqpacket socket, run in-process: what each sends and what it prints.
/// </summary>
[TestFixture]
public sealed class CtlConsentCommandTests
{
    private const long T1 = 1_735_000_000_000;
    private static readonly string[] RequestHeader = ["REQUEST", "VM", "CAMERA", "FORMAT", "ASKED", "LEFT"];
    private static readonly string[] UsbRow = ["usb", "(default)", "/dev/video0", "streaming", "vm1,vm2", "vm1", "42"];
    private static readonly string[] IrRow = ["ir", "/dev/video2", "stopped", "-", "-", "0"];
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("spectrum-ctl-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string SocketPath => Path.Combine(_dir, "operator.sock");

    private ScriptedOperatorServer Serve(params OperatorResponse[] replies) => new(SocketPath, _ => replies, false, true);

    private CtlRun Ctl(params string[] args) => CtlRun.Invoke(["--operator-socket", SocketPath, .. args]);

    private static CameraRequest Request(ulong id, string vm) => new()
    {
        Id = id,
        Vm = vm,
        Camera = "usb",
        GuestFormat = "NV12 1280x720 30 fps",
        PixelFormat = 0x3231564E,
        Width = 1280,
        Height = 720,
        IntervalNumerator = 1,
        IntervalDenominator = 30,
        TimeUnixMs = T1,
        DeadlineUnixMs = T1 + 30_000,
    };

    [Test]
    public void Ask_sets_the_ask_policy_and_says_so()
    {
        using var server = Serve(new OperatorResponse
        {
            PermissionSet = new PermissionSet { Vm = "vm1", Allowed = false, Changed = true, EffectiveBy = "sidecar-ack", Policy = Policy.Ask },
        });
        var run = Ctl("ask", "vm1");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(server.Single.SetPermission, Is.EqualTo(new SetPermission { Vm = "vm1", Allowed = false, Policy = Policy.Ask }));
        Assert.That(run.Stdout, Is.EqualTo("vm1: set to ask (each stream asks an operator) (effective: sidecar acknowledged)\n"));
    }

    [TestCase("allow", Answer.AllowOnce, true, "allowed", "vm1: allowed for this stream (request 7; effective: at once)")]
    [TestCase("deny", Answer.DenyOnce, false, "sidecar-ack", "vm1: denied for this stream (request 7; effective: sidecar acknowledged)")]
    public void Once_answers_the_current_stream(string command, Answer answer, bool allowed, string effectiveBy, string expected)
    {
        using var server = Serve(new OperatorResponse
        {
            RequestAnswered = new RequestAnswered { Vm = "vm1", RequestId = 7, Answer = answer, Allowed = allowed, EffectiveBy = effectiveBy },
        });
        var run = Ctl(command, "vm1", "--once");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(server.Single.AnswerRequest, Is.EqualTo(new AnswerRequest { Vm = "vm1", RequestId = 0, Answer = answer }));
        Assert.That(run.Stdout.TrimEnd(), Is.EqualTo(expected));
    }

    [Test]
    public void Once_as_json_names_the_answer()
    {
        using var server = Serve(new OperatorResponse
        {
            RequestAnswered = new RequestAnswered { Vm = "vm1", RequestId = 7, Answer = Answer.AllowOnce, Allowed = true, EffectiveBy = "allowed" },
        });
        using var doc = JsonDocument.Parse(Ctl("allow", "vm1", "--once", "--json").Stdout);
        Assert.That(doc.RootElement.GetProperty("answer").GetString(), Is.EqualTo("allow-once"));
        Assert.That(doc.RootElement.GetProperty("request_id").GetUInt64(), Is.EqualTo(7ul));
    }

    [Test]
    public void Requests_lists_the_open_requests_as_a_table_and_as_json()
    {
        var list = new RequestList();
        list.Requests.Add(Request(3, "vm1"));
        list.Requests.Add(Request(4, "a-longer-vm"));
        using (var server = Serve(new OperatorResponse { RequestList = list }))
        {
            var run = Ctl("requests");
            Assert.That(run.ExitCode, Is.Zero, run.Stderr);
            Assert.That(server.Single.KindCase, Is.EqualTo(OperatorRequest.KindOneofCase.ListRequests));
            var lines = run.StdoutLines;
            Assert.That(lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(RequestHeader));
            Assert.That(lines[1], Does.StartWith("3 ").And.Contain(" vm1 ").And.Contain("usb").And.Contain("NV12 1280x720 30 fps")
                .And.Contain(CtlText.LocalTime(T1, "HH:mm:ss")).And.EndWith("0 s"), "the deadline is long past");
            Assert.That(lines[1].IndexOf("usb", StringComparison.Ordinal), Is.EqualTo(lines[0].IndexOf("CAMERA", StringComparison.Ordinal)));
        }

        using (var server = Serve(new OperatorResponse { RequestList = list }))
        {
            using var doc = JsonDocument.Parse(Ctl("requests", "--json").Stdout);
            var first = doc.RootElement.GetProperty("requests")[0];
            Assert.That(first.GetProperty("id").GetUInt64(), Is.EqualTo(3ul));
            Assert.That(first.GetProperty("deadline_unix_ms").GetInt64(), Is.EqualTo(T1 + 30_000));
            Assert.That(first.GetProperty("interval_denominator").GetUInt32(), Is.EqualTo(30u));
        }
    }

    [Test]
    public void No_open_requests_says_so()
    {
        using var server = Serve(new OperatorResponse { RequestList = new RequestList() });
        Assert.That(Ctl("requests").Stdout, Is.EqualTo("no open requests\n"));
    }

    [Test]
    public void Assign_sends_vm_and_camera()
    {
        using var server = Serve(new OperatorResponse { CameraAssigned = new CameraAssigned { Vm = "vm1", Camera = "ir", Changed = true } });
        var run = Ctl("assign", "vm1", "ir");
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(server.Single.AssignCamera, Is.EqualTo(new AssignCamera { Vm = "vm1", Camera = "ir" }));
        Assert.That(run.Stdout, Does.StartWith("vm1: assigned camera ir"));
    }

    [Test]
    public void Cameras_marks_the_default_and_lists_who_is_assigned_and_receiving()
    {
        var list = new CameraList();
        list.Cameras.Add(new CameraInfo { Name = "usb", Device = "/dev/video0", State = "streaming", Vms = { "vm1", "vm2" }, ReceivingVms = { "vm1" }, Frames = 42 });
        list.Cameras.Add(new CameraInfo { Name = "ir", Device = "/dev/video2", State = "stopped" });
        using var server = Serve(new OperatorResponse { CameraList = list });
        var lines = Ctl("cameras").StdoutLines;
        Assert.That(lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(UsbRow));
        Assert.That(lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(IrRow));
    }

    [Test]
    public void Watch_shows_requests_answers_and_camera_use()
    {
        OperatorResponse E(long t, string vm, Action<Event> fill)
        {
            var e = new Event { TimeUnixMs = t, Vm = vm };
            fill(e);
            return new OperatorResponse { Event = e };
        }

        var events = new[]
        {
            E(T1, "vm1", e => e.RequestRaised = Request(3, "vm1")),
            E(T1 + 1000, "vm1", e => e.RequestClosed = new RequestClosed { RequestId = 3, Outcome = "allow-once", Uid = 1000 }),
            E(T1 + 1001, "vm1", e => e.RealFrames = new RealFrames { Receiving = true, Camera = "usb" }),
            E(T1 + 2000, "vm1", e => e.CameraChanged = new CameraChanged { Camera = "ir", Uid = 0 }),
            E(T1 + 3000, "vm2", e => e.RequestClosed = new RequestClosed { RequestId = 4, Outcome = "timeout", Uid = 0 }),
        };
        using var server = new ScriptedOperatorServer(SocketPath, _ => events, closeAfterReply: true, fillIds: true);
        var run = Ctl("watch");
        string At(long t) => CtlText.LocalTime(t, "HH:mm:ss.fff");
        Assert.That(run.StdoutLines, Is.EqualTo(new[]
        {
            $"{At(T1)} vm1 asks for camera usb: NV12 1280x720 30 fps (request 3, 30 s to answer)",
            $"{At(T1 + 1000)} vm1 request 3 allowed for this stream by uid 1000",
            $"{At(T1 + 1001)} vm1 receives real frames from camera usb",
            $"{At(T1 + 2000)} vm1 assigned camera ir by uid 0",
            $"{At(T1 + 3000)} vm2 request 4 unanswered in time: denied for this stream",
        }));
    }

    [TestCase(new[] { "status", "--once" }, "--once goes with 'ctl allow' and 'ctl deny'")]
    [TestCase(new[] { "ask" }, "'ctl ask' needs a VM name")]
    [TestCase(new[] { "assign", "vm1" }, "'ctl assign' needs a VM and a camera name")]
    [TestCase(new[] { "assign", "vm1", "../x" }, "'../x' is not a camera name")]
    [TestCase(new[] { "prompt", "--json" }, "'ctl prompt' is interactive")]
    [TestCase(new[] { "requests", "vm1" }, "unexpected argument 'vm1'")]
    public void Bad_usage_exits_2_with_a_message(string[] args, string message)
    {
        using var server = new ScriptedOperatorServer(SocketPath, _ => throw new InvalidOperationException("no request expected"), false, true);
        var run = Ctl(args);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stderr);
        Assert.That(run.Stderr, Does.Contain($"spectrum-camera ctl: {message}"));
        Assert.That(server.Requests, Is.Empty);
    }

    [TestCase("ask", "Usage: spectrum-camera ctl ask VM")]
    [TestCase("requests", "Usage: spectrum-camera ctl requests")]
    [TestCase("prompt", "Usage: spectrum-camera ctl prompt")]
    [TestCase("assign", "Usage: spectrum-camera ctl assign VM CAMERA")]
    [TestCase("cameras", "Usage: spectrum-camera ctl cameras")]
    public void Each_new_command_has_help(string command, string usage)
    {
        var run = CtlRun.Invoke(command, "--help");
        Assert.That(run.ExitCode, Is.Zero);
        Assert.That(run.Stdout, Does.StartWith(usage).And.Contain("--operator-socket"));
    }
}
