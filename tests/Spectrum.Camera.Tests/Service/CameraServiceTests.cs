using Spectrum.Camera.Cli.Ctl;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.ServiceClient;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Media;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// The camera service with real sidecar devices: a guest driver (test frontend) streams from a virtio-media device
/// whose source is the camera-service client, connected to a real service over its per-VM socket; an operator
/// connection toggles permission. The service's camera is the synthetic test pattern, so a frame is provably real
/// (it decodes as the pattern) or black.
/// </summary>
[NonParallelizable]
public sealed class CameraServiceTests
{
    private static readonly StableMenu FastMenu = ServiceGuest.FastMenu;

    private static MediaHarness StartSidecar(ServiceFixture service, string vm) => ServiceGuest.StartSidecar(service, vm);

    private static CaptureClient StartStreaming(MediaHarness h, uint? fourcc = null, uint width = 320, uint height = 240) =>
        ServiceGuest.StartStreaming(h, fourcc, width, height);

    /// <summary>Dequeues (and requeues) frames until <paramref name="until"/> says stop, classifying each.</summary>
    private static List<Frame> Collect(CaptureClient client, Func<List<Frame>, bool> until, int max = 2000)
    {
        var frames = new List<Frame>();
        while (frames.Count < max && !until(frames))
        {
            var (_, index, sequence, timestamp, bytes) = client.NextFrame();
            frames.Add(Classify(client.Format, sequence, timestamp, bytes));
            client.Queue(index);
        }

        return frames;
    }

    private static Frame Classify(FrameFormat format, uint sequence, long timestampNs, byte[] bytes)
    {
        var kind = TestPatternVerifier.TryDecode(format, bytes, out _, out var exact) && exact ? FrameKind.Real
            : TestPatternVerifier.IsBlack(format, bytes) ? FrameKind.Black
            : FrameKind.Other;
        return new Frame(sequence, timestampNs, kind);
    }

    [Test]
    public void A_vm_sees_black_until_allowed_then_real_frames_in_every_format()
    {
        using var service = new ServiceFixture("vm-a");
        using var h = StartSidecar(service, "vm-a");
        foreach (var fourcc in new[] { Yuyv, Nv12, Yu12 })
        {
            var client = StartStreaming(h, fourcc, 640, 480);
            var denied = Collect(client, f => f.Count >= 10);
            Assert.That(denied.Select(f => f.Kind), Is.All.EqualTo(FrameKind.Black), $"{client.Format}: default deny");

            var set = service.SetPermission("vm-a", true);
            Assert.That(set.Allowed, Is.True);
            var allowed = Collect(client, f => f.Count(x => x.Kind == FrameKind.Real) >= 10);
            Assert.That(allowed.Count(f => f.Kind == FrameKind.Real), Is.GreaterThanOrEqualTo(10), $"{client.Format}: real frames after allow");
            Assert.That(allowed.Select(f => f.Kind), Has.None.EqualTo(FrameKind.Other), "only real or black frames");

            var status = service.Status("vm-a");
            Assert.That(status.Allowed && status.SidecarConnected && status.Streaming, Is.True, status.ToString());
            Assert.That(status.GuestFormat, Does.StartWith(client.Format.ToString()));

            Assert.That(service.SetPermission("vm-a", false).EffectiveBy, Is.EqualTo("sidecar-ack"));
            Assert.That(client.StreamOff(), Is.Zero);
            h.DrainEvents(TimeSpan.FromMilliseconds(300));
            client.Free();
        }
    }

    [Test]
    public void Ten_thousand_toggles_never_leak_a_real_frame_after_an_acknowledged_deny()
    {
        using var service = new ServiceFixture("vm-a");
        using var h = StartSidecar(service, "vm-a");
        var client = StartStreaming(h);

        // Denied windows: [deny answered, next allow sent). Any frame stamped inside one must be black. The device
        // stamps a frame after writing it on the same loop that applies a deny before acknowledging it, so a frame
        // stamped after the deny's answer was written after it too.
        var windows = new List<(long From, long To)>();
        var frames = new List<Frame>();
        var stop = false;
        var reader = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                var (_, index, sequence, timestamp, bytes) = client.NextFrame();
                lock (frames)
                {
                    frames.Add(Classify(client.Format, sequence, timestamp, bytes));
                }

                client.Queue(index);
            }
        })
        { IsBackground = true };
        reader.Start();

        var effective = new Dictionary<string, int>();
        long deniedSince = -1;
        for (var i = 0; i < 10_000; i++)
        {
            var allow = i % 2 == 0;
            if (allow)
            {
                if (deniedSince >= 0)
                {
                    windows.Add((deniedSince, MonotonicClock.NowNanoseconds()));
                }

                service.SetPermission("vm-a", true);
                // Hold some allows long enough for real frames to flow, so the storm exercises both kinds.
                if (i % 500 == 0)
                {
                    Thread.Sleep(100);
                }
            }
            else
            {
                var set = service.SetPermission("vm-a", false);
                deniedSince = MonotonicClock.NowNanoseconds();
                effective[set.EffectiveBy] = effective.GetValueOrDefault(set.EffectiveBy) + 1;
                if (i % 1000 == 1)
                {
                    Thread.Sleep(100);
                }
            }
        }

        Thread.Sleep(200);
        windows.Add((deniedSince, MonotonicClock.NowNanoseconds()));
        Volatile.Write(ref stop, true);
        reader.Join(TimeSpan.FromSeconds(5));

        List<Frame> seen;
        lock (frames)
        {
            seen = [.. frames];
        }

        Assert.That(effective.Keys.Single(), Is.EqualTo("sidecar-ack"), "every deny was acknowledged by the sidecar");
        Assert.That(seen.Select(f => f.Kind), Has.None.EqualTo(FrameKind.Other), "every frame is real or black, never mixed");
        Assert.That(seen.Count(f => f.Kind == FrameKind.Real), Is.GreaterThan(0), "real frames flowed while allowed");
        var leaks = seen.Where(f => f.Kind == FrameKind.Real && windows.Any(w => f.TimestampNs > w.From && f.TimestampNs < w.To)).ToList();
        Assert.That(leaks, Is.Empty, "real frames stamped after an acknowledged deny");
        for (var i = 1; i < seen.Count; i++)
        {
            Assert.That(seen[i].Sequence, Is.GreaterThan(seen[i - 1].Sequence), "sequence keeps increasing across toggles");
        }
    }

    [Test]
    public void Two_vms_on_one_camera_with_different_permissions_at_the_same_time()
    {
        using var service = new ServiceFixture("vm-a", "vm-b");
        service.SetPermission("vm-a", true);
        using var a = StartSidecar(service, "vm-a");
        using var b = StartSidecar(service, "vm-b");
        var ca = StartStreaming(a, Nv12);
        var cb = StartStreaming(b, Nv12);

        var fa = Collect(ca, f => f.Count(x => x.Kind == FrameKind.Real) >= 20);
        var fb = Collect(cb, f => f.Count >= 20);

        Assert.That(fa.Count(f => f.Kind == FrameKind.Real), Is.GreaterThanOrEqualTo(20));
        Assert.That(fb.Select(f => f.Kind), Is.All.EqualTo(FrameKind.Black), "vm-b has no permission");
        var sb = service.Status("vm-b");
        Assert.That(sb.FramesOffered, Is.Zero, "the service never announced a real frame to vm-b's sidecar");
        Assert.That(sb.CameraState, Is.EqualTo("denied"));
        Assert.That(service.Status("vm-a").CameraState, Is.EqualTo("streaming"));

        // Now both allowed: both real from the same camera, through one output group (same format).
        service.SetPermission("vm-b", true);
        var fb2 = Collect(cb, f => f.Count(x => x.Kind == FrameKind.Real) >= 10);
        Assert.That(fb2.Count(f => f.Kind == FrameKind.Real), Is.GreaterThanOrEqualTo(10));
        var fa2 = Collect(ca, f => f.Count >= 10);
        Assert.That(fa2.Count(f => f.Kind == FrameKind.Real), Is.GreaterThan(0), "vm-a still real");
    }

    [Test]
    public void Permission_and_audit_survive_a_service_restart_and_sidecars_reconnect()
    {
        using var service = new ServiceFixture("vm-a");
        service.SetPermission("vm-a", true);

        using var h = StartSidecar(service, "vm-a");
        var client = StartStreaming(h);
        Collect(client, f => f.Count(x => x.Kind == FrameKind.Real) >= 5);

        service.Restart();
        // The guest's stream goes on: black while the service is away, real again once the sidecar reconnects.
        var frames = Collect(client, f => f.Count > 5 && f[^1].Kind == FrameKind.Real && f.Any(x => x.Kind == FrameKind.Black), max: 1000);
        Assert.That(frames[^1].Kind, Is.EqualTo(FrameKind.Real), "real frames again after the restart");
        for (var i = 1; i < frames.Count; i++)
        {
            Assert.That(frames[i].Sequence, Is.GreaterThan(frames[i - 1].Sequence), "the stream never restarted");
        }

        Assert.That(service.Status("vm-a").Allowed, Is.True, "permission persisted");
        var audit = service.Audit("vm-a");
        Assert.That(audit.Entries.Select(e => e.Action), Does.Contain("allow").And.Contain("real-stream-start"));
        Assert.That(audit.Entries.First(e => e.Action == "allow").Uid, Is.EqualTo(PosixFiles.EffectiveUid));
    }

    [Test]
    public void A_sidecar_cannot_claim_another_vm()
    {
        using var service = new ServiceFixture("vm-a", "vm-b");
        service.SetPermission("vm-a", true);

        // vm-b's sidecar says it is vm-a on vm-b's socket: refused, and it never becomes vm-a.
        using var impostor = MediaHarness.Start(loop => new CameraServiceSource(loop, service.VmSocket("vm-b"), "vm-a"), FastMenu);
        var client = StartStreaming(impostor);
        var frames = Collect(client, f => f.Count >= 30);
        Assert.That(frames.Select(f => f.Kind), Is.All.EqualTo(FrameKind.Black));
        Assert.That(service.Status("vm-a").SidecarConnected, Is.False);
        Assert.That(service.Status("vm-b").SidecarConnected, Is.False);
        Assert.That(impostor.LogText, Does.Contain("belongs to VM vm-b"));
    }

    [Test]
    public void A_peer_with_the_wrong_uid_is_refused_on_a_vm_socket_and_on_the_operator_socket()
    {
        using var service = new ServiceFixture("vm-a");
        // Loosen the socket modes as a misconfiguration would: the SO_PEERCRED checks must still hold.
        File.SetUnixFileMode(service.VmSocket("vm-a"), (UnixFileMode)0x1B6); // 0666
        File.SetUnixFileMode(service.Options.OperatorSocketPath, (UnixFileMode)0x1B6);
        File.SetUnixFileMode(service.Options.RuntimeDirectory, (UnixFileMode)0x1ED);

        var vmAnswer = ForeignPeer.AsNobody(service.VmSocket("vm-a"), helloVm: "vm-a");
        Assert.That(vmAnswer, Does.Contain("may not connect as VM vm-a"), "refused by uid");

        var opAnswer = ForeignPeer.AsNobody(service.Options.OperatorSocketPath, helloVm: null);
        Assert.That(opAnswer, Does.Contain("permission denied"), "operator refused by uid");

        Assert.That(service.Status("vm-a").SidecarConnected, Is.False);
    }

    [Test]
    public void A_second_sidecar_for_a_vm_is_refused_but_the_same_sidecar_may_replace_its_stale_connection()
    {
        using var service = new ServiceFixture("vm-a");
        using var first = RawSidecar.Connect(service.VmSocket("vm-a"));
        Assert.That(first.Hello("vm-a").KindCase, Is.EqualTo(ServiceMessage.KindOneofCase.Welcome));

        // Another process (another pid) for the same VM is refused while the first is connected.
        Assert.That(ForeignPeer.AsRoot(service.VmSocket("vm-a"), "vm-a"), Does.Contain("already connected"));

        // The same process reconnecting (it gave up on a slow Hello) replaces its old connection.
        using var second = RawSidecar.Connect(service.VmSocket("vm-a"));
        Assert.That(second.Hello("vm-a").KindCase, Is.EqualTo(ServiceMessage.KindOneofCase.Welcome));
        Assert.That(first.WaitClosed(), Is.True, "the stale connection was closed");
        Assert.That(service.Status("vm-a").SidecarConnected, Is.True);
    }

    private enum FrameKind
    {
        Black,
        Real,
        Other,
    }

    private sealed record Frame(uint Sequence, long TimestampNs, FrameKind Kind);
}
