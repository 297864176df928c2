using Spectrum.Camera.Cli.Ctl;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Media;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using Kind = Spectrum.Camera.Protocol.Service.ServiceMessage.KindOneofCase;
using OperatorPolicy = Spectrum.Camera.Protocol.Operator.Policy;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// Ask mode through a real camera service: every transition of a request (allow or deny, once or always, timeout, a
/// new request per stream, withdrawal when the VM goes away, two VMs at once), with its audit records and events, and
/// that no real frame (no ring, no frame notice) reaches a VM in ask mode before an allow.
/// </summary>
[NonParallelizable]
public sealed class AskModeTests
{
    private static readonly string[] BothVms = ["vm-a", "vm-b"];

    private static bool RealFrameMessage(ServiceMessage m) => m.KindCase is Kind.RingAttached or Kind.FrameReady;

    /// <summary>A VM in ask mode with its sidecar streaming: the request it raised, seen by the watcher.</summary>
    private static CameraRequest AskAndStream(OperatorEventRecorder events, RawSidecar sidecar, string vm)
    {
        var seen = events.Events.Count(e => e.Vm == vm && e.KindCase == Event.KindOneofCase.RequestRaised);
        sidecar.StartStream();
        _ = events.WaitFor(_ => events.Events.Count(e => e.Vm == vm && e.KindCase == Event.KindOneofCase.RequestRaised) > seen, "request raised");
        return events.Events.Last(e => e.Vm == vm && e.KindCase == Event.KindOneofCase.RequestRaised).RequestRaised;
    }

    private static List<AuditEntry> AuditOf(ServiceFixture service, string vm) => [.. service.Audit(vm).Entries];

    /// <summary>The VM's audit actions, oldest first, space-separated.</summary>
    private static string Actions(ServiceFixture service, string vm) => string.Join(" ", AuditOf(service, vm).Select(e => e.Action));

    [Test]
    public void Allow_once_lets_this_stream_see_the_camera_and_the_next_stream_asks_again()
    {
        using var service = new ServiceFixture("vm-a");
        Assert.That(service.SetPolicy("vm-a", OperatorPolicy.Ask).Policy, Is.EqualTo(OperatorPolicy.Ask));
        using var events = new OperatorEventRecorder(service.Options.OperatorSocketPath);
        using var sidecar = RawSidecar.Welcomed(service.VmSocket("vm-a"), "vm-a");

        var request = AskAndStream(events, sidecar, "vm-a");
        Assert.Multiple(() =>
        {
            Assert.That(request.Vm, Is.EqualTo("vm-a"));
            Assert.That(request.Camera, Is.EqualTo("test-pattern"));
            Assert.That(request.GuestFormat, Is.EqualTo("YUYV 640x480 30 fps"));
            Assert.That((request.PixelFormat, request.Width, request.Height), Is.EqualTo((PixelFormats.Yuyv, 640u, 480u)));
            Assert.That((request.IntervalNumerator, request.IntervalDenominator), Is.EqualTo((1u, 30u)));
            Assert.That(request.DeadlineUnixMs - request.TimeUnixMs, Is.EqualTo(30_000), "the default timeout is 30 s");
            Assert.That(Math.Abs(request.TimeUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()), Is.LessThan(10_000));
            Assert.That(service.Requests().Single().Id, Is.EqualTo(request.Id));
        });

        // Waiting: black, and nothing real was ever offered.
        Thread.Sleep(500);
        var status = service.Status("vm-a");
        Assert.Multiple(() =>
        {
            Assert.That(sidecar.Received.Where(RealFrameMessage), Is.Empty, "no ring and no frame before the answer");
            Assert.That(status.Allowed, Is.False);
            Assert.That(status.CameraState, Is.EqualTo("asking"));
            Assert.That(status.Request.Id, Is.EqualTo(request.Id));
            Assert.That(status.FramesOffered, Is.Zero);
            Assert.That(sidecar.Received.Last(m => m.KindCase == Kind.CameraState).CameraState.Detail, Does.Contain($"request {request.Id}"));
        });

        var answered = service.Answer("vm-a", request.Id, Answer.AllowOnce);
        Assert.That((answered.Allowed, answered.EffectiveBy, answered.RequestId), Is.EqualTo((true, "allowed", request.Id)));
        sidecar.WaitFor(Kind.RingAttached);
        sidecar.WaitFor(Kind.FrameReady);
        Assert.That(sidecar.Received.First(m => m.KindCase == Kind.Permission).Permission.Allowed, Is.True);
        var closed = events.WaitFor(e => e.KindCase == Event.KindOneofCase.RequestClosed, "request closed").RequestClosed;
        Assert.That((closed.RequestId, closed.Outcome, closed.Uid), Is.EqualTo((request.Id, "allow-once", PosixFiles.EffectiveUid)));
        Assert.That(service.Status("vm-a").StreamAnswer, Is.EqualTo("allow-once"));
        Assert.That(service.Status("vm-a").Policy, Is.EqualTo(OperatorPolicy.Ask), "the policy stays ask");
        Assert.That(service.Requests(), Is.Empty);

        // The stream stops: the answer ends with it (the sidecar is told), and the next stream asks again.
        var before = sidecar.Received.Count;
        sidecar.StopStream();
        var revoked = sidecar.WaitFor(m => m.KindCase == Kind.Permission, before, "Permission");
        Assert.That(revoked.Permission.Allowed, Is.False, "allowed for that stream only");
        before = sidecar.Received.Count;
        var second = AskAndStream(events, sidecar, "vm-a");
        Assert.That(second.Id, Is.GreaterThan(request.Id), "a new request for the new stream");
        Thread.Sleep(300);
        Assert.That(sidecar.Received.Skip(before).Where(RealFrameMessage), Is.Empty, "black again until answered");

        var audit = AuditOf(service, "vm-a");
        Assert.That(string.Join(" ", audit.Select(e => e.Action)), Is.EqualTo("ask request allow-once real-stream-start real-stream-stop request"));
        Assert.Multiple(() =>
        {
            Assert.That(audit[1].RequestId, Is.EqualTo(request.Id));
            Assert.That(audit[1].Detail, Does.Contain("YUYV 640x480 30 fps").And.Contain("test-pattern"));
            Assert.That(audit[2].RequestId, Is.EqualTo(request.Id));
            Assert.That(audit[2].Uid, Is.EqualTo(PosixFiles.EffectiveUid));
            Assert.That(audit[5].RequestId, Is.EqualTo(second.Id));
        });
    }

    [Test]
    public void Allow_always_sets_the_policy_and_the_next_stream_does_not_ask()
    {
        using var asking = Asking.Start(new ServiceFixture("vm-a"));
        var (service, events, sidecar, request) = (asking.Service, asking.Events, asking.Sidecar, asking.Request);

        var answered = service.Answer("vm-a", request.Id, Answer.AllowAlways);
        Assert.That(answered.Allowed, Is.True);
        sidecar.WaitFor(Kind.FrameReady);
        Assert.That(service.Status("vm-a").Policy, Is.EqualTo(OperatorPolicy.Allow));
        Assert.That(events.WaitFor(e => e.KindCase == Event.KindOneofCase.RequestClosed, "closed").RequestClosed.Outcome, Is.EqualTo("allow-always"));

        sidecar.StopStream();
        var before = sidecar.Received.Count;
        sidecar.StartStream();
        sidecar.WaitFor(m => m.KindCase == Kind.FrameReady, before, "FrameReady of the next stream");
        Assert.That(service.Requests(), Is.Empty);
        Assert.That(events.Events.Count(e => e.KindCase == Event.KindOneofCase.RequestRaised), Is.EqualTo(1), "no second request");
        var audit = AuditOf(service, "vm-a");
        Assert.That(string.Join(" ", audit.Select(e => e.Action)), Is.EqualTo("ask request allow real-stream-start real-stream-stop real-stream-start"));
        Assert.That(audit[2].RequestId, Is.EqualTo(request.Id));
        Assert.That(audit[2].Detail, Does.Contain($"answering request {request.Id}"));
    }

    [Test]
    public void Deny_once_keeps_this_stream_black_and_the_next_stream_asks_again()
    {
        using var asking = Asking.Start(new ServiceFixture("vm-a"));
        var (service, events, sidecar, request) = (asking.Service, asking.Events, asking.Sidecar, asking.Request);

        var answered = service.Answer("vm-a", request.Id, Answer.DenyOnce);
        Assert.That((answered.Allowed, answered.EffectiveBy), Is.EqualTo((false, "sidecar-ack")));
        Thread.Sleep(300);
        Assert.That(sidecar.Received.Where(RealFrameMessage), Is.Empty);
        var status = service.Status("vm-a");
        Assert.That((status.CameraState, status.StreamAnswer, status.Policy), Is.EqualTo(("denied", "deny-once", OperatorPolicy.Ask)));

        sidecar.StopStream();
        var second = AskAndStream(events, sidecar, "vm-a");
        Assert.That(second.Id, Is.GreaterThan(request.Id));
        Assert.That(Actions(service, "vm-a"), Is.EqualTo("ask request deny-once request"));
    }

    [Test]
    public void Deny_always_sets_the_policy_and_the_next_stream_is_black_without_asking()
    {
        using var asking = Asking.Start(new ServiceFixture("vm-a"));
        var (service, events, sidecar, request) = (asking.Service, asking.Events, asking.Sidecar, asking.Request);

        Assert.That(service.Answer("vm-a", request.Id, Answer.DenyAlways).EffectiveBy, Is.EqualTo("sidecar-ack"));
        Assert.That(service.Status("vm-a").Policy, Is.EqualTo(OperatorPolicy.Deny));
        sidecar.StopStream();
        sidecar.StartStream();
        Thread.Sleep(500);
        Assert.That(service.Requests(), Is.Empty);
        Assert.That(sidecar.Received.Where(RealFrameMessage), Is.Empty);
        Assert.That(events.Events.Count(e => e.KindCase == Event.KindOneofCase.RequestRaised), Is.EqualTo(1));
        var audit = AuditOf(service, "vm-a");
        Assert.That(string.Join(" ", audit.Select(e => e.Action)), Is.EqualTo("ask request deny"));
        Assert.That(audit[2].RequestId, Is.EqualTo(request.Id));
    }

    [Test]
    public void An_unanswered_request_times_out_into_a_deny_for_this_stream()
    {
        using var asking = Asking.Start(new ServiceFixture(["test-pattern"], TimeSpan.FromSeconds(1), "vm-a"));
        var (service, events, sidecar, request) = (asking.Service, asking.Events, asking.Sidecar, asking.Request);
        Assert.That(request.DeadlineUnixMs - request.TimeUnixMs, Is.EqualTo(1000), "--ask-timeout");

        var closed = events.WaitFor(e => e.KindCase == Event.KindOneofCase.RequestClosed, "timeout").RequestClosed;
        Assert.That((closed.RequestId, closed.Outcome), Is.EqualTo((request.Id, "timeout")));
        Assert.That(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Is.GreaterThanOrEqualTo(request.DeadlineUnixMs), "not before the deadline");
        Assert.That(service.Requests(), Is.Empty);
        var status = service.Status("vm-a");
        Assert.That((status.CameraState, status.StreamAnswer), Is.EqualTo(("denied", "deny-once")));
        Assert.That(sidecar.Received.Where(RealFrameMessage), Is.Empty);

        // A late answer to the closed request is refused, and says why.
        var late = Assert.Throws<CtlFailure>(() => service.Answer("vm-a", request.Id, Answer.AllowOnce));
        Assert.That(late!.Message, Does.Contain($"request {request.Id} of VM vm-a is no longer open"));

        sidecar.StopStream();
        var second = AskAndStream(events, sidecar, "vm-a");
        Assert.That(second.Id, Is.GreaterThan(request.Id));
        var audit = AuditOf(service, "vm-a");
        Assert.That(string.Join(" ", audit.Select(e => e.Action)), Is.EqualTo("ask request request-timeout request"));
        Assert.That(audit[2].RequestId, Is.EqualTo(request.Id));
    }

    [Test]
    public void A_request_of_a_vm_whose_sidecar_disconnects_is_withdrawn()
    {
        using var service = new ServiceFixture("vm-a");
        service.SetPolicy("vm-a", OperatorPolicy.Ask);
        using var events = new OperatorEventRecorder(service.Options.OperatorSocketPath);
        var sidecar = RawSidecar.Welcomed(service.VmSocket("vm-a"), "vm-a");
        var request = AskAndStream(events, sidecar, "vm-a");

        sidecar.Dispose();
        var closed = events.WaitFor(e => e.KindCase == Event.KindOneofCase.RequestClosed, "withdrawn").RequestClosed;
        Assert.That((closed.RequestId, closed.Outcome), Is.EqualTo((request.Id, "withdrawn")));
        Assert.That(service.Requests(), Is.Empty);
        Assert.That(Assert.Throws<CtlFailure>(() => service.Answer("vm-a", request.Id, Answer.AllowOnce))!.Message, Does.Contain("no longer open"));
        Assert.That(Assert.Throws<CtlFailure>(() => service.Answer("vm-a", 0, Answer.AllowOnce))!.Message, Does.Contain("vm-a is not streaming"));
        var audit = AuditOf(service, "vm-a");
        Assert.That(string.Join(" ", audit.Select(e => e.Action)), Is.EqualTo("ask request request-withdrawn"));
        Assert.That(audit[2].Detail, Does.Contain("sidecar disconnected"));
    }

    [Test]
    public void Two_vms_asking_at_once_get_their_own_requests_and_answers()
    {
        using var service = new ServiceFixture("vm-a", "vm-b");
        service.SetPolicy("vm-a", OperatorPolicy.Ask);
        service.SetPolicy("vm-b", OperatorPolicy.Ask);
        using var events = new OperatorEventRecorder(service.Options.OperatorSocketPath);
        using var a = RawSidecar.Welcomed(service.VmSocket("vm-a"), "vm-a");
        using var b = RawSidecar.Welcomed(service.VmSocket("vm-b"), "vm-b");
        a.StartStream();
        b.StartStream(PixelFormats.Nv12, 320, 240, 15);
        events.WaitFor(e => e.Vm == "vm-a" && e.KindCase == Event.KindOneofCase.RequestRaised, "vm-a's request");
        events.WaitFor(e => e.Vm == "vm-b" && e.KindCase == Event.KindOneofCase.RequestRaised, "vm-b's request");
        var open = service.Requests();
        Assert.That(open.Select(r => r.Vm).Order(StringComparer.Ordinal), Is.EqualTo(BothVms));
        Assert.That(open[0].Id, Is.LessThan(open[1].Id), "oldest first");
        var ra = open.Single(r => r.Vm == "vm-a");
        var rb = open.Single(r => r.Vm == "vm-b");
        Assert.That(rb.GuestFormat, Is.EqualTo("NV12 320x240 15 fps"));

        // An answer names its VM: one of vm-b's ids does not answer vm-a.
        Assert.That(Assert.Throws<CtlFailure>(() => service.Answer("vm-a", rb.Id, Answer.AllowOnce))!.Message, Does.Contain("no longer open"));
        service.Answer("vm-a", ra.Id, Answer.AllowOnce);
        service.Answer("vm-b", rb.Id, Answer.DenyOnce);
        a.WaitFor(Kind.FrameReady);
        Thread.Sleep(300);
        Assert.That(b.Received.Where(RealFrameMessage), Is.Empty, "vm-b denied for its stream");
        Assert.That(service.Status("vm-b").FramesOffered, Is.Zero);
        Assert.That(AuditOf(service, "vm-a").Select(e => e.Action), Does.Contain("allow-once").And.Not.Contain("deny-once"));
        Assert.That(Actions(service, "vm-b"), Is.EqualTo("ask request deny-once"));
    }

    [Test]
    public void Setting_ask_on_a_vm_that_streams_asks_for_its_running_stream()
    {
        using var service = new ServiceFixture("vm-a");
        service.SetPermission("vm-a", true);
        using var events = new OperatorEventRecorder(service.Options.OperatorSocketPath);
        using var sidecar = RawSidecar.Welcomed(service.VmSocket("vm-a"), "vm-a");
        sidecar.StartStream();
        sidecar.WaitFor(Kind.FrameReady);

        var set = service.SetPolicy("vm-a", OperatorPolicy.Ask);
        Assert.That((set.Allowed, set.Changed, set.EffectiveBy), Is.EqualTo((false, true, "sidecar-ack")));
        var before = sidecar.Received.Count;
        var request = events.WaitFor(e => e.KindCase == Event.KindOneofCase.RequestRaised, "request").RequestRaised;
        Thread.Sleep(300);
        Assert.That(sidecar.Received.Skip(before).Where(m => m.KindCase == Kind.FrameReady), Is.Empty, "no frame after ask returned");
        Assert.That(service.Answer("vm-a", 0, Answer.AllowOnce).RequestId, Is.EqualTo(request.Id), "request 0 answers the current stream");
        sidecar.WaitFor(m => m.KindCase == Kind.FrameReady, before, "FrameReady");
    }

    [Test]
    public void No_real_frame_reaches_the_guest_of_an_ask_vm_before_it_is_allowed()
    {
        using var service = new ServiceFixture("vm-a");
        service.SetPolicy("vm-a", OperatorPolicy.Ask);
        using var events = new OperatorEventRecorder(service.Options.OperatorSocketPath);
        using var h = ServiceGuest.StartSidecar(service, "vm-a");
        var client = ServiceGuest.StartStreaming(h, Nv12, 640, 480);
        var request = events.WaitFor(e => e.KindCase == Event.KindOneofCase.RequestRaised, "request").RequestRaised;

        var waiting = new List<bool>();
        for (var i = 0; i < 60; i++)
        {
            var (_, index, _, _, bytes) = client.NextFrame();
            waiting.Add(TestPatternVerifier.IsBlack(client.Format, bytes));
            client.Queue(index);
        }

        Assert.That(waiting, Is.All.True, "60 black frames while the request waits");
        Assert.That(service.Status("vm-a").FramesOffered, Is.Zero, "the service never announced a real frame");

        service.Answer("vm-a", request.Id, Answer.AllowOnce);
        var real = 0;
        for (var i = 0; i < 300 && real < 10; i++)
        {
            var (_, index, _, _, bytes) = client.NextFrame();
            real += TestPatternVerifier.TryDecode(client.Format, bytes, out _, out var exact) && exact ? 1 : 0;
            client.Queue(index);
        }

        Assert.That(real, Is.EqualTo(10), "real frames once allowed");
    }

    /// <summary>A service whose vm-a is in ask mode and streams from a raw sidecar, with its first request raised.</summary>
    private sealed record Asking(ServiceFixture Service, OperatorEventRecorder Events, RawSidecar Sidecar, CameraRequest Request) : IDisposable
    {
        public static Asking Start(ServiceFixture service)
        {
            service.SetPolicy("vm-a", OperatorPolicy.Ask);
            var events = new OperatorEventRecorder(service.Options.OperatorSocketPath);
            var sidecar = RawSidecar.Welcomed(service.VmSocket("vm-a"), "vm-a");
            return new Asking(service, events, sidecar, AskAndStream(events, sidecar, "vm-a"));
        }

        public void Dispose()
        {
            Sidecar.Dispose();
            Events.Dispose();
            Service.Dispose();
        }
    }
}
