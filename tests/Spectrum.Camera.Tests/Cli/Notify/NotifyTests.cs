using System.Diagnostics;
using System.Text.Json;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Tests.Service;

namespace Spectrum.Camera.Tests.Cli.Notify;

/// <summary>
/// 'spectrum-camera notify' against a real session bus (dbus-daemon) and a real notification server (dunst under
/// Xvfb), with a real camera service: a request's notification appears with the actions Allow once, Always and Deny,
/// an action invoked through dunst's context menu answers the request, and a VM starting and stopping to receive real
/// frames is shown. Nothing is mocked: the test reads what dunst shows (its menu) and keeps (its history).
/// </summary>
[NonParallelizable]
public sealed class NotifyTests
{
    private static Process StartNotify(DesktopSession desktop, ServiceFixture service, StringWriterLog log)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "spectrum-camera.dll"));
        info.ArgumentList.Add("notify");
        info.ArgumentList.Add("--operator-socket");
        info.ArgumentList.Add(service.Options.OperatorSocketPath);
        desktop.Apply(info);
        var p = Process.Start(info)!;
        p.ErrorDataReceived += (_, e) => log.Add(e.Data);
        p.OutputDataReceived += (_, e) => log.Add(e.Data);
        p.BeginErrorReadLine();
        p.BeginOutputReadLine();
        return p;
    }

    private static void Until(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(15))
            {
                throw new TimeoutException($"{what} did not happen within 15 s");
            }

            Thread.Sleep(50);
        }
    }

    /// <summary>(summary, body) of every notification in dunst's history.</summary>
    private static List<(string Summary, string Body)> History(DesktopSession desktop)
    {
        using var doc = JsonDocument.Parse(desktop.History());
        return [.. doc.RootElement.GetProperty("data")[0].EnumerateArray().Select(n =>
            (n.GetProperty("summary").GetProperty("data").GetString() ?? "", n.GetProperty("body").GetProperty("data").GetString() ?? ""))];
    }

    [Test]
    public void Requests_become_notifications_whose_actions_answer_them_and_camera_use_is_shown()
    {
        using var service = new ServiceFixture("vm-a");
        service.SetPolicy("vm-a", Policy.Ask);
        using var desktop = new DesktopSession();
        var log = new StringWriterLog();
        using var notify = StartNotify(desktop, service, log);
        try
        {
            RequestsAndCameraUse(service, desktop, log);
        }
        finally
        {
            notify.Kill();
            notify.WaitForExit();
        }
    }

    private static void RequestsAndCameraUse(ServiceFixture service, DesktopSession desktop, StringWriterLog log)
    {
        Until(() => log.Text.Contains("showing camera requests", StringComparison.Ordinal), "notify connecting");
        Assert.That(log.Text, Does.Contain("on dunst 1.11"), "the notification server is the real dunst");

        using var sidecar = RawSidecar.Welcomed(service.VmSocket("vm-a"), "vm-a");
        sidecar.StartStream();
        var first = service.WaitForRequest(0);
        Until(() => log.Text.Contains($"request {first.Id} of vm-a: notification", StringComparison.Ordinal), "the request's notification");
        Until(() => desktop.Displayed >= 1, "dunst showing it");

        // Allow once, clicked through dunst's context menu: the menu lists the three actions of the request.
        desktop.InvokeAction(",allow-once]");
        Assert.That(desktop.LastMenu, Does.Contain("#Allow once (vm-a wants the camera)")
            .And.Contain("#Always (vm-a wants the camera)").And.Contain("#Deny (vm-a wants the camera)"));
        Until(() => service.Status("vm-a").StreamAnswer == "allow-once", "the allow-once answer");
        Assert.That(service.Status("vm-a").Allowed, Is.True);
        Until(() => log.Text.Contains($"vm-a: allowed for this stream (request {first.Id}", StringComparison.Ordinal), "notify's log of the answer");

        // Deny (for this stream) on the next request.
        sidecar.StopStream();
        sidecar.StartStream();
        var second = service.WaitForRequest(first.Id);
        Until(() => log.Text.Contains($"request {second.Id} of vm-a: notification", StringComparison.Ordinal), "the second notification");
        Until(() => desktop.Displayed >= 1, "dunst showing it");
        desktop.InvokeAction(",deny-once]");
        Until(() => service.Status("vm-a").StreamAnswer == "deny-once", "the deny-once answer");

        // Always on the third: the policy becomes allow.
        sidecar.StopStream();
        sidecar.StartStream();
        var third = service.WaitForRequest(second.Id);
        Until(() => log.Text.Contains($"request {third.Id} of vm-a: notification", StringComparison.Ordinal), "the third notification");
        Until(() => desktop.Displayed >= 1, "dunst showing it");
        desktop.InvokeAction(",allow-always]");
        Until(() => service.Status("vm-a").Policy == Policy.Allow, "the policy allow");
        sidecar.StopStream();
        Until(() => !service.Status("vm-a").Streaming, "the stream stopping");

        // The service recorded each answer under the request it closed.
        var answers = service.Audit("vm-a").Entries.Where(e => e.RequestId != 0 && e.Action != "request").Select(e => $"{e.Action} {e.RequestId}");
        Assert.That(string.Join(", ", answers), Is.EqualTo($"allow-once {first.Id}, deny-once {second.Id}, allow {third.Id}"));

        // What dunst was given: the requests (closed by notify once answered) and the camera starting and stopping.
        // Closed notifications (expired, or closed here) are in dunst's history: wait for the two starts and stops.
        var history = History(desktop);
        Until(() =>
        {
            desktop.CloseAll();
            history = History(desktop);
            return history.Count(n => n.Summary == "vm-a stopped using the camera") == 2;
        }, "the camera-use notifications");
        Assert.Multiple(() =>
        {
            Assert.That(history, Has.Some.Matches<(string Summary, string Body)>(n => n.Summary == "vm-a wants the camera"
                && n.Body.Contains($"vm-a asks for camera test-pattern: YUYV 640x480 30 fps (request {first.Id})", StringComparison.Ordinal)));
            Assert.That(history.Count(n => n.Summary == "vm-a is using the camera"
                && n.Body.StartsWith("vm-a receives real frames from camera test-pattern since ", StringComparison.Ordinal)), Is.EqualTo(2),
                "allow once, then always");
            Assert.That(history.Count(n => n.Summary == "vm-a stopped using the camera"
                && n.Body.StartsWith("vm-a no longer receives real frames from camera test-pattern since ", StringComparison.Ordinal)), Is.EqualTo(2));
        });
    }

    [Test]
    public void Without_a_notification_server_notify_says_what_is_missing_and_exits_1()
    {
        using var service = new ServiceFixture("vm-a");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "spectrum-camera.dll"));
        info.ArgumentList.Add("notify");
        info.ArgumentList.Add("--operator-socket");
        info.ArgumentList.Add(service.Options.OperatorSocketPath);
        info.Environment["DBUS_SESSION_BUS_ADDRESS"] = $"unix:path={Path.Combine(service.Directory, "no-bus")}";
        using var p = Process.Start(info)!;
        var stderr = p.StandardError.ReadToEnd();
        Assert.That(p.WaitForExit(30_000), Is.True);
        Assert.That(p.ExitCode, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("no desktop notification server answers on the session bus").And.Contain("desktop session"));
    }

    /// <summary>Lines a child process wrote, collected from its output callbacks.</summary>
    private sealed class StringWriterLog
    {
        private readonly System.Text.StringBuilder _text = new();

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public void Add(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (_text)
            {
                _text.AppendLine(line);
            }
        }
    }
}
