using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Tests.Service;

namespace Spectrum.Camera.Tests.Cli.Ctl;

/// <summary>
/// 'spectrum-camera ctl prompt' in a real pseudo-terminal (tmux) against a real camera service: each kind of answer
/// (allow once, allow always, deny once, deny always) given by one key, requests waiting while the prompt starts, a
/// request answered elsewhere, and the countdown.
/// </summary>
[NonParallelizable]
public sealed class CtlPromptTests
{
    private static string PromptCommand(ServiceFixture service) =>
        $"dotnet {Path.Combine(AppContext.BaseDirectory, "spectrum-camera.dll")} ctl --operator-socket {service.Options.OperatorSocketPath} prompt; sleep 60";

    /// <summary>The guest stops and starts streaming again: a new request in ask mode.</summary>
    private static void Restream(RawSidecar sidecar)
    {
        sidecar.StopStream();
        sidecar.StartStream();
    }

    [Test]
    public void Each_key_answers_the_request_shown_and_the_service_applies_it()
    {
        using var service = new ServiceFixture("vm-a");
        service.SetPolicy("vm-a", Policy.Ask);
        using var sidecar = RawSidecar.Welcomed(service.VmSocket("vm-a"), "vm-a");
        // A request already open when the prompt starts is shown first.
        sidecar.StartStream();
        var first = service.WaitForRequest(0);
        using var terminal = new TmuxTerminal(PromptCommand(service));
        var screen = terminal.WaitFor($"vm-a asks for camera test-pattern: YUYV 640x480 30 fps (request {first.Id})");
        Assert.That(screen, Does.Contain("[o] allow once").And.Contain("[n] deny always"));
        screen = terminal.WaitFor(s => System.Text.RegularExpressions.Regex.IsMatch(s, @"\b(2[0-9]|30) s left"), "the countdown");

        terminal.Type("o");
        terminal.WaitFor($"-> vm-a: allowed for this stream (request {first.Id}; effective: at once)");
        Assert.That(service.Status("vm-a").StreamAnswer, Is.EqualTo("allow-once"));
        Assert.That(service.Status("vm-a").Allowed, Is.True);

        Restream(sidecar);
        var second = service.WaitForRequest(first.Id);
        terminal.WaitFor($"(request {second.Id})");
        terminal.Type("d");
        terminal.WaitFor($"-> vm-a: denied for this stream (request {second.Id}; effective: sidecar acknowledged)");
        Assert.That((service.Status("vm-a").StreamAnswer, service.Status("vm-a").Allowed), Is.EqualTo(("deny-once", false)));

        Restream(sidecar);
        var third = service.WaitForRequest(second.Id);
        terminal.WaitFor($"(request {third.Id})");
        terminal.Type("a");
        terminal.WaitFor($"-> vm-a: allowed from now on (policy allow) (request {third.Id}; effective: at once)");
        Assert.That(service.Status("vm-a").Policy, Is.EqualTo(Policy.Allow));

        service.SetPolicy("vm-a", Policy.Ask);
        var fourth = service.WaitForRequest(third.Id);
        terminal.WaitFor($"(request {fourth.Id})");
        terminal.Type("n");
        terminal.WaitFor($"-> vm-a: denied from now on (policy deny) (request {fourth.Id}; effective: sidecar acknowledged)");
        Assert.That(service.Status("vm-a").Policy, Is.EqualTo(Policy.Deny));

        var audit = service.Audit("vm-a").Entries.Where(e => e.RequestId != 0).Select(e => $"{e.Action} {e.RequestId}");
        Assert.That(string.Join(", ", audit), Is.EqualTo(
            $"request {first.Id}, allow-once {first.Id}, request {second.Id}, deny-once {second.Id}, " +
            $"request {third.Id}, allow {third.Id}, request {fourth.Id}, deny {fourth.Id}"));
        Assert.That(service.Audit("vm-a").Entries.Where(e => e.Action is "allow-once" or "deny-once").Select(e => e.Uid),
            Is.All.EqualTo(PosixFiles.EffectiveUid), "answers are recorded under the operator's uid");

        terminal.Type("q");
        terminal.WaitFor("Stopped (quit); open requests stay open.");
    }

    [Test]
    public void A_request_answered_elsewhere_or_timed_out_is_reported_and_the_next_one_shown()
    {
        using var service = new ServiceFixture(["test-pattern"], TimeSpan.FromSeconds(3), "vm-a", "vm-b");
        service.SetPolicy("vm-a", Policy.Ask);
        service.SetPolicy("vm-b", Policy.Ask);
        using var terminal = new TmuxTerminal(PromptCommand(service));
        terminal.WaitFor("Waiting for requests...");
        using var a = RawSidecar.Welcomed(service.VmSocket("vm-a"), "vm-a");
        using var b = RawSidecar.Welcomed(service.VmSocket("vm-b"), "vm-b");
        a.StartStream();
        var ra = service.WaitForRequest(0);
        terminal.WaitFor($"vm-a asks for camera test-pattern: YUYV 640x480 30 fps (request {ra.Id})");
        b.StartStream();
        var rb = service.WaitForRequest(ra.Id);
        terminal.WaitFor("(1 more waiting)");

        // Another front end answers vm-a's request: the prompt says so and shows vm-b's.
        service.Answer("vm-a", ra.Id, Answer.AllowOnce);
        terminal.WaitFor($"-> allowed for this stream by uid {PosixFiles.EffectiveUid}");
        terminal.WaitFor($"vm-b asks for camera test-pattern: YUYV 640x480 30 fps (request {rb.Id})");

        // Nobody answers vm-b's within the 3 s: the prompt reports the timeout.
        terminal.WaitFor("-> unanswered in time: denied for this stream");
        Assert.That(service.Status("vm-b").StreamAnswer, Is.EqualTo("deny-once"));
    }
}
